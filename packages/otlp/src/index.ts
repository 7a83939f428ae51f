export { decodeLogs } from './decode-logs.js';
export { decodeMetrics } from './decode-metrics.js';
export { decodeTraces } from './decode-traces.js';
export { InvalidInputError, isInvalidInputError, OutputTooLargeError } from './errors.js';
export type { OtlpErrorCode } from './errors.js';
export type { DecodedTable, DecodeOptions, DecodeResult } from './result.js';
export * from './schemas.js';
