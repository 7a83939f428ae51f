import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from './errors.js';
import { type LockSettings, acquireLock, breakIfStale } from './local-fs-lock.js';
import { selfIdentity } from './process-identity.js';

const settings: LockSettings = { timeoutMs: 20_000, foreignStaleMs: 60_000, now: Date.now };

describe('local-fs lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sediment-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `tasks` concurrent acquire/hold/release cycles; returns the max holders seen at once. */
  async function contend(tasks: number, rounds: number): Promise<number> {
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: tasks }, async () => {
        for (let r = 0; r < rounds; r++) {
          const lock = await acquireLock(dir, 'L', settings);
          if (lock === undefined) throw new Error('directory vanished');
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sleep(Math.random() * 2);
          expect(await lock.stillHeld()).toBe(true);
          inside--;
          await lock.release();
        }
      }),
    );
    return maxInside;
  }

  it('excludes concurrent holders and cleans up after itself', async () => {
    expect(await contend(12, 5)).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('lets exactly one of many waiters break a dead holder’s lock', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.on('exit', resolve));
    for (let i = 0; i < 5; i++) {
      await writeFile(
        join(dir, 'L'),
        JSON.stringify({
          v: 1,
          ...selfIdentity(),
          pid: child.pid,
          nonce: `dead${i}`,
          acquiredAt: 0,
        }),
      );
      expect(await contend(10, 2)).toBe(1);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('resolves undefined when the directory does not exist', async () => {
    expect(await acquireLock(join(dir, 'missing'), 'L', settings)).toBeUndefined();
  });

  it('times out with a TransientError naming the holder', async () => {
    const held = await acquireLock(dir, 'L', settings);
    const err = await acquireLock(dir, 'L', { ...settings, timeoutMs: 100 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    await held!.release();
    await held!.release(); // idempotent
    expect(await readdir(dir)).toEqual([]);
  });

  it('housekeeping breaks only stale locks', async () => {
    const held = await acquireLock(dir, 'L', settings);
    expect(await breakIfStale(dir, 'L', settings)).toBe(false);
    expect(await held!.stillHeld()).toBe(true);
    await held!.release();
    await writeFile(
      join(dir, 'L'),
      JSON.stringify({ v: 1, ...selfIdentity(), bootId: 'old-boot', nonce: 'x', acquiredAt: 0 }),
    );
    expect(await breakIfStale(dir, 'L', settings)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });
});
