import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FaultInjectingStore,
  LocalFsStore,
  MemoryStore,
  type ObjectStore,
} from '@sediment/object-store';
import { afterAll, describe, expect, it } from 'vitest';
import { Collector, decodeManifest, type FlushFailedError, Ingestor } from '../src/index.js';
import { parseEntry, producerEntry } from './support/producer-protocol.js';
import { type Delivered, expectNoDuplicates, expectProducerOrder } from './support/verify.js';

const PRODUCERS = 4;
const INGESTS = 150;
const FAULTS = { transientErrorRate: 0.1, lostReplyRate: 0.05 };
const RETRY = { baseDelayMs: 1, maxDelayMs: 20, deadlineMs: 60_000 };

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

const backends: { name: string; open: () => Promise<ObjectStore> }[] = [
  { name: 'memory', open: async () => new MemoryStore() },
  {
    name: 'local-fs',
    open: async () => {
      const root = await mkdtemp(join(tmpdir(), 'ingest-faults-'));
      roots.push(root);
      return new LocalFsStore({ root });
    },
  },
];

describe.each(backends)(
  '$name behind a fault injector (10% transient, 5% lost replies)',
  (backend) => {
    it('producers and a concurrent collector: nothing acked is lost, nothing is duplicated', async () => {
      const inner = await backend.open();
      const faulty = (seed: number) => new FaultInjectingStore(inner, { seed, ...FAULTS });
      const producerStores = Array.from({ length: PRODUCERS }, (_, p) => faulty(100 + p));
      const producers = producerStores.map(
        (store) => new Ingestor({ store, flushIntervalMs: 2, retry: RETRY }),
      );

      type Outcome =
        | { ok: true; sequence: bigint; location: string }
        | { ok: false; error: FlushFailedError };
      const outcomes = new Map<string, Outcome>();
      const produce = async (p: number) => {
        const waits: Promise<void>[] = [];
        for (let i = 0; i < INGESTS; i++) {
          const handle = await producers[p]!.ingest([producerEntry(p, i, 32)]);
          waits.push(
            handle.awaitDurable().then(
              (d) =>
                void outcomes.set(`${p}:${i}`, {
                  ok: true,
                  sequence: d.sequence,
                  location: d.location,
                }),
              (error: FlushFailedError) => void outcomes.set(`${p}:${i}`, { ok: false, error }),
            ),
          );
          // Spread the load so that batches, appends and the collector interleave.
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        await Promise.all(waits);
        await producers[p]!.close();
      };

      // A collector consumes (ack + flush, rewriting the manifest) while producers append.
      const collectorStore = faulty(999);
      const collector = new Collector({ store: collectorStore, retry: RETRY });
      await collector.initialize();
      const delivered: Delivered[] = [];
      let producing = true;
      const consume = async () => {
        let sinceFlush = 0;
        for (;;) {
          const batch = await collector.nextBatch();
          if (batch) {
            for (const entry of batch.entries) {
              delivered.push({
                ...parseEntry(entry),
                sequence: batch.sequence,
                location: batch.location,
              });
            }
            await collector.ack(batch.sequence);
            if (++sinceFlush >= 3) {
              await collector.flush();
              sinceFlush = 0;
            }
          } else if (!producing) {
            break;
          } else {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }
        await collector.flush();
      };
      const consuming = consume();
      await Promise.all(producers.map((_, p) => produce(p)));
      producing = false;
      await consuming;

      // Faults really happened, on both sides.
      const all = [...producerStores, collectorStore];
      expect(all.reduce((n, s) => n + s.stats.transientErrors, 0)).toBeGreaterThan(20);
      expect(all.reduce((n, s) => n + s.stats.lostReplies, 0)).toBeGreaterThan(10);
      const c = collectorStore.stats;
      expect(c.transientErrors + c.lostReplies).toBeGreaterThan(0);
      console.log(
        `${backend.name}: ${new Set(delivered.map((d) => d.sequence)).size} batches; faults ` +
          all
            .map((s) => `${s.stats.transientErrors}t/${s.stats.lostReplies}l of ${s.stats.calls}`)
            .join(', '),
      );

      const byKey = expectNoDuplicates(delivered);
      expectProducerOrder(delivered);
      let resolved = 0;
      const problems: string[] = [];
      for (const [key, outcome] of outcomes) {
        const found = byKey.get(key);
        if (outcome.ok) {
          resolved++;
          if (!found) problems.push(`${key} acknowledged but never delivered`);
          else if (found.sequence !== outcome.sequence || found.location !== outcome.location) {
            problems.push(
              `${key} acknowledged at ${outcome.sequence} but found at ${found.sequence}`,
            );
          }
        } else if (!outcome.error.maybeEnqueued && found) {
          problems.push(`${key} rejected as not enqueued but delivered`);
        }
      }
      expect(problems).toEqual([]);
      expect(outcomes.size).toBe(PRODUCERS * INGESTS);
      // Failures are allowed only as honest "maybe enqueued" ambiguities, and must be rare.
      expect(resolved).toBeGreaterThan(PRODUCERS * INGESTS * 0.95);

      // The manifest is consistent and fully consumed; next_sequence counts every append once.
      const manifest = decodeManifest((await inner.get('ingest/manifest')).bytes);
      expect(manifest.entries).toEqual([]);
      expect(manifest.nextSequence).toBe(BigInt(new Set(delivered.map((d) => d.sequence)).size));
    }, 120_000);

    it('producers alone: the manifest lists every acknowledged batch exactly once', async () => {
      const inner = await backend.open();
      const ingestors = Array.from(
        { length: PRODUCERS },
        (_, p) =>
          new Ingestor({
            store: new FaultInjectingStore(inner, { seed: 7 + p, ...FAULTS }),
            flushIntervalMs: 2,
            retry: RETRY,
          }),
      );
      const acked = new Map<string, bigint>();
      await Promise.all(
        ingestors.map(async (ingestor, p) => {
          const waits: Promise<unknown>[] = [];
          for (let i = 0; i < INGESTS; i++) {
            const handle = await ingestor.ingest([producerEntry(p, i, 16)]);
            waits.push(handle.awaitDurable().then((d) => acked.set(d.location, d.sequence)));
            if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 1));
          }
          await Promise.allSettled(waits);
          await ingestor.close();
        }),
      );
      const manifest = decodeManifest((await inner.get('ingest/manifest')).bytes);
      const locations = manifest.entries.map((e) => e.location);
      expect(new Set(locations).size).toBe(locations.length);
      for (const [location, sequence] of acked) {
        expect(manifest.entries.find((e) => e.location === location)?.sequence).toBe(sequence);
      }
      // Without a collector nothing can be consumed, so nothing is ambiguous: all acked.
      expect(manifest.entries.length).toBe(acked.size);
      const inputs = manifest.entries.reduce((n, e) => n + e.metadata.length, 0);
      expect(inputs).toBe(PRODUCERS * INGESTS);
    }, 120_000);
  },
);
