/**
 * Telemetry produced by the OpenTelemetry JS SDK (traces, metrics, logs) and sent through
 * a real OTLP exporter, with every item the SDK handed to the exporter recorded — so a
 * test can compute, independently of Sediment, the rows that must come out in Parquet:
 * `expectedSpans`, `expectedLogs`, `expectedMetricRows` follow the OTLP mapping of the
 * official serializers and Sediment's table rules (docs in packages/otlp/README.md).
 */
import {
  context,
  type HrTime,
  SpanKind,
  SpanStatusCode,
  trace,
  ValueType,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  AggregationType,
  DataPointType,
  type ExponentialHistogram,
  type Histogram,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/** What an SDK exporter's callback reports (`code` 0 = SUCCESS). */
export interface ExportResult {
  code: number;
  error?: Error;
}

interface Exporter<T> {
  export(items: T, done: (result: ExportResult) => void): void;
}

export interface Recording<T> {
  /** Everything handed to the exporter, in order. */
  readonly items: T[];
  readonly results: ExportResult[];
}

/** The same exporter, recording what it is given and how each export ended. */
export function recording<T, E extends Exporter<T>>(exporter: E, sink: Recording<T>): E {
  return new Proxy(exporter, {
    get(target, prop, receiver) {
      if (prop === 'export') {
        return (items: T, done: (r: ExportResult) => void) => {
          sink.items.push(items);
          target.export(items, (result) => {
            sink.results.push(result);
            done(result);
          });
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Flush and shut down a provider. A failed export makes the processors' flush reject;
 * the outcome of every export is in the recording's `results`, which tests check.
 */
async function settle(provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> }) {
  await provider.forceFlush().catch(() => {});
  await provider.shutdown().catch(() => {});
}

/** Resource attributes of every type the SDK can carry. */
function resourceFor(service: string) {
  return resourceFromAttributes({
    'service.name': service,
    'service.version': '1.4.2',
    'host.name': 'node-7',
    'process.pid': 4242,
    'deployment.canary': true,
    'cpu.share': 0.25,
    'k8s.labels': ['a', 'b'],
    emoji: 'caf\u00e9 \u{1F600}',
  });
}

const T = (s: number, ns: number): HrTime => [s, ns];

/**
 * Spans with attributes of every type, events (with and without attributes), links (local
 * and remote, with trace state and attributes), parents, every kind and status — sent
 * through `exporter` by a BatchSpanProcessor.
 */
export async function sendTraces(
  exporter: SpanExporter,
  service: string,
): Promise<Recording<ReadableSpan[]>> {
  const sink: Recording<ReadableSpan[]> = { items: [], results: [] };
  const provider = new BasicTracerProvider({
    resource: resourceFor(service),
    spanProcessors: [new BatchSpanProcessor(recording(exporter, sink))],
    spanLimits: { attributeCountLimit: 16, eventCountLimit: 4, linkCountLimit: 3 },
  });
  const http = provider.getTracer('http-server', '2.0.1', {
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  });
  const db = provider.getTracer('db-client');
  const root = http.startSpan('GET /cart', {
    kind: SpanKind.SERVER,
    startTime: T(1_767_225_600, 123_456_789), // 2026-01-01T00:00:00.123456789Z
    attributes: {
      'http.method': 'GET',
      'http.status_code': 200,
      'http.url': 'https://shop.example/cart?id=7',
      retry: false,
      ratio: 1.25,
      negative: -42,
      big: 9007199254740991,
      ints: [1, 2, 3],
      floats: [0.5, -2.5],
      bools: [true, false],
      strings: ['x', 'y"z'],
      'mixed.nulls': ['x', null, 'y'],
      unicode: '\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9 \u{1F680}',
      empty: '',
    },
  });
  root.addEvent(
    'request.received',
    { size: 512, 'content.type': 'json', ok: true },
    T(1_767_225_600, 200_000_000),
  );
  root.addEvent('no.attributes', undefined, T(1_767_225_600, 300_000_001));
  const ctx = trace.setSpan(context.active(), root);
  const child = db.startSpan(
    'SELECT carts',
    {
      kind: SpanKind.CLIENT,
      startTime: T(1_767_225_600, 400_000_000),
      links: [
        { context: root.spanContext(), attributes: { 'link.reason': 'follows', n: 2 } },
        {
          context: {
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            traceFlags: 1,
            isRemote: true,
            traceState: new TraceState('vendor=abc,other=x'),
          },
        },
      ],
    },
    ctx,
  );
  child.setAttribute('db.system', 'postgresql');
  for (let i = 0; i < 20; i++) child.setAttribute(`extra.${i}`, i); // past the limit: dropped
  for (let i = 0; i < 6; i++) child.addEvent(`e${i}`, { i }, T(1_767_225_600, 500_000_000 + i)); // 2 dropped
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
  child.end(T(1_767_225_601, 5));
  for (const kind of [SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER]) {
    const s = http.startSpan(`kind-${kind}`, { kind, startTime: T(1_767_225_602, 0) }, ctx);
    s.setStatus({ code: SpanStatusCode.OK });
    s.end(T(1_767_225_602, 999_999_999));
  }
  // A span in another hour (another partition) with a remote parent.
  const remote = trace.setSpanContext(context.active(), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: 1,
    isRemote: true,
  });
  const late = http.startSpan('late', { startTime: T(1_767_232_800, 7) }, remote);
  late.end(T(1_767_232_800, 1_007));
  root.end(T(1_767_225_603, 1));
  await settle(provider);
  return sink;
}

/** Log records with every body type, severities, event names, trace context, timestamps. */
export async function sendLogs(
  exporter: LogRecordExporter,
  service: string,
): Promise<Recording<ReadableLogRecord[]>> {
  const sink: Recording<ReadableLogRecord[]> = { items: [], results: [] };
  const provider = new LoggerProvider({
    resource: resourceFor(service),
    processors: [new BatchLogRecordProcessor({ exporter: recording(exporter, sink) })],
  });
  const app = provider.getLogger('app', '3.1.0');
  const audit = provider.getLogger('audit', undefined, { schemaUrl: 'https://example.com/s/1' });
  const span = new BasicTracerProvider().getTracer('t').startSpan('op');
  const ctx = trace.setSpan(context.active(), span);
  const at = (i: number) => T(1_767_225_600, 1000 * i);
  app.emit({
    body: 'plain message',
    severityNumber: 9,
    severityText: 'INFO',
    attributes: { user: 'u1', n: 3, ratio: 0.5, ok: true, tags: ['a', 'b'] },
    timestamp: at(1),
    observedTimestamp: at(2),
  });
  app.emit({
    body: { nested: { a: [1, 'two', true, null], b: 2.5 }, 'k"q': 'v\n' },
    severityNumber: 17,
    severityText: 'ERROR',
    timestamp: at(3),
  });
  app.emit({ body: ['x', 1, false], context: ctx, timestamp: at(4) });
  app.emit({
    body: new Uint8Array([0, 1, 2, 250, 255]),
    eventName: 'binary.payload',
    timestamp: at(5),
  });
  app.emit({ body: 42, timestamp: at(6) });
  app.emit({ body: 3.5, severityNumber: 24, timestamp: at(7) });
  app.emit({ body: true, timestamp: at(8) });
  app.emit({ eventName: 'no.body', attributes: { k: 'v' }, timestamp: at(9) });
  audit.emit({
    body: 'audit \u{1F512}',
    severityText: 'NOTICE',
    context: ctx,
    attributes: { bytes: new Uint8Array([104, 105]) },
    timestamp: at(10),
  });
  span.end();
  await settle(provider);
  return sink;
}

/** Gauge, sum (monotonic and not, int and double), histogram, exponential histogram. */
export async function sendMetrics(
  exporter: PushMetricExporter,
  service: string,
): Promise<Recording<ResourceMetrics>> {
  const sink: Recording<ResourceMetrics> = { items: [], results: [] };
  const provider = new MeterProvider({
    resource: resourceFor(service),
    readers: [
      new PeriodicExportingMetricReader({
        exporter: recording(exporter, sink),
        exportIntervalMillis: 3_600_000,
      }),
    ],
    views: [
      {
        instrumentName: 'latency.exp',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
      },
    ],
  });
  const meter = provider.getMeter('payments', '0.9.0', { schemaUrl: 'https://example.com/m/1' });
  const requests = meter.createCounter('http.requests', {
    description: 'Requests served',
    unit: '{request}',
  });
  requests.add(5, { route: '/a', code: 200 });
  requests.add(2.5, { route: '/b', code: 500 });
  meter
    .createCounter('bytes.int', { valueType: ValueType.INT, unit: 'By' })
    .add(12345, { dir: 'in' });
  meter.createUpDownCounter('queue.depth', { valueType: ValueType.INT }).add(-3, { q: 'jobs' });
  const latency = meter.createHistogram('latency', {
    unit: 'ms',
    advice: { explicitBucketBoundaries: [1, 10, 100, 1000] },
  });
  for (const v of [0.2, 4, 12.5, 99, 1234.5, 20000]) latency.record(v, { route: '/a' });
  const exp = meter.createHistogram('latency.exp', { unit: 's' });
  for (const v of [0, 0.001, 0.5, 1, 2, 3, 1000]) exp.record(v, { route: '/a' });
  meter.createGauge('temperature', { unit: 'Cel' }).record(21.5, { room: 'lab' });
  meter
    .createObservableGauge('heap.used', { unit: 'By', valueType: ValueType.INT })
    .addCallback((r) => r.observe(1024 * 1024 * 37, { space: 'old' }));
  await settle(provider);
  return sink;
}

// ---------------------------------------------------------------------------------------
// Expected rows

type AttrValue = unknown;

/** µs since the epoch (DuckDB's TIMESTAMPTZ resolution) of an HrTime, exact. */
export function hrMicros(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000n + BigInt(Math.floor(t[1] / 1000));
}
export function hrNanos(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** An AnyValue as Sediment renders it at the top level of a map or a log body. */
export function renderValue(v: AttrValue): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return JSON.stringify(jsonValue(v));
}

function jsonValue(v: AttrValue): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, jsonValue(x)]));
  }
  return v;
}

