/**
 * A mixed, seeded workload of queue entries for integration tests: several tables,
 * entries inside one hour (zero-copy path) and spanning hours (split path), exact hour
 * boundaries, a year boundary, the epoch and pre-1970 times, nulls and extremes.
 */
import { randomBytes } from 'node:crypto';
import type { RecordBatch } from 'apache-arrow';
import {
  type GenOptions,
  histogramBatch,
  logsBatch,
  rng,
  spansBatch,
  summaryBatch,
  toIpc,
} from './fixtures/synthetic-tables.js';

export const H = 3_600_000_000_000n;
/** 2024-12-31T23:00:00Z in hours since the epoch. */
export const NEW_YEAR_EVE_HOUR = BigInt(Date.UTC(2024, 11, 31, 23)) / 3_600_000n;

export interface Call {
  readonly entries: Uint8Array[];
  readonly batches: RecordBatch[];
  readonly key: Uint8Array;
}

const gens: Record<string, (o: GenOptions) => RecordBatch> = {
  spans: spansBatch,
  logs: logsBatch,
  metrics_histogram: histogramBatch,
  metrics_summary: summaryBatch,
};

/** Timestamps of row i for a few shapes of entry. */
function stamps(kind: number, r: () => number, rows: number): (i: number) => bigint {
  const eve = NEW_YEAR_EVE_HOUR * H;
  switch (kind % 5) {
    case 0: // inside one hour
      return (i) => eve - 3n * H + BigInt(i) * 1_000_003n + BigInt(Math.floor(r() * 1000));
    case 1: // across the year boundary, interleaved
      return (i) =>
        eve +
        H -
        BigInt(rows) * 500_000_000n +
        BigInt(i) * 1_000_000_001n * (i % 2 === 0 ? 1n : -1n);
    case 2: // exact boundary ns
      return (i) => eve + (i % 3 === 0 ? H - 1n : i % 3 === 1 ? H : 0n) + BigInt(Math.floor(i / 3));
    case 3: // epoch and pre-1970
      return (i) => (i % 2 === 0 ? -1n - BigInt(i) : BigInt(i));
    default: // another single hour, ns-precise
      return (i) => eve + 7n * H + 123_456_789n * BigInt(i) + 1n;
  }
}

export function mixedWorkload(
  seed: number,
  calls: number,
  options: { maxRows?: number } = {},
): Call[] {
  const r = rng(seed);
  const tables = Object.keys(gens);
  const out: Call[] = [];
  for (let c = 0; c < calls; c++) {
    const n = 1 + Math.floor(r() * 3);
    const entries: Uint8Array[] = [];
    const batches: RecordBatch[] = [];
    for (let e = 0; e < n; e++) {
      const table = tables[Math.floor(r() * tables.length)]!;
      const rows = 1 + Math.floor(r() * (options.maxRows ?? 120));
      const batch = gens[table]!({
        rows,
        seed: seed * 1000 + c * 10 + e,
        edgeCases: true,
        timestamp: stamps(c + e, r, rows),
      });
      batches.push(batch);
      entries.push(toIpc(batch));
    }
    out.push({ entries, batches, key: randomBytes(16) });
  }
  return out;
}

export function tableOf(batch: RecordBatch): string {
  return batch.schema.metadata.get('sediment.table')!;
}
