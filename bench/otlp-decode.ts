/**
 * OTLP decode throughput: protobuf / JSON → Arrow record batches (@sediment/otlp),
 * against a protobufjs decode-to-objects baseline on the same bytes, same run.
 *
 * Payload profile (seeded, fixed): 512 spans per request, 11 attributes per span
 * (strings, ints, a bool, a double), 16 resource attributes, 1–2 events per span,
 * random ids; 512 log records per request (string body, 6 attributes, trace
 * context); 64 metrics × 8 data points per request (gauge, sum, histogram).
 *
 * Rounds alternate ours/baseline to cancel machine drift; figures are medians over
 * rounds (best in brackets), per wall-clock second, then per CPU second used (`cpu`:
 * what one core does when the machine is shared). One process, one core. OTLP/JSON
 * is measured against JSON.parse alone (the floor of any JSON.parse-based decoder) and
 * against the previous JSON.parse-based decoder.
 *
 *   node scripts/run-ts.mjs bench/otlp-decode.ts [--rounds 15] [--ms 300]
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeLogs, decodeMetrics, decodeTraces, decodeTracesJson } from '@sediment/otlp';
import protobuf from 'protobufjs';
// The OTLP/JSON decoder before the byte-level one (JSON.parse, then a walk over the
// objects), kept in the otlp tests as the differential oracle.
import { walkTracesJson } from '../packages/otlp/test/support/json-walk/json-traces.js';
import { numberArg } from './lib/args.js';

const ROUNDS = numberArg('rounds', 15);
const MS = numberArg('ms', 300);

// ---- protobufjs over the repository's proto files ---------------------------------
const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../proto');
const root = new protobuf.Root();
root.resolvePath = (o, t) =>
  t.startsWith('google/protobuf/')
    ? protobuf.Root.prototype.resolvePath(o, t)
    : path.join(protoDir, t);
root.loadSync([
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
]);
const TraceReq = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
);
const LogsReq = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const MetricsReq = root.lookupType(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
);

// ---- payloads ------------------------------------------------------------------
let seed = 42;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const kv = (key: string, value: Record<string, unknown>) => ({ key, value });
const T0 = 1_700_000_000_000_000_000n;
const ns = (offset: number) => (T0 + BigInt(offset)).toString();

const resourceAttributes = [
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
const routes = ['/api/cart', '/api/checkout', '/api/orders/{id}', '/api/users/{id}', '/health'];

function traceRequest() {
  const spans = Array.from({ length: 512 }, (_, i) => {
    const start = Math.floor(rnd() * 1e9);
    return {
      traceId: randomBytes(16),
      spanId: randomBytes(8),
      parentSpanId: i % 8 === 0 ? undefined : randomBytes(8),
      name: `GET ${routes[i % routes.length]}`,
      kind: 1 + (i % 5),
      startTimeUnixNano: ns(start),
      endTimeUnixNano: ns(start + Math.floor(rnd() * 5e7)),
      attributes: [
        kv('http.request.method', { stringValue: 'GET' }),
        kv('url.full', {
          stringValue: `https://shop.example.com${routes[i % routes.length]}?session=${i}`,
        }),
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
        resource: { attributes: resourceAttributes },
        scopeSpans: [
          { scope: { name: '@opentelemetry/instrumentation-http', version: '0.223.1' }, spans },
        ],
      },
    ],
  };
}

/** OTLP/JSON of the trace request, as the OTel SDK's JSON serializer writes it. */
function traceJson(req: ReturnType<typeof traceRequest>): string {
  const rs = req.resourceSpans[0]!;
  return JSON.stringify({
    resourceSpans: [
      {
        resource: rs.resource,
        scopeSpans: rs.scopeSpans.map((ss) => ({
          scope: ss.scope,
          spans: ss.spans.map((s) => ({
            ...s,
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parentSpanId: s.parentSpanId ? hex(s.parentSpanId) : undefined,
          })),
        })),
      },
    ],
  });
}

