/**
 * Seeded generator of OTLP export requests full of edge cases: empty strings,
 * unicode (astral, control characters, quotes), NaN/±Infinity/-0, int64 and uint64
 * extremes, nested arrays and key/value lists, bytes, missing optional fields, zero
 * timestamps, empty and huge attribute lists, duplicate keys, and items that must be
 * rejected (bad ids, bucket count mismatch, unnamed metrics).
 *
 * Requests are plain objects for protobufjs `fromObject` (camelCase names, 64-bit
 * values as decimal strings, bytes as Uint8Array); `toOtlpJson` turns one into
 * OTLP/JSON by walking the protobufjs reflection of our proto files.
 */
import { Buffer } from 'node:buffer';
import type protobuf from 'protobufjs';

type Obj = Record<string, unknown>;

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** mulberry32 */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const STRINGS = [
  '',
  'plain',
  'caf\u00e9',
  '\u{1F600}\u{1F680} astral',
  'quote " backslash \\ slash /',
  'ctl \u0000\u0001\u001f\u007f tab\tnl\n',
  '\u2028\u2029',
  'a'.repeat(300),
  '\u65e5\u672c\u8a9e',
  '{"looks":"like json"}',
];
const KEYS = ['k', 'service.name', 'http.method', '', 'd\u00fcp', 'nested', '\u{1F511}', 'x'];
const I64 = [
  '0',
  '1',
  '-1',
  '9223372036854775807',
  '-9223372036854775808',
  '9007199254740993',
  '-9007199254740993',
  '4294967296',
  '123456789012',
];
const U64 = [
  '0',
  '1',
  '18446744073709551615',
  '9223372036854775808',
  '1700000000123456789',
  '4294967295',
];
const DOUBLES = [
  0,
  -0,
  1.5,
  -2.25,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1e21,
  5e-324,
  0.1,
  123456789.123,
  2 ** 53,
];

export function genAnyValue(r: Rng, depth = 0): Obj {
  const k = r.int(depth > 2 ? 6 : 9);
  switch (k) {
    case 0:
    case 1:
      return { stringValue: r.pick(STRINGS) };
    case 2:
      return { boolValue: r.chance(0.5) };
    case 3:
      return { intValue: r.pick(I64) };
    case 4:
      return { doubleValue: r.pick(DOUBLES) };
    case 5:
      return r.chance(0.3) ? {} : { bytesValue: r.bytes(r.int(6)) };
    case 6:
      return {
        arrayValue: { values: Array.from({ length: r.int(4) }, () => genAnyValue(r, depth + 1)) },
      };
    default:
      return {
        kvlistValue: {
          values: Array.from({ length: r.int(4) }, () => ({
            key: r.pick(KEYS),
            ...(r.chance(0.9) ? { value: genAnyValue(r, depth + 1) } : {}),
          })),
        },
      };
  }
}

export function genAttributes(r: Rng, max = 6): Obj[] {
  if (max === 6 && r.chance(0.006)) {
    // Huge list with duplicates sprinkled in.
    return Array.from({ length: 10_000 }, (_, i) => ({
      key: i % 997 === 0 ? 'dup' : `attr.${i}`,
      value: { stringValue: `v${i}` },
    }));
  }
  return Array.from({ length: r.int(max + 1) }, () => ({
    key: r.pick(KEYS),
    ...(r.chance(0.95) ? { value: genAnyValue(r) } : {}),
  }));
}

function genResource(r: Rng): Obj | undefined {
  if (r.chance(0.1)) return undefined;
  const attrs = genAttributes(r, 8);
  if (r.chance(0.7))
    attrs.push({ key: 'service.name', value: { stringValue: r.pick(['api', 'w\u00f6rker', '']) } });
  return { attributes: attrs, droppedAttributesCount: r.int(3) };
}

function genScope(r: Rng): Obj | undefined {
  if (r.chance(0.1)) return undefined;
  return {
    name: r.pick(STRINGS.slice(0, 5)),
    version: r.pick(['', '1.0.0', '\u03b2']),
    attributes: r.chance(0.3) ? genAttributes(r, 2) : [],
    droppedAttributesCount: r.int(2),
  };
}

const schemaUrl = (r: Rng) => r.pick(['', 'https://opentelemetry.io/schemas/1.21.0']);

function id(r: Rng, n: number, badChance: number): Uint8Array {
  if (r.chance(badChance))
    return r.pick([r.bytes(n - 1), r.bytes(n + 1), new Uint8Array(n), new Uint8Array(0)]);
  const b = r.bytes(n);
  b[0] = (b[0]! | 1) & 0xff; // never all zero
  return b;
}

export function genTraces(r: Rng): Obj {
  return {
    resourceSpans: Array.from({ length: 1 + r.int(3) }, () => ({
      resource: genResource(r),
      schemaUrl: schemaUrl(r),
      scopeSpans: Array.from({ length: r.int(3) }, () => ({
        scope: genScope(r),
        schemaUrl: schemaUrl(r),
        spans: Array.from({ length: r.int(8) }, () => genSpan(r)),
      })),
    })),
  };
}

