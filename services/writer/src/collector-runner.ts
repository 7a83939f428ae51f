import { Collector, type CollectorEvent, readQueueStats } from '@sediment/ingest';
import { Compactor, type CompactorEvent, FencedError, isRetryableError } from '@sediment/lake';
import type { ObjectStore } from '@sediment/object-store';
import type { Logger } from '@sediment/service-kit';
import type { WriterConfig } from './config.js';
import type { WriterMetrics } from './metrics.js';

export type CollectorState = 'starting' | 'running' | 'fenced' | 'failed' | 'stopped';

export interface CollectorRunnerOptions {
  readonly store: ObjectStore;
  readonly config: WriterConfig;
  readonly metrics: WriterMetrics;
  readonly logger: Logger;
  /** How often queue depth and lag are sampled for metrics; default 10 s. */
  readonly statsIntervalMs?: number;
}

/**
 * Runs the collector side of the writer: the queue `Collector` (fences any previous one)
 * feeding the lake `Compactor`, which writes Parquet and commits exactly once.
 *
 * Start-up survives an unreachable store (retried with backoff; the ingest side keeps
 * working and answers UNAVAILABLE on its own). A `FencedError` means another collector
 * took over: this one stops for good and says so (state `fenced`) — the writer keeps
 * accepting puts. Any other fatal error (e.g. a corrupt commit log) stops it with state
 * `failed`, which makes the writer's /healthz fail so an orchestrator restarts it.
 */
export class CollectorRunner {
  readonly #o: CollectorRunnerOptions;
  readonly #collector: Collector;
  readonly #compactor: Compactor;
  #state: CollectorState = 'starting';
  #started: Promise<boolean> | undefined;
  #loop: Promise<void> | undefined;
  #statsTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #wakeStart: (() => void) | undefined;

