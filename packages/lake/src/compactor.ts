/**
 * The compactor: ingest-queue batches in, committed Parquet out, every queue entry
 * exactly once (docs/005-lake.md has the argument).
 *
 * A round reads batches in sequence order, demultiplexes their entries by table and
 * event hour, and when a trigger fires (a partition reached the target file size or
 * rows, the buffer reached `maxBufferedBytes`, or the oldest buffered batch waited
 * `maxFileAgeMs`) writes ALL buffered rows as Parquet files, then ONE commit object
 * `_commits/{n}.json` (create-only) listing them and the highest queue sequence they
 * contain. Only then are the batches acked and flushed from the queue.
 *
 * The commit chain is the source of truth: commit n+1 is only ever created by a
 * compactor that has applied commits 1..n, and covers queue sequences after commit n's.
 * Losing the create race means someone else committed: the queue epoch tells whether
 * that was a newer collector (we are fenced: stop) or an older zombie that slipped a
 * commit in (reload and go on without the entries it committed).
 */
import { UlidGenerator } from '@sediment/ingest';
import type { ObjectStore } from '@sediment/object-store';
import {
  CHECKPOINT_FORMAT,
  COMMIT_FORMAT,
  type CommitRecord,
  type CommittedFile,
  encodeJson,
  type QuarantinedEntry,
} from './commit-format.js';
import { applyCommit, CommitLog, type LakeState } from './commit-log.js';
import { DedupWindow } from './dedup-window.js';
import { EntryDecoder } from './entry-decoder.js';
import {
  CompactorClosedError,
  FencedError,
  InvalidConfigError,
  isLakeError,
  ParquetEncodeError,
} from './errors.js';
import { collectOrphans } from './gc.js';
import {
  dataFileKey,
  hourOfMs,
  normalizeLakePrefix,
  OTLP_TABLES,
  partitionOfHour,
  quarantineKey,
} from './layout.js';
import { type Logger, stderrLogger } from './logger.js';
import type { ParquetWriterKind } from './parquet-encoder.js';
import {
  InlineParquetEncoder,
  type ParquetEncoder,
  WorkerParquetEncoder,
} from './parquet-worker.js';
import { PARQUET_ENCODINGS, type ParquetEncoding } from './parquet-writer.js';
import {
  isQueueFenced,
  isResumeOutOfRange,
  type QueueBatch,
  type QueueBatchMetadata,
  type QueueSource,
} from './queue-source.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';
import { entryId, type Group, type PieceRef, Round, type WrittenFile } from './round.js';
import { TsRange } from './ts-range.js';

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export interface IdSource {
  /** A new unique, sortable name (ULID) per call. */
  next(): string;
}

/** What the compactor reports through `onEvent` (for metrics; never throw from it). */
export type CompactorEvent =
  | {
      readonly type: 'commit';
      readonly commit: number;
      readonly files: number;
      readonly rows: number;
      readonly entries: number;
      readonly bytes: number;
      readonly firstSequence: bigint;
      readonly lastSequence: bigint;
      readonly durationMs: number;
      /** The committed record itself (per-file tables, partitions, rows, bytes). */
      readonly record: CommitRecord;
    }
  | {
      readonly type: 'quarantine';
      readonly key: string;
      readonly reason: string;
      readonly table: string | undefined;
      readonly sequence: bigint;
      readonly entryIndex: number;
    }
  | { readonly type: 'duplicates-skipped'; readonly entries: number; readonly rows: number }
  | {
      readonly type: 'conflict';
      readonly commit: number;
      readonly resolution: 'fenced' | 'reloaded';
    }
  | { readonly type: 'orphans-deleted'; readonly count: number }
  | { readonly type: 'retry'; readonly operation: string; readonly error: unknown };

export interface CompactorOptions {
  readonly store: ObjectStore;
  readonly queue: QueueSource;
  /** Default `lake`. */
  readonly lakePrefix?: string;
  /** A round flushes when one partition's buffered Arrow IPC bytes reach this (also the
   *  most input bytes per file; Parquet comes out ~10x smaller). Default 128 MiB. */
  readonly targetFileBytes?: number;
  /** …or its rows reach this (also the most rows per file). Default 1,048,576. */
  readonly targetFileRows?: number;
  /** …or the oldest buffered batch waited this long. Default 60 s. */
  readonly maxFileAgeMs?: number;
  /** …or all partitions together buffer this many bytes. Default 2 × targetFileBytes. */
  readonly maxBufferedBytes?: number;
  /** Rows per Parquet row group. Default 131,072. */
  readonly rowGroupRows?: number;
  /** Uncommitted data files older than this are deleted by GC. Default 1 hour. */
  readonly orphanGracePeriodMs?: number;
  /** How often orphan GC runs (it also runs at start); 0 = only at start. Default 10 min. */
  readonly gcIntervalMs?: number;
  /** How long committed idempotency keys are remembered. Default 10 min; 0 = off. */
  readonly dedupWindowMs?: number;
  /** Write a checkpoint every this many commits. Default 20. */
  readonly checkpointInterval?: number;
  /** Sleep of the `run()` loop when the queue is empty. Default 250 ms. */
  readonly pollIntervalMs?: number;
  /** How often `queue.gc()` runs between rounds (when the queue has it). Default 5 min. */
  readonly queueGcIntervalMs?: number;
  /**
   * Most queue batches read per manifest read, fetched concurrently (when the queue has
   * `nextBatches`). Many small batches on a store with latency are read this many times
   * faster. Default 16; 1 reads one batch at a time.
   */
  readonly readAheadBatches?: number;
  /** Memory the read-ahead may hold, judged by the average size of the batches seen so
   *  far. Default 16 MiB. */
  readonly readAheadBytes?: number;
  /** Accepted table names; `null` accepts any valid name. Default: the OTLP tables. */
  readonly allowedTables?: readonly string[] | null;
  readonly clock?: Clock;
  readonly ids?: IdSource;
  readonly logger?: Logger;
  readonly onEvent?: (event: CompactorEvent) => void;
  /**
   * Where Parquet is encoded: `worker` (default) keeps the event loop free while a file
   * is encoded (the writer also answers Flight puts); `inline` encodes on the calling
   * thread; or your own `ParquetEncoder`.
   */
  readonly encoder?: 'worker' | 'inline' | ParquetEncoder;
  /**
   * With the `worker` encoder: the Linux nice value (0–19) of its thread. Above 0,
   * compaction yields the CPU to the process's other threads (in the writer, those that
   * ack puts) and takes the cycles they leave. Default 0.
   */
  readonly encoderNice?: number;
  /**
   * Which Parquet writer the built-in encoders use: `sediment` (default; this package's
   * TypeScript writer, 2–3× faster; any file it cannot write goes to parquet-wasm) or
   * `parquet-wasm` (arrow-rs in WebAssembly).
   */
  readonly parquetWriter?: ParquetWriterKind;
  /** zstd level of the sediment writer's pages. Default 1 (the best speed/size point). */
  readonly zstdLevel?: number;
  /**
   * The sediment writer's value encodings: `delta` (default; strings
   * DELTA_LENGTH_BYTE_ARRAY, 64-bit integers and timestamps DELTA_BINARY_PACKED: smaller
   * and faster) or `plain`, for readers without the delta encodings (Spark before 3.3).
   */
  readonly parquetEncoding?: ParquetEncoding;
  /** Object-store retries. Default 8 attempts, 50 ms doubling to 5 s. */
  readonly retry?: Partial<RetryPolicy>;
}

