/**
 * The soak's OTLP clients: one gRPC channel and one keep-alive HTTP agent per acceptor,
 * and a retry loop that behaves like an OpenTelemetry exporter (OTLP specification,
 * "Retryable response codes" / "Failures"): it resends the IDENTICAL bytes on
 * UNAVAILABLE / 503 (and the other retryable answers), on connection errors and on its
 * own deadline, waits what RetryInfo / Retry-After says or else an exponential backoff
 * with jitter, moves to the other acceptor when it cannot reach one, and gives up after
 * a cap of attempts or elapsed time (the request is then "abandoned": the exporter
 * dropped it, so its rows may be stored or not, but never partly or twice).
 *
 * Every answer is tallied by a coarse status key (`grpc UNAVAILABLE+RetryInfo`,
 * `http 503+Retry-After`, `http ECONNREFUSED`, …). The keys in `EXPECTED_STATUS` are
 * what a crash-tested Sediment may answer; anything else is reported as unexpected.
 */
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import {
  type ChannelOptions,
  Client,
  credentials,
  status as GrpcStatus,
  Metadata,
  type ServiceError,
} from '@sediment/flight/grpc-js';
import { ProtoTypes, type Signal } from '../../test/support/otlp-proto.js';

export type Transport = 'grpc' | 'http-protobuf' | 'http-json';
export const TRANSPORTS: readonly Transport[] = ['grpc', 'http-protobuf', 'http-json'];

export interface AcceptorAddress {
  readonly grpcPort: number;
  readonly httpPort: number;
}

/** One OTLP request as it goes on the wire, resent byte for byte on every attempt. */
export interface WireRequest {
  readonly signal: Signal;
  readonly transport: Transport;
  readonly body: Uint8Array;
  /** `gzip` for some HTTP requests (the body is then compressed). */
  readonly contentEncoding?: 'gzip';
}

export interface RetryPolicy {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
  /** Attempts before giving up (the first send included). */
  readonly maxAttempts: number;
  /** Time since the first attempt after which no new attempt starts. */
  readonly maxElapsedMs: number;
  /** Deadline of one attempt (OTel exporters default to 10 s). */
  readonly attemptTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  initialBackoffMs: 250,
  maxBackoffMs: 4_000,
  multiplier: 2,
  maxAttempts: 10,
  maxElapsedMs: 40_000,
  attemptTimeoutMs: 10_000,
};

/** Status keys a correct Sediment under crashes and store faults may produce. */
export const EXPECTED_STATUS: ReadonlySet<string> = new Set([
  'grpc OK',
  'grpc UNAVAILABLE+RetryInfo', // acceptor: no writer could make it durable in time
  'grpc UNAVAILABLE (transport)', // acceptor down or connection dropped
  'grpc DEADLINE_EXCEEDED (client deadline)',
  'http 200',
  'http 503+Retry-After',
  'http ECONNREFUSED',
  'http ECONNRESET',
  'http EPIPE',
  'http socket hang up',
  'http timeout (client deadline)',
]);

type AttemptResult =
  | { readonly kind: 'ok'; readonly key: string; readonly rejected: number }
  | {
      readonly kind: 'retry';
      readonly key: string;
      readonly delayMs: number | undefined;
      /** Could not talk to this acceptor: try the other one next. */
      readonly failover: boolean;
      readonly detail: string;
    }
  | { readonly kind: 'fatal'; readonly key: string; readonly detail: string };

export type RequestOutcome = 'acked' | 'abandoned' | 'rejected';

export interface SendResult {
  readonly outcome: RequestOutcome;
  readonly attempts: number;
  /** Items the server reported rejected in partial_success (must be 0 here). */
  readonly rejectedItems: number;
  /** Status key of the last answer. */
  readonly lastStatus: string;
}

export interface UnexpectedAnswer {
  readonly key: string;
  readonly detail: string;
  readonly signal: Signal;
  readonly transport: Transport;
  readonly acceptor: number;
  readonly atMs: number;
}

const GRPC_PATHS: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

const RESPONSE_TYPES = {
  traces: ProtoTypes.tracesResponse,
  metrics: ProtoTypes.metricsResponse,
  logs: ProtoTypes.logsResponse,
} as const;

// Retryable per the OTLP specification; RESOURCE_EXHAUSTED only with RetryInfo.
const RETRYABLE_GRPC = new Set<number>([
  GrpcStatus.CANCELLED,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.ABORTED,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DATA_LOSS,
]);
const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);

const identity = (b: Buffer) => b;

/** `rejected_*` of partial_success in an Export…Response (protobuf); 0 when absent. */
function rejectedInProto(signal: Signal, bytes: Uint8Array): number {
  if (bytes.byteLength === 0) return 0;
  const type = RESPONSE_TYPES[signal];
  const msg = type.toObject(type.decode(bytes), { longs: Number }) as {
    partialSuccess?: Record<string, number | undefined>;
  };
  return rejectedOf(msg.partialSuccess);
}

