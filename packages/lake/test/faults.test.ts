/**
 * The compactor over a store that fails: transient errors and lost replies (the write
 * applied, the reply lost) on every operation, for the compactor and the queue alike.
 * Rounds may fail and be retried; no entry may be lost or doubled.
 */
import { randomBytes } from 'node:crypto';
import { FaultInjectingStore, MemoryStore } from '@sediment/object-store';
import { describe, expect, it } from 'vitest';
import { Compactor, isRetryableError, silentLogger } from '../src/index.js';
import { spansBatch, toIpc } from './fixtures/synthetic-tables.js';
import { countDistinct } from './helpers/lake-rows.js';
import { ingestAll, openQueue } from './helpers/queue.js';

describe('compactor under injected store faults', () => {
  it.each([
    { attempts: 4, seed: 7 },
    { attempts: 1, seed: 8 }, // no retries inside the lake: every fault fails the round
  ])(
    'commits every entry exactly once despite transient errors and lost replies (%o)',
    { timeout: 120_000 },
    async ({ attempts, seed }) => {
      const inner = new MemoryStore();
      const faulty = new FaultInjectingStore(inner, {
        seed,
        transientErrorRate: 0.1,
        lostReplyRate: 0.1,
      });
      const producer = openQueue(inner);
      const consumer = openQueue(faulty);
      let sent = 0;
      const compactor = new Compactor({
        store: faulty,
        queue: consumer.collector,
        targetFileRows: 300,
        checkpointInterval: 2,
        logger: silentLogger,
        retry: { attempts, baseDelayMs: 1, maxDelayMs: 5 },
      });
      let failures = 0;
      const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
        for (;;) {
          try {
            return await fn();
          } catch (err) {
            if (!isRetryableError(err)) throw err;
            failures++;
          }
        }
      };
      await retrying(() => compactor.start());
      for (let wave = 0; wave < 12; wave++) {
        const calls = Array.from({ length: 4 }, (_, i) => {
          const rows = 30 + ((wave * 4 + i) % 50);
          sent += rows;
          return {
            entries: [
              toIpc(
                spansBatch({
                  rows,
                  seed: wave * 10 + i,
                  timestamp: (j) => 1_700_000_000_000_000_000n + BigInt(j),
                }),
              ),
            ],
            key: randomBytes(8),
          };
        });
        await ingestAll(producer.ingestor, calls);
        await retrying(() => compactor.drain());
      }
      await retrying(() => compactor.drain());
      await compactor.close();
      expect(await countDistinct(inner, 'spans', 'span_id')).toEqual([BigInt(sent), BigInt(sent)]);
      expect(faulty.stats.transientErrors + faulty.stats.lostReplies).toBeGreaterThan(20);
      console.log(
        `faults: ${faulty.stats.transientErrors} transient, ${faulty.stats.lostReplies} lost replies, ${failures} failed calls retried`,
      );
      await producer.close();
      await consumer.close();
    },
  );
});
