import { NotFoundError, type ObjectStore, validateKey } from '@sediment/object-store';
import {
  type BatchCompression,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  decodeBatch,
} from './batch-codec.js';
import { type Clock, systemClock } from './clock.js';
import {
  DEFAULT_DATA_PATH_PREFIX,
  DEFAULT_GC_GRACE_PERIOD_MS,
  DEFAULT_MANIFEST_PATH,
} from './defaults.js';
import {
  CorruptBatchError,
  FencedError,
  IngestClosedError,
  InvalidArgumentError,
  MissingBatchError,
  ResumeOutOfRangeError,
  RetriesExhaustedError,
} from './errors.js';
import { type CollectorEvent, type IngestLogger, silentLogger } from './events.js';
import { collectGarbage, type GcResult } from './gc.js';
import { appendManifest, EMPTY_MANIFEST, type ManifestEntry } from './manifest-codec.js';
import {
  firstAvailable,
  type ManifestSnapshot,
  readManifest,
  writeManifest,
} from './manifest-store.js';
import {
  backoffDelay,
  isConflict,
  isTransient,
  monotonicNow,
  type RetryPolicy,
  resolveRetryPolicy,
  withTransientRetry,
} from './retry.js';
import { bytesWaiting, manifestStats, type QueueStats } from './stats.js';

export interface CollectorOptions {
  readonly store: ObjectStore;
  /** Default `ingest/manifest`. */
  readonly manifestPath?: string;
  /** Default `ingest`. */
  readonly dataPathPrefix?: string;
  /** For GC ages and stats. */
  readonly clock?: Clock;
  /** Unreferenced batch objects younger than this are kept by `gc()`; default 1 h. */
  readonly gcGracePeriodMs?: number;
  /** Refuse batches decompressing to more than this; default 1 GiB. */
  readonly maxBatchBytes?: number;
  /** Retry policy for store operations (transient errors, conflicts). */
  readonly retry?: Partial<RetryPolicy>;
  readonly random?: () => number;
  readonly logger?: IngestLogger;
  readonly onEvent?: (event: CollectorEvent) => void;
}

export interface InitializeOptions {
  /**
   * The last sequence the downstream store committed: batches up to and including it
   * are treated as consumed (skipped and removed by the next `flush()`). Without it the
   * collector starts at the manifest head (entries acked but not flushed by a previous
   * collector are delivered again: at-least-once).
   */
  readonly resumeAfter?: bigint;
}

export interface InitializeResult {
  /** The epoch this collector now holds. */
  readonly epoch: bigint;
  /** First sequence `nextBatch()` will return (if it exists by then). */
  readonly nextToRead: bigint;
  readonly nextSequence: bigint;
}

export interface CollectedMetadata {
  readonly startIndex: number;
  /** Records of this `ingest()` call: `entries[startIndex .. startIndex + recordCount)`. */
  readonly recordCount: number;
  readonly ingestionTimeMs: number;
  readonly payload: Uint8Array;
}

export interface CollectedBatch {
  readonly sequence: bigint;
  readonly location: string;
  /** The batch's records in order (views into one buffer). */
  readonly entries: Uint8Array[];
  readonly metadata: readonly CollectedMetadata[];
  readonly compression: BatchCompression;
  /** Size of the batch object as stored. */
  readonly objectBytes: number;
}

export interface FlushResult {
  /** Entries removed from the manifest by this call. */
  readonly removed: number;
  /** Entries left in the manifest. */
  readonly remaining: number;
}

/**
 * The consumer side of the queue. One active collector per queue: `initialize()` bumps
 * the manifest epoch, which fences every older collector. From then on every manifest
 * read and write checks the epoch and throws `FencedError` (fatal, never retried) when a
 * newer collector took over.
 *
 * Typical loop: `initialize({ resumeAfter })`, then repeatedly `nextBatch()` → write
 * downstream → commit (recording the sequence) → `ack(sequence)` → `flush()`; `gc()`
 * now and then.
 *
 * Not safe for concurrent calls on one instance: await each call before the next.
 */
