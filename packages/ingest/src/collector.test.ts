import { listAll, MemoryStore, TransientError } from '@sediment/object-store';
import { describe, expect, it } from 'vitest';
import { HookedStore, ManualClock, SequentialIds } from '../test/support/hooked-store.js';
import { encodeBatch } from './batch-codec.js';
import { Collector } from './collector.js';
import {
  CorruptBatchError,
  FencedError,
  IngestClosedError,
  InvalidArgumentError,
  MissingBatchError,
  ResumeOutOfRangeError,
} from './errors.js';
import { Ingestor } from './ingestor.js';
import { decodeManifest, encodeManifest } from './manifest-codec.js';
import { readQueueStats } from './stats.js';

const te = new TextEncoder();
const text = (b: Uint8Array) => Buffer.from(b).toString();
const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5, deadlineMs: 10_000 };

/** Enqueues `batches` batches of `perBatch` single-entry ingest calls: "b{batch}e{i}". */
async function fill(
  store: MemoryStore | HookedStore,
  batches: number,
  perBatch = 2,
  clock?: ManualClock,
) {
  const ingestor = new Ingestor({
    store,
    flushIntervalMs: 1_000_000,
    retry: FAST_RETRY,
    ...(clock ? { clock } : {}),
  });
  const sequences: bigint[] = [];
  for (let b = 0; b < batches; b++) {
    const handles = [];
    for (let i = 0; i < perBatch; i++) {
      handles.push(await ingestor.ingest([te.encode(`b${b}e${i}`)], te.encode(`m${b}.${i}`)));
      clock?.advance(1);
    }
    await ingestor.flush();
    sequences.push((await handles[0]!.awaitDurable()).sequence);
  }
  await ingestor.close();
  return sequences;
}

async function manifestOf(store: MemoryStore) {
  return decodeManifest((await store.get('ingest/manifest')).bytes);
}

async function drain(collector: Collector) {
  const out: string[] = [];
  for (let batch = await collector.nextBatch(); batch; batch = await collector.nextBatch()) {
    out.push(...batch.entries.map(text));
  }
  return out;
}

