import { AlreadyExistsError, type ObjectStore, validateKey } from '@sediment/object-store';
import { type AppendItem, type AppendOutcome, ManifestAppender } from './append.js';
import { type BatchCompression, encodeBatch, MAX_RECORD_BYTES } from './batch-codec.js';
import { type Clock, type IdSource, systemClock } from './clock.js';
import {
  DEFAULT_DATA_PATH_PREFIX,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_FLUSH_SIZE_BYTES,
  DEFAULT_MANIFEST_PATH,
  DEFAULT_MAX_BUFFERED_INPUTS,
} from './defaults.js';
import {
  FlushFailedError,
  IngestClosedError,
  InvalidArgumentError,
  isIngestError,
} from './errors.js';
import { type IngestLogger, type IngestorEvent, silentLogger } from './events.js';
import type { MetadataItem } from './manifest-codec.js';
import {
  backoffDelay,
  isTransient,
  monotonicNow,
  type RetryPolicy,
  resolveRetryPolicy,
} from './retry.js';
import { isUlid, UlidGenerator } from './ulid.js';

const DEFAULT_MAX_CONCURRENT_WRITES = 4;
const EMPTY = new Uint8Array(0);

export interface IngestorOptions {
  readonly store: ObjectStore;
  /** A batch is flushed at most this long after its first input arrived; default 100. */
  readonly flushIntervalMs?: number;
  /** A batch is flushed once its record block reaches this size; default 64 MiB. */
  readonly flushSizeBytes?: number;
  /** `ingest()` calls buffered or in flight before `ingest()` waits; default 1000. */
  readonly maxBufferedInputs?: number;
  /** Default `none`. */
  readonly batchCompression?: BatchCompression;
  /** zstd level when `batchCompression` is `zstd`; default 3. */
  readonly zstdLevel?: number;
  /** Batch objects are written as `{dataPathPrefix}/{ULID}.batch`; default `ingest`. */
  readonly dataPathPrefix?: string;
  /** Default `ingest/manifest`. */
  readonly manifestPath?: string;
  /** Batch writes in flight at once (later batches wait; order is kept); default 4. */
  readonly maxConcurrentWrites?: number;
  /** Retry policy for batch writes and manifest appends; see `RetryPolicy`. */
  readonly retry?: Partial<RetryPolicy>;
  /** Stamps `ingestion_time_ms` and feeds the default ULID source. */
  readonly clock?: Clock;
  /** Batch names; must return ULIDs. Default: a monotonic ULID generator on `clock`. */
  readonly ids?: IdSource;
  /** Backoff jitter in [0, 1); default `Math.random`. */
  readonly random?: () => number;
  readonly logger?: IngestLogger;
  readonly onEvent?: (event: IngestorEvent) => void;
}

/** Where an `ingest()` call's entries landed. */
export interface DurableInfo {
  /** Manifest sequence of the batch holding the entries. */
  readonly sequence: bigint;
  /** Object key of that batch. */
  readonly location: string;
  /** Index of the call's first entry among the batch's records. */
  readonly startIndex: number;
  /** Number of entries the call added. */
  readonly recordCount: number;
}

export interface IngestHandle {
  /**
   * Resolves once the batch object holding these entries is written AND its manifest
   * append committed; rejects with `FlushFailedError` when that cannot be achieved
   * (nothing is retried after that: re-ingest if the data matters).
   */
  awaitDurable(): Promise<DurableInfo>;
}

/** Counters since construction; cheap to read. */
export interface IngestorMetrics {
  readonly ingestCalls: number;
  readonly entries: number;
  /** Entry bytes accepted (without length prefixes). */
  readonly entryBytes: number;
  /** `ingest()` calls accepted and not yet durable or failed. */
  readonly bufferedInputs: number;
  readonly durableInputs: number;
  readonly failedInputs: number;
  readonly batchesWritten: number;
  /** Batch object bytes written (after compression). */
  readonly batchBytesWritten: number;
  readonly batchWriteAttempts: number;
  readonly manifestReads: number;
  readonly manifestWrites: number;
  /** Manifest writes that succeeded (each enqueues one or more batches). */
  readonly manifestCommits: number;
  /** Manifest writes that lost to another writer (re-read and retried). */
  readonly manifestConflicts: number;
  /** Conflicts of optimistic writes against the cached manifest (a subset of the above). */
  readonly manifestStaleCache: number;
  readonly transientErrors: number;
}

