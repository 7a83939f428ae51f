import type { ObjectStore } from '@sediment/object-store';
import { expect } from 'vitest';
import { Collector } from '../../src/index.js';
import { parseEntry } from './producer-protocol.js';

export interface Delivered {
  readonly p: number;
  readonly i: number;
  readonly sequence: bigint;
  readonly location: string;
}

/** Drains the whole queue with a fresh collector and returns every entry in order. */
export async function drainQueue(
  store: ObjectStore,
  options: { manifestPath?: string; dataPathPrefix?: string } = {},
): Promise<Delivered[]> {
  const collector = new Collector({ store, ...options });
  await collector.initialize();
  const out: Delivered[] = [];
  for (let batch = await collector.nextBatch(); batch; batch = await collector.nextBatch()) {
    expect(batch.metadata.reduce((n, m) => n + m.recordCount, 0)).toBe(batch.entries.length);
    for (const entry of batch.entries) {
      out.push({ ...parseEntry(entry), sequence: batch.sequence, location: batch.location });
    }
  }
  await collector.close();
  return out;
}

/** No (producer, i) twice; returns them keyed "p:i". */
export function expectNoDuplicates(delivered: readonly Delivered[]): Map<string, Delivered> {
  const seen = new Map<string, Delivered>();
  const duplicates: string[] = [];
  for (const d of delivered) {
    const key = `${d.p}:${d.i}`;
    if (seen.has(key)) duplicates.push(key);
    seen.set(key, d);
  }
  expect(duplicates).toEqual([]);
  return seen;
}

/** Each producer's entries appear in its own ingest order. */
export function expectProducerOrder(delivered: readonly Delivered[]): void {
  const last = new Map<number, number>();
  const violations: string[] = [];
  for (const d of delivered) {
    const previous = last.get(d.p) ?? -1;
    if (d.i <= previous) violations.push(`${d.p}:${d.i} after ${d.p}:${previous}`);
    last.set(d.p, d.i);
  }
  expect(violations).toEqual([]);
}
