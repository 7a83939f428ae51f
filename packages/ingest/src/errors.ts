/**
 * Ingest-queue errors. Every failure the queue reports is one of these classes (or an
 * object-store error passed through unchanged), so callers decide by `code`, never by
 * parsing messages:
 *
 * - `CorruptBatchError`, `CorruptManifestError`: bytes on the store do not follow the v1
 *   format. Not retryable; an operator has to look at the object.
 * - `FencedError`: a newer collector took over the queue. Fatal for this collector:
 *   stop it, do not retry (retrying cannot succeed and must not be attempted).
 * - `ResumeOutOfRangeError`: the sequence a collector was told to resume after does not
 *   fit the queue (older than its head: entries were consumed elsewhere; or beyond
 *   `next_sequence`: a different queue). Fix the configuration.
 * - `FlushFailedError`: a batch could not be made durable; `retryable` says whether
 *   ingesting again later may work, `maybeEnqueued` whether the data may be in the
 *   queue anyway (re-ingesting then gives at-least-once, never loss).
 * - `MissingBatchError`: the manifest references a batch object that is gone.
 * - `RetriesExhaustedError`: a collector operation kept hitting conflicts or transient
 *   errors until its retry deadline. Retry later.
 * - `IngestClosedError`: the ingestor or collector was closed. Stop.
 * - `InvalidArgumentError`: bad configuration or input. Fix the caller.
 */
export type IngestErrorCode =
  | 'INGEST_CORRUPT_BATCH'
  | 'INGEST_CORRUPT_MANIFEST'
  | 'INGEST_FENCED'
  | 'INGEST_RESUME_OUT_OF_RANGE'
  | 'INGEST_FLUSH_FAILED'
  | 'INGEST_BATCH_MISSING'
  | 'INGEST_RETRIES_EXHAUSTED'
  | 'INGEST_CLOSED'
  | 'INGEST_INVALID_ARGUMENT';

export abstract class IngestError extends Error {
  abstract readonly code: IngestErrorCode;
  /** True when repeating the same operation later may succeed. */
  abstract readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** A batch object does not follow the v1 batch format. */
export class CorruptBatchError extends IngestError {
  override readonly name = 'CorruptBatchError';
  readonly code = 'INGEST_CORRUPT_BATCH' as const;
  readonly retryable = false;
  /** Byte offset of the problem (in the record block once decompressed, see message). */
  readonly offset: number;
  /** Object key of the batch when known. */
  readonly location: string | undefined;

  constructor(
    reason: string,
    offset: number,
    options: { location?: string; cause?: unknown } = {},
  ) {
    const where = options.location === undefined ? '' : ` ${options.location}`;
    super(`corrupt batch${where} at offset ${offset}: ${reason}`, options);
    this.offset = offset;
    this.location = options.location;
  }
}

/** The manifest does not follow the v1 manifest format. */
export class CorruptManifestError extends IngestError {
  override readonly name = 'CorruptManifestError';
  readonly code = 'INGEST_CORRUPT_MANIFEST' as const;
  readonly retryable = false;
  readonly offset: number;

  constructor(reason: string, offset: number, options: { path?: string; cause?: unknown } = {}) {
    const where = options.path === undefined ? '' : ` ${options.path}`;
    super(`corrupt manifest${where} at offset ${offset}: ${reason}`, options);
    this.offset = offset;
  }
}

/**
 * A newer collector bumped the manifest epoch: this collector no longer owns the queue.
 * Never retryable. Stop the collector and everything that commits on its behalf.
 */
export class FencedError extends IngestError {
  override readonly name = 'FencedError';
  readonly code = 'INGEST_FENCED' as const;
  readonly retryable = false;
  /** The epoch this collector holds. */
  readonly epoch: bigint;
  /** The epoch found in the manifest. */
  readonly currentEpoch: bigint;

  constructor(epoch: bigint, currentEpoch: bigint) {
    super(
      `collector fenced: it holds epoch ${epoch} but the manifest is at epoch ${currentEpoch}; ` +
        'a newer collector owns the queue, stop this one',
    );
    this.epoch = epoch;
    this.currentEpoch = currentEpoch;
  }
}

/**
 * The sequence to resume after does not fit the queue. `firstAvailable` is the lowest
 * sequence still in the manifest (or `next_sequence` when it is empty).
 */
export class ResumeOutOfRangeError extends IngestError {
  override readonly name = 'ResumeOutOfRangeError';
  readonly code = 'INGEST_RESUME_OUT_OF_RANGE' as const;
  readonly retryable = false;
  readonly resumeAfter: bigint;
  readonly firstAvailable: bigint;
  readonly nextSequence: bigint;

  constructor(message: string, resumeAfter: bigint, firstAvailable: bigint, nextSequence: bigint) {
    super(message);
    this.resumeAfter = resumeAfter;
    this.firstAvailable = firstAvailable;
    this.nextSequence = nextSequence;
  }
}

/**
 * A batch could not be made durable. The entries of the affected `ingest()` calls are
 * NOT known to be in the queue.
 */
export class FlushFailedError extends IngestError {
  override readonly name = 'FlushFailedError';
  readonly code = 'INGEST_FLUSH_FAILED' as const;
  /** True when the cause was transient (store unavailable, contention past the deadline). */
  readonly retryable: boolean;
  /**
   * True when an ambiguous write (lost reply) may have enqueued the batch after all.
   * Re-ingesting is still the right move; it may produce a duplicate, never a loss.
   */
  readonly maybeEnqueued: boolean;
  readonly location: string;

  constructor(
    message: string,
    options: { location: string; retryable: boolean; maybeEnqueued: boolean; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.location = options.location;
    this.retryable = options.retryable;
    this.maybeEnqueued = options.maybeEnqueued;
  }
}

/** The manifest references a batch object that does not exist. */
export class MissingBatchError extends IngestError {
  override readonly name = 'MissingBatchError';
  readonly code = 'INGEST_BATCH_MISSING' as const;
  readonly retryable = false;
  readonly location: string;
  readonly sequence: bigint;

  constructor(location: string, sequence: bigint, options: { cause?: unknown } = {}) {
    super(
      `manifest entry ${sequence} references batch ${location}, which does not exist ` +
        '(deleted outside the queue protocol?)',
      options,
    );
    this.location = location;
    this.sequence = sequence;
  }
}

/** A collector operation kept failing with conflicts or transient errors until its deadline. */
export class RetriesExhaustedError extends IngestError {
  override readonly name = 'RetriesExhaustedError';
  readonly code = 'INGEST_RETRIES_EXHAUSTED' as const;
  readonly retryable = true;
}

export class IngestClosedError extends IngestError {
  override readonly name = 'IngestClosedError';
  readonly code = 'INGEST_CLOSED' as const;
  readonly retryable = false;
  constructor(what: string) {
    super(`${what} is closed`);
  }
}

export class InvalidArgumentError extends IngestError {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'INGEST_INVALID_ARGUMENT' as const;
  readonly retryable = false;
}

export function isIngestError(err: unknown): err is IngestError {
  return err instanceof IngestError;
}
