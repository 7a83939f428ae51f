/**
 * The system under fuzz: a writer and an acceptor, each its own child process run from
 * source (tsx, sediment-src condition), the writer on a local-filesystem store in a fresh
 * temporary directory. Ports are read from the services' start-up log lines; resident
 * memory is sampled from /proc/<pid>/status.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './otlp-proto.js';

export interface ServiceChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The start-up log entry ('writer started' / 'acceptor started'). */
  readonly started: Record<string, unknown>;
  /** Exit code once exited (null: killed by a signal). */
  readonly exited: Promise<number | null>;
  alive(): boolean;
  /** The tail of everything printed (stdout + stderr). */
  output(): string;
  /** SIGTERM (drain), then the exit code; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
  kill(): void;
}

/** Runs `services/<name>/src/main.ts` and resolves once it logged `startedMessage`. */
export async function spawnServiceChild(
  name: 'writer' | 'acceptor',
  env: Record<string, string>,
): Promise<ServiceChild> {
  const startedMessage = `${name} started`;
  const child = spawn(
    process.execPath,
    [
      '--conditions=sediment-src',
      '--import',
      'tsx/esm',
      path.join(REPO_ROOT, `services/${name}/src/main.ts`),
    ],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within 90 s:\n${out.slice(-4000)}`)),
      90_000,
    );
    const onData = () => {
      for (const line of out.split('\n')) {
        if (!line.includes(startedMessage)) continue;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(JSON.parse(line) as Record<string, unknown>);
        return;
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it started:\n${out.slice(-4000)}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    started,
    exited,
    alive: () => exitCode === undefined,
    output: () => out,
    stop: async (timeoutMs = 120_000) => {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill: () => {
      if (exitCode === undefined) child.kill('SIGKILL');
    },
  };
}

/** A fresh temporary directory for a file:// store. */
export function tempStoreDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'sediment-fuzz-'));
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

/** Samples a process's RSS every `intervalMs`, keeping the maximum seen. */
export class RssSampler {
  #max = 0;
  #samples = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    intervalMs = 200,
  ) {
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): number | undefined {
    const m = processRss(this.pid);
    if (m) {
      this.#samples++;
      this.#max = Math.max(this.#max, m.rss);
    }
    return m?.rss;
  }

  get max(): number {
    return this.#max;
  }

  get samples(): number {
    return this.#samples;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
