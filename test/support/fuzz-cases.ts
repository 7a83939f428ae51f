/**
 * The catalogue of hostile requests the network fuzzer sends to an acceptor, one entry per
 * kind, each with the replies it may get. The allowed sets are the acceptor's documented
 * replies (services/acceptor/README.md "Replies" and "Limits"): for OTLP/HTTP 200, 400,
 * 401, 404, 405, 408, 413, 415, 431, 503; for OTLP/gRPC OK, INVALID_ARGUMENT,
 * RESOURCE_EXHAUSTED, UNIMPLEMENTED, UNAVAILABLE, UNAUTHENTICATED, DEADLINE_EXCEEDED, plus
 * what the HTTP/2 layer answers for requests that are not gRPC at all (HTTP 405 / 415 on
 * the stream) or that break HTTP/2 itself (RST_STREAM, GOAWAY, a closed connection).
 *
 * Outcome strings: `http:<status>`; `grpc:<CODE NAME>`; `h2:<status>` (an HTTP/2 reply
 * without grpc-status); `rst:<HTTP/2 error>`; `goaway:<HTTP/2 error>`; `closed` (the
 * server closed without a reply); `reset` (the connection was reset); `client-reset` /
 * `client-cancel` (the fuzzer itself aborted: no reply is expected); `timeout` (no reply
 * and no close within the request timeout + 15 s — never allowed: the server hung).
 */
import http2, { type ClientHttp2Session } from 'node:http2';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  clientStart,
  Flag,
  FrameType,
  frame,
  grpcFrame,
  grpcRequestHeaders,
  H2Error,
  headerBlock,
  rawH2Exchange,
} from './fuzz-h2.js';
import {
  chunked,
  type RawHttpResult,
  rawHttpExchange,
  rawRequest,
  type Write,
} from './fuzz-http1.js';
import { encodeRequest, REPO_ROOT, type Signal } from './otlp-proto.js';
import { logsRequest, metricsRequest, traceRequest } from './otlp-workload.js';

// zstd comes from the acceptor's own dependency (node 20's zlib has no zstd).
const zstd = createRequire(path.join(REPO_ROOT, 'services/acceptor/package.json'))('zstd-napi') as {
  compress(data: Buffer): Buffer;
};

export const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

export const GRPC_PATHS: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

export const GRPC_CODE_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

/** What the fuzzer knows about the acceptor it attacks. */
export interface FuzzTarget {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly token: string;
  readonly maxRequestBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxConcurrentStreams: number;
  readonly requestTimeoutMs: number;
}

export type Rng = () => number;

/** Everything a case needs: the target, randomness, pooled HTTP/2 sessions, base bodies. */
export interface CaseContext {
  readonly target: FuzzTarget;
  readonly rng: Rng;
  readonly h2: H2Pool;
  readonly bases: Bases;
  /** Client-side patience: the server's request timeout plus 15 s. */
  readonly timeoutMs: number;
}

export interface FuzzKind {
  readonly name: string;
  readonly port: 'http' | 'grpc';
  readonly weight: number;
  readonly allowed: ReadonlySet<string>;
  /** Runs one request (or one connection's worth) and returns its outcome(s). */
  run(ctx: CaseContext): Promise<string[]>;
}

// ---------------------------------------------------------------------------------------
// Bodies

export interface BaseBody {
  readonly signal: Signal;
  readonly protobuf: Buffer;
  readonly json: Buffer;
}

/** Valid requests to start mutations from (producer `fuzz-base`, request numbers ≥ 1e6). */
export class Bases {
  readonly bodies: BaseBody[] = [];

  constructor(count = 30) {
    for (let i = 0; i < count; i++) {
      const signal = SIGNALS[i % 3]!;
      const json = requestJson(signal, 1_000_000 + i, 3, 'fuzz-base');
      this.bodies.push({
        signal,
        protobuf: Buffer.from(encodeRequest(signal, json)),
        json: Buffer.from(JSON.stringify(json)),
      });
    }
  }

  pick(rng: Rng): BaseBody {
    return this.bodies[Math.floor(rng() * this.bodies.length)]!;
  }
}

const T0 = 1_714_564_800_000_000_000n;

/** A workload request (see otlp-workload.ts): unique ids per `request`, `rows` rows. */
export function requestJson(
  signal: Signal,
  request: number,
  rows: number,
  producer: string,
): object {
  const o = {
    request,
    rows,
    startNs: T0 + BigInt(request) * 1_000_000n,
    producer,
    service: 'fuzz',
  };
  return signal === 'traces'
    ? traceRequest(o)
    : signal === 'logs'
      ? logsRequest(o)
      : metricsRequest(o);
}

/** Rows a workload request stores: metrics hold a gauge, a sum and a histogram point per row. */
export function expectedRows(signal: Signal, rows: number): number {
  return signal === 'metrics' ? 3 * rows : rows;
}

export function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

/** 1–3 byte-level mutations: bit flips, overwrites, deletions, insertions, truncation. */
export function mutateBytes(rng: Rng, input: Uint8Array): Buffer {
  let b = Buffer.from(input);
  const ops = int(rng, 1, 3);
  for (let k = 0; k < ops && b.byteLength > 0; k++) {
    const at = Math.floor(rng() * b.byteLength);
    switch (Math.floor(rng() * 6)) {
      case 0:
        b[at] = b[at]! ^ (1 << Math.floor(rng() * 8));
        break;
      case 1:
        b[at] = pick(rng, [0x00, 0xff, 0x7f, 0x80, 0x0a, 0x12, 0x1a]);
        break;
      case 2:
        b = Buffer.concat([
          b.subarray(0, at),
          b.subarray(Math.min(b.byteLength, at + int(rng, 1, 16))),
        ]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), randomBytes(rng, int(rng, 1, 16)), b.subarray(at)]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      default: {
        // a varint that claims a huge length
        b = Buffer.concat([
          b.subarray(0, at),
          Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
          b.subarray(at),
        ]);
      }
    }
  }
  return b;
}

const JSON_JUNK = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ':',
  ',',
  '\\',
  '\\u',
  '\\ud800',
  '1e999',
  '-',
  'null',
  'NaN',
  '\u0000',
  '€',
  '""',
  '{}',
  '0x10',
  ' ',
];