function rejectedOf(partial: Record<string, unknown> | undefined): number {
  if (!partial) return 0;
  let n = 0;
  for (const k of ['rejectedSpans', 'rejectedDataPoints', 'rejectedLogRecords']) {
    const v = partial[k];
    if (v !== undefined && v !== null) n += Number(v);
  }
  return n;
}

/** RetryInfo.retry_delay (ms) from grpc-status-details-bin, when present. */
function grpcRetryDelayMs(err: ServiceError): number | undefined {
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(bin)) return undefined;
  const status = ProtoTypes.status.toObject(ProtoTypes.status.decode(bin), {
    longs: Number,
    defaults: true,
  }) as { details: { type_url?: string; typeUrl?: string; value: Uint8Array }[] };
  for (const any of status.details) {
    const typeUrl = any.type_url ?? any.typeUrl ?? '';
    if (!typeUrl.endsWith('/google.rpc.RetryInfo')) continue;
    const info = ProtoTypes.retryInfo.toObject(ProtoTypes.retryInfo.decode(any.value), {
      longs: Number,
      defaults: true,
    }) as { retryDelay?: { seconds: number; nanos: number } };
    const d = info.retryDelay;
    return d ? d.seconds * 1000 + d.nanos / 1e6 : 0;
  }
  return undefined;
}

/**
 * Connections to every acceptor (one gRPC channel, one HTTP agent each) and the
 * exporter-like retry loop. Counters are kept here so the soak can report them.
 */
export class ChaosClients {
  readonly #acceptors: readonly AcceptorAddress[];
  readonly #grpc: Client[];
  readonly #agents: http.Agent[];
  readonly #policy: RetryPolicy;
  readonly #random: () => number;
  /** Answers by status key. */
  readonly statuses = new Map<string, number>();
  /** Transport-level gRPC failures by message (diagnostics for the report). */
  readonly transportDetails = new Map<string, number>();
  readonly unexpected: UnexpectedAnswer[] = [];
  unexpectedCount = 0;
  attempts = 0;
  readonly #t0 = Date.now();

