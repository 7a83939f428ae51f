import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LocalFsFailpoint } from '../local-fs-store.js';
import type { IncrementStats } from './cas-counter.js';

export interface CasWorkerConfig {
  /** Store URL for `openStore` (credentials come from the inherited environment). */
  readonly url: string;
  readonly key: string;
  /** Worker id recorded in the counter. */
  readonly worker: string;
  /** Number of increments. */
  readonly count: number;
  /** First sequence number (default 1); a restarted worker continues where it left. */
  readonly startSeq?: number;
  /** local-fs only: stall forever at this failpoint of this increment. */
  readonly holdAt?: { readonly seq: number; readonly point: LocalFsFailpoint };
}

export type CasWorkerEvent =
  | { readonly type: 'ready' }
  | { readonly type: 'acked'; readonly seq: number }
  | { readonly type: 'holding'; readonly seq: number; readonly point: LocalFsFailpoint }
  | { readonly type: 'done'; readonly stats: IncrementStats }
  | { readonly type: 'error'; readonly message: string };

export interface CasWorker {
  readonly config: CasWorkerConfig;
  readonly child: ChildProcess;
  /** Every event so far, in order. */
  readonly events: readonly CasWorkerEvent[];
  /** Highest acknowledged sequence number (0 before the first). */
  readonly acked: number;
  /** Resolves at the first event of `type` (rejects if the worker exits first). */
  waitFor<T extends CasWorkerEvent['type']>(type: T): Promise<Extract<CasWorkerEvent, { type: T }>>;
  /** Releases the start barrier. */
  go(): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

const here = import.meta.url;
const fromSource = here.endsWith('.ts');
const workerFile = fileURLToPath(new URL(`./cas-worker.${fromSource ? 'ts' : 'js'}`, here));
const packageRoot = fileURLToPath(new URL('../../', here));

/** Node arguments that run a TypeScript entry from source (as scripts/run-ts.mjs does). */
function nodeArgs(): string[] {
  if (!fromSource) return [];
  const require = createRequire(here);
  return ['--conditions=sediment-src', '--import', require.resolve('tsx/esm')];
}

/** Starts a CAS-increment worker in its own OS process. */
export function spawnCasWorker(config: CasWorkerConfig): CasWorker {
  const child = spawn(process.execPath, [...nodeArgs(), workerFile, JSON.stringify(config)], {
    cwd: packageRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const events: CasWorkerEvent[] = [];
  const waiters: {
    type: string;
    resolve: (e: CasWorkerEvent) => void;
    reject: (e: Error) => void;
  }[] = [];
  let acked = 0;
  let stderr = '';
  let exitedFlag = false;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192);
  });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    let event: CasWorkerEvent;
    try {
      event = JSON.parse(line) as CasWorkerEvent;
    } catch {
      return; // stray output
    }
    events.push(event);
    if (event.type === 'acked') acked = Math.max(acked, event.seq);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.type === event.type) {
        waiters.splice(i, 1);
        w.resolve(event);
      }
    }
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedFlag = true;
      // Let the line reader drain what is buffered before reporting.
      setImmediate(() => {
        for (const w of waiters.splice(0)) {
          const failure = events.find((e) => e.type === 'error');
          const reason = failure?.type === 'error' ? `: ${failure.message}` : '';
          w.reject(
            new Error(
              `worker ${config.worker} exited (code ${code}, signal ${signal}) before "${w.type}"${reason}; stderr: ${stderr}`,
            ),
          );
        }
        resolve({ code, signal, stderr });
      });
    });
  });
  child.stdin?.on('error', () => {}); // EPIPE after a kill
  return {
    config,
    child,
    events,
    get acked() {
      return acked;
    },
    waitFor<T extends CasWorkerEvent['type']>(type: T) {
      const seen = events.find((e) => e.type === type);
      if (seen !== undefined) return Promise.resolve(seen as Extract<CasWorkerEvent, { type: T }>);
      if (exitedFlag) {
        return Promise.reject(
          new Error(`worker ${config.worker} already exited; stderr: ${stderr}`),
        );
      }
      return new Promise((resolve, reject) => {
        waiters.push({ type, resolve: resolve as (e: CasWorkerEvent) => void, reject });
      });
    },
    go() {
      child.stdin?.write('go\n');
    },
    exited,
  };
}

/**
 * Runs `workers` processes × `increments` conditional increments of the counter at
 * `key`, released together by a barrier. Rejects if any worker fails.
 */
export async function runCasRaceInProcesses(options: {
  readonly url: string;
  readonly key: string;
  readonly workers: number;
  readonly increments: number;
}): Promise<IncrementStats[]> {
  const workers = Array.from({ length: options.workers }, (_, i) =>
    spawnCasWorker({
      url: options.url,
      key: options.key,
      worker: `p${i}`,
      count: options.increments,
    }),
  );
  try {
    await Promise.all(workers.map((w) => w.waitFor('ready')));
    for (const w of workers) w.go();
    const done = await Promise.all(workers.map((w) => w.waitFor('done')));
    const exits = await Promise.all(workers.map((w) => w.exited));
    exits.forEach((e, i) => {
      if (e.code !== 0) throw new Error(`worker p${i} exited with ${e.code}: ${e.stderr}`);
    });
    return done.map((d) => d.stats);
  } finally {
    for (const w of workers)
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  }
}
