import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFsStore, listAll, type ObjectStore, S3Store } from '@sediment/object-store';
import { removeAll, s3TestOptions } from '@sediment/object-store/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Collector,
  decodeManifest,
  encodeBatch,
  FencedError,
  Ingestor,
  ResumeOutOfRangeError,
} from '../src/index.js';

/** The collector protocol (fencing, resume, flush, GC) on the real backends. */
const backends: {
  name: string;
  open: () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>;
}[] = [
  {
    name: 'local-fs',
    open: async () => {
      const root = await mkdtemp(join(tmpdir(), 'ingest-collector-'));
      return {
        store: new LocalFsStore({ root }),
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
  },
];
if (s3TestOptions()) {
  backends.push({
    name: 's3',
    open: async () => {
      const store = new S3Store(s3TestOptions()!);
      return {
        store,
        cleanup: async () => {
          await removeAll(store);
          await store.close();
        },
      };
    },
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe.each(backends)('$name: collector protocol', (backend) => {
  it('fences, resumes, flushes and collects garbage', async () => {
    const { store, cleanup } = await backend.open();
    cleanups.push(cleanup);
    const ingestor = new Ingestor({ store, flushIntervalMs: 1_000_000 });
    for (let b = 0; b < 5; b++) {
      const handle = await ingestor.ingest([new TextEncoder().encode(`batch ${b}`)]);
      await ingestor.flush();
      expect((await handle.awaitDurable()).sequence).toBe(BigInt(b));
    }
    await ingestor.close();

    // Two collectors: the newer fences the older.
    const older = new Collector({ store });
    expect((await older.initialize()).epoch).toBe(1n);
    const first = await older.nextBatch();
    expect(Buffer.from(first!.entries[0]!).toString()).toBe('batch 0');
    const newer = new Collector({ store });
    expect((await newer.initialize({ resumeAfter: 1n })).epoch).toBe(2n);
    await expect(older.nextBatch()).rejects.toThrow(FencedError);
    await expect(older.ack(0n)).rejects.toThrow(FencedError);
    await expect(older.flush()).rejects.toThrow(FencedError);

    // The newer resumed after 1: it reads 2, 3, 4 and flushing removes 0..3 once acked.
    const seen: bigint[] = [];
    for (let batch = await newer.nextBatch(); batch; batch = await newer.nextBatch()) {
      seen.push(batch.sequence);
    }
    expect(seen).toEqual([2n, 3n, 4n]);
    await newer.ack(3n);
    expect(await newer.flush()).toEqual({ removed: 4, remaining: 1 });
    const manifest = decodeManifest((await store.get('ingest/manifest')).bytes);
    expect(manifest.entries.map((e) => e.sequence)).toEqual([4n]);
    expect(manifest.nextSequence).toBe(5n);
    expect(manifest.epoch).toBe(2n);

    // Resuming before the head is an error, not a stall.
    await expect(new Collector({ store }).initialize({ resumeAfter: 1n })).rejects.toThrow(
      ResumeOutOfRangeError,
    );

    // GC: with the clock one grace period past the newest object, the 4 consumed batches
    // and an orphan go; the referenced batch stays at any age.
    await store.put('ingest/01ARZ3NDEKTSV4RRFFQ69G5FAV.batch', encodeBatch([]));
    const objects = await listAll(store, 'ingest/');
    const newest = Math.max(...objects.map((o) => o.lastModified.getTime()));
    const current = new Collector({
      store,
      gcGracePeriodMs: 60_000,
      clock: { now: () => newest + 61_000 },
    });
    await current.initialize({ resumeAfter: 3n });
    const young = new Collector({ store, gcGracePeriodMs: 60_000, clock: { now: () => newest } });
    await young.initialize({ resumeAfter: 3n });
    const kept = await young.gc();
    expect(kept.deleted).toEqual([]);
    expect(kept.keptReferenced).toBe(1);
    await current.initialize({ resumeAfter: 3n });
    const result = await current.gc();
    expect(result.deleted).toHaveLength(5);
    expect(result.keptReferenced).toBe(1);
    const left = (await listAll(store, 'ingest/')).map((o) => o.key).sort();
    expect(left).toEqual([manifest.entries[0]!.location, 'ingest/manifest'].sort());
  }, 60_000);
});
