/**
 * `DecodeOptions.transient`: results whose column buffers are views of the decoder's
 * reused buffers. Encoded at once, they give the same Arrow IPC as owned results; and
 * they really are views (the next decode reuses the memory), which is what saves the
 * copy and the allocation.
 */
import {
  type DecodeOptions,
  type DecodeResult,
  decodeLogs,
  decodeLogsJson,
  decodeMetrics,
  decodeMetricsJson,
  decodeTraces,
  decodeTracesJson,
  toIpcStream,
} from '@sediment/otlp';
import type { Data } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { genLogs, genMetrics, genTraces, Rng, toOtlpJson } from './support/generator.js';
import { encode, LogsRequest, MetricsRequest, TraceRequest } from './support/proto.js';

type Decode = (bytes: Uint8Array, options?: DecodeOptions) => DecodeResult;

const SIGNALS = [
  {
    name: 'traces',
    type: TraceRequest,
    gen: genTraces,
    proto: decodeTraces,
    json: decodeTracesJson,
  },
  { name: 'logs', type: LogsRequest, gen: genLogs, proto: decodeLogs, json: decodeLogsJson },
  {
    name: 'metrics',
    type: MetricsRequest,
    gen: genMetrics,
    proto: decodeMetrics,
    json: decodeMetricsJson,
  },
] as const;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ipcOf = (r: DecodeResult) =>
  r.tables.map((t) => [t.table, hex(toIpcStream(t.table, t.batch))]);

/** Every buffer of every column of the result, depth first. */
function buffers(r: DecodeResult): ArrayBufferLike[] {
  const out: ArrayBufferLike[] = [];
  const walk = (d: Data) => {
    for (const b of [d.valueOffsets, d.values, d.nullBitmap, d.typeIds]) {
      if (b && b.byteLength > 0) out.push(b.buffer);
    }
    for (const c of d.children) walk(c);
    if (d.dictionary) for (const c of d.dictionary.data) walk(c);
  };
  for (const t of r.tables) walk(t.batch.data);
  return out;
}

describe('transient decodes', () => {
  for (const s of SIGNALS) {
    for (const format of ['protobuf', 'json'] as const) {
      it(`${s.name} (${format}): the same IPC as owned results, from reused memory`, () => {
        const decode: Decode = (bytes, options) =>
          format === 'json' ? s.json(bytes, options) : s.proto(bytes, options);
        for (let seed = 1; seed <= 25; seed++) {
          const r = new Rng(seed);
          const obj = s.gen(r);
          const bytes =
            format === 'json'
              ? new TextEncoder().encode(JSON.stringify(toOtlpJson(s.type, obj, r)))
              : encode(s.type, obj);
          const owned = ipcOf(decode(bytes));
          expect(ipcOf(decode(bytes, { transient: true }))).toEqual(owned);
        }
        if (format === 'json') return;
        // Views: two transient decodes of one request share memory; owned results never do.
        const bytes = encode(s.type, s.gen(new Rng(99)));
        const memory = (o?: DecodeOptions) => new Set(buffers(decode(bytes, o)));
        const [a, b] = [memory({ transient: true }), memory({ transient: true })];
        expect(a.size).toBeGreaterThan(0);
        expect([...a].some((x) => b.has(x))).toBe(true);
        const [c, e] = [memory(), memory()];
        expect([...c].some((x) => e.has(x))).toBe(false);
      });
    }
  }
});