export function renderAttributes(
  attrs: Record<string, AttrValue> | undefined,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) out[k] = renderValue(v);
  return out;
}

const KIND_NAMES = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
const STATUS_NAMES = ['Unset', 'Ok', 'Error'];

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}

/** One `spans` row as the query in `SPAN_QUERY` returns it. */
export function expectedSpans(spans: readonly ReadableSpan[]): Record<string, unknown>[] {
  return spans
    .map((s) => {
      const ctx = s.spanContext();
      return {
        service_name: s.resource.attributes['service.name'],
        resource_attributes: renderAttributes(s.resource.attributes as Record<string, AttrValue>),
        scope_name: s.instrumentationScope.name,
        scope_version: s.instrumentationScope.version ?? '',
        scope_schema_url: s.instrumentationScope.schemaUrl ?? '',
        trace_id: ctx.traceId,
        span_id: ctx.spanId,
        parent_span_id: s.parentSpanContext?.spanId ?? null,
        trace_state: ctx.traceState?.serialize() ?? '',
        span_name: s.name,
        span_kind: KIND_NAMES[s.kind + 1],
        status_code: STATUS_NAMES[s.status.code],
        status_message: s.status.message ?? '',
        ts: hrMicros(s.startTime).toString(),
        end_ts: hrMicros(s.endTime).toString(),
        duration_ns: (hrNanos(s.endTime) - hrNanos(s.startTime)).toString(),
        flags: spanFlags(ctx.traceFlags, s.parentSpanContext?.isRemote),
        span_attributes: renderAttributes(s.attributes),
        dropped_attributes_count: s.droppedAttributesCount,
        dropped_events_count: s.droppedEventsCount,
        dropped_links_count: s.droppedLinksCount,
        events: s.events.map((e) => ({
          ts: Number(hrMicros(e.time)),
          name: e.name,
          attributes: renderAttributes(e.attributes),
          dropped_attributes_count: e.droppedAttributesCount ?? 0,
        })),
        links: s.links.map((l) => ({
          trace_id: l.context.traceId,
          span_id: l.context.spanId,
          trace_state: l.context.traceState?.serialize() ?? '',
          attributes: renderAttributes(l.attributes),
          flags: spanFlags(l.context.traceFlags, l.context.isRemote),
          dropped_attributes_count: l.droppedAttributesCount ?? 0,
        })),
      };
    })
    .sort(bySpanId);
}