export interface CompactorStats {
  readonly commits: number;
  readonly files: number;
  readonly rows: number;
  readonly bytes: number;
  readonly entries: number;
  readonly quarantinedEntries: number;
  readonly duplicateEntries: number;
  readonly duplicateRows: number;
  readonly splitEntries: number;
  /** Files the sediment writer handed to parquet-wasm (see the `warn` log for why). */
  readonly parquetFallbacks: number;
  readonly conflicts: number;
  readonly orphansDeleted: number;
}

export interface RunOnceResult {
  /** Queue batches read by this call. */
  readonly batches: number;
  /** The commit written by this call, if any. */
  readonly commit: CommitRecord | undefined;
}

export interface DrainResult {
  readonly batches: number;
  readonly commits: readonly CommitRecord[];
}

interface ResolvedOptions {
  readonly prefix: string;
  readonly targetFileBytes: number;
  readonly targetFileRows: number;
  readonly maxFileAgeMs: number;
  readonly maxBufferedBytes: number;
  readonly rowGroupRows: number;
  readonly orphanGracePeriodMs: number;
  readonly gcIntervalMs: number;
  readonly dedupWindowMs: number;
  readonly checkpointInterval: number;
  readonly pollIntervalMs: number;
  readonly queueGcIntervalMs: number;
  readonly readAheadBatches: number;
  readonly readAheadBytes: number;
  readonly allowedTables: ReadonlySet<string> | null;
  readonly retry: RetryPolicy;
  readonly parquetWriter: ParquetWriterKind;
  readonly zstdLevel: number;
  readonly parquetEncoding: ParquetEncoding;
}

const MiB = 1024 * 1024;

function positive(
  name: string,
  value: number | undefined,
  fallback: number,
  allowZero = false,
): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new InvalidConfigError(
      name,
      `must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`,
    );
  }
  return v;
}

export function resolveCompactorOptions(o: CompactorOptions): ResolvedOptions {
  const targetFileBytes = positive('targetFileBytes', o.targetFileBytes, 128 * MiB);
  const rowGroupRows = positive('rowGroupRows', o.rowGroupRows, 131_072);
  const orphanGracePeriodMs = positive('orphanGracePeriodMs', o.orphanGracePeriodMs, 3_600_000);
  const maxFileAgeMs = positive('maxFileAgeMs', o.maxFileAgeMs, 60_000, true);
  const allowed = o.allowedTables === undefined ? OTLP_TABLES : o.allowedTables;
  return Object.freeze({
    prefix: normalizeLakePrefix(o.lakePrefix ?? 'lake'),
    targetFileBytes,
    targetFileRows: Math.floor(positive('targetFileRows', o.targetFileRows, 1_048_576)),
    maxFileAgeMs,
    maxBufferedBytes: positive('maxBufferedBytes', o.maxBufferedBytes, 2 * targetFileBytes),
    rowGroupRows: Math.floor(rowGroupRows),
    orphanGracePeriodMs,
    gcIntervalMs: positive('gcIntervalMs', o.gcIntervalMs, 600_000, true),
    dedupWindowMs: positive('dedupWindowMs', o.dedupWindowMs, 600_000, true),
    checkpointInterval: Math.floor(positive('checkpointInterval', o.checkpointInterval, 20)),
    readAheadBatches: Math.max(1, Math.floor(positive('readAheadBatches', o.readAheadBatches, 16))),
    readAheadBytes: positive('readAheadBytes', o.readAheadBytes, 16 * MiB),
    pollIntervalMs: positive('pollIntervalMs', o.pollIntervalMs, 250),
    queueGcIntervalMs: positive('queueGcIntervalMs', o.queueGcIntervalMs, 300_000, true),
    allowedTables: allowed === null ? null : new Set(allowed),
    retry: { ...DEFAULT_RETRY, ...o.retry },
    parquetWriter: parquetWriterOption(o.parquetWriter),
    zstdLevel: zstdLevelOption(o.zstdLevel),
    parquetEncoding: parquetEncodingOption(o.parquetEncoding),
  });
}

