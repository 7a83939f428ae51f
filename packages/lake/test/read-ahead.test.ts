/**
 * Read-ahead: the compactor takes queue batches `readAheadBatches` at a time, with one
 * manifest read per call and the batch objects fetched concurrently. Found by the chaos
 * soak on S3 (bench/chaos): one manifest read + one batch read per small batch, each a
 * round-trip of 10–40 ms, let a collector that was restarted every few seconds fall
 * behind the writers for good, and its drain could not catch up in 3 minutes.
 */
import { MemoryStore, type ObjectStore } from '@sediment/object-store';
import { HookedStore } from '@sediment/object-store/testing';
import { describe, expect, it } from 'vitest';
import { Compactor, silentLogger } from '../src/index.js';
import { committedRows } from './helpers/lake-rows.js';
import { ingestAll, openQueue } from './helpers/queue.js';
import { mixedWorkload, tableOf } from './workload.js';

/** A store whose GETs take `reads.latencyMs` (like S3), counting manifest and batch reads. */
function slowGets() {
  const store = new HookedStore(new MemoryStore());
  const reads = { manifest: 0, batches: 0, latencyMs: 0 };
  store.onGet = async (key, next) => {
    if (key === 'ingest/manifest') reads.manifest++;
    else if (key.startsWith('ingest/')) reads.batches++;
    if (reads.latencyMs > 0) await new Promise((r) => setTimeout(r, reads.latencyMs));
    return next();
  };
  return { store, reads };
}

/** 48 small calls, each its own queue batch; the rows each table must end up with. */
async function smallBatches(store: ObjectStore) {
  const queue = openQueue(store, { flushIntervalMs: 1 });
  const calls = mixedWorkload(7, 48, { maxRows: 5 });
  for (const c of calls) await ingestAll(queue.ingestor, [c]);
  await queue.ingestor.close();
  const expected: Record<string, number> = {};
  for (const c of calls)
    for (const b of c.batches) expected[tableOf(b)] = (expected[tableOf(b)] ?? 0) + b.numRows;
  return { queue, expected, batches: calls.length };
}

describe('compactor read-ahead', () => {
  it('drains many small batches with one manifest read per 16 of them, every row once', async () => {
    const results: Record<number, { manifestGets: number; ms: number }> = {};
    for (const readAheadBatches of [1, 16]) {
      const { store, reads } = slowGets();
      const { queue, expected, batches } = await smallBatches(store);
      reads.latencyMs = 5;
      reads.manifest = 0;
      const compactor = new Compactor({
        store,
        queue: queue.collector,
        readAheadBatches,
        logger: silentLogger,
      });
      await compactor.start();
      const started = performance.now();
      const drained = await compactor.drain();
      results[readAheadBatches] = {
        manifestGets: reads.manifest,
        ms: performance.now() - started,
      };
      await compactor.close();
      expect(drained.batches).toBe(batches);
      expect(await committedRows(store)).toEqual(expected);
      expect(reads.batches).toBeGreaterThanOrEqual(batches);
    }
    // One batch at a time: a manifest read per batch. Read-ahead: one per 16 (the first
    // call takes one batch to learn their size), plus the commit's epoch checks and acks.
    expect(results[1]!.manifestGets).toBeGreaterThanOrEqual(48);
    expect(results[16]!.manifestGets).toBeLessThan(results[1]!.manifestGets / 3);
  });

  it('batches read ahead of a round wait for the next round: nothing lost, nothing twice', async () => {
    const store = new MemoryStore();
    const { queue, expected } = await smallBatches(store);
    // Tiny rounds: each flushes after a few rows, long before the 16 batches read ahead
    // are used up.
    const compactor = new Compactor({
      store,
      queue: queue.collector,
      targetFileRows: 8,
      logger: silentLogger,
    });
    await compactor.start();
    let commits = 0;
    for (let i = 0; i < 200; i++) {
      const r = await compactor.runOnce();
      if (r.commit) commits++;
      if (r.batches === 0 && !r.commit) break;
    }
    const last = await compactor.drain();
    await compactor.close();
    expect(commits + last.commits.length).toBeGreaterThanOrEqual(4);
    expect(await committedRows(store)).toEqual(expected);
  });

  it('a compactor killed with batches read ahead: its successor commits them once', async () => {
    const store = new MemoryStore();
    const { expected } = await smallBatches(store);
    const { Collector } = await import('@sediment/ingest');
    const first = new Compactor({
      store,
      queue: new Collector({ store }),
      targetFileRows: 8,
      logger: silentLogger,
    });
    await first.start();
    // One round: commits a few rows, holds more batches read ahead, then "dies".
    expect((await first.runOnce()).commit).toBeDefined();
    await first.close();
    const second = new Compactor({ store, queue: new Collector({ store }), logger: silentLogger });
    await second.start();
    await second.drain();
    await second.close();
    expect(await committedRows(store)).toEqual(expected);
  });
});
