import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalFsStore, SeededRandom } from '@sediment/object-store';
import { afterAll, describe, expect, it } from 'vitest';
import { Ingestor } from '../src/index.js';
import { spawnProducer } from './support/processes.js';
import { drainQueue, expectNoDuplicates, expectProducerOrder } from './support/verify.js';

/** Rounds of kill-under-load; raise with INGEST_CRASH_ROUNDS for a soak. */
const ROUNDS = Number(process.env.INGEST_CRASH_ROUNDS ?? 20);
/** Producers alive (and killed) at the same time. */
const PARALLEL = 2;

describe('producer processes killed with SIGKILL under load (local-fs)', () => {
  let root = '';
  let passed = false;
  afterAll(async () => {
    // A failed run keeps its queue directory for inspection (the path is logged).
    if (root && (passed || !process.env.INGEST_KEEP))
      await rm(root, { recursive: true, force: true });
  });

  it(`${ROUNDS} rounds: every acknowledged entry is in the queue, none twice`, async () => {
    root = await mkdtemp(join(tmpdir(), 'ingest-crash-'));
    const url = pathToFileURL(root).href;
    const seed = Number(process.env.INGEST_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = new SeededRandom(seed);
    console.log(`crash test seed ${seed} (INGEST_CRASH_SEED to replay the kill timing)`);

    const acknowledged = new Map<string, { sequence: string; location: string }>();
    let killedWithUnacked = 0;
    for (let round = 0; round < ROUNDS; round += PARALLEL) {
      await Promise.all(
        Array.from({ length: Math.min(PARALLEL, ROUNDS - round) }, async (_, k) => {
          const producer = round + k;
          const proc = spawnProducer({
            url,
            producer,
            flushIntervalMs: 2 + Math.floor(random.next() * 20),
            compression: producer % 2 === 0 ? 'none' : 'zstd',
            maxBufferedInputs: 200,
            paceEvery: 20,
            paceMs: 1,
          });
          // Kill under load: after the first acknowledgement, at a random moment.
          await proc.waitFor((e) => e.type === 'durable');
          await new Promise((resolve) => setTimeout(resolve, random.next() * 150));
          proc.child.kill('SIGKILL');
          const exit = await proc.exited;
          expect(exit.signal, exit.stderr).toBe('SIGKILL');
          for (const e of proc.events) {
            if (e.type === 'durable') {
              acknowledged.set(`${producer}:${e.i}`, {
                sequence: e.sequence,
                location: e.location,
              });
            }
            expect(e.type, 'no ingest failed before the kill').not.toBe('failed');
          }
          if (proc.events.some((e) => e.type === 'ready')) killedWithUnacked++;
        }),
      );
    }

    // The queue still works after the kills (no wedged lock), and holds everything acked.
    const store = new LocalFsStore({ root });
    const after = new Ingestor({ store, flushIntervalMs: 1 });
    const handle = await after.ingest([new TextEncoder().encode(`${ROUNDS}:0|`)]);
    await after.close();
    await handle.awaitDurable();

    const delivered = await drainQueue(store);
    const byKey = expectNoDuplicates(delivered);
    expectProducerOrder(delivered);
    const missing: string[] = [];
    for (const [key, ack] of acknowledged) {
      const found = byKey.get(key);
      if (!found) missing.push(key);
      else {
        expect(found.sequence.toString()).toBe(ack.sequence);
        expect(found.location).toBe(ack.location);
      }
    }
    if (missing.length > 0) {
      // Diagnostics for a failure: where the acknowledged entries were said to be.
      const sequences = [...new Set(delivered.map((d) => String(d.sequence)))];
      console.log(
        `queue root ${root}: ${sequences.length} batches, sequences ${sequences[0]}..${sequences.at(-1)}`,
      );
      for (const key of missing.slice(0, 5)) {
        const ack = acknowledged.get(key)!;
        const exists = await store.head(ack.location).then(
          () => 'exists',
          () => 'gone',
        );
        const there = delivered.find((d) => String(d.sequence) === ack.sequence);
        console.log(
          `missing ${key}: acked at ${ack.sequence} in ${ack.location} (${exists}); ` +
            `the queue has ${there ? `${there.p}:${there.i} from ${there.location}` : 'nothing'} there`,
        );
      }
    }
    expect(missing).toEqual([]);
    passed = true;
    expect(acknowledged.size).toBeGreaterThan(ROUNDS);
    expect(killedWithUnacked).toBe(ROUNDS);
    console.log(
      `crash test: ${acknowledged.size} acknowledged entries, ${delivered.length - 1} in the queue ` +
        `(${delivered.length - 1 - acknowledged.size} enqueued but not acknowledged before the kill)`,
    );
  }, 240_000);
});
