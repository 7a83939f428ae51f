import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { acceptorSettings } from '@sediment/acceptor';
import { argvToEnv, ConfigError, parseSettings, renderHelp } from '@sediment/config';
import {
  createLogger,
  type Logger,
  SUPERVISED_ENV,
  serviceNodeArgs,
  waitForShutdownSignal,
} from '@sediment/service-kit';
import { finishWriterConfig, writerSettings } from '@sediment/writer';

/** `sediment start` understands every writer and acceptor option. */
export const startSettings = { ...writerSettings, ...acceptorSettings } as const;

export const START_USAGE = `Usage: sediment start [options]

Starts the whole pipeline on one machine as two supervised processes: a writer (with
the collector) and an acceptor connected to it over loopback. The embedded default
stores everything under ./data (file://./data); OTLP on :4317 (gRPC) and :4318 (HTTP).
A crashed process is restarted. Ctrl-C / SIGTERM drains: the acceptor finishes its
requests, then the writer commits everything acked to Parquet, then both exit.

Options (each also as its environment variable):
${renderHelp(startSettings)}`;

type Role = 'writer' | 'acceptor';

const MAIN = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './main.ts' : './main.js', import.meta.url),
);
const MAX_EARLY_FAILURES = 3;

/** Runs one role as a child process, restarting it when it dies unexpectedly. */
class Supervised {
  #child: ChildProcess | undefined;
  #stopping = false;
  #earlyFailures = 0;
  #exited: Promise<number | null> = Promise.resolve(null);
  #onGiveUp: (reason: string) => void;

  constructor(
    readonly role: Role,
    readonly env: NodeJS.ProcessEnv,
    readonly logger: Logger,
    readonly readyUrl: string,
    onGiveUp: (reason: string) => void,
  ) {
    this.#onGiveUp = onGiveUp;
  }

  /** Starts the process and resolves once its ready URL answers 200. */
  async start(): Promise<void> {
    if (this.#stopping) return;
    this.#spawn();
    await this.#waitReady();
  }

  #spawn(): void {
    const child = spawn(process.execPath, [...serviceNodeArgs(process.execArgv), MAIN, this.role], {
      env: this.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.#child = child;
    const startedAt = Date.now();
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        resolve(code);
        if (this.#stopping) return;
        const early = Date.now() - startedAt < 10_000;
        this.#earlyFailures = early ? this.#earlyFailures + 1 : 0;
        this.logger.error({ role: this.role, code, signal }, `${this.role} exited unexpectedly`);
        if (this.#earlyFailures >= MAX_EARLY_FAILURES) {
          this.#onGiveUp(
            `${this.role} keeps failing at start-up (exit code ${code}); see its log above`,
          );
          return;
        }
        const delay = Math.min(30_000, 1000 * 2 ** this.#earlyFailures);
        this.logger.warn({ role: this.role, delayMs: delay }, `restarting ${this.role}`);
        setTimeout(() => {
          if (!this.#stopping) this.#spawn();
        }, delay).unref();
      });
    });
  }

