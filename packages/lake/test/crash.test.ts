/**
 * Crash safety: a compactor child process is SIGKILLed at random moments (while
 * starting, reading, writing Parquet, committing, acking…) and restarted, ≥ 20 times,
 * while a producer keeps ingesting (with some client retries of the same idempotency
 * key). Afterwards every entry is committed exactly once (count = count distinct =
 * sent) and orphan GC removes what the killed rounds left behind.
 *
 * LAKE_CRASH_ROUNDS=<n> runs a longer soak.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readQueueStats } from '@sediment/ingest';
import { describe, expect, it } from 'vitest';
import { collectOrphans, readLakeSnapshot } from '../src/index.js';
import { rng, spansBatch, toIpc } from './fixtures/synthetic-tables.js';
import { countDistinct, orphanKeys } from './helpers/lake-rows.js';
import { openQueue } from './helpers/queue.js';
import { storeTargets } from './helpers/stores.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const child = join(here, 'fixtures/compactor-child.ts');
const tsxEsm = createRequire(join(repoRoot, 'package.json')).resolve('tsx/esm');
const ROUNDS = Number(process.env.LAKE_CRASH_ROUNDS ?? 20);

function startChild(
  url: string,
  mode: 'run' | 'drain',
): {
  proc: ChildProcess;
  exited: Promise<number | null>;
  started: Promise<void>;
  output: () => string;
} {
  const proc = spawn(
    process.execPath,
    ['--conditions=sediment-src', '--import', tsxEsm, child, url, mode],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let onStarted: () => void = () => {};
  const started = new Promise<void>((res) => {
    onStarted = res;
  });
  proc.stdout!.on('data', (d) => {
    out += d;
    if (out.includes('started')) onStarted();
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return { proc, exited, started, output: () => out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('compactor crash safety (local-fs, child processes)', () => {
  const target = storeTargets().find((t) => t.name === 'local-fs')!;

  it(`every entry exactly once across ${ROUNDS} SIGKILLs`, {
    timeout: 60_000 + ROUNDS * 15_000,
  }, async () => {
    const { store, url, cleanup } = await target.open();
    const queue = openQueue(store, { flushIntervalMs: 20 });
    const r = rng(2024);
    let sentRows = 0;
    let calls = 0;
    let producing = true;
    const recent: { entries: Uint8Array[]; key: Uint8Array }[] = [];
    const pending: Promise<unknown>[] = [];
    const producer = (async () => {
      while (producing) {
        let call: { entries: Uint8Array[]; key: Uint8Array };
        if (recent.length > 0 && r() < 0.1) {
          call = recent[Math.floor(r() * recent.length)]!; // a client retry: must not add rows
        } else {
          const rows = 20 + Math.floor(r() * 200);
          const seed = calls++;
          const hourBase = 480_000n + BigInt(seed % 3);
          call = {
            entries: [
              toIpc(
                spansBatch({
                  rows,
                  seed,
                  timestamp: (i) => hourBase * 3_600_000_000_000n + BigInt(i) * 9_999_999n,
                }),
              ),
            ],
            key: randomBytes(12),
          };
          sentRows += rows;
          recent.push(call);
          if (recent.length > 20) recent.shift();
        }
        const h = await queue.ingestor.ingest(call.entries, call.key);
        pending.push(h.awaitDurable());
        await sleep(5 + r() * 30);
      }
    })();
    let killedAfterStart = 0;
    let orphansBefore = 0;
    let killedWhileWriting = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const c = startChild(url!, 'run');
        if (round % 5 === 4) {
          // Now and then die while starting (loading the log, fencing the queue).
          await Promise.race([sleep(r() * 2000), c.exited]);
        } else {
          await Promise.race([c.started, c.exited]);
          await Promise.race([sleep(r() * 1500), c.exited]);
        }
        c.proc.kill('SIGKILL');
        const code = await c.exited;
        if (code !== null) throw new Error(`child exited by itself (${code}): ${c.output()}`);
        if (c.output().includes('started')) killedAfterStart++;
        const orphansNow = (await orphanKeys(store)).length;
        if (orphansNow > orphansBefore) killedWhileWriting++; // files written, never committed
        orphansBefore = orphansNow;
      }
      producing = false;
      await producer;
      await Promise.all(pending);
      await queue.ingestor.flush();

      const final = startChild(url!, 'drain');
      const code = await final.exited;
      expect(code, final.output()).toBe(0);
      expect(final.output()).toMatch(/drained \d+/);

      const snapshot = await readLakeSnapshot(store);
      expect(snapshot.commit).toBeGreaterThan(ROUNDS / 2);
      expect(await countDistinct(store, 'spans', 'span_id')).toEqual([
        BigInt(sentRows),
        BigInt(sentRows),
      ]);
      expect((await readQueueStats({ store })).entryCount).toBe(0);

      const orphans = await orphanKeys(store);
      console.log(
        `crash test: ${ROUNDS} kills (${killedAfterStart} after start, ${killedWhileWriting} left uncommitted files), ` +
          `${snapshot.commit} commits, ${sentRows} rows sent, ${orphans.length} orphans collected`,
      );
      expect(killedAfterStart).toBeGreaterThanOrEqual(Math.floor((ROUNDS * 3) / 5));
      const gc = await collectOrphans(store, 'lake', {
        gracePeriodMs: 3_600_000,
        now: () => Date.now() + 7_200_000,
      });
      expect([...gc.deleted].sort()).toEqual(orphans.sort());
      expect(await orphanKeys(store)).toEqual([]);
      expect(await countDistinct(store, 'spans', 'span_id')).toEqual([
        BigInt(sentRows),
        BigInt(sentRows),
      ]);
    } finally {
      producing = false;
      await producer.catch(() => {});
      await queue.close();
      await cleanup();
    }
  });
});
