/**
 * Payloads produced by the official OpenTelemetry JS SDK and its OTLP serializers
 * (@opentelemetry/otlp-transformer), protobuf and JSON from the same telemetry.
 */
import { context, SpanKind, SpanStatusCode, trace, ValueType } from '@opentelemetry/api';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';

export interface Payload {
  protobuf: Uint8Array;
  json: Uint8Array;
}

const resource = resourceFromAttributes({
  'service.name': 'checkout',
  'service.version': '1.4.2',
  'host.name': 'node-7',
  'process.pid': 4242,
  'deployment.ready': true,
  'cpu.ratio': 0.75,
  'k8s.labels': ['a', 'b'],
  emoji: 'caf\u00e9 \u{1F600}',
});

/** Spans with events, links, parents, every kind, status, and dropped counts. */
export function sdkTraces(): Payload {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    spanLimits: { attributeCountLimit: 12, eventCountLimit: 3, linkCountLimit: 2 },
  });
  const http = provider.getTracer('http-server', '2.0.1', {
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  });
  const db = provider.getTracer('db-client');
  const t0: [number, number] = [1_700_000_000, 123_456_789];
  const root = http.startSpan('GET /cart', {
    kind: SpanKind.SERVER,
    startTime: t0,
    attributes: {
      'http.method': 'GET',
      'http.status_code': 200,
      'http.url': 'https://shop.example/cart?id=7',
      retry: false,
      ratio: 1.25,
      ints: [1, 2, 3],
      floats: [0.5, -2.5],
      bools: [true, false],
      'mixed.nulls': ['x', null, 'y'],
      unicode: '\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9 \u{1F680}',
      empty: '',
      big: 9007199254740991,
    },
  });
  root.addEvent(
    'request.received',
    { size: 512, 'content.type': 'json' },
    [1_700_000_000, 200_000_000],
  );
  root.addEvent('no.attributes', undefined, [1_700_000_000, 300_000_001]);
  const ctx = trace.setSpan(context.active(), root);
  const child = db.startSpan(
    'SELECT carts',
    {
      kind: SpanKind.CLIENT,
      startTime: [1_700_000_000, 400_000_000],
      links: [
        { context: root.spanContext(), attributes: { 'link.reason': 'follows', n: 2 } },
        {
          context: {
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            traceFlags: 1,
            isRemote: true,
            traceState: undefined,
          },
        },
      ],
    },
    ctx,
  );
  child.setAttribute('db.system', 'postgresql');
  for (let i = 0; i < 15; i++) child.setAttribute(`extra.${i}`, i); // exceeds the limit: dropped count
  for (let i = 0; i < 5; i++) child.addEvent(`e${i}`, undefined, [1_700_000_000, 500_000_000 + i]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
  child.end([1_700_000_001, 5]);
  for (const kind of [SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER]) {
    const s = http.startSpan(`kind-${kind}`, { kind, startTime: [1_700_000_002, 0] }, ctx);
    s.setStatus({ code: SpanStatusCode.OK });
    s.end([1_700_000_002, 999_999_999]);
  }
  root.end([1_700_000_003, 1]);
  const spans = exporter.getFinishedSpans();
  return {
    protobuf: ProtobufTraceSerializer.serializeRequest(spans)!,
    json: JsonTraceSerializer.serializeRequest(spans)!,
  };
}

/** Log records: every body type, severities, event names, trace context, timestamps. */
export async function sdkLogs(): Promise<Payload> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource,
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const app = provider.getLogger('app', '3.1.0');
  const audit = provider.getLogger('audit', undefined, { schemaUrl: 'https://example.com/s/1' });
  const tracer = new BasicTracerProvider().getTracer('t');
  const span = tracer.startSpan('op');
  const ctx = trace.setSpan(context.active(), span);
  app.emit({
    body: 'plain message',
    severityNumber: 9,
    severityText: 'INFO',
    attributes: { user: 'u1', n: 3 },
  });
  app.emit({
    body: { nested: { a: [1, 'two', true, null], b: 2.5 }, 'k"q': 'v\n' },
    severityNumber: 17,
    severityText: 'ERROR',
  });
  app.emit({ body: ['x', 1, false], context: ctx, timestamp: [1_700_000_000, 1] });
  app.emit({ body: new Uint8Array([0, 1, 2, 250, 255]), eventName: 'binary.payload' });
  app.emit({ body: 42, observedTimestamp: [1_700_000_100, 0] });
  app.emit({ body: 3.5, severityNumber: 24 });
  app.emit({ body: true, attributes: { 'empty.list': [] } });
  app.emit({ eventName: 'no.body', attributes: { k: 'v' } });
  audit.emit({
    body: 'audit \u{1F512}',
    severityText: 'NOTICE',
    context: ctx,
    attributes: { bytes: new Uint8Array([104, 105]) },
  });
  span.end();
  await provider.forceFlush();
  const records = exporter.getFinishedLogRecords();
  return {
    protobuf: ProtobufLogsSerializer.serializeRequest(records)!,
    json: JsonLogsSerializer.serializeRequest(records)!,
  };
}

class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** Gauge, sum (monotonic and not, int and double), histogram, exponential histogram. */
export async function sdkMetrics(temporality: 'cumulative' | 'delta'): Promise<Payload> {
  const reader = new CollectingReader({
    aggregationTemporalitySelector: () =>
      temporality === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
  });
  const provider = new MeterProvider({
    resource,
    readers: [reader],
    views: [
      {
        instrumentName: 'latency.exp',
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
      },
    ],
  });
  const meter = provider.getMeter('payments', '0.9.0', { schemaUrl: 'https://example.com/m/1' });
  const other = provider.getMeter('other');
  const requests = meter.createCounter('http.requests', {
    description: 'Requests served',
    unit: '{request}',
  });
  requests.add(5, { route: '/a', code: 200 });
  requests.add(2, { route: '/b', code: 500 });
  meter
    .createCounter('bytes.int', { valueType: ValueType.INT, unit: 'By' })
    .add(12345, { dir: 'in' });
  meter.createUpDownCounter('queue.depth').add(-3, { q: 'jobs' });
  const latency = meter.createHistogram('latency', { unit: 'ms' });
  for (const v of [0.2, 4, 12.5, 99, 1234.5, 20000]) latency.record(v, { route: '/a' });
  const exp = meter.createHistogram('latency.exp', { unit: 's' });
  for (const v of [0, 0.001, 0.5, 1, 2, 3, 1000, -0]) exp.record(v, { route: '/a' });
  meter.createGauge('temperature', { unit: 'Cel' }).record(21.5, { room: 'lab' });
  meter.createGauge('cores', { valueType: ValueType.INT }).record(8);
  other
    .createObservableGauge('heap.used', { unit: 'By' })
    .addCallback((r) => r.observe(1024 * 1024 * 37, { space: 'old' }));
  const { resourceMetrics } = await reader.collect();
  return {
    protobuf: ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!,
    json: JsonMetricsSerializer.serializeRequest(resourceMetrics)!,
  };
}