function parquetEncodingOption(v: ParquetEncoding | undefined): ParquetEncoding {
  if (v === undefined || PARQUET_ENCODINGS.includes(v)) return v ?? 'delta';
  throw new InvalidConfigError(
    'parquetEncoding',
    `must be one of ${PARQUET_ENCODINGS.join(', ')}, got ${String(v)}`,
  );
}

function parquetWriterOption(v: ParquetWriterKind | undefined): ParquetWriterKind {
  if (v === undefined || v === 'sediment' || v === 'parquet-wasm') return v ?? 'sediment';
  throw new InvalidConfigError(
    'parquetWriter',
    `must be "sediment" or "parquet-wasm", got ${String(v)}`,
  );
}

function zstdLevelOption(v: number | undefined): number {
  const level = v ?? 1;
  if (!Number.isInteger(level) || level < -7 || level > 22)
    throw new InvalidConfigError('zstdLevel', `must be an integer in -7..22, got ${String(v)}`);
  return level;
}

const systemClock: Clock = { now: () => Date.now() };

type Phase = 'new' | 'starting' | 'running' | 'fenced' | 'closed';

export class Compactor implements AsyncDisposable {
  readonly #store: ObjectStore;
  readonly #queue: QueueSource;
  readonly #o: ResolvedOptions;
  readonly #clock: Clock;
  readonly #ids: IdSource;
  readonly #logger: Logger;
  readonly #onEvent: ((e: CompactorEvent) => void) | undefined;
  readonly #log: CommitLog;
  readonly #decoder: EntryDecoder;
  readonly #encoder: ParquetEncoder;
  readonly #ownsEncoder: boolean;
  /** This process's identity in commits. */
  readonly writerId: string;