function genSpan(r: Rng): Obj {
  const s: Obj = {
    traceId: id(r, 16, 0.05),
    spanId: id(r, 8, 0.05),
    name: r.pick(STRINGS),
    kind: r.chance(0.05) ? 7 : r.int(6),
    startTimeUnixNano: r.pick(U64),
    endTimeUnixNano: r.pick(U64),
    attributes: genAttributes(r),
    droppedAttributesCount: r.int(3),
    events: Array.from({ length: r.int(4) }, () => ({
      timeUnixNano: r.pick(U64),
      name: r.pick(STRINGS),
      attributes: genAttributes(r, 3),
      droppedAttributesCount: r.int(2),
    })),
    droppedEventsCount: r.int(2),
    links: Array.from({ length: r.int(3) }, () => ({
      traceId: r.chance(0.2) ? new Uint8Array(0) : r.bytes(16),
      spanId: r.chance(0.2) ? new Uint8Array(0) : r.bytes(8),
      traceState: r.pick(['', 'rojo=00f067aa0ba902b7']),
      attributes: genAttributes(r, 2),
      droppedAttributesCount: r.int(2),
      flags: r.pick([0, 1, 0x301, 0xffffffff]),
    })),
    droppedLinksCount: r.int(2),
    flags: r.pick([0, 1, 0x100, 0x301, 0xffffffff]),
    traceState: r.pick(['', 'congo=t61rcWkgMzE']),
  };
  if (r.chance(0.6))
    s.parentSpanId = r.chance(0.05) ? r.bytes(3) : r.chance(0.1) ? new Uint8Array(8) : r.bytes(8);
  if (r.chance(0.7))
    s.status = { code: r.chance(0.05) ? 9 : r.int(3), message: r.pick(['', 'boom', '\u{1F4A5}']) };
  return s;
}

export function genLogs(r: Rng): Obj {
  return {
    resourceLogs: Array.from({ length: 1 + r.int(3) }, () => ({
      resource: genResource(r),
      schemaUrl: schemaUrl(r),
      scopeLogs: Array.from({ length: r.int(3) }, () => ({
        scope: genScope(r),
        schemaUrl: schemaUrl(r),
        logRecords: Array.from({ length: r.int(8) }, () => {
          const l: Obj = {
            timeUnixNano: r.chance(0.3) ? '0' : r.pick(U64),
            observedTimeUnixNano: r.pick(U64),
            severityNumber: r.int(25),
            severityText: r.pick(['', 'INFO', 'WARN', 'Fatal \u{1F525}']),
            attributes: genAttributes(r),
            droppedAttributesCount: r.int(3),
            flags: r.pick([0, 1, 0xff]),
            eventName: r.pick(['', 'session.start', 'x.y']),
          };
          if (r.chance(0.85)) l.body = genAnyValue(r);
          if (r.chance(0.5))
            l.traceId = r.chance(0.1)
              ? r.bytes(5)
              : r.chance(0.1)
                ? new Uint8Array(16)
                : r.bytes(16);
          if (r.chance(0.5)) l.spanId = r.chance(0.1) ? r.bytes(9) : r.bytes(8);
          return l;
        }),
      })),
    })),
  };
}

function genExemplars(r: Rng): Obj[] {
  return Array.from({ length: r.int(3) }, () => {
    const e: Obj = {
      filteredAttributes: genAttributes(r, 2),
      timeUnixNano: r.pick(U64),
      spanId: r.chance(0.3) ? new Uint8Array(0) : r.bytes(8),
      traceId: r.chance(0.3) ? new Uint8Array(0) : r.bytes(16),
    };
    if (r.chance(0.45)) e.asDouble = r.pick(DOUBLES);
    else if (r.chance(0.8)) e.asInt = r.pick(I64);
    return e;
  });
}

function genPointBase(r: Rng): Obj {
  return {
    attributes: genAttributes(r, 4),
    startTimeUnixNano: r.chance(0.3) ? '0' : r.pick(U64),
    timeUnixNano: r.pick(U64),
    flags: r.pick([0, 1]),
  };
}