function bySpanId(a: Record<string, unknown>, b: Record<string, unknown>): number {
  return String(a.span_id).localeCompare(String(b.span_id));
}

/** DuckDB query returning `spans` rows in the shape of `expectedSpans`. */
export const SPAN_QUERY = `
  SELECT service_name, to_json(resource_attributes)::VARCHAR AS resource_attributes,
    scope_name, scope_version, scope_schema_url, trace_id, span_id, parent_span_id,
    trace_state, span_name, span_kind, status_code, status_message,
    epoch_us("timestamp")::VARCHAR AS ts, epoch_us(end_timestamp)::VARCHAR AS end_ts,
    duration_ns::VARCHAR AS duration_ns, flags::INT AS flags,
    to_json(span_attributes)::VARCHAR AS span_attributes,
    dropped_attributes_count::INT AS dropped_attributes_count,
    dropped_events_count::INT AS dropped_events_count,
    dropped_links_count::INT AS dropped_links_count,
    to_json(list_transform(events, e -> {'ts': epoch_us(e."timestamp"), 'name': e.name,
      'attributes': e.attributes, 'dropped_attributes_count': e.dropped_attributes_count}))::VARCHAR AS events,
    to_json(links)::VARCHAR AS links
  FROM spans WHERE service_name = $service ORDER BY span_id`;

