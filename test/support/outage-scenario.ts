/**
 * One outage scenario, run the same way by the CI tests (test/outage-*.test.ts) and the
 * long forms (bench/outage/): a writer process and an acceptor process over one store,
 * retrying OTLP clients as load, then
 *
 *   warm-up → cut (the scenario's outage begins) → outage → restore → recovery → drain
 *
 * while resident memory, health endpoints and every client attempt are recorded. After the
 * drain (SIGTERM to the acceptor, then to the writer) DuckDB reads the committed lake and
 * every acked row must be there exactly once. The scenario returns figures; the caller
 * asserts on them (or prints them).
 */
import type { ObjectStore } from '@sediment/object-store';
import { withLakeDuckDB } from './lake-duckdb.js';
import {
  type LoadOptions,
  percentile,
  RetryingLoad,
  type SentRequest,
  sleep,
} from './outage-load.js';
import {
  metricSum,
  probe,
  RssSampler,
  type ServiceProcess,
  scrape,
  spawnService,
  waitHttp200,
} from './outage-processes.js';
import { freeSedimentPorts } from './sediment-process.js';

export interface StoreTarget {
  /** SEDIMENT_STORE for the writer. */
  readonly url: string;
  /** Extra writer environment (S3 endpoint and credentials). */
  readonly env: Record<string, string>;
  /** The same store, opened in this process for the checks. */
  readonly store: ObjectStore;
}

export type Phase = 'warm-up' | 'outage' | 'recovery' | 'drain';

export interface Harness {
  readonly ports: { grpc: number; http: number; flight: number; writerAdmin: number };
  /** The current writer (replaced by `startWriter`). */
  readonly writer: ServiceProcess;
  readonly acceptor: ServiceProcess;
  /** The steady clients (the big-request clients are not exposed). */
  readonly load: RetryingLoad;
  readonly sampler: RssSampler;
  /** Kills the writer with SIGKILL (an unplanned crash); it stays down until `startWriter`. */
  killWriter(): Promise<void>;
  /** Starts a writer on the same ports and store; resolves once its /readyz is 200. */
  startWriter(): Promise<void>;
  /** Writer metrics now (empty when it does not answer). */
  writerMetrics(): Promise<Map<string, number>>;
  log(message: string): void;
}

