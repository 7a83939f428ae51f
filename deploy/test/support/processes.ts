/**
 * Running what the images run, as plain processes: the build step, the entry command,
 * health checks. Image paths (/app/…) map to the repository, whose layout the image
 * mirrors.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO } from './repo.js';

/** /app/services/cli/dist/main.js → <repo>/services/cli/dist/main.js. */
export function fromImagePath(p: string): string {
  if (!p.startsWith('/app/')) return p;
  return path.join(REPO, p.slice('/app/'.length));
}

/** The host environment a child needs to run at all, nothing Sediment reads. */
export function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT']) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<Finished>;
  output(): string;
}

/** Spawns argv (argv[0] `node` runs this Node), collecting its output. */
export function start(argv: readonly string[], env: Record<string, string>, cwd = REPO): Running {
  const [cmd, ...args] = argv;
  const exe = cmd === 'node' ? process.execPath : cmd!;
  const child = spawn(exe, args.map(fromImagePath), {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited, output: () => `${stdout}\n${stderr}`.slice(-4000) };
}

/** Runs argv to the end (killed after `timeoutMs`). */
export async function run(
  argv: readonly string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
  cwd = REPO,
): Promise<Finished> {
  const r = start(argv, env, cwd);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
  try {
    return await r.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns true; throws with `describe()` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A TCP port nothing listens on right now (bound, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The image's build step on this checkout: `pnpm build` (= the root package's build
 * script, `tsc -b tsconfig.build.json`). Returns a cleanup that removes the CLI's dist/
 * again when it did not exist before, so a later `pnpm start` keeps running the sources
 * (bin/sediment.mjs prefers a built dist/).
 */
export async function buildLikeTheImage(): Promise<() => void> {
  const cliDist = path.join(REPO, 'services/cli/dist');
  const existed = existsSync(cliDist);
  const script = (
    JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      scripts: { build: string };
    }
  ).scripts.build;
  const [bin, ...args] = script.split(/\s+/);
  const r = await run([path.join(REPO, 'node_modules/.bin', bin!), ...args], baseEnv(), 600_000);
  if (r.code !== 0) throw new Error(`${script} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return () => {
    if (!existed) rmSync(cliDist, { recursive: true, force: true });
  };
}

/** Host PIDs of the direct children of `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return out;
}

/** The PIDs a process has in each PID namespace, outermost first (NSpid in /proc/…/status). */
export function nsPids(pid: number): number[] {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = /^NSpid:\s*(.*)$/m.exec(status)?.[1];
  return line ? line.trim().split(/\s+/).map(Number) : [pid];
}

/** Whether this machine lets us run a process as PID 1 of a new PID namespace. */
export async function canUnsharePid(): Promise<boolean> {
  try {
    const r = await run(['unshare', '--pid', '--fork', '--kill-child', 'true'], baseEnv(), 10_000);
    return r.code === 0;
  } catch {
    return false;
  }
}