  constructor(options: CollectorRunnerOptions) {
    this.#o = options;
    const { config, store } = options;
    const logger = options.logger.child({ component: 'collector' });
    this.#collector = new Collector({
      store,
      manifestPath: `${config.queuePrefix}/manifest`,
      dataPathPrefix: config.queuePrefix,
      gcGracePeriodMs: config.batchGcGrace,
      logger,
      onEvent: (e) => this.#onCollectorEvent(e),
    });
    this.#compactor = new Compactor({
      store,
      queue: this.#collector,
      lakePrefix: config.lakePrefix,
      targetFileBytes: config.targetFileSize,
      maxFileAgeMs: config.maxFileAge,
      rowGroupRows: config.rowGroupRows,
      parquetWriter: config.parquetWriter,
      zstdLevel: config.parquetZstdLevel,
      parquetEncoding: config.parquetEncoding,
      encoderNice: config.compactionNice,
      orphanGracePeriodMs: config.orphanGrace,
      dedupWindowMs: config.dedupWindow,
      logger: options.logger.child({ component: 'compactor' }),
      onEvent: (e) => this.#onCompactorEvent(e),
    });
  }

  get state(): CollectorState {
    return this.#state;
  }

  get compactor(): Compactor {
    return this.#compactor;
  }

  /** Starts in the background; `whenStarted()` tells when (and whether) it is running. */
  start(): void {
    this.#started ??= this.#startWithRetry();
    this.#started.then((ok) => {
      if (!ok) return;
      this.#loop = this.#compactor.run().then(
        () => {
          if (this.#state === 'running') this.#state = 'stopped';
        },
        (err) => this.#stopOn(err),
      );
    });
    const interval = this.#o.statsIntervalMs ?? 10_000;
    this.#statsTimer = setInterval(() => void this.#sampleQueue(), interval);
    this.#statsTimer.unref();
    void this.#sampleQueue();
  }

  /** Resolves true once running, false if it stopped before (closed, fenced, failed). */
  whenStarted(): Promise<boolean> {
    return this.#started ?? Promise.resolve(false);
  }

  /**
   * Commits everything queued now (SIGTERM). Waits up to `startTimeoutMs` for a start-up
   * still in progress (e.g. retrying an unreachable store). Returns what happened:
   * `drained`, `not-running` (fenced, or never started: the queued data stays for the
   * active collector), or `failed` (the commit could not be made).
   */
  async drain(startTimeoutMs = 30_000): Promise<'drained' | 'not-running' | 'failed'> {
    const started = await Promise.race([
      this.whenStarted(),
      new Promise<false>((r) => setTimeout(() => r(false), startTimeoutMs).unref()),
    ]);
    if (!started || this.#state !== 'running') {
      this.#o.logger.warn(
        { state: this.#state },
        'collector is not running: queued data is left in the queue for the active collector',
      );
      return 'not-running';
    }
    try {
      const result = await this.#compactor.drain();
      this.#o.logger.info(
        { batches: result.batches, commits: result.commits.map((c) => c.commit) },
        'collector drained',
      );
      return 'drained';
    } catch (err) {
      if (err instanceof FencedError) {
        this.#stopOn(err);
        return 'not-running';
      }
      this.#o.logger.error(
        { err },
        'collector could not commit everything queued; it stays in the queue',
      );
      return 'failed';
    }
  }

  async close(): Promise<void> {
    this.#stopping = true;
    this.#wakeStart?.();
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    await this.#started;
    await this.#compactor.close();
    await this.#loop;
    await this.#collector.close();
    if (this.#state === 'running' || this.#state === 'starting') this.#state = 'stopped';
  }

  async #startWithRetry(): Promise<boolean> {
    const logger = this.#o.logger;
    for (let attempt = 1; !this.#stopping; attempt++) {
      try {
        await this.#compactor.start();
        this.#state = 'running';
        return true;
      } catch (err) {
        if (this.#stopping) return false;
        if (!isRetryableError(err)) {
          this.#stopOn(err);
          return false;
        }
        const delayMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        logger.warn(
          { err, attempt, delayMs },
          'collector cannot start yet (store unavailable?); retrying',
        );
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delayMs);
          this.#wakeStart = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
    return false;
  }

  #stopOn(err: unknown): void {
    if (err instanceof FencedError) {
      this.#state = 'fenced';
      this.#o.metrics.errors.inc({ kind: 'fenced' });
      this.#o.logger.error(
        { err },
        'collector fenced: another collector now owns the queue; this writer keeps ingesting but no longer compacts',
      );
      return;
    }
    this.#state = 'failed';
    this.#o.metrics.errors.inc({ kind: 'compaction' });
    this.#o.logger.fatal({ err }, 'collector stopped on an unrecoverable error');
  }

  async #sampleQueue(): Promise<void> {
    const { config, store, metrics } = this.#o;
    try {
      const s = await readQueueStats({
        store,
        manifestPath: `${config.queuePrefix}/manifest`,
        dataPathPrefix: config.queuePrefix,
        bytes: true,
        retry: { deadlineMs: 5_000 },
      });
      metrics.queueEntries.set(s.entryCount);
      metrics.queueBytes.set(s.bytesWaiting ?? 0);
      metrics.queueLag.set((s.oldestEntryAgeMs ?? 0) / 1000);
    } catch (err) {
      this.#o.logger.debug({ err }, 'queue stats unavailable');
    }
  }

  #onCollectorEvent(e: CollectorEvent): void {
    const m = this.#o.metrics;
    switch (e.type) {
      case 'initialized':
        m.queueEpoch.set(Number(e.epoch));
        break;
      case 'batch-read':
        m.batchesCollected.inc();
        break;
      case 'retry':
        m.storeRetries.inc({ operation: e.operation, reason: e.reason });
        break;
      default:
        break;
    }
  }

  #onCompactorEvent(e: CompactorEvent): void {
    const m = this.#o.metrics;
    switch (e.type) {
      case 'commit':
        m.compactionRounds.inc({ outcome: 'committed' });
        m.compactionDuration.observe(e.durationMs / 1000);
        for (const f of e.record.files) {
          m.compactionFiles.inc({ table: f.table });
          m.compactionRows.inc({ table: f.table }, f.rows);
          m.compactionBytes.inc({ table: f.table }, f.bytes);
        }
        break;
      case 'quarantine':
        m.quarantined.inc();
        break;
      case 'duplicates-skipped':
        m.dedupDroppedRows.inc(e.rows);
        break;
      case 'orphans-deleted':
        m.orphansDeleted.inc(e.count);
        break;
      case 'retry':
        if (e.operation === 'round') m.compactionRounds.inc({ outcome: 'failed' });
        break;
      default:
        break;
    }
  }
}
