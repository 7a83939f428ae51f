/**
 * Load for the outage suites: closed-loop OTLP clients that behave like well-configured
 * exporters (OpenTelemetry Collector with retry_on_failure): each sends a request, and on
 * UNAVAILABLE / 503 waits the delay the server asked for (RetryInfo / Retry-After) and
 * sends the SAME bytes again, until the request is acked. Requests rotate over gRPC,
 * HTTP/protobuf and HTTP/JSON, and over traces and logs; every row carries a unique,
 * checkable identity (see otlp-workload.ts), so the lake can be checked exactly-once.
 *
 * Every attempt is classified; what a client could lose data on is collected as a
 * violation: a 500 / INTERNAL or any other non-retryable status, a retryable refusal
 * without a retry delay, or no answer at all within the client's timeout.
 */
import http from 'node:http';
import { Client, credentials, Metadata, type ServiceError } from '@sediment/flight/grpc-js';
import { decodeMessage, encodeRequest, ProtoTypes, type Signal } from './otlp-proto.js';
import { logsRequest, traceRequest } from './otlp-workload.js';

export type Transport = 'grpc' | 'http-protobuf' | 'http-json';
export type LoadSignal = Extract<Signal, 'traces' | 'logs'>;

export interface LoadOptions {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Concurrent clients (each has one request in flight at a time). */
  readonly concurrency: number;
  /** Rows (spans or log records) per request. */
  readonly rows: number;
  /** Pause after an acked request before the next one (paces the load). */
  readonly thinkMs: number;
  /** Event time of the rows (all requests share it; ids make rows unique). */
  readonly startNs: bigint;
  /** A client gives up on an attempt it has no answer to after this long (then retries). */
  readonly clientTimeoutMs?: number;
  /** First request number (keeps ids unique across loads sharing a lake). Default 1. */
  readonly firstRequest?: number;
  /** `performance.now()` value that counts as time 0 (shared by loads). Default: now. */
  readonly origin?: number;
  /** Label for reports and violations. Default `load`. */
  readonly label?: string;
}

/** One attempt's outcome as a client sees it. */
export type AttemptOutcome =
  | 'ok'
  | 'unavailable' // gRPC UNAVAILABLE / HTTP 503, with a retry delay
  | 'no-answer' // connection error or client timeout
  | `grpc:${number}`
  | `http:${number}`;

export interface Attempt {
  /** ms since the origin (monotonic), when the answer came. */
  readonly at: number;
  /** Which client (worker) of the load. */
  readonly client: number;
  /** Request body bytes sent. */
  readonly bytes: number;
  readonly latencyMs: number;
  readonly outcome: AttemptOutcome;
  readonly request: number;
}

export interface SentRequest {
  readonly request: number;
  readonly client: number;
  readonly signal: LoadSignal;
  readonly transport: Transport;
  readonly rows: number;
  readonly firstSentAt: number;
  ackedAt: number | undefined;
  attempts: number;
}

const GRPC_PATHS: Record<LoadSignal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};
const identity = (b: Buffer) => b;
const TRANSPORTS: readonly Transport[] = ['grpc', 'http-protobuf', 'http-json'];

interface Reply {
  outcome: AttemptOutcome;
  retryDelayMs: number | undefined;
  detail: string;
}

export class RetryingLoad {
  readonly #o: Required<LoadOptions>;
  readonly #grpc: Client;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  readonly #t0: number;
  readonly attempts: Attempt[] = [];
  readonly requests = new Map<number, SentRequest>();
  /** Attempts a client could lose data on (see the module comment), with details. */
  readonly violations: string[] = [];
  #next: number;
  #stopping = false;
  #workers: Promise<void>[] = [];