export class Collector implements AsyncDisposable {
  readonly #store: ObjectStore;
  readonly #manifestPath: string;
  readonly #dataPathPrefix: string;
  readonly #clock: Clock;
  readonly #gcGracePeriodMs: number;
  readonly #maxBatchBytes: number;
  readonly #retry: RetryPolicy;
  readonly #random: () => number;
  readonly #logger: IngestLogger;
  readonly #onEvent: ((event: CollectorEvent) => void) | undefined;
  #epoch: bigint | undefined;
  /** Highest sequence returned by nextBatch (or skipped by resumeAfter). */
  #delivered = -1n;
  /** Highest sequence acked. */
  #acked = -1n;
  #closed = false;

  constructor(options: CollectorOptions) {
    if (!options?.store) throw new InvalidArgumentError('Collector needs a store');
    this.#store = options.store;
    this.#manifestPath = options.manifestPath ?? DEFAULT_MANIFEST_PATH;
    this.#dataPathPrefix = options.dataPathPrefix ?? DEFAULT_DATA_PATH_PREFIX;
    for (const [name, key] of [
      ['manifestPath', this.#manifestPath],
      ['dataPathPrefix', this.#dataPathPrefix],
    ] as const) {
      try {
        validateKey(key);
      } catch (err) {
        throw new InvalidArgumentError(`${name} ${JSON.stringify(key)} is not a valid object key`, {
          cause: err,
        });
      }
    }
    this.#clock = options.clock ?? systemClock;
    this.#gcGracePeriodMs = options.gcGracePeriodMs ?? DEFAULT_GC_GRACE_PERIOD_MS;
    if (!(this.#gcGracePeriodMs >= 0 && Number.isFinite(this.#gcGracePeriodMs))) {
      throw new InvalidArgumentError(`gcGracePeriodMs must be >= 0, got ${this.#gcGracePeriodMs}`);
    }
    this.#maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
    this.#retry = resolveRetryPolicy(options.retry);
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? silentLogger;
    this.#onEvent = options.onEvent;
  }

  /** The epoch this collector holds; undefined before `initialize()`. */
  get epoch(): bigint | undefined {
    return this.#epoch;
  }

  /** Highest sequence acked so far (−1 when none). */
  get ackedSequence(): bigint {
    return this.#acked;
  }

  /**
   * Takes over the queue: bumps the manifest epoch with a conditional write (creating
   * the manifest if missing), fencing every older collector. May be called again to
   * re-take the queue with a new epoch.
   *
   * An ambiguous write (lost reply) is never trusted: the next attempt bumps again from
   * whatever the manifest then says, so two collectors can never both believe they hold
   * the same epoch.
   * @throws ResumeOutOfRangeError when `resumeAfter` is below the manifest head − 1
   *   (entries after it were consumed by someone else) or not below `next_sequence`.
   */
  async initialize(options: InitializeOptions = {}): Promise<InitializeResult> {
    this.#checkOpen();
    const { resumeAfter } = options;
    if (resumeAfter !== undefined && (typeof resumeAfter !== 'bigint' || resumeAfter < 0n)) {
      throw new InvalidArgumentError(
        `resumeAfter must be a bigint >= 0, got ${String(resumeAfter)}`,
      );
    }
    const deadline = monotonicNow() + this.#retry.deadlineMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await this.#backoff(attempt - 1, deadline, 'initialize', lastError);
      const current = await this.#readUnchecked(deadline);
      const epoch = current.manifest.epoch + 1n;
      const bytes = appendManifest(current.manifest, [], { epoch });
      try {
        await writeManifest(this.#store, this.#manifestPath, bytes, current.etag);
      } catch (err) {
        lastError = err;
        if (isConflict(err)) {
          this.#emit({ type: 'retry', operation: 'initialize', reason: 'conflict', error: err });
          continue;
        }
        if (isTransient(err)) {
          this.#emit({ type: 'retry', operation: 'initialize', reason: 'transient', error: err });
          continue;
        }
        throw err;
      }
      this.#epoch = epoch;
      const manifest = current.manifest;
      const first = firstAvailable(manifest);
      if (resumeAfter !== undefined) {
        if (resumeAfter + 1n < first) {
          throw new ResumeOutOfRangeError(
            `cannot resume after sequence ${resumeAfter}: the queue starts at ${first}, so ` +
              `entries ${resumeAfter + 1n}..${first - 1n} were consumed and removed by another ` +
              'collector; the downstream store and the queue disagree',
            resumeAfter,
            first,
            manifest.nextSequence,
          );
        }
        if (resumeAfter >= manifest.nextSequence) {
          throw new ResumeOutOfRangeError(
            `cannot resume after sequence ${resumeAfter}: the queue has only assigned ` +
              `sequences below ${manifest.nextSequence} (a different or reset queue?)`,
            resumeAfter,
            first,
            manifest.nextSequence,
          );
        }
      }
      this.#delivered = resumeAfter ?? first - 1n;
      this.#acked = this.#delivered;
      this.#logger.debug({ epoch, resumeAfter }, 'collector initialized');
      this.#emit({ type: 'initialized', epoch, resumeAfter });
      return { epoch, nextToRead: this.#delivered + 1n, nextSequence: manifest.nextSequence };
    }
  }

  /**
   * The next batch in manifest order after the last one returned, or undefined when the
   * collector has caught up. Reads the manifest (epoch check) on every call.
   * @throws FencedError, MissingBatchError, CorruptBatchError, CorruptManifestError,
   *   ResumeOutOfRangeError (entries this collector never returned vanished), and store
   *   errors that outlived the retry deadline.
   */
  async nextBatch(): Promise<CollectedBatch | undefined> {
    return (await this.nextBatches(1))[0];
  }

  /**
   * Up to `max` batches in manifest order after the last one returned (empty when the
   * collector has caught up), with ONE manifest read (epoch check) and the batch objects
   * read concurrently. A consumer catching up on many small batches over a store with
   * latency (S3) reads `max` times faster than with `nextBatch()`. Nothing counts as
   * returned unless the whole call succeeds. The caller bounds memory through `max`:
   * every batch returned is held at once.
   * @throws as `nextBatch()`; InvalidArgumentError when `max` is not a positive integer.
   */
  async nextBatches(max: number): Promise<CollectedBatch[]> {
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new InvalidArgumentError(`nextBatches max must be a positive integer, got ${max}`);
    }
    const snapshot = await this.#read();
    const entries = snapshot.manifest.entries;
    const first = firstAvailable(snapshot.manifest);
    const wanted = this.#delivered + 1n;
    if (wanted < first) {
      throw new ResumeOutOfRangeError(
        `entries ${wanted}..${first - 1n} left the queue without being returned by this ` +
          'collector (removed by a writer that did not bump the epoch?)',
        this.#delivered,
        first,
        snapshot.manifest.nextSequence,
      );
    }
    const start = findEntryIndex(entries, wanted);
    if (start < 0) return [];
    const chosen = entries.slice(start, start + max);
    const batches = await Promise.all(chosen.map((e) => this.#readBatch(e)));
    for (const [i, e] of chosen.entries()) {
      this.#delivered = e.sequence;
      this.#emit({
        type: 'batch-read',
        sequence: e.sequence,
        location: e.location,
        records: batches[i]!.entries.length,
      });
    }
    return batches;
  }

  /**
   * Marks every batch with sequence ≤ `sequence` consumed (the next `flush()` removes
   * them). Acking below an earlier ack is a no-op. Checks the epoch with a manifest read.
   * @throws FencedError; InvalidArgumentError when `sequence` was not returned yet.
   */
  async ack(sequence: bigint): Promise<void> {
    if (typeof sequence !== 'bigint' || sequence < 0n) {
      throw new InvalidArgumentError(`ack sequence must be a bigint >= 0, got ${String(sequence)}`);
    }
    if (sequence > this.#delivered) {
      throw new InvalidArgumentError(
        `cannot ack sequence ${sequence}: the collector has returned batches up to ${this.#delivered}`,
      );
    }
    await this.#read();
    if (sequence > this.#acked) this.#acked = sequence;
  }

  /**
   * Reads the manifest and throws `FencedError` unless this collector still holds the
   * epoch. Call it right before a downstream commit to narrow the window in which a
   * fenced collector could still commit (the downstream commit itself must be
   * conditional too; see docs/002-ingest-queue.md §6).
   */
  async verifyEpoch(): Promise<bigint> {
    await this.#read();
    return this.#epoch!;
  }

  /**
   * Rewrites the manifest without the acked entries (conditional write, retried on
   * conflict with producers; `next_sequence` is kept). Idempotent.
   * @throws FencedError, store errors that outlived the retry deadline.
   */
  async flush(): Promise<FlushResult> {
    const deadline = monotonicNow() + this.#retry.deadlineMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await this.#backoff(attempt - 1, deadline, 'flush', lastError);
      const snapshot = await this.#read(deadline);
      const manifest = snapshot.manifest;
      const keep = manifest.entries.filter((e) => e.sequence > this.#acked);
      const removed = manifest.entries.length - keep.length;
      if (removed === 0) return { removed: 0, remaining: keep.length };
      const bytes = appendManifest(EMPTY_MANIFEST, keep, {
        nextSequence: manifest.nextSequence,
        epoch: manifest.epoch,
      });
      try {
        await writeManifest(this.#store, this.#manifestPath, bytes, snapshot.etag);
      } catch (err) {
        // Removing acked entries is idempotent: on conflict or ambiguity, re-read and redo.
        if (isConflict(err) || isTransient(err)) {
          lastError = err;
          this.#emit({
            type: 'retry',
            operation: 'flush',
            reason: isConflict(err) ? 'conflict' : 'transient',
            error: err,
          });
          continue;
        }
        throw err;
      }
      this.#emit({ type: 'flushed', removed, remaining: keep.length });
      return { removed, remaining: keep.length };
    }
  }

  /**
   * Deletes batch objects under `dataPathPrefix` that no manifest entry references and
   * that are older than `gcGracePeriodMs`. Never deletes a referenced batch, nor a fresh
   * one a producer may be about to append. Checks the epoch.
   */
  async gc(options: { maxDeletes?: number } = {}): Promise<GcResult> {
    this.#requireEpoch();
    const result = await collectGarbage({
      store: this.#store,
      dataPathPrefix: this.#dataPathPrefix,
      referenced: async () => {
        const snapshot = await this.#read();
        return new Set(snapshot.manifest.entries.map((e) => e.location));
      },
      now: this.#clock.now(),
      gracePeriodMs: this.#gcGracePeriodMs,
      retry: this.#retry,
      random: this.#random,
      ...(options.maxDeletes === undefined ? {} : { maxDeletes: options.maxDeletes }),
    });
    if (result.deleted.length > 0) {
      this.#logger.debug({ deleted: result.deleted.length }, 'ingest gc deleted batch objects');
    }
    this.#emit({ type: 'gc', deleted: result.deleted.length, scanned: result.scanned });
    return result;
  }

  /**
   * Queue statistics (checks the epoch). `bytesWaiting` costs one listing of the data
   * prefix; pass `{ bytes: false }` to skip it.
   */
  async stats(options: { bytes?: boolean } = {}): Promise<QueueStats> {
    const snapshot = await this.#read();
    const base = manifestStats(snapshot.manifest, snapshot.size, this.#clock.now());
    const bytes =
      options.bytes === false
        ? undefined
        : await bytesWaiting(
            this.#store,
            this.#dataPathPrefix,
            snapshot.manifest,
            this.#retry,
            this.#random,
          );
    return { ...base, bytesWaiting: bytes };
  }

  /** Stops the collector (later calls throw IngestClosedError). Does not close the store. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new IngestClosedError('Collector');
  }

  #requireEpoch(): bigint {
    this.#checkOpen();
    if (this.#epoch === undefined) {
      throw new InvalidArgumentError('Collector.initialize() must be called first');
    }
    return this.#epoch;
  }

  /** Reads the manifest (transient errors retried) and checks the epoch. */
  async #read(deadline = monotonicNow() + this.#retry.deadlineMs): Promise<ManifestSnapshot> {
    const epoch = this.#requireEpoch();
    const snapshot = await this.#readUnchecked(deadline);
    if (snapshot.manifest.epoch !== epoch) {
      this.#emit({ type: 'fenced', epoch, currentEpoch: snapshot.manifest.epoch });
      this.#logger.warn(
        { epoch, currentEpoch: snapshot.manifest.epoch },
        'collector fenced by a newer one',
      );
      throw new FencedError(epoch, snapshot.manifest.epoch);
    }
    return snapshot;
  }

  async #readUnchecked(deadline: number): Promise<ManifestSnapshot> {
    for (let attempt = 0; ; attempt++) {
      this.#checkOpen();
      try {
        return await readManifest(this.#store, this.#manifestPath);
      } catch (err) {
        if (!isTransient(err)) throw err;
        const delay = backoffDelay(attempt, this.#retry, this.#random);
        if (monotonicNow() + delay > deadline) throw err;
        this.#emit({ type: 'retry', operation: 'read-manifest', reason: 'transient', error: err });
        await sleepMs(delay);
      }
    }
  }

  async #readBatch(entry: ManifestEntry): Promise<CollectedBatch> {
    let got: { bytes: Uint8Array; size: number };
    try {
      got = await withTransientRetry(
        () => this.#store.get(entry.location),
        this.#retry,
        this.#random,
        (error) =>
          this.#emit({ type: 'retry', operation: 'read-batch', reason: 'transient', error }),
      );
    } catch (err) {
      if (err instanceof NotFoundError)
        throw new MissingBatchError(entry.location, entry.sequence, { cause: err });
      throw err;
    }
    const decoded = decodeBatch(got.bytes, {
      location: entry.location,
      maxDecompressedBytes: this.#maxBatchBytes,
    });
    const records = decoded.records;
    const metadata: CollectedMetadata[] = [];
    for (let i = 0; i < entry.metadata.length; i++) {
      const item = entry.metadata[i]!;
      const end = entry.metadata[i + 1]?.startIndex ?? records.length;
      if (item.startIndex > end || end > records.length) {
        throw new CorruptBatchError(
          `manifest entry ${entry.sequence} metadata item ${i} spans records ` +
            `${item.startIndex}..${end} but the batch has ${records.length}`,
          0,
          { location: entry.location },
        );
      }
      metadata.push({
        startIndex: item.startIndex,
        recordCount: end - item.startIndex,
        ingestionTimeMs: item.ingestionTimeMs,
        payload: item.payload,
      });
    }
    return {
      sequence: entry.sequence,
      location: entry.location,
      entries: records,
      metadata,
      compression: decoded.compression,
      objectBytes: got.size,
    };
  }

  async #backoff(attempt: number, deadline: number, op: string, cause: unknown): Promise<void> {
    const delay = backoffDelay(attempt, this.#retry, this.#random);
    if (monotonicNow() + delay > deadline) {
      throw new RetriesExhaustedError(
        `collector ${op} gave up after ${attempt + 1} attempts: ${(cause as Error)?.message ?? cause}`,
        { cause },
      );
    }
    await sleepMs(delay);
  }

  #emit(event: CollectorEvent): void {
    if (!this.#onEvent) return;
    try {
      this.#onEvent(event);
    } catch (err) {
      this.#logger.warn({ err }, 'collector onEvent hook threw; ignored');
    }
  }
}

/** Contiguous sequences make the index arithmetic; a linear scan covers anything else. */
/** Index of the entry with `sequence`, else of the first one after it; -1 when none. */
function findEntryIndex(entries: readonly ManifestEntry[], sequence: bigint): number {
  const first = entries[0];
  if (first === undefined) return -1;
  const guess = Number(sequence - first.sequence);
  if (entries[guess]?.sequence === sequence) return guess;
  return entries.findIndex((e) => e.sequence >= sequence);
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
