/**
 * Payloads from the official OpenTelemetry JS SDK serializers (protobuf and JSON)
 * decode to exactly the rows the protobufjs oracle derives from the protobuf bytes,
 * field by field, for every table.
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
import { describe, expect, it } from 'vitest';
import { firstDifference, resultRows } from './support/arrow-rows.js';
import { Rng, toOtlpJson } from './support/generator.js';
import { type OracleResult, oracleLogs, oracleMetrics, oracleTraces } from './support/oracle.js';
import { encode, MetricsRequest } from './support/proto.js';
import { sdkLogs, sdkMetrics, sdkTraces } from './support/sdk.js';

function expectSameRows(actual: DecodeResult, expected: OracleResult): void {
  const got = resultRows(actual);
  expect(Object.keys(got).sort()).toEqual(Object.keys(expected.tables).sort());
  for (const [table, rows] of Object.entries(expected.tables)) {
    const diff = firstDifference(rows, got[table], table);
    expect(diff).toBeNull();
  }
  expect(actual.rejected).toBe(expected.rejected);
  expect(actual.rows).toBe(Object.values(expected.tables).reduce((n, r) => n + r.length, 0));
}

describe('SDK traces', () => {
  const payload = sdkTraces();
  const expected = oracleTraces(payload.protobuf);

  it('has the shapes the test is about', () => {
    const spans = expected.tables.spans!;
    expect(spans.length).toBe(5);
    expect(spans.some((s) => (s.events as unknown[]).length === 3)).toBe(true);
    expect(spans.some((s) => (s.links as unknown[]).length === 2)).toBe(true);
    expect(spans.some((s) => (s.dropped_attributes_count as number) > 0)).toBe(true);
    expect(spans.some((s) => s.parent_span_id === null)).toBe(true);
  });

  it('protobuf decodes to the oracle rows', () => {
    expectSameRows(decodeTraces(payload.protobuf), expected);
  });

  it('JSON decodes to the same rows', () => {
    expectSameRows(decodeTracesJson(payload.json), expected);
    expectSameRows(decodeTracesJson(new TextDecoder().decode(payload.json)), expected);
  });

  it('keeps nanoseconds', () => {
    const rows = resultRows(decodeTraces(payload.protobuf)).spans!;
    expect(rows.map((r) => r.timestamp)).toContain('1700000000123456789');
    expect(rows.map((r) => r.end_timestamp)).toContain('1700000001000000005');
  });
});

describe('SDK logs', async () => {
  const payload = await sdkLogs();
  const expected = oracleLogs(payload.protobuf);

  it('covers every body type', () => {
    const bodies = expected.tables.logs!.map((r) => r.body);
    expect(bodies).toContain('plain message');
    expect(bodies).toContain('AAEC+v8=');
    expect(bodies).toContain(null);
    expect(bodies).toContain('["x",1,false]');
  });

  it('protobuf decodes to the oracle rows', () => {
    expectSameRows(decodeLogs(payload.protobuf), expected);
  });

  it('JSON decodes to the same rows', () => {
    expectSameRows(decodeLogsJson(payload.json), expected);
  });
});

describe.each(['cumulative', 'delta'] as const)('SDK metrics (%s)', async (temporality) => {
  const payload = await sdkMetrics(temporality);
  const expected = oracleMetrics(payload.protobuf);

  it('covers gauge, sum, histogram and exponential histogram', () => {
    expect(Object.keys(expected.tables).sort()).toEqual([
      'metrics_exponential_histogram',
      'metrics_gauge',
      'metrics_histogram',
      'metrics_sum',
    ]);
    expect(expected.tables.metrics_sum!.some((r) => r.value_int !== null)).toBe(true);
  });

  it('protobuf decodes to the oracle rows', () => {
    expectSameRows(decodeMetrics(payload.protobuf), expected);
  });

  it('JSON decodes to the same rows', () => {
    expectSameRows(decodeMetricsJson(payload.json), expected);
  });
});

describe('summary (hand-built: the JS SDK has no summaries)', () => {
  const request = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'legacy' } }] },
        scopeMetrics: [
          {
            scope: { name: 'prometheus', version: '2' },
            metrics: [
              {
                name: 'rpc.duration',
                unit: 's',
                summary: {
                  dataPoints: [
                    {
                      attributes: [{ key: 'method', value: { stringValue: 'Get' } }],
                      startTimeUnixNano: '1700000000000000001',
                      timeUnixNano: '1700000060000000002',
                      count: '18446744073709551615',
                      sum: 12.5,
                      quantileValues: [
                        { quantile: 0, value: 0.001 },
                        { quantile: 0.5, value: 0.2 },
                        { quantile: 1, value: 3.75 },
                      ],
                      flags: 1,
                    },
                    { timeUnixNano: '5', count: '0', sum: 0 },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
  const bytes = encode(MetricsRequest, request);
  const expected = oracleMetrics(bytes);

  it('protobuf decodes to the oracle rows', () => {
    expect(expected.tables.metrics_summary!.length).toBe(2);
    expectSameRows(decodeMetrics(bytes), expected);
  });

  it('JSON decodes to the same rows', () => {
    const json = JSON.stringify(toOtlpJson(MetricsRequest, request, new Rng(7)));
    expectSameRows(decodeMetricsJson(json), expected);
  });

  it("stores a uint64 count above 2^63-1 as its two's-complement Int64", () => {
    const rows = resultRows(decodeMetrics(bytes)).metrics_summary!;
    expect(rows[0]!.count).toBe('-1');
  });
});
