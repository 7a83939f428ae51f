/**
 * OTLP trace requests for benchmarks and load generation, encoded by protobufjs over the
 * repository's proto/ files (an encoder independent of Sediment's decoder).
 *
 * Profile (the one bench/otlp-decode.ts measures): N spans per request (512 by default),
 * 11 attributes per span (strings, ints, a bool, a double), 16 resource attributes, 1–2
 * events per span, random trace/span ids, 1 in 8 spans a root (no parent), 1 in 17 an error.
 *
 * Every request must be DISTINCT: the acceptor derives a request identity from a hash of
 * the request bytes, and the collector drops byte-identical requests seen within its
 * de-duplication window (client-retry de-duplication). A generator replaying one encoded
 * request would be acked every time but stored once. {@link TracePayloadPool} therefore
 * pre-encodes a pool of distinct requests AND can stamp a sequence number into the trace
 * ids of a copy ({@link TracePayloadPool.stamp}), so that every request sent is unique
 * at the cost of one memcpy and a few hundred 4-byte writes.
 */
import { ProtoTypes } from '../../test/support/otlp-proto.js';

export interface TracePayloadOptions {
  /** Spans per request; default 512. */
  readonly spans?: number;
  /** Distinct requests to pre-encode; default 64. */
  readonly pool?: number;
  /** PRNG seed (the pool is deterministic for a seed and start time); default 42. */
  readonly seed?: number;
  /** Span start times are spread over the second before this instant (ns since epoch). Default now. */
  readonly startNs?: bigint;
}

export interface TracePayload {
  /** The encoded ExportTraceServiceRequest. */
  readonly bytes: Uint8Array;
  readonly spans: number;
  /** Byte offset of each span's 16-byte trace_id inside `bytes`. */
  readonly traceIdOffsets: Uint32Array;
}

const kv = (key: string, value: Record<string, unknown>) => ({ key, value });

const RESOURCE_ATTRIBUTES = [
  kv('service.name', { stringValue: 'checkout-service' }),
  kv('service.version', { stringValue: '2.14.3' }),
  kv('service.namespace', { stringValue: 'shop' }),
  kv('service.instance.id', { stringValue: '5f0c1a8e-3d7b-4a6e-9f21-8c4b2d7e6a10' }),
  kv('deployment.environment', { stringValue: 'production' }),
  kv('host.name', { stringValue: 'ip-10-0-12-34.ec2.internal' }),
  kv('host.arch', { stringValue: 'amd64' }),
  kv('os.type', { stringValue: 'linux' }),
  kv('process.pid', { intValue: 4242 }),
  kv('process.runtime.name', { stringValue: 'nodejs' }),
  kv('process.runtime.version', { stringValue: '20.20.2' }),
  kv('telemetry.sdk.name', { stringValue: 'opentelemetry' }),
  kv('telemetry.sdk.language', { stringValue: 'nodejs' }),
  kv('telemetry.sdk.version', { stringValue: '2.12.1' }),
  kv('cloud.region', { stringValue: 'eu-west-1' }),
  kv('k8s.pod.name', { stringValue: 'checkout-7d9f8c6b5-x2x7q' }),
];
const ROUTES = ['/api/cart', '/api/checkout', '/api/orders/{id}', '/api/users/{id}', '/health'];

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function traceRequest(rnd: () => number, spans: number, startNs: bigint) {
  const randomBytes = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
    // An all-zero id is invalid OTLP; make sure the first byte is not zero.
    b[0] ||= 1;
    return b;
  };
  const t0 = startNs - 1_000_000_000n;
  const ns = (offset: number) => (t0 + BigInt(offset)).toString();
  const list = Array.from({ length: spans }, (_, i) => {
    const start = Math.floor(rnd() * 9e8);
    const route = ROUTES[i % ROUTES.length]!;
    return {
      traceId: randomBytes(16),
      spanId: randomBytes(8),
      parentSpanId: i % 8 === 0 ? undefined : randomBytes(8),
      name: `GET ${route}`,
      kind: 1 + (i % 5),
      startTimeUnixNano: ns(start),
      endTimeUnixNano: ns(start + Math.floor(rnd() * 5e7)),
      attributes: [
        kv('http.request.method', { stringValue: 'GET' }),
        kv('url.full', { stringValue: `https://shop.example.com${route}?session=${i}` }),
        kv('http.response.status_code', { intValue: i % 17 === 0 ? 500 : 200 }),
        kv('server.address', { stringValue: 'shop.example.com' }),
        kv('server.port', { intValue: 443 }),
        kv('user_agent.original', { stringValue: 'Mozilla/5.0 (X11; Linux x86_64)' }),
        kv('network.protocol.version', { stringValue: '1.1' }),
        kv('enduser.id', { stringValue: `user-${i % 97}` }),
        kv('cache.hit', { boolValue: i % 3 === 0 }),
        kv('sampling.ratio', { doubleValue: 0.25 }),
        kv('thread.id', { intValue: i % 16 }),
      ],
      events: Array.from({ length: 1 + (i % 2) }, (_, j) => ({
        timeUnixNano: ns(start + j * 1000),
        name: j === 0 ? 'request.received' : 'response.sent',
        attributes: [kv('message.size', { intValue: 1024 + j })],
      })),
      status: { code: i % 17 === 0 ? 2 : 0, message: i % 17 === 0 ? 'internal error' : '' },
    };
  });
  return {
    resourceSpans: [
      {
        resource: { attributes: RESOURCE_ATTRIBUTES },
        scopeSpans: [
          {
            scope: { name: '@opentelemetry/instrumentation-http', version: '0.223.1' },
            spans: list,
          },
        ],
      },
    ],
  };
}