  async #waitReady(): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (this.#stopping) return;
      if ((await probe(this.readyUrl)) === 200) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.role} did not become ready within 120 s (${this.readyUrl})`);
  }

  /** SIGTERM (drain) and wait for the exit code. */
  async stop(): Promise<number | null> {
    this.#stopping = true;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? 0;
    child.kill('SIGTERM');
    return this.#exited;
  }

  kill(): void {
    this.#stopping = true;
    this.#child?.kill('SIGKILL');
  }
}

/**
 * GET on a loopback health URL: the status code, or 0 when nothing answers. HTTPS is
 * probed without certificate verification: it is our own child on 127.0.0.1, and its
 * certificate may come from a private CA.
 */
function probe(url: string): Promise<number> {
  const get = url.startsWith('https:') ? https.get : http.get;
  return new Promise((resolve) => {
    const req = get(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/**
 * `sediment start`: writer first (it must be reachable before the acceptor reports
 * ready), then the acceptor; on SIGTERM the reverse, each draining fully.
 */
export async function runStart(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(START_USAGE);
    return;
  }
  let settings: ReturnType<typeof parseSettings<typeof startSettings>>['config'];
  let flagEnv: Record<string, string>;
  try {
    settings = parseSettings(startSettings, { env, argv }).config;
    flagEnv = argvToEnv(startSettings, argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`sediment start: ${err.message}\n(see sediment start --help)`);
    process.exitCode = 2;
    return;
  }
  const writerConfig = finishWriterConfig(settings, process.cwd());
  const logger = createLogger({ name: 'sediment', level: settings.logLevel });
  const flightHost = env.SEDIMENT_FLIGHT_HOST ?? flagEnv.SEDIMENT_FLIGHT_HOST ?? '127.0.0.1';
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    ...flagEnv,
    SEDIMENT_STORE: writerConfig.storeUrl,
    SEDIMENT_FLIGHT_HOST: flightHost,
    SEDIMENT_WRITERS: `127.0.0.1:${settings.flightPort}`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    [SUPERVISED_ENV]: '1',
  };
  if (settings.flightTokens?.length && !settings.writerToken) {
    childEnv.SEDIMENT_WRITER_TOKEN = settings.flightTokens[0];
  }

  let giveUp: (reason: string) => void = () => {};
  const gaveUp = new Promise<string>((resolve) => {
    giveUp = resolve;
  });
  const writer = new Supervised(
    'writer',
    childEnv,
    logger,
    `http://127.0.0.1:${settings.writerAdminPort}/readyz`,
    giveUp,
  );
  // A separate admin port is plain HTTP; the OTLP/HTTP port is HTTPS when TLS is on.
  const acceptorHealth =
    settings.adminPort !== undefined
      ? `http://127.0.0.1:${settings.adminPort}/healthz`
      : `${settings.tlsCert ? 'https' : 'http'}://127.0.0.1:${settings.httpPort}/healthz`;
  const acceptor = new Supervised('acceptor', childEnv, logger, acceptorHealth, giveUp);

  const shutdown = waitForShutdownSignal({
    onForce: () => {
      logger.warn('second signal: killing the processes without draining');
      acceptor.kill();
      writer.kill();
      process.exit(130);
    },
  });
  const signalled = shutdown.then((sig) => `signal ${sig}`);
  const first = await Promise.race([
    writer
      .start()
      .then(() => acceptor.start())
      .then(() => ({ started: true as const })),
    gaveUp.then((reason) => ({ failed: reason })),
    signalled.then((reason) => ({ stopped: reason })),
  ]).catch((err: unknown) => ({ failed: (err as Error).message }));
  if ('stopped' in first) {
    logger.info({ reason: first.stopped }, 'stopping during start-up');
    await acceptor.stop();
    await writer.stop();
    return;
  }
  if ('failed' in first) {
    logger.fatal({ reason: first.failed }, 'sediment could not start');
    acceptor.kill();
    writer.kill();
    process.exitCode = 1;
    return;
  }
  printBanner(settings, writerConfig.storeUrl);

  const reason = await Promise.race([signalled, gaveUp]);
  logger.info(
    { reason },
    'stopping: draining the acceptor, then the writer (commits everything acked to Parquet)',
  );
  const acceptorCode = await acceptor.stop();
  const writerCode = await writer.stop();
  logger.info({ acceptorCode, writerCode }, 'stopped');
  const failed = reason.startsWith('signal') ? acceptorCode !== 0 || writerCode !== 0 : true;
  process.exitCode = failed ? 1 : 0;
}

function printBanner(
  settings: { grpcPort: number; httpPort: number; tlsCert?: string | undefined },
  storeUrl: string,
): void {
  const scheme = settings.tlsCert ? 'https' : 'http';
  const where = storeUrl.startsWith('file://') ? fileURLToPath(storeUrl) : storeUrl;
  process.stderr.write(
    [
      '',
      'Sediment is running.',
      `  OTLP/gRPC  localhost:${settings.grpcPort}`,
      `  OTLP/HTTP  ${scheme}://localhost:${settings.httpPort}/v1/traces  /v1/metrics  /v1/logs`,
      `  data       ${where}   (queue: ingest/, Parquet: lake/<table>/dt=YYYY-MM-DD/hour=HH/)`,
      `  query      npx -y pnpm@10 sediment query "SELECT service_name, count(*) FROM spans GROUP BY 1"`,
      '  stop       Ctrl-C: requests in flight finish, everything acked is committed to Parquet',
      '',
    ].join('\n'),
  );
}