  constructor(options: LoadOptions) {
    this.#o = {
      clientTimeoutMs: 30_000,
      firstRequest: 1,
      origin: performance.now(),
      label: 'load',
      ...options,
    };
    this.#t0 = this.#o.origin;
    this.#next = this.#o.firstRequest;
    this.#grpc = new Client(`127.0.0.1:${options.grpcPort}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 << 20,
      'grpc.max_send_message_length': 64 << 20,
      // Like an exporter: a fresh connection attempt soon after the acceptor answers again.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    });
  }

  get label(): string {
    return this.#o.label;
  }

  /** ms since the origin. */
  now(): number {
    return performance.now() - this.#t0;
  }

  start(): void {
    for (let i = 0; i < this.#o.concurrency; i++) this.#workers.push(this.#worker(i));
  }

  /**
   * Stops taking new requests and resolves once every request already sent has been
   * acked (clients keep retrying), or rejects after `timeoutMs` with what is still open.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const open = [...this.requests.values()].filter((r) => r.ackedAt === undefined);
        reject(
          new Error(
            `${open.length} requests still not acked ${timeoutMs} ms after the load stopped: ` +
              open
                .slice(0, 10)
                .map((r) => `#${r.request} (${r.transport} ${r.signal}, ${r.attempts} attempts)`)
                .join(', '),
          ),
        );
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.#workers), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#stopping = true;
    this.#grpc.close();
    this.#agent.destroy();
  }

  /** Requests acked so far. */
  ackedCount(): number {
    let n = 0;
    for (const r of this.requests.values()) if (r.ackedAt !== undefined) n++;
    return n;
  }

  /** Attempts in [from, to) ms, counted by outcome. */
  outcomes(from = 0, to = Number.POSITIVE_INFINITY): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.attempts) {
      if (a.at < from || a.at >= to) continue;
      out[a.outcome] = (out[a.outcome] ?? 0) + 1;
    }
    return out;
  }

  /** Request body bytes sent by attempts that ended in [from, to). */
  bytesSent(from = 0, to = Number.POSITIVE_INFINITY): number {
    let sum = 0;
    for (const a of this.attempts) if (a.at >= from && a.at < to) sum += a.bytes;
    return sum;
  }

  /** Latencies (ms, sorted) of attempts with `outcome` that ENDED in [from, to). */
  latencies(outcome: AttemptOutcome, from = 0, to = Number.POSITIVE_INFINITY): number[] {
    return this.attempts
      .filter((a) => a.outcome === outcome && a.at >= from && a.at < to)
      .map((a) => a.latencyMs)
      .sort((x, y) => x - y);
  }

  async #worker(client: number): Promise<void> {
    while (!this.#stopping) {
      const n = this.#next++;
      await this.#deliver(n, client);
      if (!this.#stopping) await sleep(this.#o.thinkMs * (0.5 + Math.random()));
    }
  }

  /** Sends request `n` until it is acked. */
  async #deliver(n: number, client: number): Promise<void> {
    const signal: LoadSignal = n % 4 === 3 ? 'logs' : 'traces';
    const transport = TRANSPORTS[n % 3]!;
    const o = { request: n, rows: this.#o.rows, startNs: this.#o.startNs, producer: 'outage' };
    const obj = signal === 'traces' ? traceRequest(o) : logsRequest(o);
    const body =
      transport === 'http-json'
        ? Buffer.from(JSON.stringify(obj))
        : Buffer.from(encodeRequest(signal, obj));
    const sent: SentRequest = {
      request: n,
      client,
      signal,
      transport,
      rows: this.#o.rows,
      firstSentAt: this.now(),
      ackedAt: undefined,
      attempts: 0,
    };
    this.requests.set(n, sent);
    let noAnswerStreak = 0;
    for (;;) {
      sent.attempts++;
      const started = this.now();
      const reply =
        transport === 'grpc'
          ? await this.#sendGrpc(signal, body)
          : await this.#sendHttp(signal, body, transport === 'http-json');
      const end = this.now();
      this.attempts.push({
        at: end,
        client,
        bytes: body.byteLength,
        latencyMs: end - started,
        outcome: reply.outcome,
        request: n,
      });
      if (reply.outcome === 'ok') {
        sent.ackedAt = end;
        return;
      }
      let delay: number;
      if (reply.outcome === 'unavailable') {
        noAnswerStreak = 0;
        if (reply.retryDelayMs === undefined) {
          this.#violation(
            `#${n} ${transport}: retryable refusal without a retry delay: ${reply.detail}`,
          );
          delay = 1_000;
        } else {
          delay = reply.retryDelayMs;
        }
      } else if (reply.outcome === 'no-answer') {
        this.#violation(`#${n} ${transport}: no answer: ${reply.detail}`);
        delay = Math.min(5_000, 250 * 2 ** noAnswerStreak++);
      } else {
        // A real exporter would DROP the data here; we record it and retry anyway so the
        // exactly-once check still runs.
        this.#violation(`#${n} ${transport}: ${reply.outcome} ${reply.detail}`);
        delay = 1_000;
      }
      await sleep(delay * (0.8 + 0.4 * Math.random()));
    }
  }

  #violation(text: string): void {
    if (this.violations.length < 10_000)
      this.violations.push(`${this.#o.label} ${Math.round(this.now())} ms ${text}`);
  }

  #sendGrpc(signal: LoadSignal, body: Buffer): Promise<Reply> {
    return new Promise((resolve) => {
      this.#grpc.makeUnaryRequest(
        GRPC_PATHS[signal],
        identity,
        identity,
        body,
        new Metadata(),
        { deadline: Date.now() + this.#o.clientTimeoutMs },
        (err: ServiceError | null, value?: Buffer) => {
          if (!err) {
            resolve(okReply(signal, value ?? Buffer.alloc(0)));
            return;
          }
          if (err.code === 14) {
            const bin = err.metadata?.get('grpc-status-details-bin')[0];
            const status = Buffer.isBuffer(bin) ? decodeProtoStatus(bin) : undefined;
            // grpc-js itself reports UNAVAILABLE without details when it cannot connect.
            if (!status) {
              resolve({ outcome: 'no-answer', retryDelayMs: undefined, detail: err.details });
              return;
            }
            resolve({
              outcome: 'unavailable',
              retryDelayMs: status.retryDelayMs,
              detail: err.details,
            });
            return;
          }
          if (err.code === 4) {
            resolve({ outcome: 'no-answer', retryDelayMs: undefined, detail: 'client deadline' });
            return;
          }
          resolve({ outcome: `grpc:${err.code}`, retryDelayMs: undefined, detail: err.details });
        },
      );
    });
  }

  #sendHttp(signal: LoadSignal, body: Buffer, json: boolean): Promise<Reply> {
    return new Promise((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.#o.httpPort,
          path: `/v1/${signal}`,
          method: 'POST',
          agent: this.#agent,
          timeout: this.#o.clientTimeoutMs,
          headers: {
            'content-type': json ? 'application/json' : 'application/x-protobuf',
            'content-length': body.byteLength,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) =>
            resolve({ outcome: 'no-answer', retryDelayMs: undefined, detail: err.message }),
          );
          res.on('end', () => {
            const bytes = Buffer.concat(chunks);
            const code = res.statusCode ?? 0;
            if (code === 200) {
              resolve(json ? okJsonReply(bytes) : okReply(signal, bytes));
              return;
            }
            if (code === 503) {
              const header = res.headers['retry-after'];
              const fromHeader =
                header !== undefined && /^\d+$/.test(header) ? Number(header) * 1000 : undefined;
              let fromBody: number | undefined;
              try {
                fromBody = json
                  ? parseJsonStatus(bytes.toString()).retryDelayMs
                  : decodeProtoStatus(bytes).retryDelayMs;
              } catch {
                fromBody = undefined;
              }
              // Both must be there: HTTP clients read the header, gRPC-minded ones the body.
              resolve({
                outcome: 'unavailable',
                retryDelayMs:
                  fromHeader !== undefined && fromBody !== undefined ? fromBody : undefined,
                detail: `Retry-After ${header}, body ${bytes.toString('utf8', 0, 200)}`,
              });
              return;
            }
            resolve({
              outcome: `http:${code}`,
              retryDelayMs: undefined,
              detail: bytes.toString('utf8', 0, 300),
            });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.on('error', (err) =>
        resolve({ outcome: 'no-answer', retryDelayMs: undefined, detail: err.message }),
      );
      req.end(body);
    });
  }
}

