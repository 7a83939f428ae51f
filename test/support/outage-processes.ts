/**
 * Writer and acceptor as separate child processes (`sediment writer`, `sediment acceptor`,
 * run from source exactly as the `sediment` bin does in a checkout, but without the bin's
 * extra wrapper process, so the pid we sample IS the service), plus what the outage suites
 * observe from outside: resident memory from /proc, health endpoints and Prometheus
 * counters.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { REPO_ROOT } from './otlp-proto.js';

const require = createRequire(import.meta.url);
const NODE_ARGS = ['--conditions=sediment-src', '--import', require.resolve('tsx/esm')];
const CLI_MAIN = path.join(REPO_ROOT, 'services/cli/src/main.ts');

export type Role = 'writer' | 'acceptor';

export interface ServiceProcess {
  readonly role: Role;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything printed (stdout + stderr), for failure messages and log checks. */
  output(): string;
  /** True while the process has not exited. */
  alive(): boolean;
  /** Exit code (null: killed by a signal), once exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM (drain), then the exit code; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
}

/** Spawns `sediment <role>` with `env` (added to PATH/HOME only: nothing leaks in). */
export function spawnService(role: Role, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [...NODE_ARGS, CLI_MAIN, role], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString();
    // Keep the tail only: a long outage can log a lot.
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  return {
    role,
    child,
    pid: child.pid!,
    output: () => out,
    alive: () => !done,
    exited,
    stop: async (timeoutMs = 120_000) => {
      if (done) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill: async () => {
      if (done) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** GET `url`: the status code and body, or status 0 when nothing answers. */
export async function probe(
  url: string,
  timeoutMs = 3_000,
): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

/** Polls `url` until it answers 200 (or the process dies / time runs out). */
export async function waitHttp200(
  url: string,
  proc: ServiceProcess,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.alive()) {
      throw new Error(`${proc.role} exited before ${url} answered 200:\n${proc.output()}`);
    }
    if ((await probe(url, 2_000)).status === 200) return;
    if (Date.now() > deadline) {
      throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Prometheus text → `name{labels}` → value. Empty when the endpoint does not answer. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const { status, body } = await probe(url, 5_000);
  if (status !== 200) return out;
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const value = Number(line.slice(sp + 1));
    if (Number.isFinite(value)) out.set(line.slice(0, sp), value);
  }
  return out;
}

/** Sum of metric `name` over the label sets whose text contains every `filters` item. */
export function metricSum(
  samples: Map<string, number>,
  name: string,
  ...filters: string[]
): number {
  let sum = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (filters.every((f) => key.includes(f))) sum += value;
  }
  return sum;
}

/** VmRSS and VmHWM (peak) of a live process in bytes; undefined once it is gone. */
export function processRss(pid: number): { rss: number; peak: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** VmRSS of `pid` in bytes, or undefined once it is gone. */
export function readRss(pid: number): number | undefined {
  return processRss(pid)?.rss;
}

/**
 * Samples the resident memory of named processes every `intervalMs`, keeping the maximum
 * per process and per phase (the caller names phases: warm-up, outage, recovery…).
 * A process may be replaced (a restarted writer): `track` the new pid under the same name.
 */
export class RssSampler {
  readonly #pids = new Map<string, number>();
  /** name → phase → max bytes */
  readonly #max = new Map<string, Map<string, number>>();
  #phase = 'start';
  readonly #timer: NodeJS.Timeout;
  readonly #t0 = performance.now();
  /** name → max bytes per 5 s bucket since construction. */
  readonly #buckets = new Map<string, number[]>();

  constructor(intervalMs = 200) {
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  track(name: string, pid: number): void {
    this.#pids.set(name, pid);
    this.sample();
  }

  untrack(name: string): void {
    this.#pids.delete(name);
  }

  phase(name: string): void {
    this.sample();
    this.#phase = name;
    this.sample();
  }

  sample(): void {
    for (const [name, pid] of this.#pids) {
      const rss = readRss(pid);
      if (rss === undefined) continue;
      const phases = this.#max.get(name) ?? new Map<string, number>();
      this.#max.set(name, phases);
      phases.set(this.#phase, Math.max(phases.get(this.#phase) ?? 0, rss));
      const buckets = this.#buckets.get(name) ?? [];
      this.#buckets.set(name, buckets);
      const b = Math.floor((performance.now() - this.#t0) / 5_000);
      buckets[b] = Math.max(buckets[b] ?? 0, rss);
    }
  }

  /** Max RSS of `name` in `phase` (or over every phase when omitted); 0 if never seen. */
  max(name: string, phase?: string): number {
    const phases = this.#max.get(name);
    if (!phases) return 0;
    if (phase !== undefined) return phases.get(phase) ?? 0;
    return Math.max(0, ...phases.values());
  }

  /** name → phase → max MiB, for reports. */
  table(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [name, phases] of this.#max) {
      out[name] = Object.fromEntries(
        [...phases].map(([p, b]) => [p, Math.round((b / 1048576) * 10) / 10]),
      );
    }
    return out;
  }

  /** name → max MiB per 5 s since the sampler started (0 where not sampled). */
  timeline(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, buckets] of this.#buckets) {
      out[name] = Array.from(buckets, (b) => Math.round((b ?? 0) / 1048576));
    }
    return out;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
