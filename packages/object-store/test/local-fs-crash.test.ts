import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFsStore } from '../src/local-fs-store.js';
import { SeededRandom } from '../src/prng.js';
import {
  type CasWorker,
  readCounter,
  runCasRaceInProcesses,
  spawnCasWorker,
} from '../src/testing/index.js';
import { listAll } from '../src/types.js';

/**
 * Crash tests for the local-fs store with real OS processes: a writer SIGKILLed while it
 * holds a key's lock (at each failpoint) must not block anyone, and its write is either
 * fully there or not at all; random SIGKILLs in a multi-process race keep the counter
 * exact once the killed workers are restarted.
 */
describe('local-fs: writers killed with SIGKILL', () => {
  let root: string;
  let url: string;
  const children: CasWorker[] = [];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sediment-crash-'));
    url = pathToFileURL(root).href;
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await c.exited;
    }
    await rm(root, { recursive: true, force: true });
  });

  const cases = [
    { point: 'lock-acquired', victimApplied: 2 },
    { point: 'temp-written', victimApplied: 2 },
    { point: 'published', victimApplied: 3 },
  ] as const;

  for (const { point, victimApplied } of cases) {
    it(`a lock holder killed at "${point}" does not block the others`, async () => {
      const key = 'k/counter';
      const victim = spawnCasWorker({
        url,
        key,
        worker: 'victim',
        count: 5,
        holdAt: { seq: 3, point },
      });
      children.push(victim);
      await victim.waitFor('ready');
      victim.go();
      await victim.waitFor('holding');
      expect(victim.acked).toBe(2);
      const before = await readdir(join(root, 'k'));
      expect(before).toContain('.sediment~lock-counter');
      victim.child.kill('SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');

      await runCasRaceInProcesses({ url, key, workers: 3, increments: 15 });

      const store = new LocalFsStore({ root, tempFileGraceMs: 0 });
      const counter = await readCounter(store, key);
      // The victim's third increment is there exactly when it was published.
      expect(counter.applied.victim).toBe(victimApplied);
      expect(counter.n).toBe(victimApplied + 3 * 15);
      expect(counter.n).toBe(Object.values(counter.applied).reduce((a, b) => a + b, 0));
      // No lock is left, and the victim's temp file never shows in a listing; the
      // listing's housekeeping removes it once older than the grace period (0 here).
      expect((await listAll(store, '')).map((m) => m.key)).toEqual([key]);
      const after = await readdir(join(root, 'k'));
      expect(after.filter((n) => n.startsWith('.sediment~'))).toEqual([]);
      expect(after).toEqual(['counter']);
    });
  }

  it('random SIGKILLs during a 4-process race keep the counter exact after restarts', async () => {
    const key = 'chaos/counter';
    const workers = 4;
    const increments = 60;
    const random = new SeededRandom(20240607);
    const live = new Map<string, CasWorker>();
    const start = async (worker: string, startSeq: number) => {
      const w = spawnCasWorker({ url, key, worker, count: increments - startSeq + 1, startSeq });
      children.push(w);
      live.set(worker, w);
      await w.waitFor('ready');
      w.go();
    };
    await Promise.all(Array.from({ length: workers }, (_, i) => start(`c${i}`, 1)));

    // Kill at points chosen by progress (acknowledged increments), not by wall-clock
    // time, so that every kill lands mid-race however fast the machine is.
    let kills = 0;
    while (kills < 4) {
      const candidates = [...live.entries()].filter(
        ([, w]) => w.child.exitCode === null && w.acked < increments - 3,
      );
      if (candidates.length === 0) break;
      const [name, victim] = candidates[random.int(0, candidates.length - 1)]!;
      const threshold = Math.min(increments - 2, victim.acked + random.int(1, 6));
      while (victim.acked < threshold && victim.child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 2));
      }
      if (victim.child.exitCode !== null) continue; // finished first
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills++;
      // Restart where it was acknowledged; its re-read tells whether the in-flight
      // increment landed before the kill, so it is never applied twice.
      await start(name, victim.acked + 1);
    }

    for (const w of live.values()) {
      const exit = await w.exited;
      expect(exit.code, exit.stderr).toBe(0);
      expect(w.events.some((e) => e.type === 'done')).toBe(true);
    }

    const store = new LocalFsStore({ root });
    const counter = await readCounter(store, key);
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(counter.n).toBe(workers * increments);
    expect(Object.values(counter.applied)).toEqual(Array(workers).fill(increments));
  });
});