/** Encodes one request and finds where each span's trace id sits in the bytes. */
export function encodeTracePayload(
  rnd: () => number,
  spans: number,
  startNs: bigint,
): TracePayload {
  const req = traceRequest(rnd, spans, startNs);
  const type = ProtoTypes.traces;
  const bytes = type.encode(type.fromObject(req)).finish();
  const offsets = new Uint32Array(spans);
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let from = 0;
  req.resourceSpans[0]!.scopeSpans[0]!.spans.forEach((s, i) => {
    // Spans are encoded in order and trace_id is field 1 of each: searching forward for
    // the tag, length and the 16 random bytes finds exactly this span's id.
    const needle = Buffer.concat([Buffer.from([0x0a, 0x10]), s.traceId]);
    const at = haystack.indexOf(needle, from);
    if (at < 0) throw new Error(`trace id of span ${i} not found in the encoded request`);
    offsets[i] = at + 2;
    from = at + needle.length;
  });
  return { bytes, spans, traceIdOffsets: offsets };
}

export class TracePayloadPool {
  readonly items: readonly TracePayload[];
  readonly spansPerRequest: number;
  /** Largest request in the pool (size of a stamping buffer). */
  readonly maxBytes: number;

  constructor(options: TracePayloadOptions = {}) {
    const spans = options.spans ?? 512;
    const pool = options.pool ?? 64;
    if (!(spans >= 1) || !(pool >= 1)) throw new RangeError('spans and pool must be ≥ 1');
    const rnd = prng(options.seed ?? 42);
    const startNs = options.startNs ?? BigInt(Date.now()) * 1_000_000n;
    const items: TracePayload[] = [];
    for (let i = 0; i < pool; i++) items.push(encodeTracePayload(rnd, spans, startNs));
    this.items = items;
    this.spansPerRequest = spans;
    this.maxBytes = Math.max(...items.map((p) => p.bytes.byteLength));
  }

  /** Mean encoded request size in bytes. */
  get meanBytes(): number {
    return this.items.reduce((n, p) => n + p.bytes.byteLength, 0) / this.items.length;
  }

  /**
   * Copies pool item `index` into `target` (at least {@link maxBytes} long) with `stamp`
   * written big-endian into the first 4 bytes of every trace id, and returns the view of
   * `target` holding the request. Distinct stamps give distinct requests (and trace ids);
   * the rest of each id stays random, so ids remain unique across the pool.
   */
  stamp(target: Buffer, index: number, stamp: number): Buffer {
    const item = this.items[index % this.items.length]!;
    target.set(item.bytes, 0);
    const offsets = item.traceIdOffsets;
    const s = stamp >>> 0;
    for (let i = 0; i < offsets.length; i++) target.writeUInt32BE(s, offsets[i]!);
    return target.subarray(0, item.bytes.byteLength);
  }
}