function logsRequest() {
  const records = Array.from({ length: 512 }, (_, i) => ({
    timeUnixNano: ns(i * 1000),
    observedTimeUnixNano: ns(i * 1000 + 5),
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: `request ${i} served in ${(rnd() * 100).toFixed(2)} ms` },
    attributes: [
      kv('http.route', { stringValue: routes[i % routes.length] }),
      kv('http.response.status_code', { intValue: 200 }),
      kv('enduser.id', { stringValue: `user-${i % 97}` }),
      kv('code.function', { stringValue: 'handleRequest' }),
      kv('code.lineno', { intValue: 120 + (i % 7) }),
      kv('retry', { boolValue: false }),
    ],
    traceId: randomBytes(16),
    spanId: randomBytes(8),
    flags: 1,
  }));
  return {
    resourceLogs: [
      {
        resource: { attributes: resourceAttributes },
        scopeLogs: [{ scope: { name: 'app-logger', version: '1.0.0' }, logRecords: records }],
      },
    ],
  };
}

function metricsRequest() {
  const point = (i: number) => ({
    attributes: [
      kv('http.route', { stringValue: routes[i % routes.length] }),
      kv('http.response.status_code', { intValue: 200 }),
    ],
    startTimeUnixNano: ns(0),
    timeUnixNano: ns(60e9),
  });
  const metrics = Array.from({ length: 64 }, (_, m) => {
    const points = Array.from({ length: 8 }, (_, i) => point(i));
    if (m % 3 === 0)
      return {
        name: `gauge.${m}`,
        unit: '1',
        gauge: { dataPoints: points.map((p) => ({ ...p, asDouble: rnd() * 100 })) },
      };
    if (m % 3 === 1) {
      return {
        name: `counter.${m}`,
        unit: '{request}',
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: points.map((p) => ({ ...p, asInt: Math.floor(rnd() * 1e6) })),
        },
      };
    }
    return {
      name: `histogram.${m}`,
      unit: 'ms',
      histogram: {
        aggregationTemporality: 2,
        dataPoints: points.map((p) => ({
          ...p,
          count: '100',
          sum: 1234.5,
          min: 0.5,
          max: 99,
          bucketCounts: [
            '0',
            '5',
            '10',
            '20',
            '30',
            '20',
            '10',
            '5',
            '0',
            '0',
            '0',
            '0',
            '0',
            '0',
            '0',
            '0',
          ],
          explicitBounds: [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000],
        })),
      },
    };
  });
  return {
    resourceMetrics: [
      {
        resource: { attributes: resourceAttributes },
        scopeMetrics: [{ scope: { name: 'meter' }, metrics }],
      },
    ],
  };
}

const traceObj = traceRequest();
const traceBytes = TraceReq.encode(TraceReq.fromObject(traceObj)).finish();
const traceJsonText = traceJson(traceObj);
const traceJsonBytes = new TextEncoder().encode(traceJsonText);
const logsBytes = LogsReq.encode(LogsReq.fromObject(logsRequest())).finish();
const metricsBytes = MetricsReq.encode(MetricsReq.fromObject(metricsRequest())).finish();

// Sanity: the decoders see what the payloads hold.
const check = (label: string, got: number, want: number) => {
  if (got !== want) throw new Error(`${label}: decoded ${got} rows, expected ${want}`);
};
check('traces', decodeTraces(traceBytes).rows, 512);
check('traces json', decodeTracesJson(traceJsonBytes).rows, 512);
check('traces json (previous)', walkTracesJson(traceJsonBytes).rows, 512);
check('logs', decodeLogs(logsBytes).rows, 512);
check('metrics', decodeMetrics(metricsBytes).rows, 512);

// ---- measurement -----------------------------------------------------------------
/**
 * Items per second of `fn` (each call handles `items`), run for about MS ms: per
 * wall-clock second, and per CPU second this process used (on a shared machine the
 * wall-clock figure also measures the other jobs; the CPU figure is the cost on one
 * core).
 */
