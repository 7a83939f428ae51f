/**
 * `sediment start` as a child process, the way a user runs it
 * (`node services/cli/bin/sediment.mjs start`), with its own store directory and free
 * ports, for end-to-end tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './otlp-proto.js';

export interface SedimentPorts {
  readonly grpc: number;
  readonly http: number;
  readonly flight: number;
  readonly writerAdmin: number;
}

export interface SedimentProcess {
  readonly child: ChildProcess;
  /** The store directory (file:// store). */
  readonly dataDir: string;
  readonly ports: SedimentPorts;
  /** Everything the process printed (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM, then the exit code (null when killed by a signal). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL the whole process group (cleanup after a failed test). */
  kill(): void;
}

/** Distinct free TCP ports (bound together, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve) => {
          const s = net.createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Free ports for one Sediment: OTLP gRPC and HTTP, Flight, writer admin. */
export async function freeSedimentPorts(): Promise<SedimentPorts> {
  const [grpc, http, flight, writerAdmin] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  return { grpc, http, flight, writerAdmin };
}

/** When `startSediment` resolves: acceptor /readyz answers 200 over plain HTTP (default),
 *  the start banner was printed (works with TLS), or at once (the caller waits). */
export type ReadyWhen = 'http' | 'banner' | 'spawned';

/**
 * Starts `sediment start` and resolves once it is ready (see `ReadyWhen`).
 * `env` adds to (and overrides) the defaults: quiet logs, a temporary store, free ports.
 */
export async function startSediment(
  env: Record<string, string> = {},
  readyWhen: ReadyWhen = 'http',
): Promise<SedimentProcess> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sediment-otel-e2e-'));
  const ports = await freeSedimentPorts();
  const { grpc, http, flight, writerAdmin } = ports;
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'services/cli/bin/sediment.mjs'), 'start'],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        SEDIMENT_STORE: `file://${dataDir}`,
        SEDIMENT_HOST: '127.0.0.1',
        SEDIMENT_GRPC_PORT: String(grpc),
        SEDIMENT_HTTP_PORT: String(http),
        SEDIMENT_FLIGHT_PORT: String(flight),
        SEDIMENT_WRITER_ADMIN_PORT: String(writerAdmin),
        SEDIMENT_LOG_LEVEL: 'error',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so cleanup can reach the grandchildren
    },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let exitCode: number | null | undefined;
  void exited.then((c) => {
    exitCode = c;
  });

  const deadline = Date.now() + 120_000;
  for (;;) {
    if (readyWhen === 'spawned') break;
    if (readyWhen === 'banner' && out.includes('Sediment is running.')) break;
    if (exitCode !== undefined) {
      throw new Error(`sediment start exited with ${exitCode} before it was ready:\n${out}`);
    }
    if (readyWhen === 'http') {
      try {
        const res = await fetch(`http://127.0.0.1:${http}/readyz`, {
          signal: AbortSignal.timeout(2_000),
        });
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      process.kill(-child.pid!, 'SIGKILL');
      throw new Error(`sediment start was not ready within 120 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    child,
    dataDir,
    ports,
    output: () => out,
    stop: async (timeoutMs = 120_000) => {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill: () => {
      if (exitCode !== undefined) return;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}
