import {
  type DecodeOptions,
  type DecodeResult,
  decodeLogs,
  decodeLogsJson,
  decodeMetrics,
  decodeMetricsJson,
  decodeTraces,
  decodeTracesJson,
  type Signal,
} from '@sediment/otlp';

export type { Signal };
export type BodyFormat = 'protobuf' | 'json';

export interface SignalDef {
  readonly signal: Signal;
  /** OTLP/HTTP path. */
  readonly path: string;
  /** Fully qualified gRPC service name (method `Export`). */
  readonly grpcService: string;
  decode(body: Uint8Array, format: BodyFormat, options?: DecodeOptions): DecodeResult;
}

const C = 'opentelemetry.proto.collector';

export const SIGNALS: Readonly<Record<Signal, SignalDef>> = {
  traces: {
    signal: 'traces',
    path: '/v1/traces',
    grpcService: `${C}.trace.v1.TraceService`,
    decode: (body, format, options) =>
      format === 'json' ? decodeTracesJson(body, options) : decodeTraces(body, options),
  },
  metrics: {
    signal: 'metrics',
    path: '/v1/metrics',
    grpcService: `${C}.metrics.v1.MetricsService`,
    decode: (body, format, options) =>
      format === 'json' ? decodeMetricsJson(body, options) : decodeMetrics(body, options),
  },
  logs: {
    signal: 'logs',
    path: '/v1/logs',
    grpcService: `${C}.logs.v1.LogsService`,
    decode: (body, format, options) =>
      format === 'json' ? decodeLogsJson(body, options) : decodeLogs(body, options),
  },
};