export interface OutageScenario {
  readonly name: string;
  readonly store: StoreTarget;
  readonly writerEnv?: Record<string, string>;
  readonly acceptorEnv?: Record<string, string>;
  readonly load: Pick<LoadOptions, 'concurrency' | 'rows' | 'thinkMs' | 'clientTimeoutMs'>;
  /**
   * Clients with big requests, running alongside `load`: sparse while all is well (a long
   * think time after each ack), but retrying every second or so while refused — the bytes
   * that pile up against a broken pipeline, which the memory bounds must hold against.
   * Running them in the warm-up too makes the warm-up peak a fair memory baseline.
   */
  readonly big?: Pick<LoadOptions, 'concurrency' | 'rows' | 'thinkMs' | 'clientTimeoutMs'>;
  /** Acceptor SEDIMENT_MAX_INFLIGHT_BYTES; default 16 MiB. */
  readonly acceptorInflightBytes?: number;
  /** Load before the cut (at least this long, and until some requests were acked). */
  readonly warmupMs: number;
  /** How long the outage lasts once `cut` has put it in effect. */
  readonly outageMs: number;
  /** Load keeps coming this long after `restore` before the clients stop. */
  readonly recoveryLoadMs: number;
  /** After the load stops, how long clients may take to get their last requests acked. */
  readonly settleTimeoutMs?: number;
  /** Puts the outage in effect; the outage timer starts when this resolves. */
  cut(h: Harness): Promise<void>;
  /** Ends the outage. */
  restore(h: Harness): Promise<void>;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export type ProbeCounts = Record<string, Record<string, number>>;

export interface LakeCheck {
  readonly requestsChecked: number;
  readonly rowsChecked: number;
  /** Acked requests whose rows are missing or incomplete. */
  readonly missing: string[];
  /** Requests with a row stored more than once. */
  readonly duplicated: string[];
  /** Rows from requests that were never sent. */
  readonly unexpected: string[];
  readonly quarantinedObjects: number;
  /** Queue entries the collector dropped as client retries of stored requests (commit stats). */
  readonly duplicateEntriesDropped: number;
  /** Creation time (wall clock, ms) of every lake commit. */
  readonly commitTimesMs: number[];
}

export interface OutageReport {
  readonly name: string;
  readonly requests: number;
  readonly acked: number;
  readonly rowsAcked: number;
  readonly attempts: number;
  /** Attempt outcomes per phase. */
  readonly outcomes: Record<Phase, Record<string, number>>;
  /** Every attempt a client could lose data on (must be empty). */
  readonly violations: string[];
  /** Actual outage length (cut in effect → restore), ms. */
  readonly outageMs: number;
  /** Request body bytes clients sent (all attempts) during the outage. */
  readonly bytesOfferedDuringOutage: number;
  /** The acceptor's in-flight bound (SEDIMENT_MAX_INFLIGHT_BYTES). */
  readonly acceptorInflightBytes: number;
  /** The writer's compaction round size (SEDIMENT_TARGET_FILE_SIZE), when set. */
  readonly targetFileBytes: number | undefined;
  /**
   * Acks that arrived during the outage: they can only be requests made durable before it
   * began, so at most one per client (the one it had in flight) — `maxPerClient` must be
   * ≤ 1; `lastAtMs` is the latest one, ms after the cut.
   */
  readonly outageAcks: { count: number; maxPerClient: number; lastAtMs: number };
  /** Latency of UNAVAILABLE / 503 answers during the outage, ms. */
  readonly refusalLatencyMs: { p50: number; p90: number; max: number; count: number };
  /**
   * From restore: first ack, every request sent before the restore acked, and the first
   * lake commit (the collector's own recovery), ms.
   */
  readonly recovery: { firstAckMs: number; backlogAckedMs: number; firstCommitMs: number };
  /** Max resident memory per process and phase, MiB. */
  readonly rssMiB: Record<string, Record<string, number>>;
  /** Max resident memory per process per 5 s, MiB, and the 5 s slots where phases began. */
  readonly rssTimeline: { mib: Record<string, number[]>; phaseStarts: Record<string, number> };
  /** Health probes per phase: `acceptor /readyz` → status → count. */
  readonly probes: Record<Phase, ProbeCounts>;
  /** Writer metrics scraped at the end of the outage and before the drain. */
  readonly writerMetrics: { outage: Map<string, number>; final: Map<string, number> };
  /** Processes that exited without being asked to (role: exit code). */
  readonly unexpectedExits: string[];
  readonly exitCodes: { acceptor: number | null; writer: number | null };
  readonly lake: LakeCheck;
  /** Output of both processes (for failure messages). */
  readonly output: { writer: string; acceptor: string };
}

const T0 = 1_735_689_600_000_000_000n; // 2025-01-01T00:00:00Z

export async function runOutageScenario(s: OutageScenario): Promise<OutageReport> {
  const log = s.log ?? (() => {});
  const ports = await freeSedimentPorts();
  const { grpc, http, flight, writerAdmin } = ports;
  const inflightBytes = s.acceptorInflightBytes ?? 16 * 1024 * 1024;
  const writerEnv: Record<string, string> = {
    SEDIMENT_STORE: s.store.url,
    ...s.store.env,
    SEDIMENT_FLIGHT_HOST: '127.0.0.1',
    SEDIMENT_FLIGHT_PORT: String(flight),
    SEDIMENT_WRITER_ADMIN_PORT: String(writerAdmin),
    SEDIMENT_LOG_LEVEL: 'warn',
    SEDIMENT_MAX_FILE_AGE: '5s',
    ...s.writerEnv,
  };
  const acceptorEnv: Record<string, string> = {
    SEDIMENT_HOST: '127.0.0.1',
    SEDIMENT_GRPC_PORT: String(grpc),
    SEDIMENT_HTTP_PORT: String(http),
    SEDIMENT_WRITERS: `127.0.0.1:${flight}`,
    SEDIMENT_LOG_LEVEL: 'warn',
    SEDIMENT_MAX_INFLIGHT_BYTES: String(inflightBytes),
    ...s.acceptorEnv,
  };

  const samplerT0 = performance.now();
  const sampler = new RssSampler(200);
  const unexpectedExits: string[] = [];
  const writerOutputs: string[] = [];
  let stopping = false;
  let killingWriter = false;
  const watch = (p: ServiceProcess) => {
    void p.exited.then((code) => {
      if (p.role === 'writer') writerOutputs.push(p.output());
      if (!stopping && !(p.role === 'writer' && killingWriter)) {
        unexpectedExits.push(`${p.role} (pid ${p.pid}) exited with ${code}`);
      }
    });
  };
  const writerUrl = (p: string) => `http://127.0.0.1:${writerAdmin}${p}`;
  const acceptorUrl = (p: string) => `http://127.0.0.1:${http}${p}`;
  let writer = spawnService('writer', writerEnv);
  watch(writer);
  sampler.track('writer', writer.pid);
  const acceptor = spawnService('acceptor', acceptorEnv);
  watch(acceptor);
  sampler.track('acceptor', acceptor.pid);

  const origin = performance.now();
  const common = { grpcPort: grpc, httpPort: http, startNs: T0, origin };
  const load = new RetryingLoad({ ...common, ...s.load });
  const big = s.big
    ? new RetryingLoad({ ...common, ...s.big, firstRequest: 10_000_000, label: 'big' })
    : undefined;
  const loads = big ? [load, big] : [load];
  const h: Harness = {
    ports,
    get writer() {
      return writer;
    },
    acceptor,
    load,
    sampler,
    killWriter: async () => {
      killingWriter = true;
      sampler.untrack('writer');
      await writer.kill();
    },
    startWriter: async () => {
      writer = spawnService('writer', writerEnv);
      killingWriter = false;
      watch(writer);
      sampler.track('writer', writer.pid);
      await waitHttp200(writerUrl('/readyz'), writer);
    },
    writerMetrics: () => scrape(writerUrl('/metrics')),
    log,
  };

  // Health probes once a second, counted per phase. Rounds that overlap a cut or a restore
  // (the writer may be half-gone or already back) belong to no phase and are not counted.
  let phase: Phase = 'warm-up';
  let changing = false;
  const probes: Record<Phase, ProbeCounts> = { 'warm-up': {}, outage: {}, recovery: {}, drain: {} };
  let probing = true;
  const prober = async () => {
    while (probing) {
      const p = phase;
      const steady = !changing;
      const results = await Promise.all([
        probe(acceptorUrl('/readyz')),
        probe(acceptorUrl('/healthz')),
        probe(writerUrl('/readyz')),
        probe(writerUrl('/healthz')),
      ]);
      if (!steady || changing || phase !== p) {
        await sleep(1_000);
        continue;
      }
      const names = ['acceptor /readyz', 'acceptor /healthz', 'writer /readyz', 'writer /healthz'];
      for (const [i, name] of names.entries()) {
        const counts = probes[p][name] ?? {};
        const status = String(results[i]!.status);
        counts[status] = (counts[status] ?? 0) + 1;
        probes[p][name] = counts;
      }
      await sleep(1_000);
    }
  };

  const marks: Partial<Record<Phase, number>> = {};
  const setPhase = (p: Phase) => {
    phase = p;
    marks[p] = load.now();
    sampler.phase(p);
    const acked = loads.reduce((n, l) => n + l.ackedCount(), 0);
    log(`[${s.name}] ${(load.now() / 1000).toFixed(1)} s: ${p} (${acked} requests acked)`);
  };

  let probeLoop: Promise<void> | undefined;
  try {
    await waitHttp200(writerUrl('/readyz'), writer);
    await waitHttp200(acceptorUrl('/readyz'), acceptor);
    probeLoop = prober();
    setPhase('warm-up');
    load.start();
    big?.start();
    await sleep(s.warmupMs);
    const warmDeadline = Date.now() + 120_000;
    while (load.ackedCount() < s.load.concurrency) {
      if (Date.now() > warmDeadline) {
        throw new Error(
          `only ${load.ackedCount()} requests acked in the warm-up: ${load.violations.slice(0, 5).join('; ')}\n${writer.output().slice(-4000)}`,
        );
      }
      await sleep(200);
    }

    changing = true;
    await s.cut(h);
    setPhase('outage');
    changing = false;
    await sleep(s.outageMs);
    const outageMetrics = await h.writerMetrics();
    changing = true;
    await s.restore(h);
    const restoreWallMs = Date.now();
    setPhase('recovery');
    changing = false;
    await sleep(s.recoveryLoadMs);
    await Promise.all(loads.map((l) => l.stop(s.settleTimeoutMs ?? 180_000)));

    const finalMetrics = await h.writerMetrics();
    setPhase('drain');
    stopping = true;
    const exitCodes = { acceptor: await acceptor.stop(), writer: null as number | null };
    exitCodes.writer = await writer.stop();
    probing = false;
    await probeLoop;
    sampler.stop();

    const lake = await checkLake(s.store.store, loads);
    const cutAt = marks.outage!;
    const restoreAt = marks.recovery!;
    const drainAt = marks.drain!;
    const attempts = loads.flatMap((l) => l.attempts);
    const requests = loads.flatMap((l) => [...l.requests.values()]);
    const count = (from: number, to: number) => {
      const out: Record<string, number> = {};
      for (const a of attempts) {
        if (a.at >= from && a.at < to) out[a.outcome] = (out[a.outcome] ?? 0) + 1;
      }
      return out;
    };
    const recoveryAcks = attempts
      .filter((a) => a.outcome === 'ok' && a.at >= restoreAt)
      .map((a) => a.at);
    const sentBefore = requests.filter((r) => r.firstSentAt < restoreAt);
    const backlogAckedAt = Math.max(restoreAt, ...sentBefore.map((r) => r.ackedAt ?? Infinity));
    const perClient = new Map<string, number>();
    const outageAcks = loads.flatMap((l) =>
      l.attempts.filter((a) => {
        if (a.outcome !== 'ok' || a.at < cutAt || a.at >= restoreAt) return false;
        const key = `${l.label}/${a.client}`;
        perClient.set(key, (perClient.get(key) ?? 0) + 1);
        return true;
      }),
    );
    const refusals = attempts
      .filter((a) => a.outcome === 'unavailable' && a.at >= cutAt && a.at < restoreAt)
      .map((a) => a.latencyMs)
      .sort((x, y) => x - y);
    const acked = requests.filter((r) => r.ackedAt !== undefined);
    return {
      name: s.name,
      requests: requests.length,
      acked: acked.length,
      rowsAcked: acked.reduce((n, r) => n + r.rows, 0),
      attempts: attempts.length,
      outcomes: {
        'warm-up': count(0, cutAt),
        outage: count(cutAt, restoreAt),
        recovery: count(restoreAt, drainAt),
        drain: count(drainAt, Infinity),
      },
      violations: loads.flatMap((l) => l.violations),
      outageMs: Math.round(restoreAt - cutAt),
      bytesOfferedDuringOutage: loads.reduce((n, l) => n + l.bytesSent(cutAt, restoreAt), 0),
      acceptorInflightBytes: inflightBytes,
      targetFileBytes: parseMiB(writerEnv.SEDIMENT_TARGET_FILE_SIZE),
      outageAcks: {
        count: outageAcks.length,
        maxPerClient: Math.max(0, ...perClient.values()),
        lastAtMs: Math.round(Math.max(0, ...outageAcks.map((a) => a.at - cutAt))),
      },
      refusalLatencyMs: {
        p50: Math.round(percentile(refusals, 50)),
        p90: Math.round(percentile(refusals, 90)),
        max: Math.round(percentile(refusals, 100)),
        count: refusals.length,
      },
      recovery: {
        firstAckMs: Math.round(Math.min(...recoveryAcks) - restoreAt),
        backlogAckedMs: Math.round(backlogAckedAt - restoreAt),
        firstCommitMs: Math.round(
          Math.min(...lake.commitTimesMs.filter((t) => t >= restoreWallMs)) - restoreWallMs,
        ),
      },
      rssMiB: sampler.table(),
      rssTimeline: {
        mib: sampler.timeline(),
        phaseStarts: Object.fromEntries(
          Object.entries(marks).map(([p, t]) => [p, Math.floor((t + origin - samplerT0) / 5_000)]),
        ),
      },
      probes,
      writerMetrics: { outage: outageMetrics, final: finalMetrics },
      unexpectedExits,
      exitCodes,
      lake,
      output: {
        writer: [...writerOutputs, writer.output()].join('\n'),
        acceptor: acceptor.output(),
      },
    };
  } finally {
    stopping = true;
    probing = false;
    for (const l of loads) l.close();
    sampler.stop();
    await acceptor.kill();
    await writer.kill();
    await probeLoop;
  }
}

/**
 * Every acked request's rows exactly once in the committed lake, nothing from requests
 * never sent, nothing quarantined.
 */
async function checkLake(store: ObjectStore, loads: RetryingLoad[]): Promise<LakeCheck> {
  const requests = new Map<number, SentRequest>();
  for (const l of loads) for (const [n, r] of l.requests) requests.set(n, r);
  const missing: string[] = [];
  const duplicated: string[] = [];
  const unexpected: string[] = [];
  let rowsChecked = 0;
  let requestsChecked = 0;
  const found = new Map<number, { n: number; d: number; signal: string }>();
  await withLakeDuckDB(store, 'lake', async (query, tables) => {
    const parts: string[] = [];
    if (tables.includes('spans')) {
      parts.push(`SELECT span_attributes['request.number']::BIGINT AS request, 'traces' AS signal,
                         count(*)::BIGINT AS n, count(DISTINCT (trace_id, span_id))::BIGINT AS d
                  FROM spans GROUP BY 1`);
    }
    if (tables.includes('logs')) {
      parts.push(`SELECT regexp_extract(body, '^request (\\d+) line', 1)::BIGINT AS request, 'logs' AS signal,
                         count(*)::BIGINT AS n, count(DISTINCT (trace_id, span_id))::BIGINT AS d
                  FROM logs GROUP BY 1`);
    }
    if (parts.length === 0) return;
    for (const r of await query(parts.join(' UNION ALL '))) {
      found.set(Number(r.request), { n: Number(r.n), d: Number(r.d), signal: String(r.signal) });
    }
  });
  for (const req of requests.values()) {
    if (req.ackedAt === undefined) continue;
    requestsChecked++;
    const f = found.get(req.request);
    if (!f || f.signal !== req.signal || f.d !== req.rows) {
      missing.push(`#${req.request} ${req.signal}: ${f ? `${f.d} distinct rows` : 'absent'}`);
    } else {
      rowsChecked += f.n;
    }
    if (f && f.n !== f.d) duplicated.push(`#${req.request}: ${f.n} rows, ${f.d} distinct`);
  }
  for (const [request, f] of found) {
    if (!requests.has(request)) unexpected.push(`#${request} (${f.n} rows)`);
  }
  let quarantinedObjects = 0;
  for await (const _ of store.list('lake/_quarantine/')) quarantinedObjects++;
  let duplicateEntriesDropped = 0;
  const commitTimesMs: number[] = [];
  for await (const meta of store.list('lake/_commits/')) {
    if (!/\/\d{20}\.json$/.test(meta.key)) continue;
    const record = JSON.parse(new TextDecoder().decode((await store.get(meta.key)).bytes)) as {
      createdAtMs: number;
      stats: { duplicateEntries: number };
    };
    duplicateEntriesDropped += record.stats.duplicateEntries;
    commitTimesMs.push(record.createdAtMs);
  }
  return {
    requestsChecked,
    rowsChecked,
    missing,
    duplicated,
    unexpected,
    quarantinedObjects,
    duplicateEntriesDropped,
    commitTimesMs,
  };
}

/** Metric value helpers for assertions on `OutageReport.writerMetrics`. */
export { metricSum };

function parseMiB(text: string | undefined): number | undefined {
  const m = /^(\d+)MiB$/.exec(text ?? '');
  return m ? Number(m[1]) * 1048576 : undefined;
}
