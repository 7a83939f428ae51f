/**
 * Network-level fuzzing of an acceptor: a writer and an acceptor as child processes, a
 * pool of concurrent workers sending the hostile requests of fuzz-cases.ts to both ports,
 * with valid requests interleaved (1 in 20). Every outcome is checked against the kind's
 * documented replies; the acceptor's resident memory is sampled throughout; at the end
 * both processes drain (SIGTERM → exit 0) and DuckDB reads the committed lake to check
 * that every acked valid request is stored exactly once and nothing sent without a valid
 * token is stored at all.
 *
 * Used by test/fuzz-network.test.ts (short form) and bench/fuzz/run.ts (long form).
 */
import { rm } from 'node:fs/promises';
import { LocalFsStore } from '@sediment/object-store';
import {
  Bases,
  type CaseContext,
  compress,
  type Encoding,
  expectedRows,
  type FuzzKind,
  type FuzzTarget,
  GRPC_PATHS,
  H2Pool,
  h2Call,
  httpExchange,
  KINDS,
  requestJson,
  SIGNALS,
} from './fuzz-cases.js';
import { grpcFrame } from './fuzz-h2.js';
import { rawRequest } from './fuzz-http1.js';
import {
  processRss,
  RssSampler,
  type ServiceChild,
  spawnServiceChild,
  tempStoreDir,
} from './fuzz-processes.js';
import { withLakeDuckDB } from './lake-duckdb.js';
import { encodeRequest, type Signal } from './otlp-proto.js';
import { prng } from './otlp-workload.js';

const MiB = 1024 * 1024;

export interface FuzzOptions {
  /** Requests to generate (valid ones included). */
  readonly requests: number;
  /** Concurrent workers. Default 64. */
  readonly concurrency?: number;
  readonly seed?: number;
  /** One valid request every `validEvery` requests. Default 20. */
  readonly validEvery?: number;
  /** Progress lines (every ~10 %), e.g. console.log. */
  readonly log?: (line: string) => void;
}

/** The acceptor's limits during the fuzz: small, so that the limits are actually hit. */
export const FUZZ_LIMITS = {
  maxRequestBytes: 256 * 1024,
  maxInflightBytes: 4 * MiB,
  maxHeaderBytes: 16 * 1024,
  maxConcurrentStreams: 16,
  maxConnections: 1024,
  requestTimeoutMs: 3_000,
} as const;

export interface Violation {
  readonly kind: string;
  readonly outcome: string;
}

export interface FuzzReport {
  readonly requests: number;
  readonly durationMs: number;
  readonly concurrency: number;
  readonly seed: number;
  /** Per kind: how many requests, and their outcomes. */
  readonly byKind: Record<
    string,
    { port: 'http' | 'grpc'; count: number; outcomes: Record<string, number> }
  >;
  /** All outcomes, per port. */
  readonly byOutcome: { http: Record<string, number>; grpc: Record<string, number> };
  readonly violations: number;
  /** The first violations seen (kind, outcome). */
  readonly violationSamples: Violation[];
  readonly valid: {
    readonly sent: number;
    readonly acked: number;
    /** Attempts beyond the first (retries after 503 / UNAVAILABLE / connection errors). */
    readonly retries: number;
    /** Acked requests found in the lake with exactly their rows, once. */
    readonly storedExactlyOnce: number;
    /** Acked requests missing from the lake or stored more than once. */
    readonly wrong: Array<{ signal: Signal; request: number; expected: number; found: number }>;
    readonly lastFailures: string[];
  };
  /** Rows in the lake from requests sent without a valid token (must be 0). */
  readonly unauthenticatedRowsStored: number;
  readonly rss: {
    /** After warm-up, before the fuzz. */
    readonly baseline: number;
    /** Highest VmRSS sampled during the fuzz. */
    readonly max: number;
    /** VmHWM at the end of the fuzz. */
    readonly peak: number;
    /** Highest VmRSS sampled during the first half of the requests. */
    readonly maxFirstHalf: number;
    readonly samples: number;
  };
  /** The acceptor was alive for the whole run. */
  readonly acceptorSurvived: boolean;
  readonly acceptorExitCode: number | null;
  readonly writerExitCode: number | null;
  /** Tail of the acceptor's output (for failure messages). */
  readonly acceptorOutputTail: string;
}