  #phase: Phase = 'new';
  #state: LakeState | undefined;
  #dedup: DedupWindow;
  #round = new Round();
  /** Entries found unwritable while encoding; excluded when the round is rebuilt. */
  #badEntries = new Map<string, { reason: string; message: string }>();
  /** Highest sequence `#next()` handed to a round. */
  #delivered: bigint | undefined;
  /** Batches the queue returned that no round has taken yet, in order (read-ahead). */
  #ahead: QueueBatch[] = [];
  /** Running average of the batches' Arrow bytes, sizing the read-ahead. */
  #avgBatchBytes = 0;
  /** Highest sequence acked AND flushed; below the committed one means work to do. */
  #flushedUpTo: bigint | undefined;
  /** Data files written but not committed yet (GC must not touch them). */
  readonly #pending = new Set<string>();
  #lock: Promise<unknown> = Promise.resolve();
  #gcRunning: Promise<void> | undefined;
  #gcTimer: NodeJS.Timeout | undefined;
  #lastQueueGcMs = 0;
  #wake: (() => void) | undefined;
  #runLoop: Promise<void> | undefined;
  #stats = {
    commits: 0,
    files: 0,
    rows: 0,
    bytes: 0,
    entries: 0,
    quarantinedEntries: 0,
    duplicateEntries: 0,
    duplicateRows: 0,
    splitEntries: 0,
    parquetFallbacks: 0,
    conflicts: 0,
    orphansDeleted: 0,
  };

  constructor(options: CompactorOptions) {
    if (!options?.store) throw new InvalidConfigError('store', 'is required');
    if (!options.queue) throw new InvalidConfigError('queue', 'is required');
    this.#store = options.store;
    this.#queue = options.queue;
    this.#o = resolveCompactorOptions(options);
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? new UlidGenerator({ clock: this.#clock });
    this.#logger = options.logger ?? stderrLogger;
    this.#onEvent = options.onEvent;
    this.#log = new CommitLog(this.#store, this.#o.prefix, {
      retry: this.#o.retry,
      logger: this.#logger,
    });
    this.#decoder = new EntryDecoder({ allowedTables: this.#o.allowedTables });
    const enc = options.encoder ?? 'worker';
    this.#ownsEncoder = typeof enc === 'string';
    const onFallback = (reason: string) => {
      this.#stats.parquetFallbacks++;
      this.#logger.warn({ reason }, 'sediment Parquet writer fell back to parquet-wasm for a file');
    };
    const onNiceFailed = (reason: string) =>
      this.#logger.warn(
        { nice: options.encoderNice, reason },
        'could not lower the Parquet encoder thread priority; it runs at normal priority',
      );
    this.#encoder =
      enc === 'worker'
        ? new WorkerParquetEncoder({ onFallback, nice: options.encoderNice ?? 0, onNiceFailed })
        : enc === 'inline'
          ? new InlineParquetEncoder({ onFallback })
          : enc;
    this.#dedup = new DedupWindow(this.#o.dedupWindowMs);
    this.writerId = this.#ids.next();
  }

  get lakePrefix(): string {
    return this.#o.prefix;
  }

  /** Latest commit this compactor knows (0 before any). */
  get lastCommit(): number {
    return this.#state?.commit ?? 0;
  }

  /** Highest queue sequence committed, as known to this compactor. */
  get lastCommittedSequence(): bigint | undefined {
    return this.#state?.lastSequence;
  }

  get stats(): CompactorStats {
    return { ...this.#stats };
  }

  /** Rows and bytes read from the queue but not committed yet. */
  get buffered(): { readonly batches: number; readonly rows: number; readonly bytes: number } {
    return {
      batches: this.#round.batches.length,
      rows: this.#round.rows,
      bytes: this.#round.bytes,
    };
  }

  /**
   * Loads the lake state (latest checkpoint + later commits), takes over the queue
   * resuming after the last committed sequence, and starts orphan GC (now and every
   * `gcIntervalMs`, in the background). Idempotent once it succeeded.
   * @throws FencedError, StoreUnavailableError, CorruptCommitLogError, the queue's
   *   ResumeOutOfRangeError when the queue lost entries the lake never committed.
   */
  async start(): Promise<void> {
    if (this.#phase === 'running') return;
    this.#assertUsable();
    if (this.#phase === 'starting') throw new InvalidConfigError('start', 'already in progress');
    this.#phase = 'starting';
    try {
      const state = await this.#log.loadLatest();
      this.#adoptState(state);
      for (let attempt = 0; ; attempt++) {
        try {
          const last = this.#state!.lastSequence;
          await this.#queue.initialize(last === undefined ? {} : { resumeAfter: last });
          this.#delivered = last;
          this.#ahead = [];
          this.#flushedUpTo = undefined;
          break;
        } catch (err) {
          if (isResumeOutOfRange(err) && attempt < 5) {
            // Someone committed (and flushed) after we read the log: catch up and retry.
            const applied = await this.#catchUp();
            if (applied > 0) continue;
          }
          throw this.#mapQueueError(err);
        }
      }
      this.#phase = 'running';
    } catch (err) {
      if (this.#phase === 'starting') this.#phase = 'new';
      throw err;
    }
    this.#logger.info(
      {
        commit: this.#state!.commit,
        lastSequence: this.#state!.lastSequence,
        writerId: this.writerId,
      },
      'compactor started',
    );
    this.#startGc();
  }

  /**
   * Reads the batches available now until a flush trigger fires, and commits if one
   * did. Returns without committing when the queue is empty and no trigger fired.
   * @throws FencedError (stop), StoreUnavailableError (retry later), queue errors.
   */
  async runOnce(): Promise<RunOnceResult> {
    return this.#exclusive(async () => {
      await this.#settleQueue();
      let batches = 0;
      while (!this.#shouldFlush()) {
        const batch = await this.#next();
        if (!batch) break;
        batches++;
        this.#addBatch(batch);
      }
      const commit = this.#shouldFlush() ? await this.#commitRound() : undefined;
      await this.#maybeQueueGc();
      return { batches, commit };
    });
  }

  /**
   * Consumes everything queued now and commits it (several commits when it exceeds the
   * file targets), then acks and flushes the queue. For shutdown (SIGTERM).
   */
  async drain(): Promise<DrainResult> {
    return this.#exclusive(async () => {
      await this.#settleQueue();
      let batches = 0;
      const commits: CommitRecord[] = [];
      for (;;) {
        const batch = await this.#next();
        if (!batch) break;
        batches++;
        this.#addBatch(batch);
        if (this.#shouldFlush()) {
          const c = await this.#commitRound();
          if (c) commits.push(c);
        }
      }
      if (!this.#round.isEmpty) {
        const c = await this.#commitRound();
        if (c) commits.push(c);
      }
      return { batches, commits };
    });
  }

  /**
   * Runs rounds until `close()`: `runOnce()`, sleeping `pollIntervalMs` when idle,
   * backing off on retryable errors. Resolves on close; rejects on FencedError and
   * other fatal errors (the caller should stop the process or restart the compactor).
   */
  run(): Promise<void> {
    this.#runLoop ??= this.#loop();
    return this.#runLoop;
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (this.#phase === 'running') {
      let progressed = false;
      try {
        const r = await this.runOnce();
        progressed = r.batches > 0 || r.commit !== undefined;
        failures = 0;
      } catch (err) {
        if (err instanceof CompactorClosedError) return;
        if (!isRetryableError(err)) {
          this.#logger.error({ err }, 'compactor stopped');
          throw err;
        }
        failures++;
        const delay = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
        this.#logger.warn({ err, failures, delayMs: delay }, 'compaction round failed; retrying');
        this.#emit({ type: 'retry', operation: 'round', error: err });
        await this.#sleep(delay);
        continue;
      }
      if (!progressed) await this.#sleep(this.#o.pollIntervalMs);
    }
  }

  /**
   * Orphan GC now: deletes uncommitted data files older than the grace period.
   */
  async collectOrphans(): Promise<{ deleted: readonly string[] }> {
    const result = await collectOrphans(this.#store, this.#o.prefix, {
      gracePeriodMs: this.#o.orphanGracePeriodMs,
      now: () => this.#clock.now(),
      exclude: (key) => this.#pending.has(key),
      logger: this.#logger,
      retry: this.#o.retry,
    });
    if (result.deleted.length > 0) {
      this.#stats.orphansDeleted += result.deleted.length;
      this.#emit({ type: 'orphans-deleted', count: result.deleted.length });
    }
    return { deleted: result.deleted };
  }

  /**
   * Stops the loop and timers and waits for the operation in progress. Buffered,
   * uncommitted batches stay in the queue (call `drain()` first to commit them).
   * Idempotent; does not close the store or the queue (the caller owns them).
   */
  async close(): Promise<void> {
    if (this.#phase === 'closed') return;
    const wasRunning = this.#phase === 'running';
    this.#phase = 'closed';
    if (this.#gcTimer) clearInterval(this.#gcTimer);
    this.#wake?.();
    if (wasRunning) await this.#lock.catch(() => {});
    await this.#runLoop?.catch(() => {});
    await this.#gcRunning;
    if (this.#ownsEncoder) await this.#encoder.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- internals

  #assertUsable(): void {
    if (this.#phase === 'closed') throw new CompactorClosedError();
    if (this.#phase === 'fenced') throw new FencedError('this compactor was fenced earlier');
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      this.#assertUsable();
      if (this.#phase !== 'running') throw new InvalidConfigError('start', 'call start() first');
      try {
        return await fn();
      } catch (err) {
        if (err instanceof FencedError) this.#phase = 'fenced';
        throw err;
      }
    };
    const p = this.#lock.then(run, run);
    this.#lock = p.catch(() => {});
    return p;
  }

  #emit(event: CompactorEvent): void {
    try {
      this.#onEvent?.(event);
    } catch (err) {
      this.#logger.warn({ err, event: event.type }, 'onEvent hook threw');
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }

  #adoptState(state: LakeState): void {
    this.#state = state;
    this.#dedup = new DedupWindow(this.#o.dedupWindowMs);
    this.#drainDedupKeys();
  }

  #drainDedupKeys(): void {
    const state = this.#state!;
    for (const [table, key, ms] of state.dedupKeys) this.#dedup.add(table, key, ms);
    state.dedupKeys.length = 0;
    this.#dedup.prune(this.#clock.now());
  }

  /** Applies commits written by others since our state; returns how many. */
  async #catchUp(): Promise<number> {
    const applied = await this.#log.catchUp(this.#state!);
    this.#drainDedupKeys();
    return applied.length;
  }

  #mapQueueError(err: unknown): unknown {
    if (isQueueFenced(err)) {
      this.#phase = 'fenced';
      return new FencedError('the ingest queue reports a newer collector epoch', { cause: err });
    }
    return err;
  }

  /**
   * The next batch for the round. Reads ahead: one `nextBatches` call (one manifest read)
   * fetches up to `readAheadBatches` batches concurrently; the queue counts them as
   * returned, so the ones no round took yet wait in `#ahead` (they stay uncommitted in
   * the queue: a restart reads them again after the last commit).
   */
  async #next(): Promise<QueueBatch | undefined> {
    if (this.#ahead.length === 0) {
      try {
        const queue = this.#queue;
        if (queue.nextBatches) this.#ahead = await queue.nextBatches(this.#readAheadCount());
        else {
          const one = await queue.nextBatch();
          if (one) this.#ahead = [one];
        }
      } catch (err) {
        throw this.#mapQueueError(err);
      }
    }
    const batch = this.#ahead.shift();
    if (batch) {
      this.#delivered = batch.sequence;
      let bytes = 0;
      for (const e of batch.entries) bytes += e.byteLength;
      this.#avgBatchBytes =
        this.#avgBatchBytes === 0 ? bytes : 0.8 * this.#avgBatchBytes + 0.2 * bytes;
    }
    return batch;
  }

  #readAheadCount(): number {
    const { readAheadBatches, readAheadBytes } = this.#o;
    if (this.#avgBatchBytes === 0) return 1;
    return Math.max(
      1,
      Math.min(readAheadBatches, Math.floor(readAheadBytes / this.#avgBatchBytes)),
    );
  }

  /** Acks + flushes everything committed and delivered that is not flushed yet. */
  async #settleQueue(): Promise<void> {
    const committed = this.#state!.lastSequence;
    const delivered = this.#delivered;
    if (committed === undefined || delivered === undefined) return;
    // biome-ignore lint/complexity/useMathMinMax: bigints (Math.min throws on them)
    const target = committed < delivered ? committed : delivered;
    if (this.#flushedUpTo !== undefined && this.#flushedUpTo >= target) return;
    try {
      await this.#queue.ack(target);
      await this.#queue.flush();
    } catch (err) {
      throw this.#mapQueueError(err);
    }
    this.#flushedUpTo = target;
  }

  async #maybeQueueGc(): Promise<void> {
    if (!this.#queue.gc || this.#o.queueGcIntervalMs === 0) return;
    const now = this.#clock.now();
    if (now - this.#lastQueueGcMs < this.#o.queueGcIntervalMs) return;
    this.#lastQueueGcMs = now;
    try {
      await this.#queue.gc();
    } catch (err) {
      const mapped = this.#mapQueueError(err);
      if (mapped instanceof FencedError) throw mapped;
      this.#logger.warn({ err }, 'ingest-queue GC failed; will retry');
    }
  }

  #shouldFlush(): boolean {
    const r = this.#round;
    if (r.isEmpty) return false;
    const o = this.#o;
    return (
      r.maxGroupRows >= o.targetFileRows ||
      r.maxGroupBytes >= o.targetFileBytes ||
      r.bytes >= o.maxBufferedBytes ||
      this.#clock.now() - (r.startedAtMs ?? 0) >= o.maxFileAgeMs
    );
  }

  /** Adds a batch to the round: decode, dedup, quarantine-detect. */
  #addBatch(batch: QueueBatch): void {
    const committed = this.#state!.lastSequence;
    if (committed !== undefined && batch.sequence <= committed) return; // committed by someone else
    const round = this.#round;
    const now = this.#clock.now();
    round.addBatchHeader(batch, now);
    const items = spans(batch);
    for (const item of items) {
      const keyB64 =
        item.key && item.key.length > 0 ? Buffer.from(item.key).toString('base64') : undefined;
      const itemIds = keyB64 ? new Map<string, string>() : undefined;
      const fallbackHour = hourOfMs(item.ingestionTimeMs);
      for (let i = item.start; i < item.end; i++) {
        const bytes = batch.entries[i]!;
        const id = entryId(batch.sequence, i);
        round.entries++;
        const bad = this.#badEntries.get(id);
        if (bad) {
          round.quarantine.push({
            sequence: batch.sequence,
            entryIndex: i,
            bytes,
            ...bad,
            table: undefined,
          });
          continue;
        }
        const decoded = this.#decoder.decode(bytes, fallbackHour);
        if (!decoded.ok) {
          round.quarantine.push({
            sequence: batch.sequence,
            entryIndex: i,
            bytes,
            reason: decoded.error.reason,
            message: decoded.error.message,
            table: decoded.table,
          });
          continue;
        }
        const table = decoded.schema.table;
        if (keyB64 && itemIds) {
          const dedupId = DedupWindow.id(table, keyB64);
          if (
            !itemIds.has(dedupId) &&
            (round.dedupIds.has(dedupId) || this.#dedup.has(dedupId, now))
          ) {
            round.duplicateEntries++;
            round.duplicateRows += decoded.rows;
            continue;
          }
          itemIds.set(dedupId, table);
        }
        if (decoded.slow) round.slowEntries++;
        for (const piece of decoded.pieces) round.addPiece(decoded.schema, piece, id);
      }
      if (keyB64 && itemIds)
        for (const [dedupId, table] of itemIds) round.addDedupKey(dedupId, table, keyB64);
    }
  }

  /** Rebuilds the round from its batches (after a reload or newly found bad entries). */
  #rebuildRound(): void {
    const batches = this.#round.batches;
    this.#round = new Round();
    for (const b of batches) this.#addBatch(b);
  }

  async #discardWritten(round: Round): Promise<void> {
    const files = round.written ?? [];
    round.written = undefined;
    round.roundId = undefined;
    await Promise.all(
      files.map(async (f) => {
        try {
          await this.#store.delete(f.key);
        } catch (err) {
          this.#logger.warn({ err, key: f.key }, 'could not delete an uncommitted file; GC will');
        }
        this.#pending.delete(f.key);
      }),
    );
  }

  /** Writes the round's files, commits, then acks and flushes the queue. */
  async #commitRound(): Promise<CommitRecord | undefined> {
    const started = performance.now();
    for (;;) {
      const round = this.#round;
      if (round.isEmpty) {
        await this.#settleQueue();
        return undefined;
      }
      const grace = this.#o.orphanGracePeriodMs;
      if (round.written && this.#clock.now() - round.writtenAtMs > grace / 2) {
        this.#logger.warn(
          { ageMs: this.#clock.now() - round.writtenAtMs, graceMs: grace },
          'round files are too old to commit safely (GC may remove them); rewriting',
        );
        await this.#discardWritten(round);
      }
      if (!round.written) {
        const ok = await this.#writeFiles(round);
        if (!ok) continue; // bad entries found: round rebuilt, try again
      }
      await this.#writeQuarantine(round);
      if (this.#queue.verifyEpoch) {
        try {
          await this.#queue.verifyEpoch();
        } catch (err) {
          throw this.#mapQueueError(err);
        }
      }
      if (this.#clock.now() - round.writtenAtMs > grace / 2) continue;
      const state = this.#state!;
      const n = state.commit + 1;
      const record = this.#buildRecord(round, n);
      const outcome = await this.#log.create(record);
      if (outcome === 'exists') {
        await this.#resolveConflict(n, round);
        continue;
      }
      // Committed. From here on the round is done whatever fails next.
      applyCommit(state, record);
      this.#drainDedupKeys();
      this.#round = new Round();
      this.#badEntries = new Map();
      for (const f of round.written!) this.#pending.delete(f.key);
      this.#account(record, round, performance.now() - started);
      await this.#afterCommit(record);
      await this.#settleQueue();
      return record;
    }
  }

  async #resolveConflict(n: number, round: Round): Promise<void> {
    this.#stats.conflicts++;
    const other = await this.#log.readCommit(n);
    const ours = this.#queue.epoch;
    let fenced = false;
    if (other?.queueEpoch != null && ours !== undefined && BigInt(other.queueEpoch) > ours) {
      fenced = true;
    } else {
      try {
        // Reads the manifest: the authoritative epoch check.
        if (this.#queue.verifyEpoch) await this.#queue.verifyEpoch();
        else await this.#queue.flush();
      } catch (err) {
        if (!isQueueFenced(err)) throw err;
        fenced = true;
      }
    }
    if (fenced) {
      this.#emit({ type: 'conflict', commit: n, resolution: 'fenced' });
      this.#logger.warn(
        { commit: n, files: round.written?.length ?? 0 },
        'commit lost to a newer collector: fenced; uncommitted files are left to orphan GC',
      );
      this.#phase = 'fenced';
      throw new FencedError(
        `commit ${n} was created by a newer collector (epoch ${other?.queueEpoch ?? '?'})`,
      );
    }
    // An older compactor that had not noticed it was fenced slipped a commit in. Its
    // commit is valid: adopt it and keep only what it does not cover.
    const applied = await this.#catchUp();
    this.#emit({ type: 'conflict', commit: n, resolution: 'reloaded' });
    this.#logger.warn(
      { commit: n, applied, lastSequence: this.#state!.lastSequence },
      'another compactor committed first; reloaded the commit log and resumed after it',
    );
    await this.#discardWritten(round);
    this.#rebuildRound();
  }

  /**
   * Encodes and uploads every group of the round. Returns false when entries turned
   * out unwritable: they are marked bad, written files discarded, the round rebuilt.
   */
  async #writeFiles(round: Round): Promise<boolean> {
    round.written = [];
    round.writtenAtMs = this.#clock.now();
    round.roundId = this.#ids.next();
    const newlyBad = new Map<string, { reason: string; message: string }>();
    try {
      await this.#encodeAndUpload(round, newlyBad);
    } catch (err) {
      // Never leave a half-written file list behind: the next attempt starts over.
      await this.#discardWritten(round);
      throw err;
    }
    if (newlyBad.size === 0) return true;
    for (const [id, why] of newlyBad) this.#badEntries.set(id, why);
    await this.#discardWritten(round);
    this.#rebuildRound();
    return false;
  }

  async #encodeAndUpload(
    round: Round,
    newlyBad: Map<string, { reason: string; message: string }>,
  ): Promise<void> {
    const written = round.written!;
    const roundId = round.roundId!;
    for (const group of round.sortedGroups()) {
      for (const chunk of chunkPieces(group, this.#o.targetFileRows, this.#o.targetFileBytes)) {
        const results = await this.#encodeChunk(group, chunk, roundId, newlyBad);
        for (const { bytes, rows, range } of results) {
          const partition = partitionOfHour(group.hour);
          const key = dataFileKey(this.#o.prefix, group.table, partition, this.#ids.next());
          this.#pending.add(key);
          written.push({ key, table: group.table, partition, rows, bytes: bytes.length, range });
          await withRetry(
            `put ${key}`,
            this.#o.retry,
            () => this.#store.put(key, bytes),
            (error) => this.#emit({ type: 'retry', operation: 'put-data-file', error }),
          );
        }
      }
    }
  }

  /** Encodes one chunk; on failure isolates the pieces arrow-rs rejects. */
  async #encodeChunk(
    group: Group,
    chunk: readonly PieceRef[],
    roundId: string,
    bad: Map<string, { reason: string; message: string }>,
  ): Promise<{ bytes: Uint8Array; rows: number; range: TsRange }[]> {
    const opts = {
      rowGroupRows: this.#o.rowGroupRows,
      dictionaryColumns: group.schema.dictionaryColumns,
      writer: this.#o.parquetWriter,
      zstdLevel: this.#o.zstdLevel,
      parquetEncoding: this.#o.parquetEncoding,
      keyValueMetadata: new Map([
        ['sediment.table', group.table],
        ['sediment.round', roundId],
      ]),
    };
    const encode = async (refs: readonly PieceRef[]) => {
      const messages: Uint8Array[] = [group.schema.schemaMessage];
      const range = new TsRange();
      let rows = 0;
      for (const r of refs) {
        for (const m of r.piece.messages) messages.push(m);
        range.merge(r.piece.range);
        rows += r.piece.rows;
      }
      // Messages as they are: the encoder joins them if it needs one buffer.
      return { bytes: await this.#encoder.encode(messages, opts), rows, range };
    };
    try {
      return [await encode(chunk)];
    } catch (err) {
      if (!(err instanceof ParquetEncodeError)) throw err;
      this.#logger.warn(
        { err, table: group.table, pieces: chunk.length },
        'parquet encoding failed; isolating entries',
      );
      // One file per piece: the ones that fail alone are the bad entries.
      const out: { bytes: Uint8Array; rows: number; range: TsRange }[] = [];
      for (const ref of chunk) {
        try {
          out.push(await encode([ref]));
        } catch (e) {
          if (!(e instanceof ParquetEncodeError)) throw e;
          bad.set(ref.entry, { reason: 'parquet', message: e.message });
        }
      }
      return out;
    }
  }

  async #writeQuarantine(round: Round): Promise<void> {
    for (const q of round.quarantine) {
      const key = quarantineKey(this.#o.prefix, q.sequence, q.entryIndex);
      await withRetry(`put ${key}`, this.#o.retry, () => this.#store.put(key, q.bytes));
      const info = {
        sequence: q.sequence.toString(),
        entryIndex: q.entryIndex,
        table: q.table ?? null,
        reason: q.reason,
        message: q.message,
        bytes: q.bytes.length,
        quarantinedAtMs: this.#clock.now(),
      };
      await withRetry(`put ${key}.json`, this.#o.retry, () =>
        this.#store.put(`${key}.json`, encodeJson(info)),
      );
    }
  }

  #buildRecord(round: Round, n: number): CommitRecord {
    const files: CommittedFile[] = round.written!.map((f: WrittenFile) => ({
      key: f.key,
      table: f.table,
      partition: f.partition,
      rows: f.rows,
      bytes: f.bytes,
      minTimestampNs: f.range.min?.toString() ?? null,
      maxTimestampNs: f.range.max?.toString() ?? null,
    }));
    const quarantined: QuarantinedEntry[] = round.quarantine.map((q) => ({
      key: quarantineKey(this.#o.prefix, q.sequence, q.entryIndex),
      sequence: q.sequence.toString(),
      entryIndex: q.entryIndex,
      reason: q.reason,
      message: q.message,
      table: q.table ?? null,
    }));
    const dedupKeys: Record<string, string[]> = {};
    for (const [table, keys] of round.dedupByTable) dedupKeys[table] = keys;
    const epoch = this.#queue.epoch;
    return {
      format: COMMIT_FORMAT,
      version: 1,
      commit: n,
      createdAtMs: this.#clock.now(),
      writerId: this.writerId,
      roundId: round.roundId!,
      queueEpoch: epoch === undefined ? null : epoch.toString(),
      sequences: { first: round.firstSequence!.toString(), last: round.lastSequence!.toString() },
      files,
      dedupKeys,
      quarantined,
      stats: {
        entries: round.entries,
        rows: files.reduce((s, f) => s + f.rows, 0),
        duplicateEntries: round.duplicateEntries,
        duplicateRows: round.duplicateRows,
      },
    };
  }

  #account(record: CommitRecord, round: Round, durationMs: number): void {
    const s = this.#stats;
    s.commits++;
    s.files += record.files.length;
    s.rows += record.stats.rows;
    const bytes = record.files.reduce((a, f) => a + f.bytes, 0);
    s.bytes += bytes;
    s.entries += round.entries;
    s.quarantinedEntries += round.quarantine.length;
    s.duplicateEntries += round.duplicateEntries;
    s.duplicateRows += round.duplicateRows;
    s.splitEntries += round.slowEntries;
    if (record.quarantined.length > 0) {
      // One line per commit (with a sample), one event per entry for metrics.
      this.#logger.warn(
        {
          commit: record.commit,
          count: record.quarantined.length,
          sample: record.quarantined
            .slice(0, 5)
            .map((q) => ({ key: q.key, reason: q.reason, table: q.table, detail: q.message })),
        },
        'queue entries quarantined (not written to Parquet)',
      );
      for (const q of record.quarantined) {
        this.#emit({
          type: 'quarantine',
          key: q.key,
          reason: q.reason,
          table: q.table ?? undefined,
          sequence: BigInt(q.sequence),
          entryIndex: q.entryIndex,
        });
      }
    }
    if (round.duplicateEntries > 0) {
      this.#logger.info(
        { entries: round.duplicateEntries, rows: round.duplicateRows, commit: record.commit },
        'skipped entries of already-committed idempotency keys',
      );
      this.#emit({
        type: 'duplicates-skipped',
        entries: round.duplicateEntries,
        rows: round.duplicateRows,
      });
    }
    this.#logger.info(
      {
        commit: record.commit,
        files: record.files.length,
        rows: record.stats.rows,
        bytes,
        entries: round.entries,
        lastSequence: record.sequences.last,
        durationMs: Math.round(durationMs),
      },
      'lake commit',
    );
    this.#emit({
      type: 'commit',
      commit: record.commit,
      files: record.files.length,
      rows: record.stats.rows,
      entries: round.entries,
      bytes,
      firstSequence: BigInt(record.sequences.first),
      lastSequence: BigInt(record.sequences.last),
      durationMs,
      record,
    });
  }

  /** Checkpoint (every `checkpointInterval` commits) and hint; both best-effort. */
  async #afterCommit(record: CommitRecord): Promise<void> {
    const state = this.#state!;
    const now = this.#clock.now();
    if (record.commit % this.#o.checkpointInterval === 0) {
      try {
        await this.#log.writeCheckpoint({
          format: CHECKPOINT_FORMAT,
          version: 1,
          commit: record.commit,
          createdAtMs: now,
          lastSequence: state.lastSequence === undefined ? null : state.lastSequence.toString(),
          files: [...state.files.values()],
          dedupKeys: this.#dedup.entries(now),
        });
        state.checkpoint = record.commit;
      } catch (err) {
        this.#logger.warn(
          { err, commit: record.commit },
          'checkpoint not written; readers replay more commits',
        );
      }
    }
    try {
      await this.#log.writeHint(record.commit, state.checkpoint, now);
    } catch (err) {
      this.#logger.warn(
        { err, commit: record.commit },
        'commit-log hint not updated; readers probe further',
      );
    }
  }

  #startGc(): void {
    this.#runGcInBackground();
    if (this.#o.gcIntervalMs > 0) {
      this.#gcTimer = setInterval(() => this.#runGcInBackground(), this.#o.gcIntervalMs);
      this.#gcTimer.unref();
    }
  }

  #runGcInBackground(): void {
    if (this.#gcRunning || this.#phase !== 'running') return;
    this.#gcRunning = this.collectOrphans()
      .then(() => undefined)
      .catch((err) => this.#logger.warn({ err }, 'orphan GC failed; will retry'))
      .finally(() => {
        this.#gcRunning = undefined;
      });
  }
}