/** Character-level mutations of JSON text, and a few pathological documents. */
export function mutateJson(rng: Rng, text: string): Buffer {
  const r = rng();
  if (r < 0.05) return Buffer.from('['.repeat(int(rng, 1000, 20000)));
  if (r < 0.08) return Buffer.from(`{"resourceSpans":${'['.repeat(500)}${']'.repeat(500)}}`);
  if (r < 0.11)
    return Buffer.from(
      `{"resourceLogs":[{"resource":{"attributes":[{"key":"k","value":{"stringValue":"${'x'.repeat(int(rng, 1000, 60000))}"}}]}}]}`,
    );
  if (r < 0.14) return Buffer.from(text.replace(/"traceId":"[0-9a-f]+"/, '"traceId":"zz"'));
  if (r < 0.17)
    return Buffer.from(
      text.replace(/"(timeUnixNano|startTimeUnixNano)":"\d+"/, '"$1":"99999999999999999999999"'),
    );
  let s = text;
  const ops = int(rng, 1, 3);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(rng() * (s.length + 1));
    switch (Math.floor(rng() * 4)) {
      case 0:
        s = s.slice(0, at) + pick(rng, JSON_JUNK) + s.slice(at + 1);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + int(rng, 1, 20));
        break;
      case 2:
        s = s.slice(0, at) + pick(rng, JSON_JUNK) + s.slice(at);
        break;
      default:
        s = s.slice(0, at);
    }
  }
  return Buffer.from(s);
}

/** Corrupts compressed bytes: truncation, flipped bits in the middle, a foreign header. */
export function breakCompressed(rng: Rng, compressed: Buffer): Buffer {
  switch (Math.floor(rng() * 4)) {
    case 0:
      return compressed.subarray(0, Math.max(1, Math.floor(rng() * compressed.byteLength)));
    case 1: {
      const b = Buffer.from(compressed);
      for (let i = 0; i < 4; i++) {
        const at = 10 + Math.floor(rng() * Math.max(1, b.byteLength - 10));
        if (at < b.byteLength) b[at] = b[at]! ^ 0x5a;
      }
      return b;
    }
    case 2:
      return Buffer.concat([compressed, randomBytes(rng, 8)]);
    default:
      return randomBytes(rng, int(rng, 1, 200));
  }
}

export type Encoding = 'gzip' | 'deflate' | 'zstd';

export function compress(encoding: Encoding, body: Uint8Array): Buffer {
  if (encoding === 'gzip') return zlib.gzipSync(body);
  if (encoding === 'deflate') return zlib.deflateSync(body);
  return zstd.compress(Buffer.from(body));
}

/** `n` bytes of zeros compressed: small on the wire, `n` bytes inflated. */
const bombCache = new Map<string, Buffer>();
export function bomb(encoding: Encoding, n: number): Buffer {
  const key = `${encoding}:${n}`;
  let b = bombCache.get(key);
  if (!b) {
    b = compress(encoding, Buffer.alloc(n));
    bombCache.set(key, b);
  }
  return b;
}

// ---------------------------------------------------------------------------------------
// Clients

function outcomeOfHttp(r: RawHttpResult, expected = 1): string[] {
  const out = r.responses.map((x) => `http:${x.status}`);
  if (r.garbage) out.push('garbage');
  if (out.length < expected) out.push(r.timedOut ? 'timeout' : r.reset ? 'reset' : 'closed');
  return out;
}

/** One raw HTTP/1 exchange on a fresh connection; outcomes as listed above. */
export async function httpExchange(
  ctx: CaseContext,
  writes: ReadonlyArray<Write>,
  options: { expect?: number; after?: 'keep' | 'half-close' | 'reset' } = {},
): Promise<string[]> {
  const r = await rawHttpExchange(ctx.target.httpPort, writes, {
    expect: options.expect ?? 1,
    timeoutMs: ctx.timeoutMs,
    ...(options.after ? { after: options.after } : {}),
  });
  if (options.after === 'reset') return ['client-reset'];
  return outcomeOfHttp(r, options.expect ?? 1);
}

/** One POST of `body` to `path` with the target's token, `Content-Length` and `extra`. */
function post(
  ctx: CaseContext,
  path: string,
  contentType: string | undefined,
  body: Uint8Array,
  extra: ReadonlyArray<readonly [string, string]> = [],
): Promise<string[]> {
  return httpExchange(ctx, [
    rawRequest('POST', path, httpHeaders(ctx, contentType, body.byteLength, extra), body),
  ]);
}

/** A pool of HTTP/2 sessions to the gRPC port, replaced when the server closes one. */
export class H2Pool {
  readonly #sessions: Array<ClientHttp2Session | undefined>;

  constructor(
    readonly port: number,
    size = 4,
  ) {
    this.#sessions = new Array(size).fill(undefined);
  }

  get(rng: Rng): ClientHttp2Session {
    const i = Math.floor(rng() * this.#sessions.length);
    let s = this.#sessions[i];
    if (!s || s.closed || s.destroyed) {
      s = this.fresh();
      this.#sessions[i] = s;
    }
    return s;
  }

  /** A new session the caller owns (and closes). */
  fresh(): ClientHttp2Session {
    const s = http2.connect(`http://127.0.0.1:${this.port}`);
    s.setMaxListeners(0); // one 'goaway' listener per call in flight
    s.on('error', () => {});
    s.on('goaway', () => s.close());
    return s;
  }

  close(): void {
    for (const s of this.#sessions) s?.destroy();
  }
}

export type H2Write = Buffer | number | { rst: number };

/**
 * One HTTP/2 request on `session`: writes in order (a number pauses, `{ rst }` resets the
 * stream), then ends it (unless `end` is false). Resolves with the outcome.
 */
export function h2Call(
  session: ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  writes: ReadonlyArray<H2Write>,
  options: { end?: boolean; timeoutMs: number },
): Promise<string> {
  return new Promise((resolve) => {
    let req: http2.ClientHttp2Stream;
    try {
      req = session.request(headers, { endStream: false });
    } catch (err) {
      resolve(`client-error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`);
      return;
    }
    let grpcStatus: number | undefined;
    let httpStatus: number | undefined;
    let cancelled = false;
    let done = false;
    let goaway = false;
    const onGoaway = () => {
      goaway = true;
    };
    session.once('goaway', onGoaway);
    const finish = (o: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.off('goaway', onGoaway);
      resolve(o);
    };
    const outcome = (): string => {
      if (cancelled) return 'client-cancel';
      if (grpcStatus !== undefined) return `grpc:${GRPC_CODE_NAMES[grpcStatus] ?? grpcStatus}`;
      if (httpStatus !== undefined && httpStatus !== 200) return `h2:${httpStatus}`;
      if (req.rstCode) return `rst:${H2Error[req.rstCode] ?? req.rstCode}`;
      return goaway ? 'goaway' : 'closed';
    };
    const timer = setTimeout(() => {
      finish('timeout');
      req.close(http2.constants.NGHTTP2_CANCEL);
    }, options.timeoutMs);
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h[':status'] !== undefined) httpStatus = Number(h[':status']);
      if (h['grpc-status'] !== undefined) grpcStatus = Number(h['grpc-status']);
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => {});
    req.on('error', () => {});
    req.on('close', () => finish(outcome()));
    void (async () => {
      for (const w of writes) {
        if (done || req.closed || req.destroyed) return;
        if (typeof w === 'number') await new Promise((r) => setTimeout(r, w));
        else if (Buffer.isBuffer(w)) req.write(w);
        else {
          // A client that resets its stream expects no reply. (Node's client never emits
          // 'close' for a stream reset with NO_ERROR while its writes wait for flow-control
          // window, so the outcome is settled here.)
          cancelled = true;
          req.close(w.rst);
          finish('client-cancel');
          setTimeout(() => req.destroy(), 50).unref();
          return;
        }
      }
      if (options.end !== false && !req.closed && !req.destroyed) req.end();
    })();
  });
}

