/**
 * Encoders for what the acceptor answers OTLP clients (SPEC §7): the
 * Export{Trace,Metrics,Logs}ServiceResponse, with partial_success when items were
 * rejected, and google.rpc.Status with BadRequest / RetryInfo details for errors.
 * Both in protobuf (gRPC, HTTP application/x-protobuf) and in OTLP/JSON (HTTP
 * application/json, proto3 JSON mapping: 64-bit integers as strings, defaults omitted).
 */

export type Signal = 'traces' | 'metrics' | 'logs';
export type ReplyEncoding = 'protobuf' | 'json';

/** gRPC status codes (google.rpc.Code) the acceptor uses. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNIMPLEMENTED: 12,
  UNAUTHENTICATED: 16,
} as const;

export const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** Items the server dropped (partial success). */
export interface PartialSuccess {
  /** rejected_spans / rejected_data_points / rejected_log_records. */
  readonly rejected: number;
  /** Why (human-readable). May be set with rejected = 0 as a warning. */
  readonly errorMessage: string;
}

export interface FieldViolation {
  /** Path of the offending field, e.g. "resource_spans[0].scope_spans[0].spans[3].trace_id". */
  readonly field: string;
  readonly description: string;
  /** Machine-readable reason in UPPER_SNAKE_CASE. */
  readonly reason?: string;
}

/** A google.rpc.Status with the details Sediment sends. */
export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  /** Packed as google.rpc.BadRequest. */
  readonly fieldViolations?: readonly FieldViolation[];
  /** Packed as google.rpc.RetryInfo (milliseconds, rounded to whole nanoseconds). */
  readonly retryDelayMs?: number;
}

const COUNT_FIELD: Record<Signal, string> = {
  traces: 'rejectedSpans',
  metrics: 'rejectedDataPoints',
  logs: 'rejectedLogRecords',
};

const enc = new TextEncoder();

/**
 * The Export…ServiceResponse for `signal`. Without `partial` (or with nothing
 * rejected and no message) it is the empty message: zero bytes in protobuf, `{}` in
 * JSON.
 */
export function encodeExportResponse(
  signal: Signal,
  encoding: ReplyEncoding,
  partial?: PartialSuccess,
): Uint8Array {
  const rejected = partial?.rejected ?? 0;
  const message = partial?.errorMessage ?? '';
  if (!Number.isSafeInteger(rejected) || rejected < 0) {
    throw new RangeError(`rejected must be a non-negative integer, got ${rejected}`);
  }
  const empty = rejected === 0 && message === '';
  if (encoding === 'json') {
    if (empty) return enc.encode('{}');
    const ps: Record<string, string> = {};
    if (rejected !== 0) ps[COUNT_FIELD[signal]] = String(rejected);
    if (message !== '') ps.errorMessage = message;
    return enc.encode(JSON.stringify({ partialSuccess: ps }));
  }
  if (empty) return new Uint8Array(0);
  const w = new Writer();
  const inner = new Writer();
  if (rejected !== 0) inner.varintField(1, rejected);
  if (message !== '') inner.stringField(2, message);
  w.bytesField(1, inner.finish());
  return w.finish();
}

/** A google.rpc.Status, for gRPC trailers (grpc-status-details-bin) or an HTTP error body. */
export function encodeRpcStatus(status: RpcStatus, encoding: ReplyEncoding): Uint8Array {
  const violations = status.fieldViolations ?? [];
  const delay = status.retryDelayMs;
  if (delay !== undefined && !(Number.isFinite(delay) && delay >= 0)) {
    throw new RangeError(`retryDelayMs must be a non-negative number, got ${delay}`);
  }
  if (encoding === 'json') {
    const details: unknown[] = [];
    if (violations.length > 0) {
      details.push({
        '@type': BAD_REQUEST_TYPE_URL,
        fieldViolations: violations.map((v) => ({
          ...(v.field === '' ? {} : { field: v.field }),
          ...(v.description === '' ? {} : { description: v.description }),
          ...(v.reason === undefined || v.reason === '' ? {} : { reason: v.reason }),
        })),
      });
    }
    if (delay !== undefined) {
      details.push({ '@type': RETRY_INFO_TYPE_URL, retryDelay: durationJson(delay) });
    }
    const body: Record<string, unknown> = {};
    if (status.code !== 0) body.code = status.code;
    if (status.message !== '') body.message = status.message;
    if (details.length > 0) body.details = details;
    return enc.encode(JSON.stringify(body));
  }
  const w = new Writer();
  if (status.code !== 0) w.varintField(1, status.code);
  if (status.message !== '') w.stringField(2, status.message);
  if (violations.length > 0) {
    const br = new Writer();
    for (const v of violations) {
      const fv = new Writer();
      if (v.field !== '') fv.stringField(1, v.field);
      if (v.description !== '') fv.stringField(2, v.description);
      if (v.reason !== undefined && v.reason !== '') fv.stringField(3, v.reason);
      br.bytesField(1, fv.finish());
    }
    w.bytesField(3, any(BAD_REQUEST_TYPE_URL, br.finish()));
  }
  if (delay !== undefined) {
    const [seconds, nanos] = durationParts(delay);
    const d = new Writer();
    if (seconds !== 0) d.varintField(1, seconds);
    if (nanos !== 0) d.varintField(2, nanos);
    const ri = new Writer();
    ri.bytesField(1, d.finish());
    w.bytesField(3, any(RETRY_INFO_TYPE_URL, ri.finish()));
  }
  return w.finish();
}

function any(typeUrl: string, value: Uint8Array): Uint8Array {
  const w = new Writer();
  w.stringField(1, typeUrl);
  w.bytesField(2, value);
  return w.finish();
}

function durationParts(ms: number): [number, number] {
  const totalNanos = Math.round(ms * 1e6);
  const seconds = Math.floor(totalNanos / 1e9);
  return [seconds, totalNanos - seconds * 1e9];
}

/** google.protobuf.Duration in JSON: "1.5s" with 0, 3, 6 or 9 fractional digits. */
function durationJson(ms: number): string {
  const [seconds, nanos] = durationParts(ms);
  if (nanos === 0) return `${seconds}s`;
  let frac = String(nanos).padStart(9, '0');
  if (frac.endsWith('000000')) frac = frac.slice(0, 3);
  else if (frac.endsWith('000')) frac = frac.slice(0, 6);
  return `${seconds}.${frac}s`;
}

/** Minimal protobuf writer for the reply messages (non-negative integers only). */
class Writer {
  private readonly parts: number[] = [];
  private readonly chunks: Array<Uint8Array | number[]> = [];

  private varint(v: number): void {
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
  }

  varintField(field: number, v: number): void {
    this.varint(field << 3);
    this.varint(v);
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.varint((field << 3) | 2);
    this.varint(bytes.length);
    this.flush();
    this.chunks.push(bytes);
  }

  stringField(field: number, s: string): void {
    this.bytesField(field, enc.encode(s));
  }

  private flush(): void {
    if (this.parts.length > 0) this.chunks.push(this.parts.splice(0));
  }

  finish(): Uint8Array {
    this.flush();
    let n = 0;
    for (const c of this.chunks) n += c.length;
    const out = new Uint8Array(n);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}