function rate(fn: () => unknown, items: number): { wall: number; cpu: number } {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MS) {
    fn();
    n++;
    t = performance.now();
  }
  const c = process.cpuUsage(c0);
  return {
    wall: (n * items) / ((t - t0) / 1000),
    cpu: (n * items) / ((c.user + c.system) / 1e6),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

interface Case {
  name: string;
  unit: string;
  items: number;
  ours: () => unknown;
  baseline: () => unknown;
  baselineName: string;
  target?: number;
  targetRatio?: number;
}

const cases: Case[] = [
  {
    name: 'traces protobuf → Arrow',
    unit: 'spans/s',
    items: 512,
    ours: () => decodeTraces(traceBytes),
    baseline: () => TraceReq.decode(traceBytes),
    baselineName: 'protobufjs decode',
    target: 400_000,
    targetRatio: 3,
  },
  {
    name: 'logs protobuf → Arrow',
    unit: 'records/s',
    items: 512,
    ours: () => decodeLogs(logsBytes),
    baseline: () => LogsReq.decode(logsBytes),
    baselineName: 'protobufjs decode',
    target: 800_000,
  },
  {
    name: 'metrics protobuf → Arrow',
    unit: 'points/s',
    items: 512,
    ours: () => decodeMetrics(metricsBytes),
    baseline: () => MetricsReq.decode(metricsBytes),
    baselineName: 'protobufjs decode',
  },
  {
    name: 'traces JSON → Arrow',
    unit: 'spans/s',
    items: 512,
    ours: () => decodeTracesJson(traceJsonBytes),
    baseline: () => JSON.parse(new TextDecoder().decode(traceJsonBytes)),
    baselineName: 'JSON.parse alone',
    target: 120_000,
  },
  {
    name: 'traces JSON → Arrow',
    unit: 'spans/s',
    items: 512,
    ours: () => decodeTracesJson(traceJsonBytes),
    baseline: () => walkTracesJson(traceJsonBytes),
    baselineName: 'previous (JSON.parse + walk)',
  },
];

console.log(
  `payloads: traces ${traceBytes.length} B protobuf / ${traceJsonBytes.length} B JSON, logs ${logsBytes.length} B, metrics ${metricsBytes.length} B (512 items each)`,
);
console.log(
  `node ${process.version}, ${ROUNDS} rounds × ${MS} ms per side, medians [best]; load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on ${os.cpus().length} cores\n`,
);
// Warm-up.
for (const c of cases) {
  for (let i = 0; i < 30; i++) {
    c.ours();
    c.baseline();
  }
}

let failed = false;
for (const c of cases) {
  const ours: Array<{ wall: number; cpu: number }> = [];
  const base: Array<{ wall: number; cpu: number }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(rate(c.ours, c.items));
    base.push(rate(c.baseline, c.items));
  }
  const wall = (xs: typeof ours) => xs.map((x) => x.wall);
  const mo = median(wall(ours));
  const mb = median(wall(base));
  const co = median(ours.map((x) => x.cpu));
  const cb = median(base.map((x) => x.cpu));
  const ratio = median(ours.map((o, i) => o.wall / base[i]!.wall));
  const k = (x: number) => `${Math.round(x / 1000)}k`;
  let verdict = '';
  if (c.target !== undefined) {
    const ratioOk = c.targetRatio === undefined || ratio >= c.targetRatio;
    const ok = mo >= c.target && ratioOk;
    const cpuOk = co >= c.target && ratioOk;
    failed ||= !ok;
    verdict = `  target ≥ ${k(c.target)}${c.targetRatio ? ` and ≥ ${c.targetRatio}×` : ''}: ${ok ? 'met' : cpuOk ? 'met per CPU second, MISSED wall-clock' : 'MISSED'}`;
  }
  console.log(
    `${c.name.padEnd(26)} ${k(mo).padStart(6)} ${c.unit} [${k(Math.max(...wall(ours)))}] cpu ${k(co)}   ${c.baselineName}: ${k(mb)} [${k(Math.max(...wall(base)))}] cpu ${k(cb)}   ratio ${ratio.toFixed(2)}×${verdict}`,
  );
}
if (failed)
  console.log('\nsome targets were missed on this run (noisy machine? see BENCHMARKS.md)');
