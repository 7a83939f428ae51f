/**
 * protobufjs over the repository's proto/ files, for tests and load generators that need
 * to ENCODE OTLP requests independently of Sediment's own decoder.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const protoDir = path.join(REPO_ROOT, 'proto');

// protobufjs finds 'long' through a dynamic require that fails under vitest; without it
// 64-bit values silently lose precision.
const requireFromProtobuf = createRequire(createRequire(import.meta.url).resolve('protobufjs'));
const long = requireFromProtobuf('long');
protobuf.util.Long = long.default ?? long;
protobuf.configure();

function load(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) =>
    target.startsWith('google/protobuf/')
      ? protobuf.Root.prototype.resolvePath(origin, target)
      : path.join(protoDir, target);
  root.loadSync([
    'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
    'opentelemetry/proto/collector/logs/v1/logs_service.proto',
    'google/rpc/status.proto',
    'google/rpc/error_details.proto',
  ]);
  root.resolveAll();
  return root;
}

export const protoRoot = load();
const C = 'opentelemetry.proto.collector';
export const ProtoTypes = {
  traces: protoRoot.lookupType(`${C}.trace.v1.ExportTraceServiceRequest`),
  metrics: protoRoot.lookupType(`${C}.metrics.v1.ExportMetricsServiceRequest`),
  logs: protoRoot.lookupType(`${C}.logs.v1.ExportLogsServiceRequest`),
  tracesResponse: protoRoot.lookupType(`${C}.trace.v1.ExportTraceServiceResponse`),
  metricsResponse: protoRoot.lookupType(`${C}.metrics.v1.ExportMetricsServiceResponse`),
  logsResponse: protoRoot.lookupType(`${C}.logs.v1.ExportLogsServiceResponse`),
  status: protoRoot.lookupType('google.rpc.Status'),
  badRequest: protoRoot.lookupType('google.rpc.BadRequest'),
  retryInfo: protoRoot.lookupType('google.rpc.RetryInfo'),
} as const;

export type Signal = 'traces' | 'metrics' | 'logs';

/** OTLP/JSON-shaped object → protobuf bytes (hex ids are converted to bytes first). */
export function encodeRequest(signal: Signal, json: object): Uint8Array {
  const type = ProtoTypes[signal];
  return type.encode(type.fromObject(jsonToProtoObject(json) as Record<string, unknown>)).finish();
}

/** Decodes a reply body with protobufjs into a plain object (longs as strings). */
export function decodeMessage(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(bytes), {
    longs: String,
    enums: Number,
    bytes: String,
    defaults: false,
  });
}

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

// OTLP/JSON writes trace and span ids as hex; protobufjs' fromObject wants base64 for bytes.
function jsonToProtoObject(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => jsonToProtoObject(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonToProtoObject(v, k);
    return out;
  }
  if (ID_KEYS.has(key) && typeof value === 'string')
    return Buffer.from(value, 'hex').toString('base64');
  return value;
}
