export { decodeLogs } from './decode-logs.js';
export { decodeMetrics } from './decode-metrics.js';
export { decodeTraces } from './decode-traces.js';
export type { OtlpErrorCode } from './errors.js';
export { InvalidInputError, isInvalidInputError, OutputTooLargeError } from './errors.js';
export { fromIpcStream, toIpcStream } from './ipc.js';
export {
  DEFAULT_IPC_ZSTD_LEVEL,
  IPC_COMPRESSIONS,
  type IpcCompression,
  type IpcWriteOptions,
} from './ipc-writer.js';
export { decodeLogsJson } from './json-logs.js';
export { decodeMetricsJson } from './json-metrics.js';
export { decodeTracesJson } from './json-traces.js';
export type {
  FieldViolation,
  PartialSuccess,
  ReplyEncoding,
  RpcStatus,
  Signal,
} from './replies.js';
export {
  BAD_REQUEST_TYPE_URL,
  encodeExportResponse,
  encodeRpcStatus,
  GrpcCode,
  RETRY_INFO_TYPE_URL,
} from './replies.js';
export type { DecodedTable, DecodeOptions, DecodeResult } from './result.js';
export * from './schemas.js';
