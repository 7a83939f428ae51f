/**
 * The soak's child processes: each service runs from its TypeScript sources exactly as
 * `sediment writer` / `sediment acceptor` run them (the same `run*Process` entry, through
 * tsx and the `sediment-src` condition), on fixed ports so a restart comes back where
 * clients and acceptors expect it. Output goes straight to one log file per process
 * (all incarnations appended), so the parent never has to read it while running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const TSX = require.resolve('tsx/esm');

export type Role = 'acceptor' | 'writer' | 'collector';
export const ROLES: readonly Role[] = ['acceptor', 'writer', 'collector'];

export interface ProcessSpec {
  readonly name: string;
  readonly role: Role;
  /** Checkout the service runs from (this one, or a clean snapshot: see --repo). */
  readonly root: string;
  /** Entry point, relative to `root`. */
  readonly entry: string;
  /** Extra `--import` modules (absolute paths), loaded after tsx. */
  readonly preload?: readonly string[];
  /** Environment of every incarnation (added to PATH/HOME and the S3 variables). */
  readonly env: (incarnation: number) => Record<string, string>;
  /** GET answers 200 once the process is ready. */
  readonly readyUrl: string;
  readonly logFile: string;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Variables passed through from the parent (the S3 endpoint and credentials). */
const PASS_THROUGH = [
  'PATH',
  'HOME',
  'TMPDIR',
  'S3_ENDPOINT',
  'S3_FORCE_PATH_STYLE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];

/**
 * One supervised service. `start()` spawns a new incarnation; `kill()` SIGKILLs it;
 * `terminate()` SIGTERMs it and waits for its exit code. An exit nobody asked for is
 * reported through `onUnexpectedExit`.
 */
export class ManagedProcess {
  readonly spec: ProcessSpec;
  incarnation = 0;
  #child: ChildProcess | undefined;
  #exited: Promise<ExitInfo> | undefined;
  #expectingExit = false;
  #startedAt = 0;
  onUnexpectedExit: ((p: ManagedProcess, exit: ExitInfo) => void) | undefined;

  constructor(spec: ProcessSpec) {
    this.spec = spec;
  }

  get name(): string {
    return this.spec.name;
  }

  get role(): Role {
    return this.spec.role;
  }

  /** Spawned and not exited. */
  get up(): boolean {
    return this.#child !== undefined;
  }

  /** Milliseconds since this incarnation was spawned (0 when down). */
  get uptimeMs(): number {
    return this.#child ? Date.now() - this.#startedAt : 0;
  }

  start(): void {
    if (this.#child) throw new Error(`${this.name} is already running`);
    this.incarnation++;
    this.#expectingExit = false;
    const env: Record<string, string> = {};
    for (const k of PASS_THROUGH) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    Object.assign(env, this.spec.env(this.incarnation));
    appendFileSync(
      this.spec.logFile,
      `--- ${this.name} incarnation ${this.incarnation} started ${new Date().toISOString()}\n`,
    );
    const fd = openSync(this.spec.logFile, 'a');
    const preload = (this.spec.preload ?? []).flatMap((p) => ['--import', p]);
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [
          '--conditions=sediment-src',
          '--import',
          TSX,
          ...preload,
          path.join(this.spec.root, this.spec.entry),
        ],
        { cwd: this.spec.root, env, stdio: ['ignore', fd, fd] },
      );
    } finally {
      closeSync(fd);
    }
    this.#child = child;
    this.#startedAt = Date.now();
    this.#exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        const exit = { code, signal };
        appendFileSync(
          this.spec.logFile,
          `--- ${this.name} incarnation exited code=${code} signal=${signal} ${new Date().toISOString()}\n`,
        );
        if (!this.#expectingExit) this.onUnexpectedExit?.(this, exit);
        resolve(exit);
      });
    });
  }

  /** SIGKILL (the chaos monkey's move); resolves once the process is gone. */
  async kill(): Promise<ExitInfo | undefined> {
    const child = this.#child;
    if (!child) return undefined;
    this.#expectingExit = true;
    child.kill('SIGKILL');
    return this.#exited;
  }

  /** SIGTERM (drain), then the exit; SIGKILL after `timeoutMs` (reported as timedOut). */
  async terminate(timeoutMs: number): Promise<ExitInfo & { timedOut: boolean }> {
    const child = this.#child;
    if (!child) return { code: null, signal: null, timedOut: false };
    this.#expectingExit = true;
    child.kill('SIGTERM');
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    try {
      const exit = await this.#exited!;
      return { ...exit, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Polls the ready URL; false when the process exits or the time runs out. */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.#child) return false;
      try {
        const res = await fetch(this.spec.readyUrl, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.status === 200) return true;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  /** The last `lines` lines of the log (for failure messages). */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