interface ValidRecord {
  readonly signal: Signal;
  readonly request: number;
  readonly rows: number;
}

const TOKEN = 'fuzz-token-7f3a';

/** Starts the processes, fuzzes, drains, checks the lake; always cleans up. */
export async function runNetworkFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const seed = options.seed ?? 20240501;
  const concurrency = options.concurrency ?? 64;
  const validEvery = options.validEvery ?? 20;
  const log = options.log ?? (() => {});
  const dir = await tempStoreDir();
  let writer: ServiceChild | undefined;
  let acceptor: ServiceChild | undefined;
  let pool: H2Pool | undefined;
  try {
    writer = await spawnServiceChild('writer', {
      SEDIMENT_STORE: `file://${dir}`,
      SEDIMENT_FLIGHT_HOST: '127.0.0.1',
      SEDIMENT_FLIGHT_PORT: '0',
      SEDIMENT_WRITER_ADMIN_PORT: '0',
      SEDIMENT_FLUSH_INTERVAL: '20ms',
      SEDIMENT_LOG_LEVEL: 'info',
    });
    const flightPort = writer.started.flightPort as number;
    acceptor = await spawnServiceChild('acceptor', {
      SEDIMENT_HOST: '127.0.0.1',
      SEDIMENT_GRPC_PORT: '0',
      SEDIMENT_HTTP_PORT: '0',
      SEDIMENT_ADMIN_PORT: '0',
      SEDIMENT_WRITERS: `127.0.0.1:${flightPort}`,
      SEDIMENT_AUTH_TOKENS: TOKEN,
      SEDIMENT_MAX_REQUEST_SIZE: String(FUZZ_LIMITS.maxRequestBytes),
      SEDIMENT_MAX_INFLIGHT_BYTES: String(FUZZ_LIMITS.maxInflightBytes),
      SEDIMENT_MAX_HEADER_SIZE: String(FUZZ_LIMITS.maxHeaderBytes),
      SEDIMENT_GRPC_MAX_CONCURRENT_STREAMS: String(FUZZ_LIMITS.maxConcurrentStreams),
      SEDIMENT_MAX_CONNECTIONS: String(FUZZ_LIMITS.maxConnections),
      SEDIMENT_REQUEST_TIMEOUT: `${FUZZ_LIMITS.requestTimeoutMs}ms`,
      SEDIMENT_RETRY_AFTER: '100ms',
      SEDIMENT_LOG_LEVEL: 'info',
    });
    const target: FuzzTarget = {
      httpPort: acceptor.started.httpPort as number,
      grpcPort: acceptor.started.grpcPort as number,
      token: TOKEN,
      ...FUZZ_LIMITS,
    };
    pool = new H2Pool(target.grpcPort, 4);
    const bases = new Bases();
    const timeoutMs = FUZZ_LIMITS.requestTimeoutMs + 15_000;
    const ctxFor = (rng: () => number): CaseContext => ({
      target,
      rng,
      h2: pool!,
      bases,
      timeoutMs,
    });

    // Warm up every path, then take the memory baseline.
    const warmRng = prng(seed - 1);
    let nextValid = 1;
    const validRecords: ValidRecord[] = [];
    let validAcked = 0;
    let validRetries = 0;
    const lastFailures: string[] = [];
    const sendValid = async (ctx: CaseContext, viaGrpc: boolean): Promise<string> => {
      const signal = SIGNALS[Math.floor(ctx.rng() * 3)]!;
      const request = nextValid++;
      const rows = 2 + Math.floor(ctx.rng() * 4);
      const json = requestJson(signal, request, rows, 'fuzz-valid');
      const encoding = [undefined, 'gzip', 'deflate', 'zstd'][Math.floor(ctx.rng() * 4)] as
        | Encoding
        | undefined;
      const asJson = !viaGrpc && ctx.rng() < 0.4;
      const plain = asJson
        ? Buffer.from(JSON.stringify(json))
        : Buffer.from(encodeRequest(signal, json));
      const body = encoding ? compress(encoding, plain) : plain;
      let last = '';
      for (let attempt = 0; attempt < 40; attempt++) {
        if (attempt > 0) {
          validRetries++;
          await new Promise((r) => setTimeout(r, Math.min(1000, 50 * attempt)));
        }
        if (viaGrpc) {
          last = await h2Call(
            ctx.h2.get(ctx.rng),
            {
              ':method': 'POST',
              ':path': GRPC_PATHS[signal],
              'content-type': 'application/grpc',
              te: 'trailers',
              authorization: `Bearer ${TOKEN}`,
              ...(encoding ? { 'grpc-encoding': encoding } : {}),
            },
            [grpcFrame(body, encoding ? 1 : 0)],
            { timeoutMs },
          );
        } else {
          const headers: Array<readonly [string, string]> = [
            ['Host', '127.0.0.1'],
            ['Authorization', `Bearer ${TOKEN}`],
            ['Content-Type', asJson ? 'application/json' : 'application/x-protobuf'],
            ['Content-Length', String(body.byteLength)],
            ...(encoding ? [['Content-Encoding', encoding] as const] : []),
          ];
          last = (
            await httpExchange(ctx, [rawRequest('POST', `/v1/${signal}`, headers, body)])
          )[0]!;
        }
        if (last === 'http:200' || last === 'grpc:OK') {
          validAcked++;
          validRecords.push({ signal, request, rows: expectedRows(signal, rows) });
          return 'acked';
        }
        // Only what an OTLP client retries is retried; anything else is a failure.
        const retryable =
          last === 'http:503' ||
          last === 'grpc:UNAVAILABLE' ||
          last === 'closed' ||
          last === 'reset' ||
          last === 'goaway' ||
          last.startsWith('rst:');
        if (!retryable) break;
      }
      if (lastFailures.length < 20)
        lastFailures.push(`${viaGrpc ? 'grpc' : 'http'} ${signal} #${request}: ${last}`);
      return `failed:${last}`;
    };

    const warmCtx = ctxFor(warmRng);
    for (let i = 0; i < 6; i++) {
      const r = await sendValid(warmCtx, i % 2 === 0);
      if (r !== 'acked')
        throw new Error(`warm-up request failed: ${r}\n${acceptor.output().slice(-4000)}`);
    }
    const sampler = new RssSampler(acceptor.pid, 100);
    await new Promise((r) => setTimeout(r, 500));
    const baseline = sampler.sample() ?? 0;

    // The fuzz.
    const totalWeight = KINDS.reduce((s, k) => s + k.weight, 0);
    const chooseKind = (rng: () => number): FuzzKind => {
      let x = rng() * totalWeight;
      for (const k of KINDS) {
        x -= k.weight;
        if (x < 0) return k;
      }
      return KINDS[KINDS.length - 1]!;
    };
    const byKind: FuzzReport['byKind'] = {};
    const byOutcome: FuzzReport['byOutcome'] = { http: {}, grpc: {} };
    const violationSamples: Violation[] = [];
    let violations = 0;
    const tally = (
      name: string,
      port: 'http' | 'grpc',
      outcomes: string[],
      allowed: (o: string) => boolean,
    ) => {
      const k = byKind[name] ?? { port, count: 0, outcomes: {} };
      byKind[name] = k;
      k.count++;
      for (const o of outcomes) {
        k.outcomes[o] = (k.outcomes[o] ?? 0) + 1;
        byOutcome[port][o] = (byOutcome[port][o] ?? 0) + 1;
        if (!allowed(o)) {
          violations++;
          if (violationSamples.length < 50) violationSamples.push({ kind: name, outcome: o });
        }
      }
    };
    let issued = 0;
    let completed = 0;
    let acceptorSurvived = true;
    const started = performance.now();
    let nextProgress = 0.1;
    let maxFirstHalf = 0;
    const worker = async (id: number) => {
      const rng = prng(seed + id * 7919);
      const ctx = ctxFor(rng);
      for (;;) {
        const i = issued++;
        if (i >= options.requests) return;
        if (!acceptor!.alive()) {
          acceptorSurvived = false;
          return;
        }
        if (i % validEvery === 0) {
          const viaGrpc = (i / validEvery) % 2 === 1;
          const o = await sendValid(ctx, viaGrpc);
          tally(
            viaGrpc ? 'grpc valid request' : 'http valid request',
            viaGrpc ? 'grpc' : 'http',
            [o],
            (x) => x === 'acked',
          );
        } else {
          const kind = chooseKind(rng);
          let outcomes: string[];
          try {
            outcomes = await kind.run(ctx);
          } catch (err) {
            outcomes = [`fuzzer-error:${(err as Error).message.slice(0, 80)}`];
          }
          tally(kind.name, kind.port, outcomes, (o) => kind.allowed.has(o));
        }
        completed++;
        if (completed * 2 <= options.requests) maxFirstHalf = sampler.max;
        if (completed / options.requests >= nextProgress) {
          nextProgress += 0.1;
          const s = (performance.now() - started) / 1000;
          log(
            `  ${completed}/${options.requests} requests in ${s.toFixed(0)} s; acceptor RSS max ${(sampler.max / MiB).toFixed(0)} MiB; violations ${violations}; valid acked ${validAcked}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, id) => worker(id)));
    const durationMs = performance.now() - started;
    sampler.sample();
    sampler.stop();
    if (!acceptor.alive()) acceptorSurvived = false;
    const peak = processRss(acceptor.pid)?.peak ?? 0;
    pool.close();
    pool = undefined;

    // Drain: acceptor first (its requests in flight get their acks), then the writer
    // (flush, then the collector commits everything queued).
    const acceptorExitCode = await acceptor.stop();
    const acceptorOutputTail = acceptor.output().slice(-6000);
    const writerExitCode = await writer.stop();

    // The lake.
    const found = new Map<string, number>();
    let unauthenticatedRowsStored = 0;
    await withLakeDuckDB(new LocalFsStore({ root: dir }), 'lake', async (query, tables) => {
      const has = (t: string) => tables.includes(t);
      const producer = (col: string, who: string) => `${col}['sediment.producer'] = '${who}'`;
      const add = (signal: Signal, rows: Record<string, unknown>[]) => {
        for (const r of rows) {
          const key = `${signal}/${Number(r.n)}`;
          found.set(key, (found.get(key) ?? 0) + Number(r.c));
        }
      };
      if (has('spans')) {
        add(
          'traces',
          await query(
            `SELECT span_attributes['request.number']::BIGINT AS n, count(*) AS c FROM spans WHERE ${producer('resource_attributes', 'fuzz-valid')} GROUP BY 1`,
          ),
        );
        const [u] = await query(
          `SELECT count(*) AS c FROM spans WHERE ${producer('resource_attributes', 'fuzz-unauth')}`,
        );
        unauthenticatedRowsStored += Number(u!.c);
      }
      if (has('logs')) {
        add(
          'logs',
          await query(
            `SELECT regexp_extract(body, 'request (\\d+) line', 1)::BIGINT AS n, count(*) AS c FROM logs WHERE ${producer('resource_attributes', 'fuzz-valid')} GROUP BY 1`,
          ),
        );
        const [u] = await query(
          `SELECT count(*) AS c FROM logs WHERE ${producer('resource_attributes', 'fuzz-unauth')}`,
        );
        unauthenticatedRowsStored += Number(u!.c);
      }
      for (const t of ['metrics_gauge', 'metrics_sum', 'metrics_histogram']) {
        if (!has(t)) continue;
        add(
          'metrics',
          await query(
            `SELECT attributes['request.number']::BIGINT AS n, count(*) AS c FROM ${t} WHERE ${producer('resource_attributes', 'fuzz-valid')} GROUP BY 1`,
          ),
        );
        const [u] = await query(
          `SELECT count(*) AS c FROM ${t} WHERE ${producer('resource_attributes', 'fuzz-unauth')}`,
        );
        unauthenticatedRowsStored += Number(u!.c);
      }
    });
    const wrong: FuzzReport['valid']['wrong'] = [];
    let storedExactlyOnce = 0;
    for (const v of validRecords) {
      const n = found.get(`${v.signal}/${v.request}`) ?? 0;
      if (n === v.rows) storedExactlyOnce++;
      else if (wrong.length < 50)
        wrong.push({ signal: v.signal, request: v.request, expected: v.rows, found: n });
    }

    return {
      requests: completed,
      durationMs,
      concurrency,
      seed,
      byKind,
      byOutcome,
      violations,
      violationSamples,
      valid: {
        sent: nextValid - 1,
        acked: validAcked,
        retries: validRetries,
        storedExactlyOnce,
        wrong,
        lastFailures,
      },
      unauthenticatedRowsStored,
      rss: { baseline, max: sampler.max, peak, maxFirstHalf, samples: sampler.samples },
      acceptorSurvived,
      acceptorExitCode,
      writerExitCode,
      acceptorOutputTail,
    };
  } finally {
    pool?.close();
    acceptor?.kill();
    writer?.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The report as Markdown tables (for RESULTS.md and test output). */
export function formatReport(r: FuzzReport): string {
  const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
  const lines: string[] = [];
  lines.push(
    `${r.requests} requests in ${(r.durationMs / 1000).toFixed(1)} s (${(r.requests / (r.durationMs / 1000)).toFixed(0)}/s), ${r.concurrency} concurrent, seed ${r.seed}`,
  );
  lines.push('', '| kind | port | requests | outcomes |', '| --- | --- | ---: | --- |');
  for (const [name, k] of Object.entries(r.byKind).sort((a, b) => b[1].count - a[1].count)) {
    const outcomes = Object.entries(k.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([o, n]) => `${o} ${n}`)
      .join(', ');
    lines.push(`| ${name} | ${k.port} | ${k.count} | ${outcomes} |`);
  }
  for (const port of ['http', 'grpc'] as const) {
    lines.push('', `| ${port} outcome | count |`, '| --- | ---: |');
    for (const [o, n] of Object.entries(r.byOutcome[port]).sort((a, b) => b[1] - a[1]))
      lines.push(`| ${o} | ${n} |`);
  }
  lines.push(
    '',
    `- violations (outcomes outside the documented set): ${r.violations}${
      r.violationSamples.length
        ? ` e.g. ${r.violationSamples
            .slice(0, 10)
            .map((v) => `${v.kind} → ${v.outcome}`)
            .join('; ')}`
        : ''
    }`,
    `- valid requests: ${r.valid.sent} sent, ${r.valid.acked} acked (${r.valid.retries} retries after 503/UNAVAILABLE), ${r.valid.storedExactlyOnce} stored exactly once, ${r.valid.wrong.length} wrong`,
    `- rows stored from requests without a valid token: ${r.unauthenticatedRowsStored}`,
    `- acceptor RSS: baseline ${mib(r.rss.baseline)}, max sampled ${mib(r.rss.max)} (+${mib(r.rss.max - r.rss.baseline)}; first half of the run ${mib(r.rss.maxFirstHalf)}), VmHWM ${mib(r.rss.peak)} (${r.rss.samples} samples)`,
    `- acceptor survived: ${r.acceptorSurvived}; drain exit codes: acceptor ${r.acceptorExitCode}, writer ${r.writerExitCode}`,
  );
  return lines.join('\n');
}
