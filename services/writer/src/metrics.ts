import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The writer's Prometheus metrics (names are documented in the README's Operations section). */
export class WriterMetrics {
  readonly puts: Counter<'table' | 'outcome'>;
  readonly rows: Counter<'table'>;
  readonly bytes: Counter<'table'>;
  readonly putDuration: Histogram<'table'>;
  readonly errors: Counter<'kind'>;

  readonly batchesWritten: Counter;
  readonly batchBytes: Counter;
  readonly manifestCommits: Counter;
  readonly manifestConflicts: Counter;
  readonly storeRetries: Counter<'operation' | 'reason'>;
  readonly flushFailures: Counter;
  readonly bufferedInputs: Gauge;

  readonly queueEntries: Gauge;
  readonly queueBytes: Gauge;
  readonly queueLag: Gauge;
  readonly queueEpoch: Gauge;

  readonly compactionRounds: Counter<'outcome'>;
  readonly compactionFiles: Counter<'table'>;
  readonly compactionRows: Counter<'table'>;
  readonly compactionBytes: Counter<'table'>;
  readonly compactionDuration: Histogram;
  readonly quarantined: Counter;
  readonly dedupDroppedRows: Counter;
  readonly orphansDeleted: Counter;
  readonly batchesCollected: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.puts = new Counter({
      name: 'sediment_writer_puts_total',
      help: 'DoPut calls by table and outcome (ok, invalid, unavailable, error).',
      labelNames: ['table', 'outcome'],
      registers,
    });
    this.rows = new Counter({
      name: 'sediment_writer_rows_total',
      help: 'Rows made durable in the ingest queue, by table.',
      labelNames: ['table'],
      registers,
    });
    this.bytes = new Counter({
      name: 'sediment_writer_bytes_total',
      help: 'Arrow IPC bytes made durable in the ingest queue, by table.',
      labelNames: ['table'],
      registers,
    });
    this.putDuration = new Histogram({
      name: 'sediment_writer_put_duration_seconds',
      help: 'From a complete DoPut to its durable ack (batch written and enqueued).',
      labelNames: ['table'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.errors = new Counter({
      name: 'sediment_writer_errors_total',
      help: 'Errors by kind (invalid_input, store_unavailable, flush_failed, fenced, compaction, internal).',
      labelNames: ['kind'],
      registers,
    });
    this.batchesWritten = new Counter({
      name: 'sediment_queue_batches_written_total',
      help: 'Queue batch objects written (flushes).',
      registers,
    });
    this.batchBytes = new Counter({
      name: 'sediment_queue_batch_bytes_total',
      help: 'Queue batch object bytes written, as stored.',
      registers,
    });
    this.manifestCommits = new Counter({
      name: 'sediment_queue_manifest_commits_total',
      help: 'Successful manifest appends.',
      registers,
    });
    this.manifestConflicts = new Counter({
      name: 'sediment_queue_manifest_conflicts_total',
      help: 'Manifest writes that lost a compare-and-set race and were retried.',
      registers,
    });
    this.storeRetries = new Counter({
      name: 'sediment_queue_retries_total',
      help: 'Queue operations retried, by operation and reason (conflict, transient).',
      labelNames: ['operation', 'reason'],
      registers,
    });
    this.flushFailures = new Counter({
      name: 'sediment_queue_flush_failures_total',
      help: 'Batches that could not be made durable (their DoPuts were answered UNAVAILABLE).',
      registers,
    });
    this.bufferedInputs = new Gauge({
      name: 'sediment_queue_buffered_inputs',
      help: 'DoPuts buffered or in flight in the ingestor.',
      registers,
    });
    this.queueEntries = new Gauge({
      name: 'sediment_queue_depth_entries',
      help: 'Batches in the manifest not yet compacted and removed.',
      registers,
    });
    this.queueBytes = new Gauge({
      name: 'sediment_queue_depth_bytes',
      help: 'Bytes of the batch objects waiting in the queue.',
      registers,
    });
    this.queueLag = new Gauge({
      name: 'sediment_queue_lag_seconds',
      help: 'Age of the oldest queued batch (how far Parquet lags behind acks).',
      registers,
    });
    this.queueEpoch = new Gauge({
      name: 'sediment_queue_collector_epoch',
      help: 'Epoch of this collector (changes when another collector takes over).',
      registers,
    });
    this.compactionRounds = new Counter({
      name: 'sediment_compaction_rounds_total',
      help: 'Compaction rounds by outcome (committed, empty, failed).',
      labelNames: ['outcome'],
      registers,
    });
    this.compactionFiles = new Counter({
      name: 'sediment_compaction_files_total',
      help: 'Parquet files committed, by table.',
      labelNames: ['table'],
      registers,
    });
    this.compactionRows = new Counter({
      name: 'sediment_compaction_rows_total',
      help: 'Rows committed to Parquet, by table.',
      labelNames: ['table'],
      registers,
    });
    this.compactionBytes = new Counter({
      name: 'sediment_compaction_bytes_total',
      help: 'Parquet bytes committed, by table.',
      labelNames: ['table'],
      registers,
    });
    this.compactionDuration = new Histogram({
      name: 'sediment_compaction_round_duration_seconds',
      help: 'Wall time of a compaction round (write files + commit + ack).',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.quarantined = new Counter({
      name: 'sediment_compaction_quarantined_entries_total',
      help: 'Queue entries that could not be written to Parquet and were moved to _quarantine.',
      registers,
    });
    this.dedupDroppedRows = new Counter({
      name: 'sediment_compaction_deduplicated_rows_total',
      help: 'Rows dropped because their request identity was already committed (client retries).',
      registers,
    });
    this.orphansDeleted = new Counter({
      name: 'sediment_compaction_orphans_deleted_total',
      help: 'Uncommitted Parquet files deleted by the orphan GC.',
      registers,
    });
    this.batchesCollected = new Counter({
      name: 'sediment_queue_batches_collected_total',
      help: 'Queue batches read by the collector.',
      registers,
    });
  }
}
