import {
  listAll,
  MemoryStore,
  ObjectStoreFatalError,
  TransientError,
} from '@sediment/object-store';
import { describe, expect, it, vi } from 'vitest';
import {
  Gate,
  HookedStore,
  ManualClock,
  SequentialIds,
  until,
} from '../test/support/hooked-store.js';
import { decodeBatch } from './batch-codec.js';
import { Collector } from './collector.js';
import {
  CorruptManifestError,
  FlushFailedError,
  IngestClosedError,
  InvalidArgumentError,
} from './errors.js';
import type { IngestorEvent } from './events.js';
import { Ingestor, type IngestorOptions } from './ingestor.js';
import { decodeManifest } from './manifest-codec.js';

const te = new TextEncoder();
const text = (b: Uint8Array) => Buffer.from(b).toString();
const isManifest = (key: string) => key === 'ingest/manifest';
const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5, deadlineMs: 10_000 };

function setup(options: Partial<IngestorOptions> = {}) {
  const memory = new MemoryStore();
  const store = new HookedStore(memory);
  const clock = new ManualClock();
  const ingestor = new Ingestor({
    store,
    clock,
    ids: new SequentialIds(),
    flushIntervalMs: 1_000_000,
    retry: FAST_RETRY,
    ...options,
  });
  return { memory, store, clock, ingestor };
}