/** Parses the JSON columns of a SPAN/LOG/METRIC query row. */
export function parseJsonColumns(row: Record<string, unknown>, columns: readonly string[]) {
  const out = { ...row };
  for (const c of columns) {
    const v = out[c];
    if (typeof v === 'string') out[c] = JSON.parse(v);
  }
  return out;
}

/** `sql` with `$service` bound to a quoted string literal. */
export function forService(sql: string, service: string): string {
  return sql.replaceAll('$service', `'${service.replaceAll("'", "''")}'`);
}

/** One `logs` row as `LOG_QUERY` returns it. */
export function expectedLogs(records: readonly ReadableLogRecord[]): Record<string, unknown>[] {
  return records
    .map((r) => {
      const ts = hrMicros(r.hrTime);
      return {
        service_name: r.resource.attributes['service.name'],
        scope_name: r.instrumentationScope.name,
        scope_version: r.instrumentationScope.version ?? '',
        scope_schema_url: r.instrumentationScope.schemaUrl ?? '',
        ts: (ts === 0n ? hrMicros(r.hrTimeObserved) : ts).toString(),
        observed_ts: hrMicros(r.hrTimeObserved).toString(),
        trace_id: r.spanContext?.traceId ?? null,
        span_id: r.spanContext?.spanId ?? null,
        flags: r.spanContext?.traceFlags ?? 0,
        severity_text: r.severityText ?? '',
        severity_number: r.severityNumber ?? 0,
        body: renderValue(r.body),
        log_attributes: renderAttributes(r.attributes as Record<string, AttrValue>),
        event_name: r.eventName ?? '',
        dropped_attributes_count: r.droppedAttributesCount,
      };
    })
    .sort((a, b) => a.ts.localeCompare(b.ts));
}

export const LOG_QUERY = `
  SELECT service_name, scope_name, scope_version, scope_schema_url,
    epoch_us("timestamp")::VARCHAR AS ts, epoch_us(observed_timestamp)::VARCHAR AS observed_ts,
    trace_id, span_id, flags::INT AS flags, severity_text, severity_number, body,
    to_json(log_attributes)::VARCHAR AS log_attributes, event_name,
    dropped_attributes_count::INT AS dropped_attributes_count
  FROM logs WHERE service_name = $service ORDER BY "timestamp"`;

export type MetricTable =
  | 'metrics_gauge'
  | 'metrics_sum'
  | 'metrics_histogram'
  | 'metrics_exponential_histogram';

