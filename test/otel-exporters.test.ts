/**
 * End to end with the official OpenTelemetry JS exporters and SDK against `sediment start`
 * (a real child process: supervisor + writer + acceptor): traces, metrics and logs over
 * OTLP/gRPC, OTLP/HTTP JSON and OTLP/HTTP protobuf; then SIGTERM (exit 0) and DuckDB over
 * the committed Parquet must hold exactly what each exporter was handed, value for value.
 */

import { rm } from 'node:fs/promises';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LocalFsStore } from '@sediment/object-store';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { withLakeDuckDB } from './support/lake-duckdb.js';
import {
  expectedLogs,
  expectedMetricRows,
  expectedSpans,
  forService,
  LOG_QUERY,
  METRIC_QUERIES,
  type MetricTable,
  parseJsonColumns,
  type Recording,
  SPAN_QUERY,
  sendLogs,
  sendMetrics,
  sendTraces,
} from './support/otel-sdk.js';
import { type SedimentProcess, startSediment } from './support/sediment-process.js';

type Transport = 'grpc' | 'http-json' | 'http-protobuf';
const TRANSPORTS: readonly Transport[] = ['grpc', 'http-json', 'http-protobuf'];

interface Sent {
  spans: Recording<ReadableSpan[]>;
  logs: Recording<ReadableLogRecord[]>;
  metrics: Recording<ResourceMetrics>;
}

// The exporters' CompressionAlgorithm enum lives in a package the root does not depend on.
type Compression = NonNullable<
  NonNullable<ConstructorParameters<typeof ProtoTraceExporter>[0]>['compression']
>;
const GZIP = 'gzip' as Compression;

const sent = new Map<Transport, Sent>();
let sediment: SedimentProcess;

beforeAll(async () => {
  sediment = await startSediment();
});

afterAll(async () => {
  sediment?.kill();
  if (sediment) await rm(sediment.dataDir, { recursive: true, force: true });
});

/** The three exporters of one transport, pointed at the running pipeline. */
function exporters(t: Transport) {
  const { grpc, http } = sediment.ports;
  switch (t) {
    case 'grpc': {
      // gzip, as the Collector and most SDKs configure it; the acceptor accepts both.
      const options = {
        url: `http://127.0.0.1:${grpc}`,
        compression: GZIP,
      };
      return {
        traces: new GrpcTraceExporter(options),
        metrics: new GrpcMetricExporter(options),
        logs: new GrpcLogExporter(options),
      };
    }
    case 'http-json':
      return {
        traces: new JsonTraceExporter({ url: `http://127.0.0.1:${http}/v1/traces` }),
        metrics: new JsonMetricExporter({ url: `http://127.0.0.1:${http}/v1/metrics` }),
        logs: new JsonLogExporter({ url: `http://127.0.0.1:${http}/v1/logs` }),
      };
    case 'http-protobuf': {
      const compression = GZIP;
      return {
        traces: new ProtoTraceExporter({ url: `http://127.0.0.1:${http}/v1/traces`, compression }),
        metrics: new ProtoMetricExporter({
          url: `http://127.0.0.1:${http}/v1/metrics`,
          compression,
        }),
        logs: new ProtoLogExporter({ url: `http://127.0.0.1:${http}/v1/logs`, compression }),
      };
    }
  }
}

describe('OpenTelemetry JS exporters → sediment start → Parquet', () => {
  test.each(TRANSPORTS)(
    '%s: the SDK exports traces, metrics and logs and every export succeeds',
    async (t) => {
      const service = `e2e-${t}`;
      const e = exporters(t);
      const [spans, metrics, logs] = await Promise.all([
        sendTraces(e.traces, service),
        sendMetrics(e.metrics, service),
        sendLogs(e.logs, service),
      ]);
      for (const [what, r] of [
        ['traces', spans],
        ['metrics', metrics],
        ['logs', logs],
      ] as const) {
        expect(r.results.length, what).toBeGreaterThan(0);
        for (const result of r.results) {
          expect({ what, code: result.code, error: result.error?.message }).toEqual({
            what,
            code: 0,
            error: undefined,
          });
        }
      }
      expect(spans.items.flat().length).toBe(6);
      expect(logs.items.flat().length).toBe(9);
      sent.set(t, { spans, logs, metrics });
    },
  );

  test('SIGTERM: exit 0, and DuckDB reads exactly what each exporter sent, value for value', async () => {
    expect(sent.size).toBe(3);
    const code = await sediment.stop();
    expect(code, sediment.output()).toBe(0);

    const store = new LocalFsStore({ root: sediment.dataDir });
    await withLakeDuckDB(store, 'lake', async (query, tables) => {
      expect(tables).toEqual([
        'logs',
        'metrics_exponential_histogram',
        'metrics_gauge',
        'metrics_histogram',
        'metrics_sum',
        'spans',
      ]);
      // Nothing but what the three transports sent.
      const [services] = await query(
        `SELECT list(DISTINCT service_name ORDER BY service_name) AS s FROM spans`,
      );
      expect(services!.s).toEqual(['e2e-grpc', 'e2e-http-json', 'e2e-http-protobuf']);

      for (const t of TRANSPORTS) {
        const service = `e2e-${t}`;
        const s = sent.get(t)!;

        const spans = (await query(forService(SPAN_QUERY, service))).map((r) =>
          parseJsonColumns(r, ['resource_attributes', 'span_attributes', 'events', 'links']),
        );
        expect(spans, `${t} spans`).toEqual(expectedSpans(s.spans.items.flat()));

        const logs = (await query(forService(LOG_QUERY, service))).map((r) =>
          parseJsonColumns(r, ['log_attributes']),
        );
        expect(logs, `${t} logs`).toEqual(expectedLogs(s.logs.items.flat()));

        const expected = expectedMetricRows(s.metrics.items);
        for (const [table, sql] of Object.entries(METRIC_QUERIES) as [MetricTable, string][]) {
          const rows = (await query(forService(sql, service)))
            .map((r) =>
              parseJsonColumns(r, [
                'attributes',
                'bucket_counts',
                'explicit_bounds',
                'positive_bucket_counts',
                'negative_bucket_counts',
              ]),
            )
            .sort((a, b) => metricKey(a).localeCompare(metricKey(b)));
          expect(rows.length, `${t} ${table}`).toBeGreaterThan(0);
          expect(rows, `${t} ${table}`).toEqual(expected[table]);
        }
      }
    });
  });
});

function metricKey(r: Record<string, unknown>): string {
  return `${r.metric_name}|${JSON.stringify(r.attributes)}|${r.ts}`;
}
