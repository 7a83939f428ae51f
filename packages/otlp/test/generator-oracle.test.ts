/**
 * Generated edge-case requests (see support/generator.ts) decode, from protobuf and
 * from OTLP/JSON, to exactly the rows the protobufjs oracle derives.
 */
import {
  type DecodeResult,
  decodeLogs,
  decodeLogsJson,
  decodeMetrics,
  decodeMetricsJson,
  decodeTraces,
  decodeTracesJson,
} from '@sediment/otlp';
import type protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { firstDifference, resultRows } from './support/arrow-rows.js';
import { genLogs, genMetrics, genTraces, Rng, toOtlpJson } from './support/generator.js';
import { type OracleResult, oracleLogs, oracleMetrics, oracleTraces } from './support/oracle.js';
import { encode, LogsRequest, MetricsRequest, TraceRequest } from './support/proto.js';

const SEEDS = Number(process.env.OTLP_GENERATOR_SEEDS ?? 150);

function compare(actual: DecodeResult, expected: OracleResult, what: string): string | null {
  const got = resultRows(actual);
  const tables = new Set([...Object.keys(got), ...Object.keys(expected.tables)]);
  for (const table of tables) {
    const diff = firstDifference(
      expected.tables[table] ?? [],
      got[table] ?? [],
      `${what} ${table}`,
    );
    if (diff) return diff;
  }
  if (actual.rejected !== expected.rejected) {
    return `${what}: rejected ${actual.rejected}, oracle says ${expected.rejected}`;
  }
  if (actual.rejected > 0 !== (actual.rejectedMessage !== undefined)) {
    return `${what}: rejectedMessage must be set exactly when items were rejected`;
  }
  return null;
}

interface Signal {
  name: string;
  type: protobuf.Type;
  gen: (r: Rng) => Record<string, unknown>;
  oracle: (b: Uint8Array) => OracleResult;
  proto: (b: Uint8Array) => DecodeResult;
  json: (s: string) => DecodeResult;
}

const SIGNALS: Signal[] = [
  {
    name: 'traces',
    type: TraceRequest,
    gen: genTraces,
    oracle: oracleTraces,
    proto: decodeTraces,
    json: decodeTracesJson,
  },
  {
    name: 'logs',
    type: LogsRequest,
    gen: genLogs,
    oracle: oracleLogs,
    proto: decodeLogs,
    json: decodeLogsJson,
  },
  {
    name: 'metrics',
    type: MetricsRequest,
    gen: genMetrics,
    oracle: oracleMetrics,
    proto: decodeMetrics,
    json: decodeMetricsJson,
  },
];

describe.each(SIGNALS)('generated $name', (s) => {
  it(`${SEEDS} seeded requests match the oracle (protobuf and JSON)`, () => {
    let rows = 0;
    let rejected = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = new Rng(seed * 7919);
      const request = s.gen(r);
      const bytes = encode(s.type, request);
      const expected = s.oracle(bytes);
      const fromProto = s.proto(bytes);
      expect(compare(fromProto, expected, `seed ${seed} protobuf`)).toBeNull();
      const json = JSON.stringify(toOtlpJson(s.type, request, r));
      expect(compare(s.json(json), expected, `seed ${seed} json`)).toBeNull();
      rows += fromProto.rows;
      rejected += fromProto.rejected;
    }
    // The generator must actually exercise rows and rejections.
    expect(rows).toBeGreaterThan(SEEDS);
    expect(rejected).toBeGreaterThan(0);
  });
});

describe('decoders reuse their buffers', () => {
  it('batches returned earlier are not changed by later decodes', () => {
    const decoded = SIGNALS.flatMap((s) =>
      [1, 2, 3].map((seed) => {
        const bytes = encode(s.type, s.gen(new Rng(seed * 7919)));
        return {
          expected: s.oracle(bytes),
          result: s.proto(bytes),
          json: s.json(
            JSON.stringify(toOtlpJson(s.type, s.gen(new Rng(seed * 7919)), new Rng(seed))),
          ),
        };
      }),
    );
    // Every batch is checked only after all the decodes above ran.
    for (const [i, d] of decoded.entries()) {
      expect(compare(d.result, d.expected, `decode ${i}`)).toBeNull();
      expect(compare(d.json, d.expected, `json decode ${i}`)).toBeNull();
    }
  });
});

describe('edge cases the generator covers', () => {
  const all = (
    type: protobuf.Type,
    gen: (r: Rng) => Record<string, unknown>,
    oracle: (b: Uint8Array) => OracleResult,
  ) => {
    const out: OracleResult[] = [];
    for (let seed = 1; seed <= SEEDS; seed++)
      out.push(oracle(encode(type, gen(new Rng(seed * 7919)))));
    return out;
  };
  const traces = all(TraceRequest, genTraces, oracleTraces).flatMap((o) => o.tables.spans ?? []);
  const metrics = all(MetricsRequest, genMetrics, oracleMetrics);

  it('includes NaN, infinities, int64 extremes, huge and duplicate attribute lists', () => {
    const values = traces.flatMap((s) =>
      (s.span_attributes as Array<[string, string | null]>).map(([, v]) => v),
    );
    for (const v of [
      'NaN',
      'Infinity',
      '-Infinity',
      '9223372036854775807',
      '-9223372036854775808',
      '',
      null,
    ]) {
      expect(values).toContain(v);
    }
    expect(values.some((v) => v?.includes('\u{1F600}'))).toBe(true);
    expect(values.some((v) => v?.startsWith('{') && v.includes('"NaN"'))).toBe(true);
    const sizes = traces.map((s) => (s.span_attributes as unknown[]).length);
    expect(Math.max(...sizes)).toBeGreaterThan(9000);
    expect(sizes).toContain(0);
  });

  it('includes u64 max timestamps and counts, stored as Int64 bit patterns', () => {
    expect(traces.map((s) => s.timestamp)).toContain('-1');
    expect(traces.map((s) => s.timestamp)).toContain('0');
    const hist = metrics.flatMap((m) => m.tables.metrics_histogram ?? []);
    expect(hist.flatMap((h) => h.bucket_counts as string[])).toContain('-1');
  });
});