  constructor(acceptors: readonly AcceptorAddress[], policy: RetryPolicy, random: () => number) {
    this.#acceptors = acceptors;
    this.#policy = policy;
    this.#random = random;
    const channelOptions: ChannelOptions = {
      'grpc.use_local_subchannel_pool': 1,
      // An exporter should find a restarted acceptor quickly (grpc-js defaults to 1 s
      // growing to 120 s between reconnects).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
    };
    this.#grpc = acceptors.map(
      (a) => new Client(`127.0.0.1:${a.grpcPort}`, credentials.createInsecure(), channelOptions),
    );
    this.#agents = acceptors.map(
      () => new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 }),
    );
  }

  /**
   * Sends `request` until it is acked, answered with a non-retryable status
   * ("rejected"), or the retry cap is reached ("abandoned"). Starts at `acceptor`.
   */
  async send(
    request: WireRequest,
    acceptor: number,
    policy: RetryPolicy = this.#policy,
  ): Promise<SendResult> {
    const p = policy;
    const started = Date.now();
    let backoff = p.initialBackoffMs;
    let target = acceptor % this.#acceptors.length;
    for (let attempt = 1; ; attempt++) {
      this.attempts++;
      const r = await this.#attempt(request, target, p.attemptTimeoutMs);
      this.#tally(r, request, target);
      if (r.kind === 'ok') {
        return {
          outcome: 'acked',
          attempts: attempt,
          rejectedItems: r.rejected,
          lastStatus: r.key,
        };
      }
      if (r.kind === 'fatal') {
        return { outcome: 'rejected', attempts: attempt, rejectedItems: 0, lastStatus: r.key };
      }
      const jittered = backoff * (0.8 + 0.4 * this.#random());
      const delay = r.delayMs ?? jittered;
      backoff = Math.min(p.maxBackoffMs, backoff * p.multiplier);
      if (attempt >= p.maxAttempts || Date.now() + delay - started > p.maxElapsedMs) {
        return { outcome: 'abandoned', attempts: attempt, rejectedItems: 0, lastStatus: r.key };
      }
      if (r.failover) target = (target + 1) % this.#acceptors.length;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  close(): void {
    for (const c of this.#grpc) c.close();
    for (const a of this.#agents) a.destroy();
  }

  #tally(r: AttemptResult, request: WireRequest, acceptor: number): void {
    this.statuses.set(r.key, (this.statuses.get(r.key) ?? 0) + 1);
    if (r.kind === 'retry' && r.key === 'grpc UNAVAILABLE (transport)') {
      const detail = r.detail.replace(/\d+/g, 'N').slice(0, 100);
      this.transportDetails.set(detail, (this.transportDetails.get(detail) ?? 0) + 1);
    }
    if (!EXPECTED_STATUS.has(r.key)) {
      this.unexpectedCount++;
      if (this.unexpected.length < 50) {
        this.unexpected.push({
          key: r.key,
          detail: r.kind === 'ok' ? '' : r.detail.slice(0, 500),
          signal: request.signal,
          transport: request.transport,
          acceptor,
          atMs: Date.now() - this.#t0,
        });
      }
    }
  }

  #attempt(request: WireRequest, acceptor: number, timeoutMs: number): Promise<AttemptResult> {
    return request.transport === 'grpc'
      ? this.#grpcAttempt(request, acceptor, timeoutMs)
      : this.#httpAttempt(request, acceptor, timeoutMs);
  }

  #grpcAttempt(request: WireRequest, acceptor: number, timeoutMs: number): Promise<AttemptResult> {
    const client = this.#grpc[acceptor]!;
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        GRPC_PATHS[request.signal],
        identity,
        identity,
        Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength),
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, reply?: Buffer) => {
          if (!err) {
            let rejected: number;
            try {
              rejected = rejectedInProto(request.signal, reply ?? Buffer.alloc(0));
            } catch (e) {
              resolve({ kind: 'fatal', key: 'grpc OK (undecodable reply)', detail: String(e) });
              return;
            }
            resolve({ kind: 'ok', key: 'grpc OK', rejected });
            return;
          }
          const name = GrpcStatus[err.code] ?? String(err.code);
          let retryDelay: number | undefined;
          try {
            retryDelay = grpcRetryDelayMs(err);
          } catch {
            retryDelay = undefined;
          }
          let key: string;
          let failover = false;
          if (err.code === GrpcStatus.UNAVAILABLE && retryDelay !== undefined) {
            key = 'grpc UNAVAILABLE+RetryInfo';
          } else if (err.code === GrpcStatus.UNAVAILABLE) {
            key = 'grpc UNAVAILABLE (transport)';
            failover = true;
          } else if (err.code === GrpcStatus.DEADLINE_EXCEEDED) {
            key = 'grpc DEADLINE_EXCEEDED (client deadline)';
            failover = true;
          } else {
            key = `grpc ${name}${retryDelay !== undefined ? '+RetryInfo' : ''}`;
          }
          const retryable =
            RETRYABLE_GRPC.has(err.code) ||
            (err.code === GrpcStatus.RESOURCE_EXHAUSTED && retryDelay !== undefined);
          const detail = `${name}: ${err.details}`;
          resolve(
            retryable
              ? { kind: 'retry', key, delayMs: retryDelay, failover, detail }
              : { kind: 'fatal', key, detail },
          );
        },
      );
    });
  }

  #httpAttempt(request: WireRequest, acceptor: number, timeoutMs: number): Promise<AttemptResult> {
    const json = request.transport === 'http-json';
    const headers: http.OutgoingHttpHeaders = {
      'content-type': json ? 'application/json' : 'application/x-protobuf',
      'content-length': request.body.byteLength,
    };
    if (request.contentEncoding) headers['content-encoding'] = request.contentEncoding;
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const done = (r: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const req = http.request(
        {
          agent: this.#agents[acceptor],
          host: '127.0.0.1',
          port: this.#acceptors[acceptor]!.httpPort,
          method: 'POST',
          path: `/v1/${request.signal}`,
          headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => done(httpError(err)));
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            const body = Buffer.concat(chunks);
            if (code === 200) {
              try {
                const rejected = json
                  ? rejectedOf(
                      (
                        JSON.parse(body.toString('utf8') || '{}') as {
                          partialSuccess?: Record<string, unknown>;
                        }
                      ).partialSuccess,
                    )
                  : rejectedInProto(request.signal, body);
                done({ kind: 'ok', key: 'http 200', rejected });
              } catch (e) {
                done({ kind: 'fatal', key: 'http 200 (undecodable reply)', detail: String(e) });
              }
              return;
            }
            const retryAfter = res.headers['retry-after'];
            const seconds = retryAfter === undefined ? Number.NaN : Number(retryAfter);
            const delayMs = Number.isFinite(seconds) ? seconds * 1000 : undefined;
            const key = `http ${code}${retryAfter !== undefined ? '+Retry-After' : ''}`;
            const detail = `${code}: ${body.toString('utf8').slice(0, 300)}`;
            done(
              RETRYABLE_HTTP.has(code)
                ? { kind: 'retry', key, delayMs, failover: false, detail }
                : { kind: 'fatal', key, detail },
            );
          });
        },
      );
      timer = setTimeout(() => {
        req.destroy(new Error('client deadline'));
        done({
          kind: 'retry',
          key: 'http timeout (client deadline)',
          delayMs: undefined,
          failover: true,
          detail: 'no reply within the attempt deadline',
        });
      }, timeoutMs);
      req.on('error', (err) => done(httpError(err)));
      req.end(request.body);
    });
  }
}

function httpError(err: Error & { code?: string }): AttemptResult {
  const code = err.code ?? '';
  const key =
    code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE'
      ? `http ${code}`
      : /socket hang up/.test(err.message)
        ? 'http socket hang up'
        : `http error ${code || err.message.slice(0, 60)}`;
  // Every connection-level failure is retryable for an exporter; it moves on to the
  // other acceptor.
  return { kind: 'retry', key, delayMs: undefined, failover: true, detail: err.message };
}

/** Encodes the body as sent: gzip for `contentEncoding: 'gzip'`. */
export function wireBody(bytes: Uint8Array, encoding: 'gzip' | undefined): Uint8Array {
  return encoding === 'gzip' ? gzipSync(bytes) : bytes;
}
