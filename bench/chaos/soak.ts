/**
 * The chaos soak (issue #7): two ingest-only writers, one collector and two acceptors as
 * separate processes on one store (local filesystem or S3), object-store faults injected
 * into every writer, mixed OTLP traffic over gRPC and HTTP (protobuf and JSON) from
 * exporter-like retrying clients, and a chaos monkey that SIGKILLs a random process
 * every few seconds and restarts it a little later. At the end everything is restarted,
 * the clients finish, the services drain in order (acceptors, writers, collector last)
 * and DuckDB checks the committed Parquet against what the clients were told.
 *
 * `runSoak` is used by `bench/chaos/run.ts` (the command line) and `test/chaos.test.ts`
 * (the CI short form). It returns a report; `violations` empty means the run passed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readQueueStats } from '@sediment/ingest';
import { type ObjectStore, openStore } from '@sediment/object-store';
import { encodeRequest, type Signal } from '../../test/support/otlp-proto.js';
import {
  logsRequest,
  metricsRequest,
  prng,
  traceRequest,
} from '../../test/support/otlp-workload.js';
import { freePorts } from '../../test/support/sediment-process.js';
import {
  type AcceptorAddress,
  ChaosClients,
  DEFAULT_RETRY,
  type RetryPolicy,
  TRANSPORTS,
  type Transport,
  type WireRequest,
  wireBody,
} from './client.js';
import { ManagedProcess, type ProcessSpec, REPO_ROOT, ROLES, type Role } from './processes.js';
import {
  type CommitLogFigures,
  type RequestLedger,
  readCommitLogFigures,
  type VerifyResult,
  verifyLake,
} from './verify.js';

const PROBE = fileURLToPath(new URL('./fault-probe.ts', import.meta.url));
const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

export type Range = readonly [min: number, max: number];

export interface SoakOptions {
  /** How long clients send new requests while the monkey works. */
  readonly durationMs: number;
  /** `local`: a temporary directory; `s3`: this `s3://bucket/prefix` URL (endpoint and
   *  credentials from the S3_* / AWS_* environment). */
  readonly store: { readonly kind: 'local' } | { readonly kind: 's3'; readonly url: string };
  /** Time between two kills; `undefined` runs without the monkey. */
  readonly killEveryMs?: Range;
  /** Time a killed process stays down. */
  readonly restartAfterMs?: Range;
  /** SEDIMENT_TEST_STORE_FAULTS of every writer, without the seed (derived per process
   *  incarnation); `undefined` injects nothing. */
  readonly faults?: string;
  readonly seed?: number;
  /** Concurrent client requests (each a sequential exporter). */
  readonly concurrency?: number;
  /** Rows per request: uniform in 1..maxRows (data points per metric kind). */
  readonly maxRows?: number;
  /** Pause of each client between two requests. */
  readonly thinkMs?: number;
  readonly retry?: RetryPolicy;
  /** Share of requests whose client gives up after `impatientAttempts` attempts, so
   *  abandoned requests (stored or not) occur often enough to be checked. Default 0.15. */
  readonly impatientShare?: number;
  /** Default 2 (one retry). */
  readonly impatientAttempts?: number;
  /** Collector's SEDIMENT_MAX_FILE_AGE (how often it commits). */
  readonly maxFileAge?: string;
  /** SEDIMENT_ORPHAN_GRACE and SEDIMENT_BATCH_GC_GRACE (so GC runs during the soak). */
  readonly gcGrace?: string;
  readonly logLevel?: string;
  /** Keep the run directory (logs, local store) and the S3 prefix even on success. */
  readonly keep?: boolean;
  /** Run the services from this checkout instead of this one (e.g. a clean export of
   *  a commit, so edits in progress here do not reach the processes under test). */
  readonly serviceRoot?: string;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export interface FaultTotals {
  calls: number;
  transientErrors: number;
  lostReplies: number;
  delayedCalls: number;
}