function grpcHeaders(
  ctx: CaseContext,
  signal: Signal,
  extra: Record<string, string | string[]> = {},
  /** null: no authorization header (unless `extra` has one). */
  token: string | null = ctx.target.token,
): http2.OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': GRPC_PATHS[signal],
    'content-type': 'application/grpc',
    te: 'trailers',
    ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    ...extra,
  };
}

function httpHeaders(
  ctx: CaseContext,
  contentType: string | undefined,
  length: number | undefined,
  extra: ReadonlyArray<readonly [string, string]> = [],
): Array<readonly [string, string]> {
  return [
    ['Host', `127.0.0.1:${ctx.target.httpPort}`],
    ['Authorization', `Bearer ${ctx.target.token}`],
    ...(contentType === undefined ? [] : [['Content-Type', contentType] as const]),
    ...(length === undefined ? [] : [['Content-Length', String(length)] as const]),
    ...extra,
  ];
}

const CT = { protobuf: 'application/x-protobuf', json: 'application/json' } as const;

/** A request body as (content type, bytes): mutated protobuf or JSON of a base. */
function mutantBody(ctx: CaseContext): { signal: Signal; contentType: string; body: Buffer } {
  const base = ctx.bases.pick(ctx.rng);
  return ctx.rng() < 0.5
    ? { signal: base.signal, contentType: CT.protobuf, body: mutateBytes(ctx.rng, base.protobuf) }
    : {
        signal: base.signal,
        contentType: CT.json,
        body: mutateJson(ctx.rng, base.json.toString()),
      };
}

// ---------------------------------------------------------------------------------------
// Allowed replies

const http = (...codes: number[]) => codes.map((c) => `http:${c}`);
const grpc = (...names: string[]) => names.map((n) => `grpc:${n}`);
const set = (...items: string[][]) => new Set(items.flat());

/** Every status the OTLP/HTTP port documents. */
export const HTTP_DOCUMENTED = [200, 400, 401, 404, 405, 408, 413, 415, 431, 503];
/** Every gRPC code the OTLP/gRPC port documents. */
export const GRPC_DOCUMENTED = [
  'OK',
  'INVALID_ARGUMENT',
  'RESOURCE_EXHAUSTED',
  'UNIMPLEMENTED',
  'UNAVAILABLE',
  'UNAUTHENTICATED',
  'DEADLINE_EXCEEDED',
];

const DECODED = http(200, 400, 413, 503);
const G_DECODED = grpc('OK', 'INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE');
/** Connection-level outcomes of requests that break HTTP/1 framing. */
const CONN = ['closed', 'reset'];
const H2_TRANSPORT = [
  'closed',
  'goaway',
  'rst:PROTOCOL_ERROR',
  'rst:REFUSED_STREAM',
  'rst:ENHANCE_YOUR_CALM',
  'rst:INTERNAL_ERROR',
  'rst:CANCEL',
];

// ---------------------------------------------------------------------------------------
// The catalogue

const ENCODINGS: readonly Encoding[] = ['gzip', 'deflate', 'zstd'];

