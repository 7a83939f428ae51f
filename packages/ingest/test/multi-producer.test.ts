import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalFsStore, type ObjectStore, S3Store } from '@sediment/object-store';
import { removeAll, s3TestOptions, s3TestUrl } from '@sediment/object-store/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { readQueueStats } from '../src/index.js';
import { spawnProducer } from './support/processes.js';
import { drainQueue, expectNoDuplicates, expectProducerOrder } from './support/verify.js';

const PRODUCERS = 8;
const INGESTS = 200;

interface Backend {
  readonly name: string;
  open(): Promise<{ store: ObjectStore; url: string; cleanup: () => Promise<void> }>;
}

const s3 = s3TestOptions();
const backends: Backend[] = [
  {
    name: 'local-fs',
    async open() {
      const root = await mkdtemp(join(tmpdir(), 'ingest-multi-'));
      return {
        store: new LocalFsStore({ root }),
        url: pathToFileURL(root).href,
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
  },
];
if (s3) {
  backends.push({
    name: 's3',
    async open() {
      const options = s3TestOptions()!;
      const store = new S3Store(options);
      return {
        store,
        url: s3TestUrl(options),
        cleanup: async () => {
          await removeAll(store);
          await store.close();
        },
      };
    },
  });
}

describe.each(backends)('$name: concurrent producer processes', (backend) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it(`${PRODUCERS} producer processes × ${INGESTS} ingests: every entry exactly once, in each producer's order`, async () => {
    const { store, url, cleanup } = await backend.open();
    cleanups.push(cleanup);
    const producers = Array.from({ length: PRODUCERS }, (_, p) =>
      spawnProducer({
        url,
        producer: p,
        count: INGESTS,
        flushIntervalMs: 10,
        compression: p % 2 === 0 ? 'none' : 'zstd',
        paceEvery: 5,
        paceMs: 3,
      }),
    );
    const exits = await Promise.all(producers.map((p) => p.exited));
    for (const [p, exit] of exits.entries()) {
      expect(exit.code, `producer ${p}: ${exit.stderr}`).toBe(0);
    }

    const delivered = await drainQueue(store);
    expect(delivered).toHaveLength(PRODUCERS * INGESTS);
    const byKey = expectNoDuplicates(delivered);
    expectProducerOrder(delivered);

    let batches = 0;
    let conflicts = 0;
    for (const [p, producer] of producers.entries()) {
      const done = producer.events.find((e) => e.type === 'done');
      expect(done).toMatchObject({ type: 'done', failed: 0 });
      if (done?.type === 'done') {
        batches += done.batches;
        conflicts += done.manifestConflicts;
      }
      // Each awaitDurable() named the batch and sequence the collector found the entry in.
      const durable = producer.events.filter((e) => e.type === 'durable');
      expect(durable).toHaveLength(INGESTS);
      for (const e of durable) {
        const found = byKey.get(`${p}:${e.i}`);
        expect(found?.sequence.toString()).toBe(e.sequence);
        expect(found?.location).toBe(e.location);
      }
    }
    const stats = await readQueueStats({ store });
    expect(stats.entryCount).toBe(batches);
    expect(stats.inputCount).toBe(PRODUCERS * INGESTS);
    // The race is real: producers interleave in the manifest and collide on writes.
    const sequencesPerProducer = new Set(delivered.map((d) => `${d.p}@${d.sequence}`)).size;
    expect(sequencesPerProducer).toBe(batches);
    console.log(
      `${backend.name}: ${batches} batches, ${conflicts} manifest conflicts, next_sequence ${stats.nextSequence}`,
    );
  }, 180_000);
});