export interface SoakReport {
  readonly passed: boolean;
  readonly violations: string[];
  readonly store: string;
  readonly runDir: string;
  readonly serviceRoot: string;
  readonly options: Record<string, unknown>;
  readonly timing: {
    loadMs: number;
    settleMs: number;
    drainMs: number;
    verifyMs: number;
    totalMs: number;
  };
  readonly requests: {
    sent: number;
    acked: number;
    abandoned: number;
    rejected: number;
    /** Requests that needed more than one attempt. */
    retried: number;
    /** Attempts beyond the first, over all requests. */
    retries: number;
    attempts: number;
    bySignal: Record<string, number>;
    byTransport: Record<string, number>;
    rowsAcked: number;
  };
  readonly statuses: Record<string, number>;
  readonly unexpectedStatuses: { count: number; examples: unknown[] };
  readonly grpcTransportErrors: Record<string, number>;
  readonly kills: Record<Role, number>;
  readonly restarts: number;
  readonly unexpectedExits: string[];
  /** Injected by the writers' fault injectors (lower bounds: see fault-probe.ts). */
  readonly faults: Record<'writers' | 'collector', FaultTotals>;
  readonly drain: Record<string, { code: number | null; signal: string | null; timedOut: boolean }>;
  readonly lake: (CommitLogFigures & { queueEntriesLeft: number }) | undefined;
  /**
   * The queue's backlog sampled every 10 s during the load phase (batches waiting in the
   * manifest, age of the oldest): whether the collector kept up with the writers.
   */
  readonly queueBacklog: {
    samples: number;
    maxEntries: number;
    maxOldestAgeMs: number;
    lastEntries: number;
  };
  readonly check: Omit<VerifyResult, 'violations' | 'moreViolations'> | undefined;
  readonly logLines: Record<string, { warn: number; error: number; fatal: number }>;
}