export const KINDS: readonly FuzzKind[] = [
  // ---- OTLP/HTTP ---------------------------------------------------------------------
  {
    name: 'http mutated body (protobuf/JSON)',
    port: 'http',
    weight: 10,
    allowed: set(DECODED),
    run: (ctx) => {
      const m = mutantBody(ctx);
      return post(ctx, `/v1/${m.signal}`, m.contentType, m.body);
    },
  },
  {
    name: 'http random / tiny / truncated body',
    port: 'http',
    weight: 6,
    allowed: set(DECODED),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const json = ctx.rng() < 0.4;
      const src = json ? base.json : base.protobuf;
      const r = ctx.rng();
      const body =
        r < 0.35
          ? randomBytes(ctx.rng, int(ctx.rng, 0, 4096))
          : r < 0.5
            ? randomBytes(ctx.rng, int(ctx.rng, 0, 3))
            : src.subarray(0, Math.floor(ctx.rng() * src.byteLength));
      return post(ctx, `/v1/${base.signal}`, json ? CT.json : CT.protobuf, body);
    },
  },
  {
    name: 'http oversized body (declared / chunked / compressed)',
    port: 'http',
    weight: 2,
    allowed: set(http(413, 503), CONN),
    run: (ctx) => {
      const n = ctx.target.maxRequestBytes + int(ctx.rng, 1, 64 * 1024);
      const body = randomBytes(ctx.rng, n);
      const v = Math.floor(ctx.rng() * 3);
      if (v === 0) {
        return httpExchange(ctx, [
          rawRequest('POST', '/v1/logs', httpHeaders(ctx, CT.protobuf, n), body),
        ]);
      }
      if (v === 1) {
        return httpExchange(ctx, [
          rawRequest(
            'POST',
            '/v1/logs',
            httpHeaders(ctx, CT.protobuf, undefined, [['Transfer-Encoding', 'chunked']]),
            chunked(body, 16 * 1024),
          ),
        ]);
      }
      const gz = zlib.gzipSync(body, { level: 1 });
      return post(ctx, '/v1/logs', CT.protobuf, gz, [['Content-Encoding', 'gzip']]);
    },
  },
  {
    name: 'http compression bomb',
    port: 'http',
    weight: 2,
    allowed: set(http(413, 503), CONN),
    run: (ctx) => {
      const encoding = pick(ctx.rng, ENCODINGS);
      const b = bomb(encoding, ctx.target.maxRequestBytes * int(ctx.rng, 2, 64));
      return post(ctx, '/v1/traces', CT.protobuf, b, [['Content-Encoding', encoding]]);
    },
  },
  {
    name: 'http broken or mislabelled compression',
    port: 'http',
    weight: 5,
    allowed: set(DECODED),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const encoding = pick(ctx.rng, ENCODINGS);
      const r = ctx.rng();
      const body =
        r < 0.7
          ? breakCompressed(ctx.rng, compress(encoding, base.protobuf))
          : r < 0.85
            ? compress(
                pick(
                  ctx.rng,
                  ENCODINGS.filter((e) => e !== encoding),
                ),
                base.protobuf,
              ) // mislabelled
            : base.protobuf; // says compressed, is not
      return post(ctx, `/v1/${base.signal}`, CT.protobuf, body, [['Content-Encoding', encoding]]);
    },
  },
  {
    name: 'http valid body, compressed',
    port: 'http',
    weight: 2,
    allowed: set(http(200, 503)),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const encoding = pick(ctx.rng, [...ENCODINGS, 'x-gzip']);
      const body = compress(encoding === 'x-gzip' ? 'gzip' : (encoding as Encoding), base.protobuf);
      return post(ctx, `/v1/${base.signal}`, CT.protobuf, body, [['Content-Encoding', encoding]]);
    },
  },
  {
    name: 'http wrong or missing Content-Type / Content-Encoding',
    port: 'http',
    weight: 5,
    allowed: set(http(200, 400, 415, 503)),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const r = ctx.rng();
      if (r < 0.5) {
        const ct = pick(ctx.rng, [
          undefined,
          '',
          'text/plain',
          'application/octet-stream',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-8', // fine: parameters are ignored
          'APPLICATION/X-PROTOBUF', // fine: case-insensitive
          'application/protobuf',
          'application/grpc',
          'garbage',
          ';;;',
          'application/x-protobuf, application/json',
        ]);
        const body = ct?.toLowerCase().includes('json') ? base.json : base.protobuf;
        return post(ctx, `/v1/${base.signal}`, ct, body);
      }
      const ce = pick(ctx.rng, [
        'br',
        'compress',
        'gzip, zstd',
        'zstd, gzip',
        'snappy',
        'lz4',
        'x-unknown',
        'gzip;q=1',
        '*',
        'identity, gzip',
      ]);
      return post(ctx, `/v1/${base.signal}`, CT.protobuf, base.protobuf, [
        ['Content-Encoding', ce],
      ]);
    },
  },
  {
    name: 'http lying Content-Length',
    port: 'http',
    weight: 4,
    // Shorter: the body is cut and the rest parses as a (broken) next request. Longer with
    // the client half-closed: the body never completes (400, or closed). Longer and left
    // open: the request timeout answers 408.
    allowed: set(http(200, 400, 408, 413, 503), CONN),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const body = base.protobuf;
      const r = ctx.rng();
      if (r < 0.5) {
        const declared = Math.floor(ctx.rng() * body.byteLength);
        return httpExchange(
          ctx,
          [rawRequest('POST', `/v1/${base.signal}`, httpHeaders(ctx, CT.protobuf, declared), body)],
          { expect: 2 },
        );
      }
      const declared = body.byteLength + int(ctx.rng, 1, 10_000);
      return httpExchange(
        ctx,
        [rawRequest('POST', `/v1/${base.signal}`, httpHeaders(ctx, CT.protobuf, declared), body)],
        { after: r < 0.95 ? 'half-close' : 'keep' },
      );
    },
  },
  {
    name: 'http chunked encoding oddities',
    port: 'http',
    weight: 5,
    allowed: set(http(200, 400, 408, 413, 503), CONN),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const good = chunked(base.protobuf, int(ctx.rng, 1, 512));
      const te: Array<readonly [string, string]> = [['Transfer-Encoding', 'chunked']];
      const variant = Math.floor(ctx.rng() * 10);
      let body: Buffer;
      let headers = httpHeaders(ctx, CT.protobuf, undefined, te);
      let after: 'keep' | 'half-close' | undefined;
      switch (variant) {
        case 0:
          body = Buffer.concat([
            Buffer.from('zz\r\n'),
            base.protobuf,
            Buffer.from('\r\n0\r\n\r\n'),
          ]);
          break;
        case 1:
          body = Buffer.concat([Buffer.from('ffffffffffffffffffff\r\n'), base.protobuf]);
          after = 'half-close';
          break;
        case 2:
          body = chunked(base.protobuf, 64, ';name=value;x="y"'); // extensions are legal
          break;
        case 3:
          body = good.subarray(0, good.byteLength - 5); // no last chunk
          after = 'half-close';
          break;
        case 4:
          body = Buffer.concat([
            good.subarray(0, good.byteLength - 2),
            Buffer.from('X-Trailer: 1\r\n\r\n'),
          ]);
          break;
        case 5:
          headers = httpHeaders(ctx, CT.protobuf, base.protobuf.byteLength, te); // both TE and CL
          body = good;
          break;
        case 6:
          headers = httpHeaders(ctx, CT.protobuf, undefined, [
            [
              'Transfer-Encoding',
              pick(ctx.rng, [
                'gzip, chunked',
                'chunked, gzip',
                'identity',
                'xchunked',
                'chunked, chunked',
              ]),
            ],
          ]);
          body = good;
          after = 'half-close';
          break;
        case 7:
          body = Buffer.from(good.toString('latin1').replaceAll('\r\n', '\n'), 'latin1'); // bare LF
          after = 'half-close';
          break;
        case 8:
          body = Buffer.concat([Buffer.from('-5\r\n'), base.protobuf]);
          after = 'half-close';
          break;
        default:
          body = good; // thousands of 1-byte chunks are still fine
      }
      return httpExchange(
        ctx,
        [rawRequest('POST', `/v1/${base.signal}`, headers, body)],
        after ? { after } : {},
      );
    },
  },
  {
    name: 'http odd, huge or duplicated headers',
    port: 'http',
    weight: 5,
    allowed: set(http(200, 400, 401, 413, 415, 431, 503), CONN),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const body = base.protobuf;
      const variant = Math.floor(ctx.rng() * 8);
      let extra: Array<readonly [string, string]> = [];
      let headers: Array<readonly [string, string]> | undefined;
      switch (variant) {
        case 0:
          extra = [['X-Big', 'x'.repeat(ctx.target.maxHeaderBytes + int(ctx.rng, 1, 40_000))]];
          break;
        case 1:
          extra = Array.from(
            { length: int(ctx.rng, 100, 3000) },
            (_, i) => [`X-H${i}`, 'v'] as const,
          );
          break;
        case 2:
          headers = [...httpHeaders(ctx, CT.protobuf, body.byteLength), ['Content-Type', CT.json]];
          break;
        case 3:
          headers = [
            ...httpHeaders(ctx, CT.protobuf, body.byteLength),
            ['Content-Length', String(body.byteLength + 1)],
          ];
          break;
        case 4:
          extra = [['Bad Header', 'x']];
          break;
        case 5:
          extra = [['X-Ctl', 'a\u0001b\u007f']];
          break;
        case 6:
          extra = [
            [' X-Leading-Space', 'x'],
            ['X-Folded', 'a\r\n b'],
          ];
          break;
        default:
          headers = [
            ...httpHeaders(ctx, CT.protobuf, body.byteLength),
            ['Authorization', 'Bearer x'],
          ];
      }
      return httpExchange(ctx, [
        rawRequest(
          'POST',
          `/v1/${base.signal}`,
          headers ?? httpHeaders(ctx, CT.protobuf, body.byteLength, extra),
          body,
        ),
      ]);
    },
  },
  {
    name: 'http invalid methods',
    port: 'http',
    weight: 3,
    allowed: set(http(400, 404, 405), CONN),
    run: (ctx) => {
      const method = pick(ctx.rng, [
        'GET',
        'PUT',
        'DELETE',
        'PATCH',
        'OPTIONS',
        'TRACE',
        'FOO',
        'post',
        'G ET',
        'CONNECT',
        'PRI',
        '',
      ]);
      const base = ctx.bases.pick(ctx.rng);
      const path = method === 'CONNECT' ? '127.0.0.1:1' : `/v1/${base.signal}`;
      return httpExchange(ctx, [
        rawRequest(
          method,
          path,
          httpHeaders(ctx, CT.protobuf, base.protobuf.byteLength),
          base.protobuf,
        ),
      ]);
    },
  },
  {
    name: 'http odd paths',
    port: 'http',
    weight: 4,
    allowed: set(http(200, 400, 404, 405, 431, 503), CONN),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const s = base.signal;
      const path = pick(ctx.rng, [
        `/v1/${s}/`,
        `/v1/${s}?x=1&y`,
        `//v1/${s}`,
        `/v1/../v1/${s}`,
        `/%76%31/${s}`,
        `/v1/${s}%00`,
        `/v1/${s}#frag`,
        '/v1/spans',
        '/v2/traces',
        '/',
        '*',
        `http://127.0.0.1/v1/${s}`,
        '/metrics',
        '/healthz',
        '/readyz',
        `/${'a'.repeat(int(ctx.rng, 1000, 12_000))}`,
        `/v1/${s}/${'../'.repeat(50)}etc/passwd`,
        '/\u00e9t\u00e9',
      ]);
      return post(ctx, path, CT.protobuf, base.protobuf);
    },
  },
  {
    name: 'http HTTP/1.0 and other versions',
    port: 'http',
    weight: 2,
    allowed: set(http(200, 400, 503), ['http:505'], CONN),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const version = pick(ctx.rng, [
        'HTTP/1.0',
        'HTTP/1.0',
        'HTTP/0.9',
        'HTTP/2.0',
        'HTTP/1.2',
        'HTTX/1.1',
      ]);
      const headers = httpHeaders(ctx, CT.protobuf, base.protobuf.byteLength).filter(
        ([k]) => k !== 'Host' || ctx.rng() < 0.5,
      );
      return httpExchange(ctx, [
        rawRequest('POST', `/v1/${base.signal}`, headers, base.protobuf, version),
      ]);
    },
  },
  {
    name: 'http pipelined requests',
    port: 'http',
    weight: 3,
    allowed: set(http(...HTTP_DOCUMENTED), CONN),
    run: (ctx) => {
      const n = int(ctx.rng, 2, 6);
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const m =
          ctx.rng() < 0.5
            ? mutantBody(ctx)
            : (() => {
                const b = ctx.bases.pick(ctx.rng);
                return { signal: b.signal, contentType: CT.protobuf, body: b.protobuf };
              })();
        const method = ctx.rng() < 0.85 ? 'POST' : 'GET';
        parts.push(
          rawRequest(
            method,
            `/v1/${m.signal}`,
            httpHeaders(ctx, m.contentType, m.body.byteLength),
            m.body,
          ),
        );
      }
      return httpExchange(ctx, [Buffer.concat(parts)], { expect: n });
    },
  },
  {
    name: 'http slow (slowloris) clients',
    port: 'http',
    weight: 1,
    // Dribbled requests that complete get their normal reply; ones that stall mid-way get
    // 408 once SEDIMENT_REQUEST_TIMEOUT passes (or the connection closed).
    allowed: set(http(200, 400, 408, 503), CONN),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const req = rawRequest(
        'POST',
        `/v1/${base.signal}`,
        httpHeaders(ctx, CT.protobuf, base.protobuf.byteLength),
        base.protobuf,
      );
      const pieces = int(ctx.rng, 5, 30);
      const stall = ctx.rng() < 0.2;
      const writes: Write[] = [];
      const step = Math.ceil(req.byteLength / pieces);
      for (let i = 0; i < req.byteLength; i += step) {
        if (stall && i > req.byteLength / 2) break;
        writes.push(req.subarray(i, i + step), int(ctx.rng, 10, 100));
      }
      return httpExchange(ctx, writes);
    },
  },
  {
    name: 'http large uploads held open (in-flight bound)',
    port: 'http',
    weight: 1,
    // Most of a body near the request limit, then a pause before the rest (or a reset):
    // while they are held, these bodies count against SEDIMENT_MAX_INFLIGHT_BYTES, so
    // they — and requests arriving meanwhile — may get 503 + Retry-After. On a loaded
    // machine a held body may also miss SEDIMENT_REQUEST_TIMEOUT (3 s here): 408.
    allowed: set(http(200, 400, 408, 503), CONN, ['client-reset']),
    run: (ctx) => {
      const body = randomBytes(ctx.rng, ctx.target.maxRequestBytes - int(ctx.rng, 1, 4096));
      const cut = Math.floor(body.byteLength * 0.9);
      const req = rawRequest(
        'POST',
        '/v1/logs',
        httpHeaders(ctx, CT.protobuf, body.byteLength),
        body,
      );
      const head = req.byteLength - body.byteLength + cut;
      const reset = ctx.rng() < 0.3;
      return httpExchange(
        ctx,
        [req.subarray(0, head), int(ctx.rng, 200, 1500), ...(reset ? [] : [req.subarray(head)])],
        reset ? { after: 'reset' } : {},
      );
    },
  },
  {
    name: 'http half-closed or reset mid-request',
    port: 'http',
    weight: 3,
    allowed: set(http(400), CONN, ['client-reset']),
    run: (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const req = rawRequest(
        'POST',
        `/v1/${base.signal}`,
        httpHeaders(ctx, CT.protobuf, base.protobuf.byteLength),
        base.protobuf,
      );
      const cut = int(ctx.rng, 1, req.byteLength - 1);
      return httpExchange(ctx, [req.subarray(0, cut)], {
        after: ctx.rng() < 0.5 ? 'half-close' : 'reset',
      });
    },
  },
  {
    name: 'http other protocols on the port (HTTP/2 preface, TLS hello, junk)',
    port: 'http',
    weight: 1,
    allowed: set(http(400, 405), ['http:505'], CONN),
    run: (ctx) => {
      const junk = pick(ctx.rng, [
        clientStart(),
        Buffer.from('16030100a5010000a10303', 'hex'),
        randomBytes(ctx.rng, int(ctx.rng, 1, 300)),
        Buffer.from('\r\n\r\n\r\n'),
      ]);
      return httpExchange(ctx, [junk], { after: 'half-close' });
    },
  },
  {
    name: 'http missing, wrong or malformed token',
    port: 'http',
    weight: 2,
    allowed: set(http(401)),
    run: (ctx) => {
      const auth = pick(ctx.rng, [
        undefined,
        'Bearer wrong',
        'Basic Zm9vOmJhcg==',
        ctx.target.token,
        `Bearer ${ctx.target.token}x`,
        'Bearer',
        `Bearer  ${ctx.target.token} junk`,
        '',
      ]);
      const signal = pick(ctx.rng, SIGNALS);
      const body = Buffer.from(
        encodeRequest(
          signal,
          requestJson(signal, 2_000_000 + Math.floor(ctx.rng() * 1e6), 2, 'fuzz-unauth'),
        ),
      );
      const headers: Array<readonly [string, string]> = [
        ['Host', '127.0.0.1'],
        ['Content-Type', CT.protobuf],
        ['Content-Length', String(body.byteLength)],
        ...(auth === undefined ? [] : [['Authorization', auth] as const]),
      ];
      return httpExchange(ctx, [rawRequest('POST', `/v1/${signal}`, headers, body)]);
    },
  },

  // ---- OTLP/gRPC (node:http2) ----------------------------------------------------------
  {
    name: 'grpc mutated / random / truncated message',
    port: 'grpc',
    weight: 10,
    allowed: set(G_DECODED),
    run: async (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const r = ctx.rng();
      const msg =
        r < 0.6
          ? mutateBytes(ctx.rng, base.protobuf)
          : r < 0.8
            ? randomBytes(ctx.rng, int(ctx.rng, 0, 4096))
            : base.protobuf.subarray(0, Math.floor(ctx.rng() * base.protobuf.byteLength));
      return [
        await h2Call(ctx.h2.get(ctx.rng), grpcHeaders(ctx, base.signal), [grpcFrame(msg)], {
          timeoutMs: ctx.timeoutMs,
        }),
      ];
    },
  },
  {
    name: 'grpc bad framing (length prefix, flags, message count)',
    port: 'grpc',
    weight: 8,
    // Prefix longer than the data, no message, two messages: grpc-js answers
    // UNIMPLEMENTED (a unary call needs exactly one message). Prefix over the limit:
    // RESOURCE_EXHAUSTED. Shorter prefix: the first message decodes or not. A
    // Compressed-Flag without grpc-encoding, or a flag other than 0/1: INVALID_ARGUMENT.
    allowed: set(
      grpc('OK', 'INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED', 'UNIMPLEMENTED', 'UNAVAILABLE'),
    ),
    run: async (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const msg = base.protobuf;
      const v = Math.floor(ctx.rng() * 7);
      const frames: Buffer[] =
        v === 0
          ? [grpcFrame(msg, 0, msg.byteLength + int(ctx.rng, 1, 5000))]
          : v === 1
            ? [grpcFrame(msg, 0, Math.floor(ctx.rng() * msg.byteLength))]
            : v === 2
              ? [grpcFrame(msg, 0, ctx.target.maxRequestBytes + int(ctx.rng, 1, 1e6))]
              : v === 3
                ? []
                : v === 4
                  ? [grpcFrame(msg), grpcFrame(msg)]
                  : v === 5
                    ? [grpcFrame(msg, 1)]
                    : [grpcFrame(msg, int(ctx.rng, 2, 255))];
      if (v !== 3 && ctx.rng() < 0.3) {
        // the prefix split across DATA frames
        const all = Buffer.concat(frames);
        const cut = int(ctx.rng, 1, Math.min(4, all.byteLength));
        return [
          await h2Call(
            ctx.h2.get(ctx.rng),
            grpcHeaders(ctx, base.signal),
            [all.subarray(0, cut), 5, all.subarray(cut)],
            { timeoutMs: ctx.timeoutMs },
          ),
        ];
      }
      return [
        await h2Call(ctx.h2.get(ctx.rng), grpcHeaders(ctx, base.signal), frames, {
          timeoutMs: ctx.timeoutMs,
        }),
      ];
    },
  },
  {
    name: 'grpc broken, unknown or bomb compression',
    port: 'grpc',
    weight: 6,
    allowed: set(
      grpc('OK', 'INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED', 'UNIMPLEMENTED', 'UNAVAILABLE'),
    ),
    run: async (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const encoding = pick(ctx.rng, ENCODINGS);
      const v = Math.floor(ctx.rng() * 5);
      let msg: Buffer;
      let flag = 1;
      let header = encoding as string;
      if (v === 0) msg = breakCompressed(ctx.rng, compress(encoding, base.protobuf));
      else if (v === 1) msg = bomb(encoding, ctx.target.maxRequestBytes * int(ctx.rng, 2, 64));
      else if (v === 2) {
        header = pick(ctx.rng, ['snappy', 'br', 'lz4', 'identity2', 'GZIP', 'x']);
        msg = compress('gzip', base.protobuf);
      } else if (v === 3) {
        msg = compress(encoding, base.protobuf); // valid, compressed
      } else {
        header = pick(ctx.rng, ['snappy', 'gzip', 'zstd']);
        flag = 0;
        msg = base.protobuf; // encoding named, message not flagged: plain
      }
      return [
        await h2Call(
          ctx.h2.get(ctx.rng),
          grpcHeaders(ctx, base.signal, { 'grpc-encoding': header }),
          [grpcFrame(msg, flag)],
          { timeoutMs: ctx.timeoutMs },
        ),
      ];
    },
  },
  {
    name: 'grpc oversized message',
    port: 'grpc',
    weight: 2,
    allowed: set(grpc('RESOURCE_EXHAUSTED', 'UNAVAILABLE')),
    run: async (ctx) => {
      const msg = randomBytes(ctx.rng, ctx.target.maxRequestBytes + int(ctx.rng, 1, 64 * 1024));
      return [
        await h2Call(ctx.h2.get(ctx.rng), grpcHeaders(ctx, 'logs'), [grpcFrame(msg)], {
          timeoutMs: ctx.timeoutMs,
        }),
      ];
    },
  },
  {
    name: 'grpc wrong content-type, method, path, te, timeout',
    port: 'grpc',
    weight: 5,
    allowed: set(
      ['h2:405', 'h2:415'],
      grpc('OK', 'INVALID_ARGUMENT', 'UNIMPLEMENTED', 'UNAVAILABLE', 'DEADLINE_EXCEEDED'),
    ),
    run: async (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const v = Math.floor(ctx.rng() * 7);
      const headers = grpcHeaders(ctx, base.signal);
      if (v === 0)
        headers['content-type'] = pick(ctx.rng, [
          'application/json',
          'text/plain',
          'application/x-protobuf',
          'grpc',
        ]);
      else if (v === 1) delete headers['content-type'];
      else if (v === 2)
        headers['content-type'] = 'application/grpc+json'; // still gRPC
      else if (v === 3) delete headers.te;
      else if (v === 4) headers[':method'] = pick(ctx.rng, ['GET', 'PUT', 'DELETE']);
      else if (v === 5)
        headers[':path'] = pick(ctx.rng, [
          '/opentelemetry.proto.collector.trace.v1.TraceService/Other',
          '/x.Y/Export',
          '/',
          `${GRPC_PATHS.traces}/`,
          '/grpc.health.v1.Health/Check',
        ]);
      else
        headers['grpc-timeout'] = pick(ctx.rng, [
          'garbage',
          '-1S',
          '1n',
          '99999999H',
          '1',
          'S',
          '10m',
        ]);
      return [
        await h2Call(ctx.h2.get(ctx.rng), headers, [grpcFrame(base.protobuf)], {
          timeoutMs: ctx.timeoutMs,
        }),
      ];
    },
  },
  {
    name: 'grpc huge or many metadata entries',
    port: 'grpc',
    weight: 3,
    // Over SEDIMENT_MAX_HEADER_SIZE: RESOURCE_EXHAUSTED. Past node's own HTTP/2 limits (128
    // header entries; ~64 KiB of headers) the stream is reset before the acceptor sees it
    // (ENHANCE_YOUR_CALM / REFUSED_STREAM), or node's client refuses to send it.
    allowed: set(
      grpc('OK', 'INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE'),
      H2_TRANSPORT,
      ['client-error:ERR_HTTP2_STREAM_ERROR'],
    ),
    run: async (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const v = Math.floor(ctx.rng() * 4);
      const extra: Record<string, string | string[]> = {};
      if (v === 0) extra['x-big'] = 'x'.repeat(ctx.target.maxHeaderBytes + int(ctx.rng, 1, 40_000));
      else if (v === 1)
        for (let i = 0; i < int(ctx.rng, 50, 400); i++)
          extra[`x-m${i}`] = 'v'.repeat(int(ctx.rng, 1, 100));
      else if (v === 2)
        extra['x-dup'] = Array.from({ length: int(ctx.rng, 2, 200) }, (_, i) => `v${i}`);
      else extra['x-bin-bin'] = Buffer.from(randomBytes(ctx.rng, 3000)).toString('base64');
      // A stream whose headers node resets takes its session down with it at times: use
      // a session of its own.
      const session = ctx.h2.fresh();
      try {
        return [
          await h2Call(session, grpcHeaders(ctx, base.signal, extra), [grpcFrame(base.protobuf)], {
            timeoutMs: ctx.timeoutMs,
          }),
        ];
      } finally {
        session.destroy();
      }
    },
  },
  {
    name: 'grpc many concurrent streams on one connection',
    port: 'grpc',
    weight: 1,
    // Streams past SETTINGS_MAX_CONCURRENT_STREAMS (node's client opens them anyway) are
    // reset with REFUSED_STREAM: never processed, safe to retry (gRPC clients retry them
    // transparently).
    allowed: set(G_DECODED, ['rst:REFUSED_STREAM']),
    run: async (ctx) => {
      const session = ctx.h2.fresh();
      try {
        const n = ctx.target.maxConcurrentStreams * int(ctx.rng, 2, 4);
        const calls = Array.from({ length: n }, () => {
          const m = ctx.bases.pick(ctx.rng);
          const msg = ctx.rng() < 0.5 ? m.protobuf : mutateBytes(ctx.rng, m.protobuf);
          return h2Call(session, grpcHeaders(ctx, m.signal), [grpcFrame(msg)], {
            timeoutMs: ctx.timeoutMs,
          });
        });
        return await Promise.all(calls);
      } finally {
        session.destroy();
      }
    },
  },
  {
    name: 'grpc RST_STREAM mid-message, slow and stalled streams',
    port: 'grpc',
    weight: 3,
    allowed: set(['client-cancel'], G_DECODED, grpc('DEADLINE_EXCEEDED')),
    run: async (ctx) => {
      const base = ctx.bases.pick(ctx.rng);
      const f = grpcFrame(base.protobuf);
      const cut = int(ctx.rng, 1, f.byteLength - 1);
      const v = ctx.rng();
      const writes: H2Write[] =
        v < 0.6
          ? [
              f.subarray(0, cut),
              int(ctx.rng, 0, 50),
              {
                rst: pick(ctx.rng, [
                  http2.constants.NGHTTP2_CANCEL,
                  http2.constants.NGHTTP2_INTERNAL_ERROR,
                  http2.constants.NGHTTP2_NO_ERROR,
                ]),
              },
            ]
          : v < 0.9
            ? [f.subarray(0, cut), int(ctx.rng, 50, 400), f.subarray(cut)]
            : [f.subarray(0, cut)]; // never ends: the request timeout answers
      return [
        await h2Call(ctx.h2.get(ctx.rng), grpcHeaders(ctx, base.signal), writes, {
          timeoutMs: ctx.timeoutMs,
          end: v < 0.9,
        }),
      ];
    },
  },
  {
    name: 'grpc large uploads held open (in-flight bound)',
    port: 'grpc',
    weight: 1,
    // As the HTTP case: UNAVAILABLE past the in-flight bound, and DEADLINE_EXCEEDED when
    // the held call is not received in full within SEDIMENT_REQUEST_TIMEOUT (a CI run on
    // a loaded machine got it).
    allowed: set(['client-cancel'], G_DECODED, grpc('DEADLINE_EXCEEDED')),
    run: async (ctx) => {
      const msg = grpcFrame(
        randomBytes(ctx.rng, ctx.target.maxRequestBytes - int(ctx.rng, 1, 4096)),
      );
      const cut = Math.floor(msg.byteLength * 0.9);
      const writes: H2Write[] = [msg.subarray(0, cut), int(ctx.rng, 200, 1500)];
      writes.push(ctx.rng() < 0.3 ? { rst: http2.constants.NGHTTP2_CANCEL } : msg.subarray(cut));
      return [
        await h2Call(ctx.h2.get(ctx.rng), grpcHeaders(ctx, 'logs'), writes, {
          timeoutMs: ctx.timeoutMs,
        }),
      ];
    },
  },
  {
    name: 'grpc missing, wrong or malformed token',
    port: 'grpc',
    weight: 2,
    allowed: set(grpc('UNAUTHENTICATED')),
    run: async (ctx) => {
      const signal = pick(ctx.rng, SIGNALS);
      const body = Buffer.from(
        encodeRequest(
          signal,
          requestJson(signal, 2_000_000 + Math.floor(ctx.rng() * 1e6), 2, 'fuzz-unauth'),
        ),
      );
      const auth = pick(ctx.rng, [
        undefined,
        'Bearer wrong',
        'Basic Zm9vOmJhcg==',
        ctx.target.token,
        'Bearer',
        '',
      ]);
      const headers = grpcHeaders(
        ctx,
        signal,
        auth === undefined ? {} : { authorization: auth },
        null,
      );
      const msg = ctx.rng() < 0.3 ? bomb('gzip', ctx.target.maxRequestBytes * 8) : body;
      const extra = msg === body ? {} : { 'grpc-encoding': 'gzip' };
      return [
        await h2Call(
          ctx.h2.get(ctx.rng),
          { ...headers, ...extra },
          [grpcFrame(msg, msg === body ? 0 : 1)],
          { timeoutMs: ctx.timeoutMs },
        ),
      ];
    },
  },

  // ---- raw HTTP/2 on the gRPC port -------------------------------------------------------
  {
    name: 'grpc raw HTTP/2 protocol violations',
    port: 'grpc',
    weight: 2,
    // A connection that breaks HTTP/2 is torn down by node's HTTP/2 layer (GOAWAY, then
    // close) — or the offending stream reset — and the server carries on.
    allowed: set(
      ['closed', 'answered'],
      Object.values(H2Error).flatMap((e) => [`goaway:${e}`, `rst:${e}`]),
    ),
    run: async (ctx) => {
      const hb = headerBlock(
        grpcRequestHeaders(GRPC_PATHS.traces, [['authorization', `Bearer ${ctx.target.token}`]]),
      );
      const v = Math.floor(ctx.rng() * 9);
      const start = clientStart();
      let writes: Array<Buffer | number>;
      switch (v) {
        case 0:
          writes = [randomBytes(ctx.rng, int(ctx.rng, 1, 200))];
          break;
        case 1:
          writes = [
            Buffer.from('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'),
          ];
          break;
        case 2:
          writes = [start, frame(FrameType.DATA, 0, 0, Buffer.alloc(10))];
          break;
        case 3:
          writes = [
            start,
            frame(
              FrameType.HEADERS,
              Flag.END_HEADERS | Flag.END_STREAM,
              1,
              randomBytes(ctx.rng, 20),
            ),
          ];
          break;
        case 4:
          writes = [start, frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(4))];
          break;
        case 5:
          writes = [start, frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, hb)];
          break;
        case 6: {
          // more streams than SETTINGS_MAX_CONCURRENT_STREAMS allows, ignoring it
          writes = [start, 50];
          for (let i = 0; i < ctx.target.maxConcurrentStreams * 2; i++)
            writes.push(frame(FrameType.HEADERS, Flag.END_HEADERS, 1 + 2 * i, hb));
          break;
        }
        case 7:
          // a frame larger than the default SETTINGS_MAX_FRAME_SIZE (16 KiB)
          writes = [
            start,
            frame(FrameType.HEADERS, Flag.END_HEADERS, 1, hb),
            frame(FrameType.DATA, 0, 1, Buffer.alloc(20_000)),
          ];
          break;
        default:
          writes = [
            start,
            frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0xff, 0xff, 0xff, 0xff])),
          ]; // window > 2^31-1
      }
      const r = await rawH2Exchange(ctx.target.grpcPort, writes, {
        timeoutMs: ctx.timeoutMs,
        until: (x) => x.goaway !== undefined || x.resets.size > 0,
      });
      if (r.goaway) return [`goaway:${r.goaway}`];
      if (r.resets.size > 0) return [`rst:${[...r.resets.values()][0]}`];
      if (r.closed) return ['closed'];
      return [r.timedOut ? 'timeout' : 'answered'];
    },
  },
  {
    name: 'grpc connections that never start HTTP/2',
    port: 'grpc',
    weight: 0.2,
    // Closed by the acceptor once SEDIMENT_REQUEST_TIMEOUT passes without a preface.
    allowed: set(
      ['closed'],
      Object.values(H2Error).map((e) => `goaway:${e}`),
    ),
    run: async (ctx) => {
      const writes = ctx.rng() < 0.5 ? [] : [Buffer.from('PRI * HTTP/2.0\r\n')];
      const r = await rawH2Exchange(ctx.target.grpcPort, writes, {
        timeoutMs: ctx.timeoutMs,
        ackSettings: false,
      });
      if (r.timedOut) return ['timeout'];
      return [r.goaway && !r.closed ? `goaway:${r.goaway}` : 'closed'];
    },
  },
];