/** An OK reply must not report rejected items (the workload is all valid). */
function okReply(signal: LoadSignal, bytes: Uint8Array): Reply {
  const type = signal === 'traces' ? ProtoTypes.tracesResponse : ProtoTypes.logsResponse;
  const msg = decodeMessage(type, bytes) as { partialSuccess?: Record<string, unknown> };
  const rejected = Number(
    msg.partialSuccess?.rejectedSpans ?? msg.partialSuccess?.rejectedLogRecords ?? 0,
  );
  if (rejected > 0) {
    return {
      outcome: 'http:200',
      retryDelayMs: undefined,
      detail: `partial success: ${JSON.stringify(msg)}`,
    };
  }
  return { outcome: 'ok', retryDelayMs: undefined, detail: '' };
}

function okJsonReply(bytes: Buffer): Reply {
  const msg = JSON.parse(bytes.toString() || '{}') as {
    partialSuccess?: { rejectedSpans?: string | number; rejectedLogRecords?: string | number };
  };
  const rejected = Number(
    msg.partialSuccess?.rejectedSpans ?? msg.partialSuccess?.rejectedLogRecords ?? 0,
  );
  if (rejected > 0) {
    return { outcome: 'http:200', retryDelayMs: undefined, detail: `partial success: ${bytes}` };
  }
  return { outcome: 'ok', retryDelayMs: undefined, detail: '' };
}

interface DecodedStatus {
  code: number;
  retryDelayMs: number | undefined;
}

/** google.rpc.Status (protobuf) with its RetryInfo detail, decoded with protobufjs. */
function decodeProtoStatus(bytes: Uint8Array): DecodedStatus {
  const status = ProtoTypes.status.toObject(ProtoTypes.status.decode(bytes), {
    longs: Number,
    defaults: true,
  }) as { code: number; details: { typeUrl?: string; type_url?: string; value: Uint8Array }[] };
  let retryDelayMs: number | undefined;
  for (const any of status.details) {
    if (!(any.typeUrl ?? any.type_url ?? '').endsWith('/google.rpc.RetryInfo')) continue;
    const info = ProtoTypes.retryInfo.toObject(ProtoTypes.retryInfo.decode(any.value), {
      longs: Number,
      defaults: true,
    }) as { retryDelay?: { seconds: number; nanos: number } };
    if (info.retryDelay)
      retryDelayMs = info.retryDelay.seconds * 1000 + info.retryDelay.nanos / 1e6;
  }
  return { code: status.code, retryDelayMs };
}

/** google.rpc.Status in the proto3 JSON mapping. */
function parseJsonStatus(text: string): DecodedStatus {
  const status = JSON.parse(text) as {
    code: number;
    details?: { '@type': string; retryDelay?: string }[];
  };
  const retry = status.details?.find((d) => d['@type'].endsWith('/google.rpc.RetryInfo'));
  return {
    code: status.code,
    retryDelayMs: retry?.retryDelay ? Number.parseFloat(retry.retryDelay) * 1000 : undefined,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Percentile of sorted values (nearest rank); 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