function genMetric(r: Rng): Obj {
  const m: Obj = {
    name: r.chance(0.05) ? '' : r.pick(['http.requests', 'latency', 'q\u00fceue', 'a'.repeat(80)]),
    description: r.pick(['', 'Some description \u{1F4CA}']),
    unit: r.pick(['', 'ms', '{request}', 'By']),
  };
  if (r.chance(0.2)) m.metadata = genAttributes(r, 2);
  const n = r.int(5);
  const temporality = r.int(3);
  switch (r.int(6)) {
    case 0:
      m.gauge = { dataPoints: Array.from({ length: n }, () => numberPoint(r)) };
      break;
    case 1:
      m.sum = {
        dataPoints: Array.from({ length: n }, () => numberPoint(r)),
        aggregationTemporality: temporality,
        isMonotonic: r.chance(0.5),
      };
      break;
    case 2:
      m.histogram = {
        dataPoints: Array.from({ length: n }, () => {
          const bounds = Array.from({ length: r.int(5) }, () => r.pick(DOUBLES));
          const counts = r.chance(0.1)
            ? []
            : Array.from({ length: r.chance(0.05) ? bounds.length : bounds.length + 1 }, () =>
                r.pick(U64),
              );
          const p: Obj = {
            ...genPointBase(r),
            count: r.pick(U64),
            bucketCounts: counts,
            explicitBounds: bounds,
            exemplars: genExemplars(r),
          };
          if (r.chance(0.8)) p.sum = r.pick(DOUBLES);
          if (r.chance(0.6)) p.min = r.pick(DOUBLES);
          if (r.chance(0.6)) p.max = r.pick(DOUBLES);
          return p;
        }),
        aggregationTemporality: temporality,
      };
      break;
    case 3:
      m.exponentialHistogram = {
        dataPoints: Array.from({ length: n }, () => {
          const p: Obj = {
            ...genPointBase(r),
            count: r.pick(U64),
            scale: r.pick([0, -4, 20, -1]),
            zeroCount: r.pick(U64),
            zeroThreshold: r.pick([0, 1e-9, 0.5]),
            exemplars: genExemplars(r),
          };
          if (r.chance(0.8))
            p.positive = {
              offset: r.pick([0, -3, 100]),
              bucketCounts: Array.from({ length: r.int(5) }, () => r.pick(U64)),
            };
          if (r.chance(0.5))
            p.negative = {
              offset: r.pick([0, -7]),
              bucketCounts: Array.from({ length: r.int(3) }, () => r.pick(U64)),
            };
          if (r.chance(0.8)) p.sum = r.pick(DOUBLES);
          if (r.chance(0.5)) p.min = r.pick(DOUBLES);
          if (r.chance(0.5)) p.max = r.pick(DOUBLES);
          return p;
        }),
        aggregationTemporality: temporality,
      };
      break;
    case 4:
      m.summary = {
        dataPoints: Array.from({ length: n }, () => ({
          ...genPointBase(r),
          count: r.pick(U64),
          sum: r.pick(DOUBLES),
          quantileValues: Array.from({ length: r.int(4) }, () => ({
            quantile: r.pick([0, 0.5, 0.99, 1]),
            value: r.pick(DOUBLES),
          })),
        })),
      };
      break;
    default:
      // No data field at all: no rows, nothing rejected.
      break;
  }
  return m;
}

function numberPoint(r: Rng): Obj {
  const p: Obj = { ...genPointBase(r), exemplars: genExemplars(r) };
  if (r.chance(0.5)) p.asDouble = r.pick(DOUBLES);
  else if (r.chance(0.85)) p.asInt = r.pick(I64);
  return p;
}

export function genMetrics(r: Rng): Obj {
  return {
    resourceMetrics: Array.from({ length: 1 + r.int(3) }, () => ({
      resource: genResource(r),
      schemaUrl: schemaUrl(r),
      scopeMetrics: Array.from({ length: r.int(3) }, () => ({
        scope: genScope(r),
        schemaUrl: schemaUrl(r),
        metrics: Array.from({ length: r.int(5) }, () => genMetric(r)),
      })),
    })),
  };
}

// ---- OTLP/JSON encoding of the same requests ------------------------------------

const HEX_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/**
 * OTLP/JSON of a request object, randomizing every freedom the format allows: key
 * spelling (lowerCamelCase or snake_case), 64-bit integers as strings or numbers,
 * enums as numbers or names, hex ids in either case, base64 with or without padding.
 */
export function toOtlpJson(type: protobuf.Type, obj: Obj, r: Rng): Obj {
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined) continue;
    const key = r.chance(0.2)
      ? ((field as unknown as { protoName?: string }).protoName ?? field.name)
      : field.name;
    const one = (x: unknown): unknown => jsonValue(field, x, r);
    out[key] = field.repeated ? (v as unknown[]).map(one) : one(v);
  }
  return out;
}

function jsonValue(field: protobuf.Field, v: unknown, r: Rng): unknown {
  const rt = field.resolvedType;
  if (rt && 'fieldsArray' in rt) return toOtlpJson(rt as protobuf.Type, v as Obj, r);
  if (rt && 'valuesById' in rt) {
    const name = (rt as protobuf.Enum).valuesById[v as number];
    return name !== undefined && r.chance(0.5) ? name : v;
  }
  if (field.type === 'bytes') {
    const b = Buffer.from(v as Uint8Array);
    if (HEX_FIELDS.has(field.name)) {
      const h = b.toString('hex');
      return r.chance(0.3) ? h.toUpperCase() : h;
    }
    const s = b.toString('base64');
    return r.chance(0.2) ? s.replace(/=+$/, '') : r.chance(0.2) ? b.toString('base64url') : s;
  }
  if (LONG_TYPES.has(field.type)) {
    const s = String(v);
    return r.chance(0.3) && Number.isSafeInteger(Number(s)) ? Number(s) : s;
  }
  if (field.type === 'double' || field.type === 'float') {
    const d = v as number;
    // JSON numbers cannot carry NaN/Infinity, and JSON.stringify drops the sign of -0.
    return Object.is(d, -0) ? '-0' : Number.isFinite(d) ? d : String(d);
  }
  return v;
}
