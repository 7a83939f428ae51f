/**
 * Lake errors. Everything the lake throws is one of these (or an object-store error
 * passed through where noted), so callers decide by `code`:
 *
 * - `FencedError` (stop): a newer collector owns the ingest queue. This compactor must
 *   stop; anything it wrote and did not commit becomes an orphan that GC removes.
 * - `CompactorClosedError` (stop): used after `close()`.
 * - `StoreUnavailableError` (retry later): the object store kept failing transiently
 *   after the configured retries. Nothing half-done is visible; the next round retries.
 * - `CorruptCommitLogError` (operator): a commit, checkpoint or hint object does not
 *   follow the format in docs/005-lake.md. Readers and the compactor refuse to guess.
 * - `InvalidConfigError` (fix the configuration).
 * - `InvalidEntryError` (fix the producer): a queue entry that cannot become Parquet
 *   (undecodable IPC, bad or unknown table name, no usable `timestamp` column, an
 *   unsupported Arrow type). The compactor quarantines such entries and goes on.
 * - `UnsupportedArrowTypeError`: a column type the row-selection cannot split; a kind of
 *   invalid entry.
 * - `ParquetEncodeError`: parquet-wasm rejected data that Arrow JS accepted.
 * - `ParquetWorkerError` (retry): the encoder worker thread died; the round is redone.
 */
export type LakeErrorCode =
  | 'LAKE_FENCED'
  | 'LAKE_CLOSED'
  | 'LAKE_STORE_UNAVAILABLE'
  | 'LAKE_CORRUPT_COMMIT_LOG'
  | 'LAKE_INVALID_CONFIG'
  | 'LAKE_INVALID_ENTRY'
  | 'LAKE_UNSUPPORTED_ARROW_TYPE'
  | 'LAKE_PARQUET_ENCODE_FAILED'
  | 'LAKE_PARQUET_WORKER_FAILED';

export abstract class LakeError extends Error {
  abstract readonly code: LakeErrorCode;
  /** True when repeating the operation later may succeed. */
  abstract readonly retryable: boolean;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

export class FencedError extends LakeError {
  override readonly name = 'FencedError';
  readonly code = 'LAKE_FENCED' as const;
  readonly retryable = false;
  constructor(detail: string, options: { cause?: unknown } = {}) {
    super(
      `compactor fenced: ${detail}; a newer collector owns the queue, stop this compactor`,
      options,
    );
  }
}

export class CompactorClosedError extends LakeError {
  override readonly name = 'CompactorClosedError';
  readonly code = 'LAKE_CLOSED' as const;
  readonly retryable = false;
  constructor() {
    super('compactor is closed');
  }
}

export class StoreUnavailableError extends LakeError {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'LAKE_STORE_UNAVAILABLE' as const;
  readonly retryable = true;
  constructor(operation: string, attempts: number, options: { cause?: unknown } = {}) {
    super(`object store unavailable: ${operation} failed ${attempts} times; retry later`, options);
  }
}

export class CorruptCommitLogError extends LakeError {
  override readonly name = 'CorruptCommitLogError';
  readonly code = 'LAKE_CORRUPT_COMMIT_LOG' as const;
  readonly retryable = false;
  readonly key: string;
  constructor(key: string, reason: string, options: { cause?: unknown } = {}) {
    super(`corrupt lake commit log object ${key}: ${reason}`, options);
    this.key = key;
  }
}

export class InvalidConfigError extends LakeError {
  override readonly name = 'InvalidConfigError';
  readonly code = 'LAKE_INVALID_CONFIG' as const;
  readonly retryable = false;
  constructor(option: string, reason: string) {
    super(`invalid lake option ${option}: ${reason}`);
  }
}

/** Why an entry cannot be written; recorded with quarantined entries. */
export type InvalidEntryReason =
  | 'ipc'
  | 'table-name'
  | 'unknown-table'
  | 'timestamp'
  | 'unsupported-type'
  | 'parquet';

export class InvalidEntryError extends LakeError {
  override readonly name = 'InvalidEntryError';
  readonly code = 'LAKE_INVALID_ENTRY' as const;
  readonly retryable = false;
  readonly reason: InvalidEntryReason;
  /** The entry's table when it could be read. */
  readonly table: string | undefined;
  constructor(
    reason: InvalidEntryReason,
    message: string,
    options: { cause?: unknown; table?: string } = {},
  ) {
    super(`invalid queue entry (${reason}): ${message}`, options);
    this.reason = reason;
    this.table = options.table;
  }
}

export class UnsupportedArrowTypeError extends LakeError {
  override readonly name = 'UnsupportedArrowTypeError';
  readonly code = 'LAKE_UNSUPPORTED_ARROW_TYPE' as const;
  readonly retryable = false;
  constructor(type: string) {
    super(`Arrow type ${type} cannot be split by row`);
  }
}

export class ParquetEncodeError extends LakeError {
  override readonly name = 'ParquetEncodeError';
  readonly code = 'LAKE_PARQUET_ENCODE_FAILED' as const;
  readonly retryable = false;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(`parquet encoding failed: ${message}`, options);
  }
}

/** The Parquet encoder worker died (crash, out of memory). Retryable: the round is redone. */
export class ParquetWorkerError extends LakeError {
  override readonly name = 'ParquetWorkerError';
  readonly code = 'LAKE_PARQUET_WORKER_FAILED' as const;
  readonly retryable = true;
  constructor(cause: Error) {
    super(`parquet encoder worker failed: ${cause.message}`, { cause });
  }
}

export function isLakeError(err: unknown): err is LakeError {
  return err instanceof LakeError;
}