interface PendingInput {
  readonly startIndex: number;
  readonly recordCount: number;
  readonly ingestionTimeMs: number;
  readonly payload: Uint8Array;
  readonly resolve: (info: DurableInfo) => void;
  readonly reject: (err: Error) => void;
}

interface OpenBatch {
  records: Uint8Array[];
  inputs: PendingInput[];
  blockBytes: number;
}

interface SealedBatch {
  records: Uint8Array[];
  readonly inputs: PendingInput[];
  readonly blockBytes: number;
  readonly deadline: number;
  readonly sealedAt: number;
  state: 'waiting' | 'writing' | 'written' | 'failed' | 'done';
  location: string;
  error: Error | undefined;
  readonly settled: Promise<void>;
  markSettled: () => void;
}

class Handle implements IngestHandle {
  readonly #promise: Promise<DurableInfo>;
  constructor(promise: Promise<DurableInfo>) {
    this.#promise = promise;
  }
  awaitDurable(): Promise<DurableInfo> {
    return this.#promise;
  }
}

/**
 * The producer side of the queue. Buffers `ingest()` calls into a batch, writes the
 * batch as one object, then appends it to the manifest.
 *
 * - A batch is sealed when its record block reaches `flushSizeBytes`, when
 *   `flushIntervalMs` has passed since its FIRST input (later inputs never push the
 *   deadline back, so constant input cannot starve the timer), when a caller has to wait
 *   for buffer space (`maxBufferedInputs` reached), or on `flush()`/`close()`.
 * - Sealed batches are written concurrently (up to `maxConcurrentWrites`) and appended
 *   strictly in seal order; batches that are ready together share one manifest write.
 *   New input keeps buffering into the next batch meanwhile.
 * - Backpressure: at most `maxBufferedInputs` calls are buffered or in flight; further
 *   `ingest()` calls wait (first come, first served).
 * - Transient store errors and manifest conflicts are retried with backoff until
 *   `retry.deadlineMs` after the batch was sealed; then, or on any permanent error, every
 *   handle of the batch rejects with `FlushFailedError`. A handle never resolves unless
 *   the batch is in the manifest.
 *
 * Entries are kept by reference until their batch is encoded: do not mutate an entry's
 * bytes after passing it to `ingest()`.
 */
export class Ingestor implements AsyncDisposable {
  readonly #store: ObjectStore;
  readonly #flushIntervalMs: number;
  readonly #flushSizeBytes: number;
  readonly #maxBufferedInputs: number;
  /** Half the buffer: the next batch can fill while this one is written. */
  readonly #sealAtInputs: number;
  readonly #compression: BatchCompression;
  readonly #zstdLevel: number | undefined;
  readonly #dataPathPrefix: string;
  readonly #maxConcurrentWrites: number;
  readonly #retry: RetryPolicy;
  readonly #clock: Clock;
  readonly #ids: IdSource;
  readonly #random: () => number;
  readonly #logger: IngestLogger;
  readonly #onEvent: ((event: IngestorEvent) => void) | undefined;
  readonly #appender: ManifestAppender;

