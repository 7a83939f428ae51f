import { randomBytes } from 'node:crypto';
import { listAll } from '@sediment/object-store';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Compactor,
  type CompactorOptions,
  collectOrphans,
  FencedError,
  readLakeSnapshot,
  silentLogger,
} from '../src/index.js';
import { splitIpcStream } from '../src/ipc.js';
import { readBatchHeader } from '../src/ipc-flatbuffers.js';
import { recordBatch, ts, utf8 } from './fixtures/arrow-build.js';
import { compressStream } from './fixtures/ipc-compress.js';
import { logsBatch, spansBatch, toIpc } from './fixtures/synthetic-tables.js';
import { GatedStore } from './helpers/gated-store.js';
import { committedRows, countDistinct, orphanKeys } from './helpers/lake-rows.js';
import { ingestAll, openQueue, type TestQueue } from './helpers/queue.js';
import { type OpenedStore, storeTargets } from './helpers/stores.js';

const HOUR_NS = 3_600_000_000_000n;
const T0 = 480_000n * HOUR_NS;

function spans(seed: number, rows = 50): Uint8Array {
  return toIpc(spansBatch({ rows, seed, timestamp: (i) => T0 + BigInt(seed * 1000 + i) }));
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(target: ReturnType<typeof storeTargets>[number]): Promise<OpenedStore> {
  const opened = await target.open();
  cleanups.push(() => opened.cleanup());
  return opened;
}

function queueOn(store: OpenedStore['store']): TestQueue {
  const q = openQueue(store);
  cleanups.push(() => q.close());
  return q;
}

async function compactor(
  options: Omit<CompactorOptions, 'logger'> & { logger?: CompactorOptions['logger'] },
) {
  const c = new Compactor({ logger: silentLogger, ...options });
  cleanups.push(() => c.close());
  await c.start();
  return c;
}

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`exactly once on ${target.name}`, () => {
    it('skips a retried idempotency key in the same round, in a later round and after a restart', {
      timeout: 120_000,
    }, async () => {
      const { store } = await setup(target);
      const q1 = queueOn(store);
      const keyA = randomBytes(16);
      const keyB = randomBytes(16);
      const a = spans(1);
      // Same round: the retry sits in the same queue batch as the original.
      await ingestAll(q1.ingestor, [
        { entries: [a], key: keyA },
        { entries: [a], key: keyA },
        { entries: [spans(2)], key: new Uint8Array(0) },
        { entries: [spans(2)], key: new Uint8Array(0) }, // no key: no dedup
      ]);
      const c1 = await compactor({ store, queue: q1.collector });
      await c1.drain();
      // Later round: the retry arrives after the original was committed.
      await ingestAll(q1.ingestor, [
        { entries: [a], key: keyA },
        { entries: [spans(3)], key: keyB },
      ]);
      await c1.drain();
      expect(c1.stats.duplicateEntries).toBe(2);
      await c1.close();
      await q1.close();

      // After a restart the window is reloaded from the commit log.
      const q2 = queueOn(store);
      await ingestAll(q2.ingestor, [
        { entries: [spans(3)], key: keyB },
        { entries: [a], key: keyA },
      ]);
      const c2 = await compactor({ store, queue: q2.collector });
      await c2.drain();
      expect(c2.stats.duplicateEntries).toBe(2);
      expect(await committedRows(store)).toEqual({ spans: 50 * 4 });
      const [total, distinct] = await countDistinct(store, 'spans', 'span_id');
      expect(total).toBe(200n);
      expect(distinct).toBe(150n); // spans(2) was sent twice without a key: both kept
    });

    it('scopes keys by table and forgets them after the window', { timeout: 120_000 }, async () => {
      const { store } = await setup(target);
      const q = queueOn(store);
      let now = Date.now();
      const clock = { now: () => now };
      const key = randomBytes(8);
      const logs = toIpc(logsBatch({ rows: 7, seed: 9, timestamp: (i) => T0 + BigInt(i) }));
      // One request, two tables under one key (as a metrics request becomes several tables).
      await ingestAll(q.ingestor, [
        { entries: [spans(5, 10)], key },
        { entries: [logs], key },
      ]);
      const c = await compactor({ store, queue: q.collector, clock, dedupWindowMs: 60_000 });
      await c.drain();
      expect(await committedRows(store)).toEqual({ spans: 10, logs: 7 });
      now += 30_000;
      await ingestAll(q.ingestor, [{ entries: [spans(5, 10), logs], key }]);
      await c.drain();
      expect(await committedRows(store)).toEqual({ spans: 10, logs: 7 });
      now += 31_000; // the key left the window: a later resend is new data
      await ingestAll(q.ingestor, [{ entries: [logs], key }]);
      await c.drain();
      expect(await committedRows(store)).toEqual({ spans: 10, logs: 14 });
      const { files } = await readLakeSnapshot(store);
      expect(files.length).toBeGreaterThan(0);
    });

    it('quarantines poison entries and commits the rest', { timeout: 120_000 }, async () => {
      const { store } = await setup(target);
      const q = queueOn(store);
      const garbage = randomBytes(64);
      const evil = toIpc(
        recordBatch('../../evil', [
          ['timestamp', ts([T0])],
          ['x', utf8(['boom'])],
        ]),
      );
      const unknown = toIpc(recordBatch('not_a_table', [['timestamp', ts([T0])]]));
      const noTs = toIpc(recordBatch('logs', [['time', ts([T0])]]));
      await ingestAll(q.ingestor, [
        { entries: [spans(1, 20), garbage, spans(2, 20)], key: randomBytes(4) },
        { entries: [evil, unknown, noTs], key: randomBytes(4) },
      ]);
      const c = await compactor({ store, queue: q.collector });
      const drained = await c.drain();
      expect(await committedRows(store)).toEqual({ spans: 40 });
      expect(c.stats.quarantinedEntries).toBe(4);
      const quarantined = drained.commits.flatMap((x) => x.quarantined);
      expect(quarantined.map((x) => x.reason).sort()).toEqual([
        'ipc',
        'table-name',
        'timestamp',
        'unknown-table',
      ]);
      for (const item of quarantined) {
        const raw = (await store.get(item.key)).bytes;
        const expected = {
          ipc: garbage,
          'table-name': evil,
          'unknown-table': unknown,
          timestamp: noTs,
        }[item.reason]!;
        expect(Buffer.from(raw).equals(Buffer.from(expected))).toBe(true);
        expect(
          JSON.parse(new TextDecoder().decode((await store.get(`${item.key}.json`)).bytes)).reason,
        ).toBe(item.reason);
      }
      // Nothing escaped the lake and queue prefixes.
      for (const m of await listAll(store, '')) expect(m.key).toMatch(/^(lake|ingest)\//);
      // The queue moved on: nothing is left to read.
      expect((await c.drain()).batches).toBe(0);
    });

    it('compacts entries with zstd bodies as queued; one whose frame does not inflate is quarantined (parquet), the rest commit', {
      timeout: 120_000,
    }, async () => {
      const { store } = await setup(target);
      const q = queueOn(store);
      const good = [compressStream(spans(11, 30)), spans(12, 30), compressStream(spans(13, 30))];
      const bad = compressStream(spans(14, 30));
      // Break a frame the entry decoder does not read (not the timestamp's): only the
      // Parquet encoder, decompressing the file's input, finds it.
      const m = splitIpcStream(bad).at(-1)!;
      const h = readBatchHeader(bad.subarray(m.metaStart, m.metaEnd));
      const dv = new DataView(bad.buffer, bad.byteOffset);
      const victim = [...Array(h.bufferCount).keys()].find(
        (i) =>
          i > 8 &&
          h.bufferLength(i) > 8 &&
          dv.getBigInt64(m.bodyStart + h.bufferOffset(i), true) > 0n,
      )!;
      const at = m.bodyStart + h.bufferOffset(victim) + 8;
      bad.fill(0x5a, at, at + 8);
      await ingestAll(q.ingestor, [
        { entries: [good[0]!, bad, good[1]!, good[2]!], key: randomBytes(4) },
      ]);
      const c = await compactor({ store, queue: q.collector });
      const drained = await c.drain();
      expect(await committedRows(store)).toEqual({ spans: 90 });
      const quarantined = drained.commits.flatMap((x) => x.quarantined);
      expect(quarantined.map((x) => x.reason)).toEqual(['parquet']);
      expect(
        Buffer.from((await store.get(quarantined[0]!.key)).bytes).equals(Buffer.from(bad)),
      ).toBe(true);
    });

    it('fences a zombie paused before its commit: FencedError, no duplicate, its files are GC orphans', {
      timeout: 120_000,
    }, async () => {
      const { store } = await setup(target);
      const q = queueOn(store);
      await ingestAll(
        q.ingestor,
        [1, 2, 3].map((s) => ({ entries: [spans(s)], key: randomBytes(8) })),
      );
      const gated = new GatedStore(store, /_commits\/\d{20}\.json$/);
      gated.closeGate();
      const zombieQueue = openQueue(store);
      cleanups.push(() => zombieQueue.close());
      const zombie = await compactor({ store: gated, queue: zombieQueue.collector });
      const zombieDrain = zombie.drain();
      zombieDrain.catch(() => {});
      await gated.reached; // files written, commit about to be created
      const zombieFiles = await orphanKeys(store);
      expect(zombieFiles.length).toBeGreaterThan(0);

      const fresh = await compactor({ store, queue: q.collector }); // fences the zombie
      await ingestAll(q.ingestor, [{ entries: [spans(4)], key: randomBytes(8) }]);
      await fresh.drain();
      gated.openGate();
      await expect(zombieDrain).rejects.toBeInstanceOf(FencedError);
      await expect(zombie.runOnce()).rejects.toBeInstanceOf(FencedError);

      expect(await countDistinct(store, 'spans', 'span_id')).toEqual([200n, 200n]);
      expect((await orphanKeys(store)).sort()).toEqual(zombieFiles.sort());
      // GC keeps young orphans, then removes them after the grace period.
      expect((await collectOrphans(store, 'lake', { gracePeriodMs: 3_600_000 })).deleted).toEqual(
        [],
      );
      const gc = await collectOrphans(store, 'lake', {
        gracePeriodMs: 3_600_000,
        now: () => Date.now() + 7_200_000,
      });
      expect([...gc.deleted].sort()).toEqual(zombieFiles.sort());
      expect(await orphanKeys(store)).toEqual([]);
      expect(await countDistinct(store, 'spans', 'span_id')).toEqual([200n, 200n]);
    });

    it('adopts a commit a zombie slipped in before the new collector committed', {
      timeout: 120_000,
    }, async () => {
      const { store } = await setup(target);
      const q = queueOn(store);
      await ingestAll(
        q.ingestor,
        [1, 2].map((s) => ({ entries: [spans(s)], key: randomBytes(8) })),
      );
      const gated = new GatedStore(store, /_commits\/\d{20}\.json$/);
      gated.closeGate();
      const zombieQueue = openQueue(store);
      cleanups.push(() => zombieQueue.close());
      const zombie = await compactor({ store: gated, queue: zombieQueue.collector });
      const zombieDrain = zombie.drain();
      zombieDrain.catch(() => {});
      await gated.reached;
      const fresh = await compactor({ store, queue: q.collector }); // fences, has read no commit yet
      gated.openGate();
      // The zombie's commit lands (nobody took n=1 yet); its ack then finds it fenced.
      await expect(zombieDrain).rejects.toBeInstanceOf(FencedError);
      expect((await readLakeSnapshot(store)).commit).toBe(1);
      await ingestAll(q.ingestor, [{ entries: [spans(3)], key: randomBytes(8) }]);
      const drained = await fresh.drain();
      expect(fresh.stats.conflicts).toBe(1);
      expect(drained.commits.map((c) => c.commit)).toEqual([2]);
      expect(await countDistinct(store, 'spans', 'span_id')).toEqual([150n, 150n]);
      expect(await orphanKeys(store)).toEqual([]); // its own discarded files were deleted
    });
  });
}
