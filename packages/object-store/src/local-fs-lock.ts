import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, lstat, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransientError } from './errors.js';
import { errnoCode } from './fs-errors.js';
import { graveFileName, tempFileName } from './local-fs-names.js';
import { type ProcessIdentity, liveness, selfIdentity } from './process-identity.js';

/**
 * Cross-process exclusive lock on one key of the local-fs store. The protocol is
 * described in docs/001-object-store.md ("local-fs lock protocol"); in short:
 *
 * - Acquire: write a record (pid, process start time, boot id, host, pid namespace,
 *   random nonce) to a temp file, then `link()` it to the lock name. `link` fails with
 *   EEXIST when the lock is held, so the lock appears atomically and always complete.
 *   The holder keeps a handle on the lock file open, so its inode cannot be reused
 *   while held and "is the lock still mine" is an inode comparison.
 * - Wait: poll with jittered backoff up to `timeoutMs`, then `TransientError`.
 * - Break: a lock whose holder is dead (no such pid, zombie, pid reused, rebooted) is
 *   stale at once; one whose holder cannot be checked (other host or pid namespace) is
 *   stale after `foreignStaleMs`. Exactly one breaker wins the right to remove a given
 *   lock by linking it to a grave name derived from its nonce (EEXIST for the others),
 *   then re-checks inode and nonce through the grave link (which pins the inode) before
 *   unlinking the lock name.
 */
export interface LockSettings {
  readonly timeoutMs: number;
  readonly foreignStaleMs: number;
  readonly now: () => number;
}

interface LockRecord extends ProcessIdentity {
  readonly v: 1;
  readonly nonce: string;
  readonly acquiredAt: number;
}

interface Observed {
  readonly ino: bigint;
  readonly record: LockRecord | undefined;
  readonly ageMs: number;
}

/** A grave older than this belongs to a breaker that died mid-break. */
const GRAVE_STALE_MS = 10_000;
const MAX_BACKOFF_MS = 25;

export class HeldLock {
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #ino: bigint;
  #released = false;

  constructor(path: string, handle: FileHandle, ino: bigint) {
    this.path = path;
    this.#handle = handle;
    this.#ino = ino;
  }

  /** True while the lock name still refers to our lock file (nobody broke it). */
  async stillHeld(): Promise<boolean> {
    if (this.#released) return false;
    try {
      return (await lstat(this.path, { bigint: true })).ino === this.#ino;
    } catch {
      return false;
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    try {
      if ((await lstat(this.path, { bigint: true })).ino === this.#ino) await unlink(this.path);
    } catch {
      // Already gone (broken as stale): nothing to release.
    } finally {
      await this.#handle.close().catch(() => {});
    }
  }
}

/**
 * Acquires the lock `lockName` in `dir`. Resolves `undefined` when `dir` does not exist
 * (the caller decides whether to create it or answer "no such object").
 * @throws TransientError on timeout; Node.js errors for the caller to map.
 */
export async function acquireLock(
  dir: string,
  lockName: string,
  settings: LockSettings,
): Promise<HeldLock | undefined> {
  const lockPath = join(dir, lockName);
  const tempPath = join(dir, tempFileName('lock'));
  const record: LockRecord = {
    v: 1,
    ...selfIdentity(),
    nonce: randomBytes(12).toString('hex'),
    acquiredAt: settings.now(),
  };
  let handle: FileHandle;
  try {
    handle = await open(
      tempPath,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
  const deadline = settings.now() + settings.timeoutMs;
  let backoff = 1;
  let lastSeen: Observed | undefined;
  try {
    await handle.writeFile(JSON.stringify(record));
    for (;;) {
      if (settings.now() >= deadline) throw timeout(lockPath, settings.timeoutMs, lastSeen);
      try {
        await link(tempPath, lockPath);
        const { ino } = await handle.stat({ bigint: true });
        await unlink(tempPath).catch(() => {});
        return new HeldLock(lockPath, handle, ino);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      const seen = await inspect(lockPath, settings.now);
      // Released between our link and the look: try again at once.
      if (seen === undefined) continue;
      lastSeen = seen;
      if (isStale(seen, settings)) {
        await breakLock(dir, lockPath, lockName, seen, settings.now);
        continue;
      }
      await sleep(backoff / 2 + Math.random() * (backoff / 2));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tempPath).catch(() => {});
    throw err;
  }
}

/**
 * Removes the lock at `lockPath` if it is stale; used by housekeeping (`list`). Returns
 * true when a stale lock was removed.
 */
export async function breakIfStale(
  dir: string,
  lockName: string,
  settings: LockSettings,
): Promise<boolean> {
  const lockPath = join(dir, lockName);
  const seen = await inspect(lockPath, settings.now);
  if (seen === undefined || !isStale(seen, settings)) return false;
  return breakLock(dir, lockPath, lockName, seen, settings.now);
}

async function inspect(path: string, now: () => number): Promise<Observed | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = await handle.stat({ bigint: true });
    const text = await handle.readFile('utf8');
    return {
      ino: st.ino,
      record: parseRecord(text),
      ageMs: now() - Number(st.mtimeNs / 1_000_000n),
    };
  } finally {
    await handle.close().catch(() => {});
  }
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    if (
      r.v !== 1 ||
      typeof r.pid !== 'number' ||
      typeof r.host !== 'string' ||
      typeof r.nonce !== 'string'
    ) {
      return undefined;
    }
    return r as LockRecord;
  } catch {
    return undefined;
  }
}

function isStale(seen: Observed, settings: LockSettings): boolean {
  const state = seen.record === undefined ? 'unknown' : liveness(seen.record);
  if (state === 'dead') return true;
  if (state === 'alive') return false;
  return seen.ageMs > settings.foreignStaleMs;
}

async function breakLock(
  dir: string,
  lockPath: string,
  lockName: string,
  seen: Observed,
  now: () => number,
): Promise<boolean> {
  const grave = join(dir, graveFileName(lockName, seen.record?.nonce ?? seen.ino.toString(36)));
  try {
    await link(lockPath, grave);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') {
      // Another breaker is at work on this very lock, or one died mid-break.
      try {
        const st = await lstat(grave, { bigint: true });
        if (now() - Number(st.ctimeNs / 1_000_000n) > GRAVE_STALE_MS) await unlink(grave);
      } catch {
        // gone meanwhile
      }
      return false;
    }
    if (code === 'ENOENT') return false;
    throw err;
  }
  try {
    // The grave link pins the inode it names, so the comparisons below cannot be fooled
    // by inode reuse; the nonce tells whether we linked the lock we judged stale or a
    // newer one that took its place in between.
    const linked = await inspect(grave, now);
    if (linked === undefined || linked.ino !== seen.ino) return false;
    if (linked.record?.nonce !== seen.record?.nonce) return false;
    const current = await lstat(lockPath, { bigint: true }).catch(() => undefined);
    if (current?.ino !== seen.ino) return false;
    await unlink(lockPath);
    return true;
  } finally {
    await unlink(grave).catch(() => {});
  }
}

function timeout(lockPath: string, timeoutMs: number, seen: Observed | undefined): TransientError {
  const r = seen?.record;
  const holder =
    r === undefined
      ? 'an unknown holder'
      : `pid ${r.pid} on ${r.host} (since ${new Date(r.acquiredAt).toISOString()})`;
  return new TransientError(
    `local-fs: timed out after ${timeoutMs} ms waiting for lock ${lockPath} held by ${holder}; nothing was written; retry`,
  );
}