async function manifestOf(store: MemoryStore) {
  return decodeManifest((await store.get('ingest/manifest')).bytes);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('Ingestor', () => {
  it('writes one batch per flush and one metadata item per ingest call', async () => {
    const { memory, clock, ingestor } = setup();
    const a = await ingestor.ingest([te.encode('a0'), te.encode('a1')], te.encode('meta-a'));
    clock.advance(5);
    const b = await ingestor.ingest([te.encode('b0')]);
    await ingestor.flush();
    const da = await a.awaitDurable();
    const db = await b.awaitDurable();
    expect(da).toEqual({
      sequence: 0n,
      location: 'ingest/01000000000000000000000001.batch',
      startIndex: 0,
      recordCount: 2,
    });
    expect(db).toEqual({ ...da, startIndex: 2, recordCount: 1 });

    const manifest = await manifestOf(memory);
    expect(manifest.nextSequence).toBe(1n);
    expect(manifest.epoch).toBe(0n);
    expect(manifest.entries).toHaveLength(1);
    const entry = manifest.entries[0]!;
    expect(entry.location).toBe(da.location);
    expect(entry.metadata.map((m) => [m.startIndex, m.ingestionTimeMs, text(m.payload)])).toEqual([
      [0, clock.time - 5, 'meta-a'],
      [2, clock.time, ''],
    ]);
    const batch = decodeBatch((await memory.get(da.location)).bytes);
    expect(batch.records.map(text)).toEqual(['a0', 'a1', 'b0']);
    await ingestor.close();
  });

  it('uses dataPathPrefix, manifestPath and zstd', async () => {
    const { memory, ingestor } = setup({
      dataPathPrefix: 'q/data',
      manifestPath: 'q/m',
      batchCompression: 'zstd',
    });
    const h = await ingestor.ingest([te.encode('x'.repeat(1000))]);
    await ingestor.flush();
    const { location } = await h.awaitDurable();
    expect(location).toMatch(/^q\/data\/[0-9A-Z]{26}\.batch$/);
    const obj = await memory.get(location);
    expect(obj.size).toBeLessThan(100);
    expect(decodeBatch(obj.bytes).compression).toBe('zstd');
    expect(decodeManifest((await memory.get('q/m')).bytes).entries[0]!.location).toBe(location);
  });

  it('flushes when the batch reaches flushSizeBytes', async () => {
    const { ingestor } = setup({ flushSizeBytes: 100 });
    const small = await ingestor.ingest([new Uint8Array(50)]);
    const big = await ingestor.ingest([new Uint8Array(60)]);
    const [ds, db] = await Promise.all([small.awaitDurable(), big.awaitDurable()]);
    expect(ds.location).toBe(db.location);
    const next = await ingestor.ingest([new Uint8Array(200)]);
    expect((await next.awaitDurable()).sequence).toBe(1n);
  });

  it('seals a batch at half of maxBufferedInputs so the next one fills meanwhile', async () => {
    const { ingestor } = setup({ maxBufferedInputs: 4 });
    const a = await ingestor.ingest([te.encode('a')]);
    const b = await ingestor.ingest([te.encode('b')]);
    const c = await ingestor.ingest([te.encode('c')]);
    const [da, db] = await Promise.all([a.awaitDurable(), b.awaitDurable()]);
    expect(da.location).toBe(db.location);
    expect(ingestor.metrics().bufferedInputs).toBe(1);
    await ingestor.flush();
    expect((await c.awaitDurable()).sequence).toBe(1n);
  });

  it('flushes on the interval', async () => {
    const { ingestor } = setup({ flushIntervalMs: 20 });
    const h = await ingestor.ingest([te.encode('tick')]);
    expect((await h.awaitDurable()).sequence).toBe(0n);
    await ingestor.close();
  });

  it('the interval flush is not starved by constant input', async () => {
    vi.useFakeTimers();
    try {
      const { ingestor } = setup({ flushIntervalMs: 50 });
      const first = await ingestor.ingest([te.encode('first')]);
      let durable = false;
      void first.awaitDurable().then(() => {
        durable = true;
      });
      // Input every 5 ms, ten times per interval. A timer re-armed on each ingest would
      // never fire while this loop runs.
      let steps = 0;
      while (!durable && steps < 100) {
        await ingestor.ingest([te.encode('more')]);
        await vi.advanceTimersByTimeAsync(5);
        steps++;
      }
      expect(durable).toBe(true);
      expect(steps).toBeLessThanOrEqual(12);
      await ingestor.flush();
    } finally {
      vi.useRealTimers();
    }
  });

  it('applies backpressure at maxBufferedInputs, first come first served', async () => {
    const { store, memory, ingestor } = setup({ maxBufferedInputs: 3, flushIntervalMs: 5 });
    const gate = new Gate();
    store.onPut = async (_key, _bytes, _options, next) => {
      await gate.wait();
      return next();
    };
    const accepted = await Promise.all([0, 1, 2].map((i) => ingestor.ingest([te.encode(`e${i}`)])));
    expect(ingestor.metrics().bufferedInputs).toBe(3);
    const order: number[] = [];
    const late = [3, 4].map((i) =>
      ingestor.ingest([te.encode(`e${i}`)]).then((h) => {
        order.push(i);
        return h;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(order).toEqual([]);
    gate.open();
    const handles = [...accepted, ...(await Promise.all(late))];
    expect(order).toEqual([3, 4]);
    const infos = await Promise.all(handles.map((h) => h.awaitDurable()));
    const manifest = await manifestOf(memory);
    const seen: string[] = [];
    for (const entry of manifest.entries) {
      const batch = decodeBatch((await memory.get(entry.location)).bytes);
      seen.push(...batch.records.map(text));
    }
    expect(seen).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
    expect(infos[3]!.sequence).toBeGreaterThan(infos[2]!.sequence);
    expect(ingestor.metrics().bufferedInputs).toBe(0);
  });

  it('keeps buffering and writing the next batches while an append is in flight, then appends them together', async () => {
    const { store, memory, ingestor } = setup();
    const gate = new Gate();
    store.onPut = async (key, _bytes, _options, next) => {
      if (isManifest(key)) await gate.wait();
      return next();
    };
    const a = await ingestor.ingest([te.encode('a')]);
    const fa = ingestor.flush();
    await until(() => gate.waiting === 1);
    const b = await ingestor.ingest([te.encode('b')]);
    const fb = ingestor.flush();
    const c = await ingestor.ingest([te.encode('c')]);
    const fc = ingestor.flush();
    await until(() => store.counts.put === 4); // 3 batch objects + the blocked manifest put
    expect((await listAll(memory, 'ingest/')).length).toBe(3);
    gate.open();
    await Promise.all([fa, fb, fc]);
    const [da, db, dc] = await Promise.all([a, b, c].map((h) => h.awaitDurable()));
    expect([da!.sequence, db!.sequence, dc!.sequence]).toEqual([0n, 1n, 2n]);
    // b and c were both ready when a's append finished: one manifest write for both.
    expect(ingestor.metrics().manifestWrites).toBe(2);
    expect((await manifestOf(memory)).entries.map((e) => e.location)).toEqual([
      da!.location,
      db!.location,
      dc!.location,
    ]);
  });

  it('rejects every handle of a batch with a permanent store error, and keeps working', async () => {
    const { store, memory, ingestor } = setup();
    const fatal = new ObjectStoreFatalError('disk on fire');
    store.onPut = async (key, _bytes, _options, next) => {
      if (!isManifest(key)) throw fatal;
      return next();
    };
    const h1 = await ingestor.ingest([te.encode('1')]);
    const h2 = await ingestor.ingest([te.encode('2')]);
    const flushErr = await rejection(ingestor.flush());
    expect(flushErr).toBeInstanceOf(FlushFailedError);
    for (const h of [h1, h2]) {
      const err = (await rejection(h.awaitDurable())) as FlushFailedError;
      expect(err).toBeInstanceOf(FlushFailedError);
      expect(err.code).toBe('INGEST_FLUSH_FAILED');
      expect(err.retryable).toBe(false);
      expect(err.maybeEnqueued).toBe(false);
      expect(err.cause).toBe(fatal);
    }
    await expect(memory.head('ingest/manifest')).rejects.toThrow(/not found/);
    expect(ingestor.metrics().failedInputs).toBe(2);
    expect(ingestor.metrics().bufferedInputs).toBe(0);

    store.onPut = undefined;
    const h3 = await ingestor.ingest([te.encode('3')]);
    await ingestor.flush();
    expect((await h3.awaitDurable()).sequence).toBe(0n);
  });

  it('retries transient batch-write failures', async () => {
    const { store, memory, ingestor } = setup();
    let failures = 2;
    store.onPut = async (key, _bytes, _options, next) => {
      if (!isManifest(key) && failures-- > 0) throw new TransientError('503 slow down');
      return next();
    };
    const h = await ingestor.ingest([te.encode('x')]);
    await ingestor.flush();
    await h.awaitDurable();
    expect(ingestor.metrics().transientErrors).toBe(2);
    expect((await listAll(memory, 'ingest/')).length).toBe(2);
  });

  it('a batch write whose reply was lost is recognised as ours (no second object)', async () => {
    const { store, memory, ingestor } = setup();
    let lose = true;
    store.onPut = async (key, _bytes, _options, next) => {
      const result = await next();
      if (!isManifest(key) && lose) {
        lose = false;
        throw new TransientError('connection reset', { maybeApplied: true });
      }
      return result;
    };
    const h = await ingestor.ingest([te.encode('x')]);
    await ingestor.flush();
    const info = await h.awaitDurable();
    expect(info.location).toBe('ingest/01000000000000000000000001.batch');
    expect((await listAll(memory, 'ingest/')).map((m) => m.key)).toEqual([
      info.location,
      'ingest/manifest',
    ]);
  });

  it('an append whose reply was lost is not appended twice', async () => {
    const { store, memory, ingestor } = setup();
    let lose = true;
    store.onPut = async (key, _bytes, _options, next) => {
      const result = await next();
      if (isManifest(key) && lose) {
        lose = false;
        throw new TransientError('timeout', { maybeApplied: true });
      }
      return result;
    };
    const h = await ingestor.ingest([te.encode('x')]);
    await ingestor.flush();
    expect((await h.awaitDurable()).sequence).toBe(0n);
    const manifest = await manifestOf(memory);
    expect(manifest.entries.map((e) => e.sequence)).toEqual([0n]);
    expect(manifest.nextSequence).toBe(1n);
  });

  it('after a lost reply, finds its entry behind another producer’s', async () => {
    const { store, memory, ingestor } = setup();
    const other = new Ingestor({ store: memory, ids: new SequentialIds(), retry: FAST_RETRY });
    const otherHandle = await other.ingest([te.encode('other')]);
    let lose = true;
    store.onPut = async (key, _bytes, _options, next) => {
      const result = await next();
      if (isManifest(key) && lose) {
        lose = false;
        await other.flush(); // lands at sequence 1, after ours
        throw new TransientError('timeout', { maybeApplied: true });
      }
      return result;
    };
    const h = await ingestor.ingest([te.encode('mine')]);
    await ingestor.flush();
    expect((await h.awaitDurable()).sequence).toBe(0n);
    expect((await otherHandle.awaitDurable()).sequence).toBe(1n);
    expect((await manifestOf(memory)).entries).toHaveLength(2);
  });

  it('after an ambiguous failure that did not apply, appends again (slot taken by another)', async () => {
    const { store, memory, ingestor } = setup();
    const other = new Ingestor({
      store: memory,
      ids: { next: () => '01ZZZZZZZZZZZZZZZZZZZZZZZZ' },
      retry: FAST_RETRY,
    });
    const otherHandle = await other.ingest([te.encode('other')]);
    let lose = true;
    store.onPut = async (key, _bytes, _options, next) => {
      if (isManifest(key) && lose) {
        lose = false;
        await other.flush(); // takes sequence 0; our write never happened
        throw new TransientError('timeout', { maybeApplied: true });
      }
      return next();
    };
    const h = await ingestor.ingest([te.encode('mine')]);
    await ingestor.flush();
    expect((await otherHandle.awaitDurable()).sequence).toBe(0n);
    expect((await h.awaitDurable()).sequence).toBe(1n);
    const manifest = await manifestOf(memory);
    expect(manifest.entries.map((e) => e.sequence)).toEqual([0n, 1n]);
    expect(new Set(manifest.entries.map((e) => e.location)).size).toBe(2);
  });

  it('reports maybeEnqueued when a lost-reply append was consumed before the re-read', async () => {
    const { store, memory, ingestor } = setup();
    let lose = true;
    store.onPut = async (key, _bytes, _options, next) => {
      const result = await next();
      if (isManifest(key) && lose) {
        lose = false;
        // A collector consumes and removes the entry before the producer re-reads.
        const collector = new Collector({ store: memory });
        await collector.initialize();
        const batch = await collector.nextBatch();
        await collector.ack(batch!.sequence);
        await collector.flush();
        throw new TransientError('timeout', { maybeApplied: true });
      }
      return result;
    };
    const h = await ingestor.ingest([te.encode('x')]);
    await expect(ingestor.flush()).rejects.toThrow(FlushFailedError);
    const err = (await rejection(h.awaitDurable())) as FlushFailedError;
    expect(err.maybeEnqueued).toBe(true);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/could not tell whether batch .* was enqueued/);
    const manifest = await manifestOf(memory);
    expect(manifest.entries).toEqual([]);
    expect(manifest.nextSequence).toBe(1n);
  });

  it('gives up after the retry deadline with a retryable error', async () => {
    const { store, ingestor } = setup({
      retry: { baseDelayMs: 1, maxDelayMs: 5, deadlineMs: 100 },
    });
    store.onPut = async () => {
      throw new TransientError('store down');
    };
    const h = await ingestor.ingest([te.encode('x')]);
    await expect(ingestor.flush()).rejects.toThrow(FlushFailedError);
    const err = (await rejection(h.awaitDurable())) as FlushFailedError;
    expect(err.retryable).toBe(true);
    expect(err.maybeEnqueued).toBe(false);
    expect(err.message).toMatch(/store down/);
  });

  it('fails an append on a corrupt manifest without touching it', async () => {
    const { memory, ingestor } = setup();
    await memory.put('ingest/manifest', new Uint8Array([1, 2, 3]));
    const h = await ingestor.ingest([te.encode('x')]);
    await expect(ingestor.flush()).rejects.toThrow(FlushFailedError);
    const err = (await rejection(h.awaitDurable())) as FlushFailedError;
    expect(err.cause).toBeInstanceOf(CorruptManifestError);
    expect(err.retryable).toBe(false);
    expect(Array.from((await memory.get('ingest/manifest')).bytes)).toEqual([1, 2, 3]);
  });

  it('two producers on one manifest: every batch exactly once, in each producer’s order', async () => {
    const memory = new MemoryStore();
    const producers = [0, 1, 2].map(
      (p) =>
        new Ingestor({
          store: memory,
          flushIntervalMs: 1 + p,
          retry: FAST_RETRY,
        }),
    );
    const handles = await Promise.all(
      producers.flatMap((ingestor, p) =>
        Array.from({ length: 60 }, (_, i) => ingestor.ingest([te.encode(`${p}:${i}`)])),
      ),
    );
    await Promise.all(handles.map((h) => h.awaitDurable()));
    const manifest = await manifestOf(memory);
    const lastSeen = [-1, -1, -1];
    let total = 0;
    for (const entry of manifest.entries) {
      for (const record of decodeBatch((await memory.get(entry.location)).bytes).records) {
        const [p, i] = text(record).split(':').map(Number) as [number, number];
        expect(i).toBeGreaterThan(lastSeen[p]!);
        lastSeen[p] = i;
        total++;
      }
    }
    expect(total).toBe(180);
    expect(lastSeen).toEqual([59, 59, 59]);
    await Promise.all(producers.map((p) => p.close()));
  });

  it('close() flushes, is idempotent, and rejects later and waiting calls', async () => {
    const { store, memory, ingestor } = setup({ maxBufferedInputs: 1 });
    const gate = new Gate();
    store.onPut = async (_key, _bytes, _options, next) => {
      await gate.wait();
      return next();
    };
    const h = await ingestor.ingest([te.encode('x')]);
    const waiting = ingestor.ingest([te.encode('y')]);
    const closing = ingestor.close();
    expect(await rejection(waiting)).toBeInstanceOf(IngestClosedError);
    gate.open();
    await closing;
    await ingestor.close();
    await ingestor[Symbol.asyncDispose]();
    expect((await h.awaitDurable()).sequence).toBe(0n);
    expect((await manifestOf(memory)).entries).toHaveLength(1);
    const err = await rejection(ingestor.ingest([te.encode('z')]));
    expect(err).toBeInstanceOf(IngestClosedError);
    expect((err as IngestClosedError).code).toBe('INGEST_CLOSED');
  });

  it('validates its options and input', async () => {
    const store = new MemoryStore();
    expect(() => new Ingestor({ store, flushIntervalMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => new Ingestor({ store, maxBufferedInputs: -1 })).toThrow(/maxBufferedInputs/);
    expect(() => new Ingestor({ store, batchCompression: 'lz4' as never })).toThrow(
      /batchCompression/,
    );
    expect(() => new Ingestor({ store, dataPathPrefix: '../x' })).toThrow(/dataPathPrefix/);
    expect(() => new Ingestor({ store, retry: { deadlineMs: -1 } })).toThrow(/deadlineMs/);
    const ingestor = new Ingestor({ store });
    await expect(ingestor.ingest(['x' as never])).rejects.toThrow(InvalidArgumentError);
    await expect(ingestor.ingest('x' as never)).rejects.toThrow(/array/);
    const bad = new Ingestor({ store, ids: { next: () => 'not-a-ulid' } });
    const h = await bad.ingest([te.encode('x')]);
    await expect(bad.flush()).rejects.toThrow(/not a ULID/);
    await expect(h.awaitDurable()).rejects.toThrow(FlushFailedError);
  });

  it('reports events and survives a throwing hook', async () => {
    const events: IngestorEvent[] = [];
    const { ingestor } = setup({
      onEvent: (e) => {
        events.push(e);
        throw new Error('hook bug');
      },
    });
    const h = await ingestor.ingest([te.encode('x'), te.encode('yy')]);
    await ingestor.flush();
    await h.awaitDurable();
    expect(events.map((e) => e.type)).toEqual(['batch-written', 'enqueued']);
    const written = events[0] as Extract<IngestorEvent, { type: 'batch-written' }>;
    expect(written.records).toBe(2);
    expect(written.blockBytes).toBe(4 + 1 + 4 + 2);
    expect(written.objectBytes).toBe(11 + 7);
    const m = ingestor.metrics();
    expect(m).toMatchObject({
      ingestCalls: 1,
      entries: 2,
      entryBytes: 3,
      batchesWritten: 1,
      batchBytesWritten: 18,
      durableInputs: 1,
      manifestWrites: 1,
      manifestReads: 1,
    });
  });

  it('uses the cached manifest for the next append (one request per append when alone)', async () => {
    const { store, ingestor } = setup();
    for (let i = 0; i < 5; i++) {
      const h = await ingestor.ingest([te.encode(`x${i}`)]);
      await ingestor.flush();
      expect((await h.awaitDurable()).sequence).toBe(BigInt(i));
    }
    expect(ingestor.metrics().manifestReads).toBe(1);
    expect(store.counts.get).toBe(1);
    expect(store.counts.put).toBe(10);
  });
});
