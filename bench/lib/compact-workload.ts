/**
 * Compaction workloads for the benchmarks: pre-built queue batches of synthetic 512-row
 * Arrow IPC entries (the lake tests' spans-like and logs-like tables), served from memory
 * so that the figures are the compactor's (the queue's own cost is measured by
 * bench/ingest-throughput.ts).
 */
import type { QueueBatch, QueueSource } from '@sediment/lake';
import type { RecordBatch } from 'apache-arrow';
import { toIpc } from '../../packages/lake/test/fixtures/synthetic-tables.js';

export const ENTRIES_PER_BATCH = 16;
export const HOUR_NS = 3_600_000_000_000n;

export class PrebuiltQueue implements QueueSource {
  #next = 0;
  epoch = 1n;
  constructor(readonly batches: readonly QueueBatch[]) {}
  async initialize(): Promise<void> {
    this.#next = 0;
  }
  async nextBatch(): Promise<QueueBatch | undefined> {
    return this.batches[this.#next++];
  }
  async ack(): Promise<void> {}
  async flush(): Promise<void> {}
}

export interface Workload {
  readonly name: string;
  readonly entries: Uint8Array[];
  readonly batches: QueueBatch[];
  readonly rows: number;
  readonly ipcBytes: number;
}

/** `count` entries of `rowsPerEntry` rows from `make(i)`, 16 entries per queue batch. */
export function workload(
  name: string,
  count: number,
  rowsPerEntry: number,
  make: (i: number) => RecordBatch,
): Workload {
  const entries: Uint8Array[] = [];
  for (let i = 0; i < count; i++) entries.push(toIpc(make(i)));
  const batches: QueueBatch[] = [];
  for (let i = 0; i < entries.length; i += ENTRIES_PER_BATCH) {
    const chunk = entries.slice(i, i + ENTRIES_PER_BATCH);
    batches.push({
      sequence: BigInt(batches.length),
      location: `ingest/${i}.batch`,
      entries: chunk,
      // One ingest() call per entry, each with its own 16-byte idempotency key.
      metadata: chunk.map((_, k) => ({
        startIndex: k,
        recordCount: 1,
        ingestionTimeMs: Date.now(),
        payload: new Uint8Array(16).fill((i + k) & 255),
      })),
    });
  }
  const ipcBytes = entries.reduce((a, e) => a + e.length, 0);
  return { name, entries, batches, rows: count * rowsPerEntry, ipcBytes };
}
