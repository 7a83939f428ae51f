/**
 * The system under fuzz: a writer and an acceptor, each its own child process run from
 * source (tsx, sediment-src condition), the writer on a local-filesystem store in a fresh
 * temporary directory. Ports are read from the services' start-up log lines; resident
 * memory is sampled from /proc/<pid>/status.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processRss, type ServiceProcess, spawnService } from './outage-processes.js';

export { processRss };

export interface ServiceChild extends ServiceProcess {
  /** The start-up log entry ('writer started' / 'acceptor started'). */
  readonly started: Record<string, unknown>;
}

/** Runs `sediment <name>` (outage-processes.ts) and resolves once it logged `<name> started`. */
export async function spawnServiceChild(
  name: 'writer' | 'acceptor',
  env: Record<string, string>,
): Promise<ServiceChild> {
  const proc = spawnService(name, env);
  const startedMessage = `${name} started`;
  const stdout = proc.child.stdout!;
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within 90 s:\n${proc.output().slice(-4000)}`)),
      90_000,
    );
    const onData = () => {
      for (const line of proc.output().split('\n')) {
        if (!line.includes(startedMessage)) continue;
        clearTimeout(timer);
        stdout.off('data', onData);
        resolve(JSON.parse(line) as Record<string, unknown>);
        return;
      }
    };
    stdout.on('data', onData);
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`${name} exited with ${code} before it started:\n${proc.output().slice(-4000)}`),
      );
    });
  });
  return { ...proc, started };
}

/** A fresh temporary directory for a file:// store. */
export function tempStoreDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'sediment-fuzz-'));
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
