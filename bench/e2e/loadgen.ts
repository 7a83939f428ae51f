/**
 * OTLP trace load generator: a fixed number of concurrent senders, each sending the next
 * pre-encoded request as soon as its previous one was answered (closed loop), over gRPC
 * or HTTP/protobuf. Records every request's latency, the spans acked (OK replies minus
 * partial_success rejections) and failures by status.
 *
 * Requests: a pool of distinct pre-encoded ExportTraceServiceRequests (bench/lib/
 * trace-payload.ts; default 64 × 512 spans), and by default each request sent is made
 * unique by stamping a sequence number into its trace ids (one memcpy per request):
 * Sediment de-duplicates byte-identical requests (client retries) for 10 minutes, so
 * replaying identical bytes would be acked but stored once. `--no-unique` replays the
 * pool as is.
 *
 * `--rate N` paces the senders to offer at most N spans/s (requests start on a shared
 * schedule, one every spans-per-request / N seconds; a sender that is late starts at once
 * but never bursts to catch up). Below saturation the CPU each process spends per span is
 * a steadier comparison of two builds than the saturated rate on a shared machine.
 *
 * Timeline: warm-up (not counted), then the measured window, then no new requests while
 * the ones in flight finish (they count in the totals, not in the window's rate).
 *
 *   node scripts/run-ts.mjs bench/e2e/loadgen.ts --target grpc|http [--host 127.0.0.1]
 *     [--port 4317|4318] [--concurrency 16] [--duration 30s] [--warmup 5s] [--spans 512]
 *     [--pool 64] [--connections 1] [--timeout 30s] [--flow-control-window BYTES]
 *     [--grpc-client http2|grpc-js] [--rate SPANS_PER_S] [--no-unique] [--json]
 *
 * gRPC calls go out over node:http2 with the gRPC framing written by hand (otlp-senders.ts)
 * unless `--grpc-client grpc-js`: the same bytes for about a third of the CPU, which the
 * benchmark's two cores then leave to the system under test.
 */
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { LatencyRecorder, type LatencySummary, parseDuration } from '../lib/latency.js';
import { TracePayloadPool } from '../lib/trace-payload.js';
import {
  createGrpcSender,
  createHttp2GrpcSender,
  createHttpSender,
  type OtlpSender,
} from './otlp-senders.js';

export type LoadTarget = 'grpc' | 'http';
/** gRPC client of the generator: hand-framed node:http2 (default) or grpc-js. */
export type GrpcClientKind = 'http2' | 'grpc-js';

export interface LoadOptions {
  readonly target: LoadTarget;
  readonly host?: string;
  /** Default 4317 for gRPC, 4318 for HTTP. */
  readonly port?: number;
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs?: number;
  readonly spans?: number;
  readonly pool?: number;
  /** gRPC: HTTP/2 connections (default 1). HTTP: ignored (one socket per sender). */
  readonly connections?: number;
  readonly timeoutMs?: number;
  /** Stamp a sequence number into every request (default true). */
  readonly unique?: boolean;
  readonly flowControlWindow?: number;
  /** gRPC only; default `http2`. */
  readonly grpcClient?: GrpcClientKind;
  /** Offered load in spans/s (paced); default unlimited (closed loop at `concurrency`). */
  readonly rate?: number;
  /** Called when the measured window starts and ends, and when the run is done. */
  readonly onPhase?: (phase: 'measure' | 'drain' | 'done') => void;
  /** Reuse a pool across runs (building one takes a few seconds). */
  readonly payloads?: TracePayloadPool;
}

export interface LoadResult {
  readonly target: LoadTarget;
  readonly concurrency: number;
  readonly connections: number;
  readonly spansPerRequest: number;
  readonly meanRequestBytes: number;
  /** The measured window (warm-up and drain excluded). */
  readonly window: {
    readonly seconds: number;
    readonly requestsOk: number;
    readonly ackedSpans: number;
    readonly ackedSpansPerSecond: number;
    readonly requestsPerSecond: number;
    /** Request bytes per second of OK requests. */
    readonly bytesPerSecond: number;
    readonly failures: number;
    /** Latency of the requests answered OK inside the window (ms). */
    readonly latency: LatencySummary;
  };
  /** Everything sent, warm-up and drain included (what the store must hold). */
  readonly total: {
    readonly requests: number;
    readonly requestsOk: number;
    readonly ackedSpans: number;
    readonly rejectedSpans: number;
    readonly failures: number;
    readonly failuresByStatus: Readonly<Record<string, number>>;
  };
}

