export {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  COMMIT_FORMAT,
  type CommitRecord,
  type CommittedFile,
  HINT_FORMAT,
  type LatestHint,
  type QuarantinedEntry,
} from './commit-format.js';
export { CommitLog, type LakeState } from './commit-log.js';
export {
  type Clock,
  Compactor,
  type CompactorEvent,
  type CompactorOptions,
  type CompactorStats,
  type DrainResult,
  type IdSource,
  isRetryableError,
  type RunOnceResult,
  resolveCompactorOptions,
} from './compactor.js';
export { DedupWindow } from './dedup-window.js';
export {
  type DecodedEntry,
  EntryDecoder,
  MAX_ENTRY_PLAIN_BYTES,
  type Piece,
  type SchemaInfo,
  TABLE_METADATA_KEY,
  TIMESTAMP_COLUMN,
} from './entry-decoder.js';
export * from './errors.js';
export { type CollectOrphansOptions, type CollectOrphansResult, collectOrphans } from './gc.js';
export { type IpcMessage, splitIpcStream } from './ipc.js';
export {
  decompressIpcStream,
  IpcDecompressError,
  IpcDecompressLimitError,
} from './ipc-decompress.js';
export {
  type BatchHeader,
  guardSchemaMessage,
  HeaderType,
  IpcHeaderError,
  readBatchHeader,
} from './ipc-flatbuffers.js';
export {
  checkpointKey,
  commitKey,
  dataFileKey,
  hourOfNs,
  isValidTableName,
  latestHintKey,
  normalizeLakePrefix,
  OTLP_TABLES,
  parseDataFileKey,
  partitionOfHour,
  quarantineKey,
  TABLE_NAME_PATTERN,
} from './layout.js';
export { type Logger, silentLogger, stderrLogger } from './logger.js';
export {
  type EncodedParquet,
  encodeParquet,
  encodeParquetFile,
  type IpcInput,
  joinIpcStream,
  type ParquetEncodeOptions,
  type ParquetWriterKind,
  SEDIMENT_CREATED_BY,
} from './parquet-encoder.js';
export {
  InlineParquetEncoder,
  MAX_NICE,
  type ParquetEncoder,
  type ParquetEncoderOptions,
  WorkerParquetEncoder,
} from './parquet-worker.js';
export {
  PARQUET_ENCODINGS,
  type ParquetEncoding,
  ParquetWriter,
  type ParquetWriterOptions,
} from './parquet-writer.js';
export type { QueueBatch, QueueBatchMetadata, QueueSource } from './queue-source.js';
export { type LakeSnapshot, readCommittedFiles, readLakeSnapshot } from './reader.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export { takeData } from './take.js';
