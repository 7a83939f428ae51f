export {
  BATCH_FOOTER_BYTES,
  BATCH_FORMAT_VERSION,
  type BatchCompression,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DEFAULT_ZSTD_LEVEL,
  type DecodeBatchOptions,
  type DecodedBatch,
  decodeBatch,
  type EncodeBatchOptions,
  encodeBatch,
  MAX_RECORD_BYTES,
  recordBlockSize,
} from './batch-codec.js';
export { type Clock, type IdSource, systemClock } from './clock.js';
export {
  type CollectedBatch,
  type CollectedMetadata,
  Collector,
  type CollectorOptions,
  type FlushResult,
  type InitializeOptions,
  type InitializeResult,
} from './collector.js';
export * from './defaults.js';
export * from './errors.js';
export {
  type CollectorEvent,
  type IngestLogger,
  type IngestorEvent,
  silentLogger,
} from './events.js';
export type { GcResult } from './gc.js';
export {
  type DurableInfo,
  type IngestHandle,
  Ingestor,
  type IngestorMetrics,
  type IngestorOptions,
} from './ingestor.js';
export {
  appendManifest,
  type DecodedManifest,
  decodeManifest,
  EMPTY_MANIFEST,
  encodeManifest,
  MANIFEST_FOOTER_BYTES,
  MANIFEST_FORMAT_VERSION,
  type Manifest,
  type ManifestEntry,
  type ManifestTail,
  type MetadataItem,
  manifestTail,
} from './manifest-codec.js';
export { type ManifestSnapshot, readManifest } from './manifest-store.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
export { type QueueStats, readQueueStats } from './stats.js';
export { isUlid, ULID_PATTERN, UlidGenerator, type UlidOptions, ulidTime } from './ulid.js';