function uniform(random: () => number, [min, max]: Range): number {
  return min + random() * (max - min);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const t0 = Date.now();
  const log = options.log ?? (() => {});
  const seed = options.seed ?? 1;
  const concurrency = options.concurrency ?? 6;
  const maxRows = options.maxRows ?? 20;
  const thinkMs = options.thinkMs ?? 20;
  const retry = options.retry ?? DEFAULT_RETRY;
  const impatientShare = options.impatientShare ?? 0.15;
  const impatient: RetryPolicy = { ...retry, maxAttempts: options.impatientAttempts ?? 2 };
  const restartAfter = options.restartAfterMs ?? [500, 3_000];
  const logLevel = options.logLevel ?? 'warn';
  const serviceRoot = options.serviceRoot ? path.resolve(options.serviceRoot) : REPO_ROOT;
  const violations: string[] = [];
  const violate = (msg: string) => {
    violations.push(msg);
    log(`VIOLATION: ${msg}`);
  };

  const runDir = await mkdtemp(path.join(tmpdir(), 'sediment-chaos-'));
  await mkdir(path.join(runDir, 'logs'));
  await mkdir(path.join(runDir, 'faults'));
  let storeUrl: string;
  if (options.store.kind === 'local') {
    const dir = path.join(runDir, 'store');
    await mkdir(dir);
    storeUrl = pathToFileURL(dir).href;
  } else {
    storeUrl = options.store.url;
  }

  // Ports: writer-1, writer-2, collector (flight + admin), acceptor-1, acceptor-2 (grpc + http).
  const ports = await freePorts(10);
  const port = (i: number) => String(ports[i]!);
  const writerEnv = (name: string, flight: number, admin: number, collector: boolean) => {
    return (incarnation: number): Record<string, string> => {
      const env: Record<string, string> = {
        SEDIMENT_STORE: storeUrl,
        SEDIMENT_COLLECTOR: String(collector),
        SEDIMENT_FLIGHT_HOST: '127.0.0.1',
        SEDIMENT_FLIGHT_PORT: port(flight),
        SEDIMENT_WRITER_ADMIN_PORT: port(admin),
        SEDIMENT_LOG_LEVEL: logLevel,
      };
      if (collector) {
        env.SEDIMENT_MAX_FILE_AGE = options.maxFileAge ?? '2s';
        env.SEDIMENT_ORPHAN_GRACE = options.gcGrace ?? '60s';
        env.SEDIMENT_BATCH_GC_GRACE = options.gcGrace ?? '60s';
      }
      if (options.faults) {
        // A fresh fault sequence per process and incarnation, reproducible from the seed.
        const faultSeed = seed * 100_000 + flight * 1_000 + incarnation;
        env.SEDIMENT_TEST_STORE_FAULTS = `${options.faults},seed=${faultSeed}`;
        env.CHAOS_FAULT_STATS_FILE = path.join(runDir, 'faults', `${name}-${incarnation}.json`);
        env.CHAOS_SERVICE_ROOT = serviceRoot;
      }
      return env;
    };
  };
  const writerSpec = (name: string, role: Role, flight: number, admin: number): ProcessSpec => ({
    name,
    role,
    root: serviceRoot,
    entry: 'services/writer/src/main.ts',
    preload: options.faults ? [PROBE] : [],
    env: writerEnv(name, flight, admin, role === 'collector'),
    readyUrl: `http://127.0.0.1:${port(admin)}/readyz`,
    logFile: path.join(runDir, 'logs', `${name}.log`),
  });
  const writers = `127.0.0.1:${port(0)},127.0.0.1:${port(2)}`;
  const acceptorSpec = (name: string, grpc: number, http: number): ProcessSpec => ({
    name,
    role: 'acceptor',
    root: serviceRoot,
    entry: 'services/acceptor/src/main.ts',
    env: () => ({
      SEDIMENT_HOST: '127.0.0.1',
      SEDIMENT_GRPC_PORT: port(grpc),
      SEDIMENT_HTTP_PORT: port(http),
      SEDIMENT_WRITERS: writers,
      SEDIMENT_WRITER_TIMEOUT: '5s',
      SEDIMENT_RETRY_AFTER: '250ms',
      SEDIMENT_LOG_LEVEL: logLevel,
    }),
    readyUrl: `http://127.0.0.1:${port(http)}/readyz`,
    logFile: path.join(runDir, 'logs', `${name}.log`),
  });
  const w1 = new ManagedProcess(writerSpec('writer-1', 'writer', 0, 1));
  const w2 = new ManagedProcess(writerSpec('writer-2', 'writer', 2, 3));
  const col = new ManagedProcess(writerSpec('collector', 'collector', 4, 5));
  const a1 = new ManagedProcess(acceptorSpec('acceptor-1', 6, 7));
  const a2 = new ManagedProcess(acceptorSpec('acceptor-2', 8, 9));
  const all = [w1, w2, col, a1, a2];
  const acceptors: AcceptorAddress[] = [
    { grpcPort: ports[6]!, httpPort: ports[7]! },
    { grpcPort: ports[8]!, httpPort: ports[9]! },
  ];

  let phase: 'starting' | 'load' | 'settle' | 'drain' | 'done' = 'starting';
  let restarts = 0;
  const unexpectedExits: string[] = [];
  const restartTimers = new Set<NodeJS.Timeout>();
  for (const p of all) {
    p.onUnexpectedExit = (proc, exit) => {
      const msg = `${proc.name} (incarnation ${proc.incarnation}) exited on its own during ${phase}: code ${exit.code}, signal ${exit.signal}`;
      unexpectedExits.push(msg);
      violate(`${msg}\n${proc.logTail(15)}`);
      if (phase === 'load' || phase === 'settle' || phase === 'starting') {
        const t = setTimeout(() => {
          restartTimers.delete(t);
          if (!proc.up && phase !== 'drain' && phase !== 'done') {
            proc.start();
            restarts++;
          }
        }, 1_000);
        restartTimers.add(t);
      }
    };
  }

  const report = {
    passed: false as boolean,
    violations,
    store: options.store.kind === 'local' ? `local (${storeUrl})` : storeUrl,
    runDir,
    serviceRoot,
    options: {
      durationMs: options.durationMs,
      killEveryMs: options.killEveryMs ?? null,
      restartAfterMs: restartAfter,
      faults: options.faults ?? null,
      seed,
      concurrency,
      maxRows,
      thinkMs,
      retry,
      impatientShare,
      impatientAttempts: impatient.maxAttempts,
      maxFileAge: options.maxFileAge ?? '2s',
      gcGrace: options.gcGrace ?? '60s',
    },
    timing: { loadMs: 0, settleMs: 0, drainMs: 0, verifyMs: 0, totalMs: 0 },
    requests: {
      sent: 0,
      acked: 0,
      abandoned: 0,
      rejected: 0,
      retried: 0,
      retries: 0,
      attempts: 0,
      bySignal: {} as Record<string, number>,
      byTransport: {} as Record<string, number>,
      rowsAcked: 0,
    },
    statuses: {} as Record<string, number>,
    unexpectedStatuses: { count: 0, examples: [] as unknown[] },
    grpcTransportErrors: {} as Record<string, number>,
    kills: { acceptor: 0, writer: 0, collector: 0 } as Record<Role, number>,
    restarts: 0,
    unexpectedExits,
    faults: {
      writers: { calls: 0, transientErrors: 0, lostReplies: 0, delayedCalls: 0 },
      collector: { calls: 0, transientErrors: 0, lostReplies: 0, delayedCalls: 0 },
    },
    drain: {} as SoakReport['drain'],
    lake: undefined as SoakReport['lake'],
    queueBacklog: { samples: 0, maxEntries: 0, maxOldestAgeMs: 0, lastEntries: 0 },
    check: undefined as SoakReport['check'],
    logLines: {} as SoakReport['logLines'],
  } satisfies SoakReport;

  let clients: ChaosClients | undefined;
  try {
    // --- start: writers and collector first, then the acceptors
    log(`run directory ${runDir}; store ${report.store}`);
    for (const p of [w1, w2, col]) p.start();
    for (const p of [w1, w2, col]) {
      if (!(await p.waitReady(180_000)))
        throw new Error(`${p.name} did not become ready:\n${p.logTail()}`);
    }
    for (const p of [a1, a2]) p.start();
    for (const p of [a1, a2]) {
      if (!(await p.waitReady(180_000)))
        throw new Error(`${p.name} did not become ready:\n${p.logTail()}`);
    }
    log(`all ${all.length} processes ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // --- load + chaos
    phase = 'load';
    const loadStart = Date.now();
    const workRandom = prng(seed);
    const monkeyRandom = prng(seed + 1);
    clients = new ChaosClients(acceptors, retry, prng(seed + 2));
    const ledger = new Map<number, RequestLedger>();
    const inflight = new Map<number, RequestLedger>();
    const eventT0 = BigInt(Date.now()) * 1_000_000n;
    let nextRequest = 1;
    let stopNew = false;
    const r = report.requests;

    const worker = async (w: number) => {
      while (!stopNew) {
        const n = nextRequest++;
        const signal = SIGNALS[Math.floor(workRandom() * SIGNALS.length)]!;
        const transport: Transport = TRANSPORTS[Math.floor(workRandom() * TRANSPORTS.length)]!;
        const rows = 1 + Math.floor(workRandom() * maxRows);
        const gzip = transport !== 'grpc' && workRandom() < 1 / 3;
        const policy = workRandom() < impatientShare ? impatient : retry;
        const make =
          signal === 'traces' ? traceRequest : signal === 'logs' ? logsRequest : metricsRequest;
        const obj = make({
          request: n,
          rows,
          startNs: eventT0 + BigInt(n) * 1_000_000n,
          service: 'chaos-soak',
          producer: `${transport}-${w}`,
        });
        const raw =
          transport === 'http-json'
            ? new TextEncoder().encode(JSON.stringify(obj))
            : encodeRequest(signal, obj);
        const wire: WireRequest = {
          signal,
          transport,
          body: wireBody(raw, gzip ? 'gzip' : undefined),
          ...(gzip ? { contentEncoding: 'gzip' as const } : {}),
        };
        inflight.set(n, { signal, rows, outcome: 'abandoned' });
        r.sent++;
        r.bySignal[signal] = (r.bySignal[signal] ?? 0) + 1;
        r.byTransport[transport] = (r.byTransport[transport] ?? 0) + 1;
        const res = await clients!.send(wire, n % acceptors.length, policy);
        inflight.delete(n);
        ledger.set(n, { signal, rows, outcome: res.outcome });
        if (res.attempts > 1) r.retried++;
        r.retries += res.attempts - 1;
        if (res.outcome === 'acked') {
          r.acked++;
          r.rowsAcked += rows * (signal === 'metrics' ? 3 : 1);
        } else if (res.outcome === 'abandoned') r.abandoned++;
        else r.rejected++;
        if (res.rejectedItems > 0) {
          violate(
            `request ${n} (${signal} over ${transport}): ${res.rejectedItems} items rejected in partial_success`,
          );
        }
        if (res.outcome === 'rejected') {
          violate(
            `request ${n} (${signal} over ${transport}) answered non-retryable ${res.lastStatus}: the exporter drops it`,
          );
        }
        if (thinkMs > 0) await sleep(thinkMs);
      }
    };
    const workers = Array.from({ length: concurrency }, (_, w) => worker(w));

    let monkeyStopped = false;
    const monkey = (async () => {
      if (!options.killEveryMs) return;
      let cycle: Role[] = [];
      for (;;) {
        await sleep(uniform(monkeyRandom, options.killEveryMs));
        if (monkeyStopped) return;
        // Roles in shuffled rounds, so every role is hit once per three kills.
        if (cycle.length === 0) {
          cycle = [...ROLES];
          for (let i = cycle.length - 1; i > 0; i--) {
            const j = Math.floor(monkeyRandom() * (i + 1));
            [cycle[i], cycle[j]] = [cycle[j]!, cycle[i]!];
          }
        }
        const role = cycle.shift()!;
        let candidates = all.filter((p) => p.role === role && p.up);
        if (candidates.length === 0) candidates = all.filter((p) => p.up);
        if (candidates.length === 0) continue;
        const victim = candidates[Math.floor(monkeyRandom() * candidates.length)]!;
        const uptime = victim.uptimeMs;
        await victim.kill();
        report.kills[victim.role]++;
        const down = uniform(monkeyRandom, restartAfter);
        log(
          `kill ${victim.name} (up ${(uptime / 1000).toFixed(1)} s) at ${((Date.now() - loadStart) / 1000).toFixed(1)} s; back in ${(down / 1000).toFixed(1)} s`,
        );
        const t = setTimeout(() => {
          restartTimers.delete(t);
          if (!victim.up && phase === 'load') {
            victim.start();
            restarts++;
          }
        }, down);
        restartTimers.add(t);
      }
    })();

    const backlogStore = openStore(storeUrl, process.env);
    const backlog = report.queueBacklog;
    let sampling = false;
    const progress = setInterval(() => {
      const down = all.filter((p) => !p.up).map((p) => p.name);
      log(
        `${((Date.now() - loadStart) / 1000).toFixed(0)} s: sent ${r.sent}, acked ${r.acked}, abandoned ${r.abandoned}, in flight ${inflight.size}, kills ${JSON.stringify(report.kills)}, queue ${backlog.lastEntries} batches${down.length ? `, down: ${down.join(' ')}` : ''}`,
      );
      if (sampling) return;
      sampling = true;
      readQueueStats({ store: backlogStore, bytes: false })
        .then((q) => {
          backlog.samples++;
          backlog.lastEntries = q.entryCount;
          backlog.maxEntries = Math.max(backlog.maxEntries, q.entryCount);
          backlog.maxOldestAgeMs = Math.max(backlog.maxOldestAgeMs, q.oldestEntryAgeMs ?? 0);
        })
        .catch(() => {}) // a sample lost to the store is no finding
        .finally(() => {
          sampling = false;
        });
    }, 10_000);
    progress.unref();

    await sleep(options.durationMs);
    report.timing.loadMs = Date.now() - loadStart;

    // --- settle: monkey off, everything back up, clients finish what they hold
    phase = 'settle';
    const settleStart = Date.now();
    monkeyStopped = true;
    stopNew = true;
    await monkey;
    for (const t of restartTimers) clearTimeout(t);
    restartTimers.clear();
    for (const p of all) {
      if (!p.up) {
        p.start();
        restarts++;
      }
    }
    for (const p of all) {
      if (!(await p.waitReady(180_000))) {
        violate(`${p.name} did not become ready after the chaos phase:\n${p.logTail()}`);
      }
    }
    log(`monkey stopped, all processes up; waiting for ${inflight.size} requests in flight`);
    const settleLimit = retry.maxElapsedMs + retry.attemptTimeoutMs + 60_000;
    let settleTimer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(workers).then(() => true),
      new Promise<false>((resolve) => {
        settleTimer = setTimeout(() => resolve(false), settleLimit);
      }),
    ]);
    clearTimeout(settleTimer);
    clearInterval(progress);
    await backlogStore.close();
    if (!finished) {
      violate(
        `${inflight.size} requests still unanswered ${settleLimit / 1000} s after the chaos phase`,
      );
      // Verify them as abandoned: whole or absent.
      for (const [n, req] of inflight) ledger.set(n, req);
    }
    report.timing.settleMs = Date.now() - settleStart;
    clients.close();
    r.attempts = clients.attempts;
    report.statuses = Object.fromEntries([...clients.statuses].sort());
    report.unexpectedStatuses = { count: clients.unexpectedCount, examples: clients.unexpected };
    report.grpcTransportErrors = Object.fromEntries(clients.transportDetails);
    if (clients.unexpectedCount > 0) {
      violate(
        `${clients.unexpectedCount} unexpected answers: ${[...new Set(clients.unexpected.map((u) => u.key))].join(', ')}`,
      );
    }

    // --- drain: acceptors, then writers, then the collector (commits everything queued)
    phase = 'drain';
    const drainStart = Date.now();
    for (const group of [[a1, a2], [w1, w2], [col]]) {
      const exits = await Promise.all(group.map((p) => p.terminate(180_000)));
      group.forEach((p, i) => {
        const e = exits[i]!;
        report.drain[p.name] = { code: e.code, signal: e.signal, timedOut: e.timedOut };
        if (e.code !== 0 || e.timedOut) {
          violate(
            `${p.name} drain: exit code ${e.code}, signal ${e.signal}${e.timedOut ? ' (did not exit within 180 s)' : ''}\n${p.logTail(15)}`,
          );
        }
      });
    }
    report.timing.drainMs = Date.now() - drainStart;
    phase = 'done';
    report.restarts = restarts;
    log(`drained in ${(report.timing.drainMs / 1000).toFixed(1)} s; verifying`);

    // --- verify
    const verifyStart = Date.now();
    const store: ObjectStore = openStore(storeUrl, process.env);
    try {
      const result = await verifyLake(store, 'lake', ledger);
      for (const v of result.violations) violate(v);
      if (result.moreViolations > 0) violate(`… and ${result.moreViolations} more lake violations`);
      const { violations: _v, moreViolations: _m, ...check } = result;
      report.check = check;
      const figures = await readCommitLogFigures(store, 'lake');
      const queue = await readQueueStats({ store, bytes: false });
      report.lake = { ...figures, queueEntriesLeft: queue.entryCount };
      if (figures.quarantined > 0) violate(`${figures.quarantined} queue entries were quarantined`);
      if (queue.entryCount > 0) {
        log(`note: ${queue.entryCount} queue entries left after the collector drained`);
      }
      if (r.acked === 0) violate('no request was acked at all');
    } finally {
      await store.close();
    }
    report.timing.verifyMs = Date.now() - verifyStart;
  } catch (err) {
    violate(`soak aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    phase = 'done';
    for (const t of restartTimers) clearTimeout(t);
    clients?.close();
    await Promise.all(all.map((p) => p.kill()));
  }

  // --- figures from the processes' own records
  for (const f of await readdir(path.join(runDir, 'faults')).catch(() => [] as string[])) {
    if (!f.endsWith('.json')) continue;
    const stats = JSON.parse(await readFile(path.join(runDir, 'faults', f), 'utf8')) as FaultTotals;
    const into = f.startsWith('collector-') ? report.faults.collector : report.faults.writers;
    into.calls += stats.calls;
    into.transientErrors += stats.transientErrors;
    into.lostReplies += stats.lostReplies;
    into.delayedCalls += stats.delayedCalls;
  }
  for (const p of all) {
    const text = await readFile(p.spec.logFile, 'utf8').catch(() => '');
    const counts = { warn: 0, error: 0, fatal: 0 };
    for (const line of text.split('\n')) {
      if (line.includes('"level":"warn"')) counts.warn++;
      else if (line.includes('"level":"error"')) counts.error++;
      else if (line.includes('"level":"fatal"')) {
        counts.fatal++;
        violate(`${p.name} logged a fatal error: ${line.slice(0, 400)}`);
      }
    }
    report.logLines[p.name] = counts;
  }
  if (options.faults && report.faults.writers.calls === 0) {
    violate('fault injection was requested but the writers reported no store calls');
  }

  report.timing.totalMs = Date.now() - t0;
  report.passed = violations.length === 0;
  if (report.passed && !options.keep) {
    await rm(runDir, { recursive: true, force: true });
    if (options.store.kind === 's3') await removeStorePrefix(storeUrl);
  }
  return report;
}

/** Deletes everything under an S3 store URL (clean-up after a passed run). */
async function removeStorePrefix(url: string): Promise<void> {
  const store = openStore(url, process.env);
  try {
    const keys: string[] = [];
    for await (const meta of store.list('')) keys.push(meta.key);
    for (let i = 0; i < keys.length; i += 32) {
      await Promise.all(keys.slice(i, i + 32).map((k) => store.delete(k)));
    }
  } finally {
    await store.close();
  }
}

/** A fresh `s3://bucket/prefix` URL on the S3 server named by S3_ENDPOINT / S3_BUCKET. */
export function s3SoakUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const bucket = env.S3_BUCKET?.trim();
  if (!env.S3_ENDPOINT?.trim() || !bucket) {
    throw new Error('--store s3 needs S3_ENDPOINT and S3_BUCKET (and the AWS_* credentials) set');
  }
  return `s3://${bucket}/sediment-chaos/${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/** Human-readable summary of a report (what run.ts prints). */
export function formatReport(rep: SoakReport): string {
  const r = rep.requests;
  const lines = [
    `chaos soak ${rep.passed ? 'PASSED' : 'FAILED'} — store ${rep.store}`,
    `  duration: load ${(rep.timing.loadMs / 1000).toFixed(0)} s, settle ${(rep.timing.settleMs / 1000).toFixed(1)} s, drain ${(rep.timing.drainMs / 1000).toFixed(1)} s, verify ${(rep.timing.verifyMs / 1000).toFixed(1)} s, total ${(rep.timing.totalMs / 1000).toFixed(0)} s`,
    `  requests: sent ${r.sent}, acked ${r.acked}, retried ${r.retried} (${r.retries} retries, ${r.attempts} attempts), abandoned ${r.abandoned}, rejected ${r.rejected}; rows acked ${r.rowsAcked}`,
    `    by signal ${JSON.stringify(r.bySignal)}, by transport ${JSON.stringify(r.byTransport)}`,
    `  answers: ${Object.entries(rep.statuses)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `  unexpected answers: ${rep.unexpectedStatuses.count}`,
    `  kills: acceptor ${rep.kills.acceptor}, writer ${rep.kills.writer}, collector ${rep.kills.collector} (restarts ${rep.restarts}, unexpected exits ${rep.unexpectedExits.length})`,
    `  injected store faults (writers / collector): transient ${rep.faults.writers.transientErrors} / ${rep.faults.collector.transientErrors}, lost replies ${rep.faults.writers.lostReplies} / ${rep.faults.collector.lostReplies}, delayed calls ${rep.faults.writers.delayedCalls} / ${rep.faults.collector.delayedCalls}, of ${rep.faults.writers.calls} / ${rep.faults.collector.calls} store calls`,
  ];
  if (rep.lake) {
    lines.push(
      `  lake: ${rep.lake.commits} commits, ${rep.lake.files} files, ${rep.lake.rows} rows; duplicates dropped by the collector: ${rep.lake.duplicateEntries} entries (${rep.lake.duplicateRows} rows); quarantined ${rep.lake.quarantined}; queue entries left ${rep.lake.queueEntriesLeft}`,
    );
  }
  const q = rep.queueBacklog;
  lines.push(
    `  queue backlog during the load (${q.samples} samples): max ${q.maxEntries} batches, oldest waited at most ${(q.maxOldestAgeMs / 1000).toFixed(1)} s, last ${q.lastEntries}`,
  );
  if (rep.check) {
    const c = rep.check;
    lines.push(
      `  checked: ${c.rowsChecked} rows (${Object.entries(c.tables)
        .map(([t, v]) => `${t} ${v.rows}`)
        .join(
          ', ',
        )}); acked requests verified ${c.ackedRequestsVerified}; abandoned stored ${c.abandonedStored}, absent ${c.abandonedAbsent}, some tables only ${c.abandonedPartlyByTable}`,
    );
  }
  lines.push(
    `  drain exits: ${Object.entries(rep.drain)
      .map(([n, e]) => `${n} ${e.code ?? e.signal}`)
      .join(', ')}`,
  );
  if (rep.violations.length > 0) {
    lines.push(`  VIOLATIONS (${rep.violations.length}):`);
    for (const v of rep.violations) lines.push(`    - ${v.replaceAll('\n', '\n      ')}`);
    lines.push(`  logs kept in ${rep.runDir}`);
  }
  return lines.join('\n');
}