describe('Collector', () => {
  it('initialize() bumps the epoch with a conditional write, creating the manifest', async () => {
    const store = new MemoryStore();
    const c1 = new Collector({ store });
    expect(c1.epoch).toBeUndefined();
    expect(await c1.initialize()).toEqual({ epoch: 1n, nextToRead: 0n, nextSequence: 0n });
    expect((await manifestOf(store)).epoch).toBe(1n);
    const c2 = new Collector({ store });
    expect((await c2.initialize()).epoch).toBe(2n);
    expect(c2.epoch).toBe(2n);
  });

  it('returns batches in manifest order with entries and metadata, then undefined', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock();
    await fill(store, 3, 2, clock);
    const collector = new Collector({ store });
    await collector.initialize();
    const first = await collector.nextBatch();
    expect(first!.sequence).toBe(0n);
    expect(first!.entries.map(text)).toEqual(['b0e0', 'b0e1']);
    expect(first!.metadata.map((m) => ({ ...m, payload: text(m.payload) }))).toEqual([
      { startIndex: 0, recordCount: 1, ingestionTimeMs: clock.time - 6, payload: 'm0.0' },
      { startIndex: 1, recordCount: 1, ingestionTimeMs: clock.time - 5, payload: 'm0.1' },
    ]);
    expect(first!.compression).toBe('none');
    expect((await collector.nextBatch())!.sequence).toBe(1n);
    expect((await collector.nextBatch())!.sequence).toBe(2n);
    expect(await collector.nextBatch()).toBeUndefined();
    // New batches after catching up are picked up by re-reading the manifest.
    await fill(store, 1);
    expect((await collector.nextBatch())!.sequence).toBe(3n);
    expect(await collector.nextBatch()).toBeUndefined();
  });

  it('ack + flush remove consumed entries; next_sequence never goes back', async () => {
    const store = new MemoryStore();
    await fill(store, 4);
    const collector = new Collector({ store });
    await collector.initialize();
    await collector.nextBatch();
    await collector.nextBatch();
    await collector.ack(1n);
    expect(collector.ackedSequence).toBe(1n);
    expect(await collector.flush()).toEqual({ removed: 2, remaining: 2 });
    expect(await collector.flush()).toEqual({ removed: 0, remaining: 2 });
    let manifest = await manifestOf(store);
    expect(manifest.entries.map((e) => e.sequence)).toEqual([2n, 3n]);
    expect(manifest.nextSequence).toBe(4n);
    await collector.nextBatch();
    await collector.nextBatch();
    await collector.ack(3n);
    await collector.ack(2n); // lower ack: no-op
    expect(await collector.flush()).toEqual({ removed: 2, remaining: 0 });
    manifest = await manifestOf(store);
    expect(manifest.entries).toEqual([]);
    expect(manifest.nextSequence).toBe(4n);
    expect(manifest.epoch).toBe(1n);
    const [next] = await fill(store, 1);
    expect(next).toBe(4n);
    expect((await collector.nextBatch())!.sequence).toBe(4n);
  });

  it('refuses to ack what it has not returned', async () => {
    const store = new MemoryStore();
    await fill(store, 2);
    const collector = new Collector({ store });
    await collector.initialize();
    await collector.nextBatch();
    await expect(collector.ack(1n)).rejects.toThrow(InvalidArgumentError);
    await expect(collector.ack(-1n)).rejects.toThrow(InvalidArgumentError);
    await collector.ack(0n);
  });

  it('flush keeps entries producers append concurrently', async () => {
    const memory = new MemoryStore();
    const store = new HookedStore(memory);
    await fill(memory, 2);
    const collector = new Collector({ store, retry: FAST_RETRY });
    await collector.initialize();
    await collector.nextBatch();
    await collector.ack(0n);
    let interleave = true;
    store.onPut = async (key, _bytes, _options, next) => {
      if (key === 'ingest/manifest' && interleave) {
        interleave = false;
        await fill(memory, 1); // a producer appends between the collector's read and write
      }
      return next();
    };
    expect(await collector.flush()).toEqual({ removed: 1, remaining: 2 });
    const manifest = await manifestOf(memory);
    expect(manifest.entries.map((e) => e.sequence)).toEqual([1n, 2n]);
    expect(manifest.nextSequence).toBe(3n);
  });

  it('a newer collector fences the older: its next read, ack and flush fail with FencedError', async () => {
    const store = new MemoryStore();
    await fill(store, 3);
    const older = new Collector({ store });
    await older.initialize();
    const batch = await older.nextBatch();
    const newer = new Collector({ store });
    await newer.initialize();

    const attempts = {
      nextBatch: () => older.nextBatch(),
      ack: () => older.ack(batch!.sequence),
      flush: () => older.flush(),
      gc: () => older.gc(),
      stats: () => older.stats(),
      verifyEpoch: () => older.verifyEpoch(),
    };
    for (const [name, attempt] of Object.entries(attempts)) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(FencedError);
      expect((err as FencedError).code).toBe('INGEST_FENCED');
      expect((err as FencedError).retryable).toBe(false);
      expect((err as FencedError).epoch).toBe(1n);
      expect((err as FencedError).currentEpoch).toBe(2n);
    }
    expect(await newer.verifyEpoch()).toBe(2n);
    // The older collector's acks never reached the manifest; the newer one sees everything.
    expect((await manifestOf(store)).entries).toHaveLength(3);
    expect(await drain(newer)).toHaveLength(6);
  });

  it('a fenced flush in a conflict retry loop stops with FencedError, not a retry', async () => {
    const memory = new MemoryStore();
    const store = new HookedStore(memory);
    await fill(memory, 2);
    const older = new Collector({ store, retry: FAST_RETRY });
    await older.initialize();
    await older.nextBatch();
    await older.ack(0n);
    let takeover = true;
    store.onPut = async (key, _bytes, _options, next) => {
      if (key === 'ingest/manifest' && takeover) {
        takeover = false;
        await new Collector({ store: memory }).initialize();
      }
      return next();
    };
    await expect(older.flush()).rejects.toThrow(FencedError);
    expect((await manifestOf(memory)).entries).toHaveLength(2);
  });

  it('resumes after a sequence, skipping everything up to it', async () => {
    const store = new MemoryStore();
    await fill(store, 5);
    const collector = new Collector({ store });
    expect(await collector.initialize({ resumeAfter: 2n })).toMatchObject({ nextToRead: 3n });
    expect((await collector.nextBatch())!.sequence).toBe(3n);
    // The skipped entries count as acked: flush removes them.
    expect(await collector.flush()).toEqual({ removed: 3, remaining: 2 });
  });

  it('resume at head − 1 and at the last sequence are fine; older than head or ahead is an error', async () => {
    const store = new MemoryStore();
    await fill(store, 5);
    const first = new Collector({ store });
    await first.initialize({ resumeAfter: 2n });
    await first.flush(); // head is now 3

    const atHead = new Collector({ store });
    await atHead.initialize({ resumeAfter: 2n });
    expect((await atHead.nextBatch())!.sequence).toBe(3n);

    const caughtUp = new Collector({ store });
    await caughtUp.initialize({ resumeAfter: 4n });
    expect(await caughtUp.nextBatch()).toBeUndefined();

    const behind = new Collector({ store });
    const err = await behind.initialize({ resumeAfter: 0n }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ResumeOutOfRangeError);
    const r = err as ResumeOutOfRangeError;
    expect(r.code).toBe('INGEST_RESUME_OUT_OF_RANGE');
    expect(r.resumeAfter).toBe(0n);
    expect(r.firstAvailable).toBe(3n);
    expect(r.message).toMatch(/entries 1\.\.2 were consumed and removed by another collector/);

    await expect(new Collector({ store }).initialize({ resumeAfter: 5n })).rejects.toThrow(
      /only assigned sequences below 5/,
    );
    await expect(new Collector({ store }).initialize({ resumeAfter: -1n })).rejects.toThrow(
      InvalidArgumentError,
    );
  });

  it('resume on an emptied queue: only next_sequence − 1 is valid', async () => {
    const store = new MemoryStore();
    await fill(store, 3);
    const c = new Collector({ store });
    await c.initialize({ resumeAfter: 2n });
    await c.flush();
    expect((await manifestOf(store)).entries).toEqual([]);
    await new Collector({ store }).initialize({ resumeAfter: 2n });
    await expect(new Collector({ store }).initialize({ resumeAfter: 1n })).rejects.toThrow(
      ResumeOutOfRangeError,
    );
  });

  it('gc deletes old unreferenced batches only', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ now: () => clock.now() });
    await fill(store, 3, 1, clock);
    // An orphan from a producer whose append failed, and a fresh one about to be appended.
    await store.put('ingest/01AAAAAAAAAAAAAAAAAAAAAAAA.batch', encodeBatch([]));
    // Files that are not batch objects are never touched.
    await store.put('ingest/notes.txt', te.encode('keep'));
    await store.put('ingest/sub/01BBBBBBBBBBBBBBBBBBBBBBBB.batch', encodeBatch([]));
    const collector = new Collector({ store, clock, gcGracePeriodMs: 60_000 });
    await collector.initialize();
    const consumed = (await collector.nextBatch())!.location;
    await collector.ack(0n);
    await collector.flush(); // batch 0 becomes unreferenced

    clock.advance(30_000);
    await store.put('ingest/01CCCCCCCCCCCCCCCCCCCCCCCC.batch', encodeBatch([])); // fresh orphan
    let result = await collector.gc();
    expect(result.deleted).toEqual([]);
    expect(result.keptYoung).toBe(3);

    clock.advance(31_000);
    result = await collector.gc();
    const referenced = (await manifestOf(store)).entries.map((e) => e.location);
    expect(referenced).toHaveLength(2);
    expect([...result.deleted].sort()).toEqual(
      ['ingest/01AAAAAAAAAAAAAAAAAAAAAAAA.batch', consumed].sort(),
    );
    expect(result.keptReferenced).toBe(2);
    expect(result.keptYoung).toBe(1);
    const left = (await listAll(store, '')).map((m) => m.key);
    for (const location of referenced) expect(left).toContain(location);
    expect(left).toContain('ingest/notes.txt');
    expect(left).toContain('ingest/sub/01BBBBBBBBBBBBBBBBBBBBBBBB.batch');
    expect(left).toContain('ingest/manifest');
    expect(left).toContain('ingest/01CCCCCCCCCCCCCCCCCCCCCCCC.batch');
    // Referenced batches survive any age.
    clock.advance(10 * 86_400_000);
    await collector.gc();
    for (const location of referenced) await store.head(location);
  });

  it('reports queue statistics', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    await fill(store, 2, 3, clock);
    clock.advance(1000);
    const collector = new Collector({ store, clock });
    await collector.initialize();
    const stats = await collector.stats();
    expect(stats).toMatchObject({
      epoch: 1n,
      nextSequence: 2n,
      entryCount: 2,
      firstSequence: 0n,
      inputCount: 6,
      oldestEntryAgeMs: 1006,
    });
    const sizes = (await listAll(store, 'ingest/0')).reduce((n, m) => n + m.size, 0);
    expect(sizes).toBeGreaterThan(0);
    expect(stats.bytesWaiting).toBe(sizes);
    expect(stats.manifestBytes).toBe((await store.head('ingest/manifest')).size);
    expect((await collector.stats({ bytes: false })).bytesWaiting).toBeUndefined();
    expect(await readQueueStats({ store, clock })).toEqual(stats);
    const empty = await readQueueStats({ store: new MemoryStore() });
    expect(empty).toMatchObject({ epoch: 0n, entryCount: 0, bytesWaiting: 0 });
    expect(empty.oldestEntryAgeMs).toBeUndefined();
  });

  it('a missing or corrupt batch object is a typed error, not a skip', async () => {
    const store = new MemoryStore();
    await store.put(
      'ingest/manifest',
      encodeManifest({
        entries: [
          { sequence: 0n, location: 'ingest/01AAAAAAAAAAAAAAAAAAAAAAAA.batch', metadata: [] },
          {
            sequence: 1n,
            location: 'ingest/01BBBBBBBBBBBBBBBBBBBBBBBB.batch',
            metadata: [{ startIndex: 5, ingestionTimeMs: 0, payload: new Uint8Array() }],
          },
        ],
        nextSequence: 2n,
        epoch: 0n,
      }),
    );
    const collector = new Collector({ store });
    await collector.initialize();
    const missing = await collector.nextBatch().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(MissingBatchError);
    expect((missing as MissingBatchError).sequence).toBe(0n);
    await store.put('ingest/01AAAAAAAAAAAAAAAAAAAAAAAA.batch', new Uint8Array([9, 9, 9]));
    await expect(collector.nextBatch()).rejects.toThrow(CorruptBatchError);
    await store.put('ingest/01AAAAAAAAAAAAAAAAAAAAAAAA.batch', encodeBatch([]));
    expect((await collector.nextBatch())!.entries).toEqual([]);
    // Metadata pointing past the batch's records.
    await store.put('ingest/01BBBBBBBBBBBBBBBBBBBBBBBB.batch', encodeBatch([te.encode('x')]));
    await expect(collector.nextBatch()).rejects.toThrow(/spans records 5\.\.1 but the batch has 1/);
  });

  it('retries transient read errors', async () => {
    const memory = new MemoryStore();
    const store = new HookedStore(memory);
    await fill(memory, 2);
    let failures = 0;
    store.onGet = async (_key, next) => {
      if (failures++ % 2 === 0) throw new TransientError('flaky');
      return next();
    };
    const collector = new Collector({ store, retry: FAST_RETRY });
    await collector.initialize();
    expect(await drain(collector)).toEqual(['b0e0', 'b0e1', 'b1e0', 'b1e1']);
  });

  it('initialize never trusts an ambiguous epoch bump', async () => {
    const memory = new MemoryStore();
    const store = new HookedStore(memory);
    let lose = true;
    store.onPut = async (_key, _bytes, _options, next) => {
      const result = await next();
      if (lose) {
        lose = false;
        throw new TransientError('timeout', { maybeApplied: true });
      }
      return result;
    };
    const collector = new Collector({ store, retry: FAST_RETRY });
    // The lost write applied epoch 1; the retry bumps again rather than assuming it.
    expect((await collector.initialize()).epoch).toBe(2n);
    expect((await manifestOf(memory)).epoch).toBe(2n);
  });

  it('requires initialize() and stops after close()', async () => {
    const store = new MemoryStore();
    const collector = new Collector({ store });
    await expect(collector.nextBatch()).rejects.toThrow(/initialize\(\) must be called first/);
    await collector.initialize();
    await collector.close();
    await collector[Symbol.asyncDispose]();
    await expect(collector.nextBatch()).rejects.toThrow(IngestClosedError);
  });

  it('reads batches written with custom paths and deterministic ids', async () => {
    const store = new MemoryStore();
    const ingestor = new Ingestor({
      store,
      dataPathPrefix: 'q/d',
      manifestPath: 'q/m',
      ids: new SequentialIds(),
      batchCompression: 'zstd',
    });
    const h = await ingestor.ingest([te.encode('z1'), te.encode('z2')]);
    await ingestor.close();
    expect((await h.awaitDurable()).location).toBe('q/d/01000000000000000000000001.batch');
    const collector = new Collector({ store, dataPathPrefix: 'q/d', manifestPath: 'q/m' });
    await collector.initialize();
    const batch = await collector.nextBatch();
    expect(batch!.compression).toBe('zstd');
    expect(batch!.entries.map(text)).toEqual(['z1', 'z2']);
  });
});