/** Rows per metrics table, keyed by the table, from every ResourceMetrics exported. */
export function expectedMetricRows(
  exports: readonly ResourceMetrics[],
): Record<MetricTable, Record<string, unknown>[]> {
  const out: Record<MetricTable, Record<string, unknown>[]> = {
    metrics_gauge: [],
    metrics_sum: [],
    metrics_histogram: [],
    metrics_exponential_histogram: [],
  };
  for (const rm of exports) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        for (const p of m.dataPoints) {
          const base = {
            service_name: rm.resource.attributes['service.name'],
            scope_name: sm.scope.name,
            scope_version: sm.scope.version ?? '',
            metric_name: m.descriptor.name,
            metric_description: m.descriptor.description,
            metric_unit: m.descriptor.unit,
            attributes: renderAttributes(p.attributes as Record<string, AttrValue>),
            start_ts: hrNanos(p.startTime) === 0n ? null : hrMicros(p.startTime).toString(),
            ts: hrMicros(p.endTime).toString(),
          };
          const temporality = m.aggregationTemporality === 0 ? 1 : 2; // SDK DELTA=0, CUMULATIVE=1
          const isInt = m.descriptor.valueType === ValueType.INT;
          switch (m.dataPointType) {
            case DataPointType.GAUGE:
            case DataPointType.SUM: {
              const value = p.value as number;
              const row = {
                ...base,
                value,
                value_int: isInt ? String(value) : null,
                ...(m.dataPointType === DataPointType.SUM
                  ? { aggregation_temporality: temporality, is_monotonic: m.isMonotonic }
                  : {}),
              };
              out[m.dataPointType === DataPointType.SUM ? 'metrics_sum' : 'metrics_gauge'].push(
                row,
              );
              break;
            }
            case DataPointType.HISTOGRAM: {
              const h = p.value as Histogram;
              out.metrics_histogram.push({
                ...base,
                count: String(h.count),
                sum: h.sum ?? null,
                min: h.min ?? null,
                max: h.max ?? null,
                bucket_counts: h.buckets.counts.map(String),
                explicit_bounds: h.buckets.boundaries,
                aggregation_temporality: temporality,
              });
              break;
            }
            case DataPointType.EXPONENTIAL_HISTOGRAM: {
              const h = p.value as ExponentialHistogram;
              out.metrics_exponential_histogram.push({
                ...base,
                count: String(h.count),
                sum: h.sum ?? null,
                min: h.min ?? null,
                max: h.max ?? null,
                scale: h.scale,
                zero_count: String(h.zeroCount),
                zero_threshold: 0,
                positive_offset: h.positive.offset,
                positive_bucket_counts: h.positive.bucketCounts.map(String),
                negative_offset: h.negative.offset,
                negative_bucket_counts: h.negative.bucketCounts.map(String),
                aggregation_temporality: temporality,
              });
              break;
            }
          }
        }
      }
    }
  }
  const key = (r: Record<string, unknown>) =>
    `${r.metric_name}|${JSON.stringify(r.attributes)}|${r.ts}`;
  for (const rows of Object.values(out)) rows.sort((a, b) => key(a).localeCompare(key(b)));
  return out;
}

const METRIC_BASE = `service_name, scope_name, scope_version, metric_name, metric_description,
  metric_unit, to_json(attributes)::VARCHAR AS attributes,
  epoch_us(start_timestamp)::VARCHAR AS start_ts, epoch_us("timestamp")::VARCHAR AS ts`;

export const METRIC_QUERIES: Record<MetricTable, string> = {
  metrics_gauge: `SELECT ${METRIC_BASE}, value, value_int::VARCHAR AS value_int
    FROM metrics_gauge WHERE service_name = $service`,
  metrics_sum: `SELECT ${METRIC_BASE}, value, value_int::VARCHAR AS value_int,
    aggregation_temporality, is_monotonic FROM metrics_sum WHERE service_name = $service`,
  metrics_histogram: `SELECT ${METRIC_BASE}, count::VARCHAR AS count, sum, min, max,
    to_json(bucket_counts::VARCHAR[])::VARCHAR AS bucket_counts,
    to_json(explicit_bounds)::VARCHAR AS explicit_bounds, aggregation_temporality
    FROM metrics_histogram WHERE service_name = $service`,
  metrics_exponential_histogram: `SELECT ${METRIC_BASE}, count::VARCHAR AS count, sum, min, max,
    scale, zero_count::VARCHAR AS zero_count, zero_threshold, positive_offset,
    to_json(positive_bucket_counts::VARCHAR[])::VARCHAR AS positive_bucket_counts,
    negative_offset,
    to_json(negative_bucket_counts::VARCHAR[])::VARCHAR AS negative_bucket_counts,
    aggregation_temporality
    FROM metrics_exponential_histogram WHERE service_name = $service`,
};