/** Pause after a failed request so a down or overloaded server is not hammered. */
const FAILURE_PAUSE_MS = 50;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = options.target;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (target === 'grpc' ? 4317 : 4318);
  const concurrency = options.concurrency;
  if (!(concurrency >= 1)) throw new RangeError('concurrency must be ≥ 1');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const unique = options.unique ?? true;
  const payloads =
    options.payloads ??
    new TracePayloadPool({ spans: options.spans ?? 512, pool: options.pool ?? 64 });
  const connections = target === 'grpc' ? Math.max(1, options.connections ?? 1) : concurrency;

  let sender: OtlpSender;
  if (target === 'grpc') {
    const create =
      (options.grpcClient ?? 'http2') === 'http2' ? createHttp2GrpcSender : createGrpcSender;
    const grpc = create({
      address: `${host}:${port}`,
      connections,
      ...(options.flowControlWindow === undefined
        ? {}
        : { flowControlWindow: options.flowControlWindow }),
    });
    await grpc.waitForReady(10_000);
    sender = grpc;
  } else {
    sender = createHttpSender({ host, port, sockets: concurrency });
  }

  const latency = new LatencyRecorder();
  const failuresByStatus: Record<string, number> = {};
  const total = { requests: 0, requestsOk: 0, ackedSpans: 0, rejectedSpans: 0, failures: 0 };
  const win = { requestsOk: 0, ackedSpans: 0, bytes: 0, failures: 0 };
  // Distinct stamps across generator processes running against the same store.
  let stamp = randomInt(2 ** 31);

  const t0 = performance.now();
  const windowStart = t0 + (options.warmupMs ?? 5_000);
  const windowEnd = windowStart + options.durationMs;
  let measuring = false;
  let stopping = false;
  const phaseTimer = setTimeout(
    () => {
      measuring = true;
      options.onPhase?.('measure');
    },
    Math.max(0, windowStart - t0),
  );
  const stopTimer = setTimeout(
    () => {
      stopping = true;
      options.onPhase?.('drain');
    },
    Math.max(0, windowEnd - t0),
  );

  const rate = options.rate;
  if (rate !== undefined && !(rate > 0)) throw new RangeError('rate must be > 0 spans/s');
  const intervalMs = rate === undefined ? 0 : (payloads.spansPerRequest / rate) * 1000;
  let nextSlot = performance.now();
  /** Waits for this sender's start slot when paced. */
  const pace = async (): Promise<void> => {
    if (rate === undefined) return;
    const now = performance.now();
    const slot = Math.max(nextSlot, now);
    nextSlot = slot + intervalMs;
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  };

  const worker = async (w: number): Promise<void> => {
    const buffer = Buffer.allocUnsafe(payloads.maxBytes);
    const items = payloads.items.length;
    let index = w % items;
    while (!stopping) {
      await pace();
      if (stopping) break;
      index = (index + 1) % items;
      const body = unique
        ? payloads.stamp(buffer, index, stamp++)
        : Buffer.from(payloads.items[index]!.bytes);
      const started = performance.now();
      const outcome = await sender.send(body, timeoutMs);
      const ended = performance.now();
      total.requests++;
      const inWindow = ended >= windowStart && ended <= windowEnd;
      if (outcome.ok) {
        const acked = payloads.spansPerRequest - outcome.rejected;
        total.requestsOk++;
        total.ackedSpans += acked;
        total.rejectedSpans += outcome.rejected;
        if (inWindow) {
          win.requestsOk++;
          win.ackedSpans += acked;
          win.bytes += body.byteLength;
          latency.record(ended - started);
        }
      } else {
        total.failures++;
        failuresByStatus[outcome.status] = (failuresByStatus[outcome.status] ?? 0) + 1;
        if (inWindow) win.failures++;
        await new Promise((r) => setTimeout(r, FAILURE_PAUSE_MS));
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  } finally {
    clearTimeout(phaseTimer);
    clearTimeout(stopTimer);
    sender.close();
  }
  if (!measuring) throw new Error('the run ended before its measured window started');
  options.onPhase?.('done');

  const seconds = options.durationMs / 1000;
  return {
    target,
    concurrency,
    connections,
    spansPerRequest: payloads.spansPerRequest,
    meanRequestBytes: Math.round(payloads.meanBytes),
    window: {
      seconds,
      requestsOk: win.requestsOk,
      ackedSpans: win.ackedSpans,
      ackedSpansPerSecond: win.ackedSpans / seconds,
      requestsPerSecond: win.requestsOk / seconds,
      bytesPerSecond: win.bytes / seconds,
      failures: win.failures,
      latency: latency.summary(),
    },
    total: { ...total, failuresByStatus },
  };
}

export function formatLoadResult(r: LoadResult): string {
  const l = r.window.latency;
  const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(1));
  const failures = Object.entries(r.total.failuresByStatus)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  return [
    `${r.target} × ${r.concurrency} concurrent (${r.connections} connection${r.connections === 1 ? '' : 's'}), ${r.spansPerRequest} spans / ${Math.round(r.meanRequestBytes / 1024)} KiB per request`,
    `  acked ${Math.round(r.window.ackedSpansPerSecond).toLocaleString('en-US')} spans/s (${r.window.requestsPerSecond.toFixed(1)} req/s, ${(r.window.bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s) over ${r.window.seconds} s`,
    `  latency ms: p50 ${ms(l.percentiles.p50)}  p90 ${ms(l.percentiles.p90)}  p99 ${ms(l.percentiles.p99)}  p99.9 ${ms(l.percentiles['p99.9'])}  max ${ms(l.max)}  (${l.count} requests)`,
    `  total: ${r.total.requestsOk}/${r.total.requests} requests OK, ${r.total.ackedSpans} spans acked, ${r.total.rejectedSpans} rejected${failures ? `; failures ${failures}` : ''}`,
  ].join('\n');
}