  #open: OpenBatch = { records: [], inputs: [], blockBytes: 0 };
  #timer: NodeJS.Timeout | undefined;
  /** Sealed batches not yet settled, in seal order (= append order). */
  readonly #sealed: SealedBatch[] = [];
  readonly #writeQueue: SealedBatch[] = [];
  #activeWrites = 0;
  #appending = false;
  #inflight = 0;
  readonly #waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  #closed = false;
  #closePromise: Promise<void> | undefined;
  readonly #m = {
    ingestCalls: 0,
    entries: 0,
    entryBytes: 0,
    durableInputs: 0,
    failedInputs: 0,
    batchesWritten: 0,
    batchBytesWritten: 0,
    batchWriteAttempts: 0,
    manifestReads: 0,
    manifestWrites: 0,
    manifestCommits: 0,
    manifestConflicts: 0,
    manifestStaleCache: 0,
    transientErrors: 0,
  };

  constructor(options: IngestorOptions) {
    if (!options?.store) throw new InvalidArgumentError('Ingestor needs a store');
    this.#store = options.store;
    this.#flushIntervalMs = positive(
      options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
      'flushIntervalMs',
      2 ** 31 - 1,
    );
    this.#flushSizeBytes = positive(
      options.flushSizeBytes ?? DEFAULT_FLUSH_SIZE_BYTES,
      'flushSizeBytes',
      2 ** 40,
    );
    this.#maxBufferedInputs = positive(
      options.maxBufferedInputs ?? DEFAULT_MAX_BUFFERED_INPUTS,
      'maxBufferedInputs',
      2 ** 31,
    );
    this.#sealAtInputs = Math.max(1, Math.ceil(this.#maxBufferedInputs / 2));
    this.#maxConcurrentWrites = positive(
      options.maxConcurrentWrites ?? DEFAULT_MAX_CONCURRENT_WRITES,
      'maxConcurrentWrites',
      1024,
    );
    this.#compression = options.batchCompression ?? 'none';
    if (this.#compression !== 'none' && this.#compression !== 'zstd') {
      throw new InvalidArgumentError(
        `batchCompression must be 'none' or 'zstd', got ${JSON.stringify(this.#compression)}`,
      );
    }
    this.#zstdLevel = options.zstdLevel;
    const prefix = options.dataPathPrefix ?? DEFAULT_DATA_PATH_PREFIX;
    checkKey(prefix, 'dataPathPrefix');
    this.#dataPathPrefix = prefix;
    const manifestPath = options.manifestPath ?? DEFAULT_MANIFEST_PATH;
    checkKey(manifestPath, 'manifestPath');
    this.#retry = resolveRetryPolicy(options.retry);
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? new UlidGenerator({ clock: this.#clock });
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? silentLogger;
    this.#onEvent = options.onEvent;
    const m = this.#m;
    this.#appender = new ManifestAppender(this.#store, manifestPath, this.#retry, this.#random, {
      onRead: () => m.manifestReads++,
      onWrite: () => m.manifestWrites++,
      onCommit: () => m.manifestCommits++,
      onConflict: (stale) => {
        m.manifestConflicts++;
        if (stale) m.manifestStaleCache++;
        this.#emit({ type: 'retry', operation: 'append', reason: 'conflict', error: undefined });
      },
      onTransient: (error) => {
        m.transientErrors++;
        this.#emit({ type: 'retry', operation: 'append', reason: 'transient', error });
      },
    });
  }

  /**
   * Buffers one call's entries (in order) with its opaque metadata. Waits while
   * `maxBufferedInputs` calls are buffered or in flight, then returns a handle.
   * @throws IngestClosedError after `close()` (also for calls still waiting then),
   *   InvalidArgumentError for an entry over 4 GiB - 1 bytes or a non-Uint8Array.
   */
  async ingest(
    entries: readonly Uint8Array[],
    metadata: Uint8Array = EMPTY,
  ): Promise<IngestHandle> {
    if (this.#closed) throw new IngestClosedError('Ingestor');
    if (!Array.isArray(entries)) throw new InvalidArgumentError('entries must be an array');
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (!(entry instanceof Uint8Array)) {
        throw new InvalidArgumentError(`entry ${i} is not a Uint8Array`);
      }
      if (entry.byteLength > MAX_RECORD_BYTES) {
        throw new InvalidArgumentError(
          `entry ${i} is ${entry.byteLength} bytes; at most ${MAX_RECORD_BYTES}`,
        );
      }
      bytes += entry.byteLength;
    }
    if (!(metadata instanceof Uint8Array) || metadata.byteLength > MAX_RECORD_BYTES) {
      throw new InvalidArgumentError('metadata must be a Uint8Array of at most 4 GiB - 1 bytes');
    }
    if (this.#inflight >= this.#maxBufferedInputs || this.#waiters.length > 0) {
      // Buffer full: the open batch cannot grow until something becomes durable, so
      // waiting for the interval would only stall the caller. Flush it now.
      this.#seal();
      // The slot is handed over by #release(), so late callers cannot barge ahead.
      await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
      if (this.#closed) {
        this.#release(1);
        throw new IngestClosedError('Ingestor');
      }
    } else {
      this.#inflight++;
    }

    const open = this.#open;
    let resolve!: (info: DurableInfo) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<DurableInfo>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A caller that never awaits the handle must not crash the process on failure.
    promise.catch(() => {});
    const startIndex = open.records.length;
    open.inputs.push({
      startIndex,
      recordCount: entries.length,
      ingestionTimeMs: Math.floor(this.#clock.now()),
      payload: metadata,
      resolve,
      reject,
    });
    for (let i = 0; i < entries.length; i++) open.records.push(entries[i]!);
    open.blockBytes += bytes + 4 * entries.length;
    const m = this.#m;
    m.ingestCalls++;
    m.entries += entries.length;
    m.entryBytes += bytes;

    if (open.blockBytes >= this.#flushSizeBytes || open.inputs.length >= this.#sealAtInputs) {
      this.#seal();
    } else if (this.#timer === undefined) {
      // Armed by the batch's first input and never re-armed by later ones.
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#seal();
      }, this.#flushIntervalMs);
    }
    return new Handle(promise);
  }

  /**
   * Seals the current batch and waits until every batch sealed so far is durable or
   * failed.
   * @throws FlushFailedError (the first failure among those batches).
   */
  async flush(): Promise<void> {
    this.#seal();
    const batches = [...this.#sealed];
    await Promise.all(batches.map((b) => b.settled));
    const failed = batches.find((b) => b.error !== undefined);
    if (failed) throw failed.error;
  }

  /**
   * Rejects calls still waiting for buffer space, flushes everything accepted, and
   * stops. Idempotent. Never throws for data failures: those reject their handles.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#doClose();
    return this.#closePromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  metrics(): IngestorMetrics {
    return { ...this.#m, bufferedInputs: this.#inflight };
  }

  async #doClose(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new IngestClosedError('Ingestor'));
    try {
      await this.flush();
    } catch {
      // Reported on the handles.
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #release(count: number): void {
    for (let i = 0; i < count; i++) {
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve();
      else this.#inflight--;
    }
  }

  #seal(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const open = this.#open;
    if (open.inputs.length === 0) return;
    this.#open = { records: [], inputs: [], blockBytes: 0 };
    const now = monotonicNow();
    let markSettled!: () => void;
    const settled = new Promise<void>((resolve) => {
      markSettled = resolve;
    });
    const batch: SealedBatch = {
      records: open.records,
      inputs: open.inputs,
      blockBytes: open.blockBytes,
      sealedAt: now,
      deadline: now + this.#retry.deadlineMs,
      state: 'waiting',
      location: '',
      error: undefined,
      settled,
      markSettled,
    };
    this.#sealed.push(batch);
    this.#writeQueue.push(batch);
    this.#pumpWrites();
  }

  #pumpWrites(): void {
    while (this.#activeWrites < this.#maxConcurrentWrites && this.#writeQueue.length > 0) {
      const batch = this.#writeQueue.shift()!;
      batch.state = 'writing';
      this.#activeWrites++;
      void this.#writeBatch(batch).finally(() => {
        this.#activeWrites--;
        this.#pumpWrites();
        this.#pumpAppends();
      });
    }
  }

  async #writeBatch(batch: SealedBatch): Promise<void> {
    const started = monotonicNow();
    let attempts = 0;
    try {
      const bytes = encodeBatch(batch.records, {
        compression: this.#compression,
        ...(this.#zstdLevel === undefined ? {} : { level: this.#zstdLevel }),
      });
      // The encoded object is all a retry needs; let the entries go.
      batch.records = [];
      let location = this.#newLocation();
      let maybeWritten = false;
      for (;;) {
        attempts++;
        this.#m.batchWriteAttempts++;
        try {
          await this.#store.put(location, bytes, { mode: 'create' });
          break;
        } catch (err) {
          if (err instanceof AlreadyExistsError) {
            if (maybeWritten && (await this.#isOurObject(location, bytes.byteLength))) break;
            // A name collision (or a stranger's object): take a fresh name.
            location = this.#newLocation();
            maybeWritten = false;
            continue;
          }
          if (!isTransient(err)) throw err;
          this.#m.transientErrors++;
          maybeWritten ||= err.maybeApplied;
          this.#emit({ type: 'retry', operation: 'write-batch', reason: 'transient', error: err });
          const delay = backoffDelay(attempts - 1, this.#retry, this.#random);
          if (monotonicNow() + delay > batch.deadline) {
            throw new FlushFailedError(
              `writing batch ${location} failed for ${Math.round(monotonicNow() - batch.sealedAt)} ms: ${err.message}`,
              { location, retryable: true, maybeEnqueued: false, cause: err },
            );
          }
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
      batch.location = location;
      batch.state = 'written';
      this.#m.batchesWritten++;
      this.#m.batchBytesWritten += bytes.byteLength;
      this.#emit({
        type: 'batch-written',
        location,
        inputs: batch.inputs.length,
        records: batch.inputs.reduce((n, input) => n + input.recordCount, 0),
        blockBytes: batch.blockBytes,
        objectBytes: bytes.byteLength,
        attempts,
        durationMs: monotonicNow() - started,
      });
    } catch (err) {
      batch.records = [];
      const error =
        err instanceof FlushFailedError
          ? err
          : new FlushFailedError(`writing batch failed: ${(err as Error)?.message ?? err}`, {
              location: batch.location,
              retryable: isTransient(err) || (isIngestError(err) && err.retryable),
              maybeEnqueued: false,
              cause: err,
            });
      this.#fail(batch, error);
    }
  }

  /** After a lost reply then AlreadyExists: is the object there the one we wrote? */
  async #isOurObject(location: string, size: number): Promise<boolean> {
    try {
      return (await this.#store.head(location)).size === size;
    } catch {
      return false;
    }
  }

  #newLocation(): string {
    const id = this.#ids.next();
    if (!isUlid(id)) {
      throw new InvalidArgumentError(`id source returned ${JSON.stringify(id)}, not a ULID`);
    }
    return `${this.#dataPathPrefix}/${id}.batch`;
  }

  #pumpAppends(): void {
    if (this.#appending) return;
    // Drop failed batches at the head (already rejected), take the written run after it.
    const group: SealedBatch[] = [];
    for (const batch of this.#sealed) {
      if (batch.state === 'failed' || batch.state === 'done') continue;
      if (batch.state !== 'written') break;
      group.push(batch);
    }
    this.#compactSealed();
    if (group.length === 0) return;
    this.#appending = true;
    void this.#appendGroup(group).finally(() => {
      this.#appending = false;
      this.#compactSealed();
      this.#pumpAppends();
    });
  }

  #compactSealed(): void {
    while (this.#sealed.length > 0) {
      const state = this.#sealed[0]!.state;
      if (state !== 'failed' && state !== 'done') break;
      this.#sealed.shift();
    }
  }

  async #appendGroup(group: SealedBatch[]): Promise<void> {
    const started = monotonicNow();
    const items: AppendItem[] = group.map((batch) => ({
      location: batch.location,
      metadata: batch.inputs.map(
        (input): MetadataItem => ({
          startIndex: input.startIndex,
          ingestionTimeMs: input.ingestionTimeMs,
          payload: input.payload,
        }),
      ),
    }));
    let outcomes: AppendOutcome[];
    try {
      outcomes = await this.#appender.append(items, Math.min(...group.map((b) => b.deadline)));
    } catch (err) {
      // append() settles every item itself; this is a bug guard, never a silent success.
      outcomes = group.map((b) => ({
        ok: false,
        error: new FlushFailedError(`enqueueing batch ${b.location} failed: ${err}`, {
          location: b.location,
          retryable: false,
          maybeEnqueued: true,
          cause: err,
        }),
      }));
    }
    const locations: string[] = [];
    const sequences: bigint[] = [];
    for (let k = 0; k < group.length; k++) {
      const batch = group[k]!;
      const outcome = outcomes[k]!;
      if (outcome.ok) {
        batch.state = 'done';
        locations.push(batch.location);
        sequences.push(outcome.sequence);
        for (const input of batch.inputs) {
          input.resolve({
            sequence: outcome.sequence,
            location: batch.location,
            startIndex: input.startIndex,
            recordCount: input.recordCount,
          });
        }
        this.#m.durableInputs += batch.inputs.length;
        this.#release(batch.inputs.length);
        batch.markSettled();
      } else {
        this.#fail(batch, outcome.error);
      }
    }
    if (locations.length > 0) {
      this.#emit({ type: 'enqueued', locations, sequences, durationMs: monotonicNow() - started });
    }
  }

  #fail(batch: SealedBatch, error: FlushFailedError): void {
    batch.state = 'failed';
    batch.error = error;
    for (const input of batch.inputs) input.reject(error);
    this.#m.failedInputs += batch.inputs.length;
    this.#release(batch.inputs.length);
    this.#logger.error(
      { location: batch.location, inputs: batch.inputs.length, err: error },
      'ingest batch failed; its ingest() calls were rejected',
    );
    this.#emit({
      type: 'flush-failed',
      location: batch.location,
      inputs: batch.inputs.length,
      error,
    });
    batch.markSettled();
  }

  #emit(event: IngestorEvent): void {
    if (!this.#onEvent) return;
    try {
      this.#onEvent(event);
    } catch (err) {
      this.#logger.warn({ err }, 'ingest onEvent hook threw; ignored');
    }
  }
}

function positive(value: number, name: string, max: number): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= max)) {
    throw new InvalidArgumentError(`${name} must be a number in (0, ${max}], got ${value}`);
  }
  return value;
}

function checkKey(key: string, name: string): void {
  try {
    validateKey(key);
  } catch (err) {
    throw new InvalidArgumentError(`${name} ${JSON.stringify(key)} is not a valid object key`, {
      cause: err,
    });
  }
}
