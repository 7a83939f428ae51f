/**
 * What the compactor needs from the ingest queue: exactly the part of
 * `@sediment/ingest`'s `Collector` it uses, structurally, so a Collector is passed in
 * as is (and tests can drive the compactor through one on any store).
 */
export interface QueueBatchMetadata {
  /** Index of the first entry of one `ingest()` call within `entries`. */
  readonly startIndex: number;
  /** Entries of that call; when absent, up to the next item's `startIndex`. */
  readonly recordCount?: number;
  readonly ingestionTimeMs: number;
  /** The call's idempotency key (opaque bytes); empty = none. */
  readonly payload: Uint8Array;
}

export interface QueueBatch {
  readonly sequence: bigint;
  readonly location: string;
  /** Arrow IPC streams, one table each. */
  readonly entries: readonly Uint8Array[];
  readonly metadata: readonly QueueBatchMetadata[];
}

export interface QueueSource {
  /**
   * Takes over the queue (fencing older consumers); batches up to and including
   * `resumeAfter` count as consumed. Throws an error with code
   * `INGEST_RESUME_OUT_OF_RANGE` when entries after `resumeAfter` are gone.
   */
  initialize(options?: { resumeAfter?: bigint }): Promise<unknown>;
  /** Next batch in sequence order, or undefined when caught up. Checks the epoch. */
  nextBatch(): Promise<QueueBatch | undefined>;
  /**
   * Up to `max` next batches in sequence order (empty when caught up) with one epoch
   * check, read concurrently. Optional: without it the compactor calls `nextBatch()`.
   */
  nextBatches?(max: number): Promise<QueueBatch[]>;
  /** Marks every batch ≤ `sequence` consumed. Checks the epoch. */
  ack(sequence: bigint): Promise<void>;
  /** Removes acked batches from the queue. Reads the manifest: throws when fenced. */
  flush(): Promise<unknown>;
  /**
   * Reads the queue state and throws the fenced error unless this consumer still holds
   * its epoch. Called right before every commit (narrows the window in which a fenced
   * compactor could still commit) and to diagnose a lost commit race; when absent,
   * `flush()` serves for the latter.
   */
  verifyEpoch?(): Promise<unknown>;
  /** Epoch held after `initialize()`, when the queue exposes it (recorded in commits). */
  readonly epoch?: bigint | undefined;
  /** Deletes unreferenced batch objects; called now and then between rounds. */
  gc?(): Promise<unknown>;
}

/** True for the queue's "a newer consumer took over" error (`@sediment/ingest` FencedError). */
export function isQueueFenced(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'INGEST_FENCED';
}

export function isResumeOutOfRange(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'INGEST_RESUME_OUT_OF_RANGE';
}