// ---- CLI ------------------------------------------------------------------------------

export function parseLoadArgs(argv: readonly string[]): LoadOptions & { json: boolean } {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new RangeError(`--${name} needs a value`);
    return v;
  };
  const int = (name: string): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer`);
    return n;
  };
  const target = get('target') ?? 'grpc';
  if (target !== 'grpc' && target !== 'http') throw new RangeError('--target is grpc or http');
  const port = int('port');
  const spans = int('spans');
  const pool = int('pool');
  const connections = int('connections');
  const window = int('flow-control-window');
  const rate = int('rate');
  const timeout = get('timeout');
  const grpcClient = get('grpc-client') ?? 'http2';
  if (grpcClient !== 'http2' && grpcClient !== 'grpc-js') {
    throw new RangeError('--grpc-client is http2 or grpc-js');
  }
  return {
    target,
    host: get('host') ?? '127.0.0.1',
    ...(port === undefined ? {} : { port }),
    concurrency: int('concurrency') ?? 16,
    durationMs: parseDuration(get('duration') ?? '30s'),
    warmupMs: parseDuration(get('warmup') ?? '5s'),
    ...(spans === undefined ? {} : { spans }),
    ...(pool === undefined ? {} : { pool }),
    ...(connections === undefined ? {} : { connections }),
    ...(window === undefined ? {} : { flowControlWindow: window }),
    ...(timeout === undefined ? {} : { timeoutMs: parseDuration(timeout) }),
    grpcClient,
    ...(rate === undefined ? {} : { rate }),
    unique: !argv.includes('--no-unique'),
    json: argv.includes('--json'),
  };
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseLoadArgs>;
  try {
    options = parseLoadArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`loadgen: ${(err as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const emit = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const t = performance.now();
  const payloads = new TracePayloadPool({
    spans: options.spans ?? 512,
    pool: options.pool ?? 64,
  });
  const built = `pool: ${payloads.items.length} requests × ${payloads.spansPerRequest} spans, ${Math.round(payloads.meanBytes)} B each, built in ${Math.round(performance.now() - t)} ms`;
  if (options.json) emit({ type: 'ready', pid: process.pid, message: built });
  else console.error(built);
  const result = await runLoad({
    ...options,
    payloads,
    onPhase: (phase) => {
      if (options.json) emit({ type: 'phase', phase, at: Date.now() });
      else if (phase !== 'done') console.error(`${phase}…`);
    },
  });
  if (options.json) emit({ type: 'result', result });
  else console.log(formatLoadResult(result));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