describe('nextBatches (read-ahead)', () => {
  it('returns what nextBatch would, in order, with one manifest read per call and the batch reads concurrent', async () => {
    const store = new HookedStore(new MemoryStore());
    await fill(store, 10);
    const collector = new Collector({ store, retry: FAST_RETRY });
    await collector.initialize();
    let inFlight = 0;
    let maxInFlight = 0;
    let manifestReads = 0;
    store.onGet = async (key, next) => {
      if (key.endsWith('/manifest')) {
        manifestReads++;
        return next();
      }
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      try {
        return await next();
      } finally {
        inFlight--;
      }
    };
    const first = await collector.nextBatches(4);
    expect(first.map((b) => b.sequence)).toEqual([0n, 1n, 2n, 3n]);
    expect(manifestReads).toBe(1);
    expect(maxInFlight).toBe(4);
    const rest = await collector.nextBatches(100);
    expect(rest.map((b) => b.sequence)).toEqual([4n, 5n, 6n, 7n, 8n, 9n]);
    expect(manifestReads).toBe(2);
    expect([...first, ...rest].flatMap((b) => b.entries.map(text))).toEqual(
      Array.from({ length: 10 }, (_, b) => [`b${b}e0`, `b${b}e1`]).flat(),
    );
    expect(await collector.nextBatches(4)).toEqual([]);
    // What was returned can be acked; nothing more.
    await collector.ack(9n);
    await expect(collector.nextBatches(0)).rejects.toThrow(InvalidArgumentError);
  });

  it('a failed read returns nothing: the same batches come again on the next call', async () => {
    const store = new HookedStore(new MemoryStore());
    await fill(store, 3);
    const collector = new Collector({ store, retry: { ...FAST_RETRY, deadlineMs: 20 } });
    await collector.initialize();
    const keys = (await manifestOf(store.inner as MemoryStore)).entries.map((e) => e.location);
    let fail = true;
    store.onGet = (key, next) => {
      if (fail && key === keys[2]) return Promise.reject(new TransientError('injected'));
      return next();
    };
    await expect(collector.nextBatches(3)).rejects.toThrow(TransientError);
    await expect(collector.ack(0n)).rejects.toThrow(InvalidArgumentError);
    fail = false;
    expect((await collector.nextBatches(3)).map((b) => b.sequence)).toEqual([0n, 1n, 2n]);
  });

  it('a fenced collector gets FencedError', async () => {
    const store = new MemoryStore();
    await fill(store, 2);
    const older = new Collector({ store, retry: FAST_RETRY });
    await older.initialize();
    await new Collector({ store, retry: FAST_RETRY }).initialize();
    await expect(older.nextBatches(2)).rejects.toThrow(FencedError);
  });
});
