import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** protobufjs root over the repository's proto/ files: the independent oracle decoder. */
const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../proto');

// protobufjs finds the 'long' package through a dynamic require that fails under
// vitest; without it 64-bit values silently lose precision. Wire it explicitly.
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
  root.loadSync(
    [
      'opentelemetry/proto/collector/trace/v1/trace_service.proto',
      'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
      'opentelemetry/proto/collector/logs/v1/logs_service.proto',
      'google/rpc/status.proto',
      'google/rpc/error_details.proto',
    ],
    { keepCase: false },
  );
  root.resolveAll();
  return root;
}

export const root = load();
export const TraceRequest = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
);
export const MetricsRequest = root.lookupType(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
);
export const LogsRequest = root.lookupType(
  'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
);

/** protobufjs decode to plain objects: longs as decimal strings, bytes as arrays, oneof names. */
export function toPlain(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(bytes), {
    longs: String,
    enums: Number,
    bytes: Array,
    defaults: true,
    arrays: true,
    oneofs: true,
  });
}

/** protobufjs encode of a plain object (fromObject accepts strings for 64-bit fields). */
export function encode(type: protobuf.Type, obj: Record<string, unknown>): Uint8Array {
  return type.encode(type.fromObject(obj)).finish();
}