/** Retryable: transient store trouble, not fencing, corruption or bad configuration. */
export function isRetryableError(err: unknown): boolean {
  if (isLakeError(err)) return err.retryable;
  const e = err as { retryable?: unknown } | null;
  return e?.retryable === true;
}

interface ItemSpan {
  readonly start: number;
  readonly end: number;
  readonly key: Uint8Array | undefined;
  readonly ingestionTimeMs: number;
}

/** The batch's entries split by metadata item (one `ingest()` call each). */
function spans(batch: QueueBatch): ItemSpan[] {
  const n = batch.entries.length;
  const items = [...batch.metadata].sort((a, b) => a.startIndex - b.startIndex);
  const out: ItemSpan[] = [];
  const fallbackTime = items[0]?.ingestionTimeMs ?? 0;
  let pos = 0;
  for (let k = 0; k < items.length; k++) {
    const item: QueueBatchMetadata = items[k]!;
    const start = Math.min(Math.max(item.startIndex, pos), n);
    if (start > pos)
      out.push({ start: pos, end: start, key: undefined, ingestionTimeMs: item.ingestionTimeMs });
    const next = items[k + 1]?.startIndex ?? n;
    const end = Math.min(item.recordCount !== undefined ? start + item.recordCount : next, next, n);
    if (end > start)
      out.push({ start, end, key: item.payload, ingestionTimeMs: item.ingestionTimeMs });
    pos = Math.max(pos, end);
  }
  if (pos < n) out.push({ start: pos, end: n, key: undefined, ingestionTimeMs: fallbackTime });
  return out;
}

/** Splits a group's pieces into files of at most `maxRows` rows / `maxBytes` input bytes. */
function chunkPieces(group: Group, maxRows: number, maxBytes: number): PieceRef[][] {
  const chunks: PieceRef[][] = [];
  let current: PieceRef[] = [];
  let rows = 0;
  let bytes = 0;
  for (const ref of group.pieces) {
    if (
      current.length > 0 &&
      (rows + ref.piece.rows > maxRows || bytes + ref.piece.bytes > maxBytes)
    ) {
      chunks.push(current);
      current = [];
      rows = 0;
      bytes = 0;
    }
    current.push(ref);
    rows += ref.piece.rows;
    bytes += ref.piece.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
