import { randomInt } from 'node:crypto';
import { type BigIntStats, constants, type Dirent } from 'node:fs';
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rmdir,
  unlink,
} from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  AlreadyExistsError,
  InvalidKeyError,
  NotFoundError,
  type ObjectStoreError,
  ObjectStoreFatalError,
  PreconditionError,
  TransientError,
} from './errors.js';
import { errnoCode, mapFsError } from './fs-errors.js';
import { withKeyMutex } from './key-mutex.js';
import { validateKey, validatePrefix } from './keys.js';
import { acquireLock, breakIfStale, type HeldLock, type LockSettings } from './local-fs-lock.js';
import {
  isReserved,
  LOCK_PREFIX,
  lockFileName,
  RESERVED_PREFIX,
  TEMP_PREFIX,
  tempFileName,
} from './local-fs-names.js';
import type {
  GetResult,
  ObjectMeta,
  ObjectStore,
  PutMode,
  PutOptions,
  PutResult,
} from './types.js';

/** Points inside a write where a crash test can stall (and then kill) the process. */
export type LocalFsFailpoint =
  /** overwrite / ifMatch / delete: the key's lock is held, nothing written yet. */
  | 'lock-acquired'
  /** put: the new body is durable in a temp file, not yet published. */
  | 'temp-written'
  /** put: the object is published and its directory fsynced. */
  | 'published';

export interface LocalFsStoreOptions {
  /** Absolute directory holding the objects; created on first use. */
  readonly root: string;
  /** Give up waiting for a key's lock after this long with a `TransientError`. Default 30 s. */
  readonly lockTimeoutMs?: number;
  /**
   * A lock whose holder cannot be checked from here (another host or pid namespace
   * sharing the directory) is treated as stale after this age. Locks of dead local
   * processes are broken at once. Default 60 s.
   */
  readonly foreignLockStaleMs?: number;
  /** `list` removes leftover temp files (of crashed writers) older than this. Default 1 h. */
  readonly tempFileGraceMs?: number;
  /** Milliseconds since the epoch; modification times and lock ages. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Crash-test hook, awaited at each `LocalFsFailpoint`. A test stalls here (returns a
   * promise that never settles) and SIGKILLs the process. Never set in production.
   */
  readonly failpoint?: (point: LocalFsFailpoint, key: string) => void | Promise<void>;
}

interface Location {
  readonly key: string;
  readonly dir: string;
  readonly file: string;
  readonly lockName: string;
}

interface TempFile {
  readonly path: string;
  readonly stat: BigIntStats;
}

const OPEN_NEW = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW;
const OPEN_READ = constants.O_RDONLY | constants.O_NOFOLLOW;
const MKDIR_ATTEMPTS = 8;

/**
 * Objects as plain files under `root`, one file per key (`a/b/c` → `<root>/a/b/c`).
 * The embedded default backend; correct across processes on one host.
 *
 * - `create`: body written to a temp file in the target directory and fsynced, then
 *   `link()`ed to the key (atomic no-clobber: EEXIST → `AlreadyExistsError`).
 * - `overwrite` / `{ ifMatch }` / `delete`: under the key's cross-process lock
 *   (see `local-fs-lock.ts`); ifMatch compares the current ETag under the lock; the
 *   body is published by temp + fsync + `rename()`, then the directory is fsynced.
 * - ETag = inode, modification time (ns) and size. Every write creates a new inode and
 *   sets an mtime strictly greater than the replaced file's (with random sub-ms
 *   digits), so an ETag never comes back for a different write even when the
 *   filesystem reuses inode numbers.
 *
 * Keys the filesystem cannot represent are `InvalidKeyError`s: segments starting with
 * `.sediment~` (reserved for temp and lock files), and a key under another object
 * (`a` and `a/b` cannot both exist: `a` would have to be a file and a directory).
 * Symbolic links inside the root are never followed.
 */
export class LocalFsStore implements ObjectStore {
  readonly description: string;
  /** The root as given (resolved); objects live under its real path. */
  readonly root: string;
  readonly #lockSettings: LockSettings;
  readonly #tempGraceMs: number;
  readonly #now: () => number;
  readonly #failpoint: LocalFsStoreOptions['failpoint'];
  #ready: Promise<string> | undefined;
  #closed = false;

  constructor(options: LocalFsStoreOptions) {
    if (typeof options?.root !== 'string' || !isAbsolute(options.root)) {
      throw new ObjectStoreFatalError(
        `LocalFsStore root must be an absolute directory path, got ${JSON.stringify(options?.root)}`,
      );
    }
    this.root = resolve(options.root);
    this.description = pathToFileURL(this.root).href;
    this.#now = options.now ?? Date.now;
    this.#lockSettings = {
      timeoutMs: options.lockTimeoutMs ?? 30_000,
      foreignStaleMs: options.foreignLockStaleMs ?? 60_000,
      now: this.#now,
    };
    this.#tempGraceMs = options.tempFileGraceMs ?? 3_600_000;
    this.#failpoint = options.failpoint;
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const mode: PutMode = options.mode ?? 'overwrite';
    const loc = this.#locate(await this.#open(), key);
    if (mode === 'create') return this.#create(loc, bytes);
    if (mode !== 'overwrite') {
      if (typeof mode?.ifMatch !== 'string') {
        throw new TypeError(`put mode must be 'overwrite', 'create' or { ifMatch: string }`);
      }
      // Fail fast without the lock: a mismatch seen now is a valid answer (the object
      // had another ETag at this instant), and it keeps losers of a race off the lock.
      const current = await this.#statObject(loc, 'put');
      if (current === undefined) throw new PreconditionError(key, 'object does not exist');
      if (etagOf(current) !== mode.ifMatch) {
        throw new PreconditionError(key, `etag is ${etagOf(current)}, expected ${mode.ifMatch}`);
      }
    }
    return withKeyMutex(join(loc.dir, loc.lockName), () => this.#replace(loc, bytes, mode));
  }

  async get(key: string): Promise<GetResult> {
    const loc = this.#locate(await this.#open(), key);
    let handle: FileHandle | undefined;
    try {
      if (!(await this.#checkDir(loc.dir))) throw new NotFoundError(key);
      try {
        handle = await open(loc.file, OPEN_READ);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(key);
        if (code === 'ELOOP') throw symlinkRefused(loc.file, key);
        throw err;
      }
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) throw new NotFoundError(key);
      const size = Number(st.size);
      const buffer = Buffer.allocUnsafeSlow(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, filled);
      return { ...metaOf(key, st), size: filled, bytes };
    } catch (err) {
      throw mapFsError(err, { op: 'get', key, path: loc.file });
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  async head(key: string): Promise<ObjectMeta> {
    const loc = this.#locate(await this.#open(), key);
    const st = await this.#statObject(loc, 'head');
    if (st === undefined) throw new NotFoundError(key);
    return metaOf(key, st);
  }

  async *list(prefix: string): AsyncIterable<ObjectMeta> {
    validatePrefix(prefix);
    const root = await this.#open();
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const namePrefix = prefix.slice(slash + 1);
    if (dirKey.split('/').some(isReserved)) return;
    const dir = dirKey === '' ? root : join(root, ...dirKey.split('/'));
    try {
      if (!(await this.#checkDir(dir))) return;
    } catch (err) {
      throw mapFsError(err, { op: 'list', path: dir });
    }
    yield* this.#walk(dir, dirKey === '' ? '' : `${dirKey}/`, namePrefix);
  }

  async delete(key: string): Promise<void> {
    const loc = this.#locate(await this.#open(), key);
    // An absent object needs no lock: "gone at this instant" is a valid answer.
    const current = await this.#statObject(loc, 'delete');
    if (current === undefined) return;
    let removed = false;
    await withKeyMutex(join(loc.dir, loc.lockName), async () => {
      const lock = await this.#lock(loc, 'delete');
      if (lock === undefined) return;
      try {
        await this.#failpoint?.('lock-acquired', key);
        try {
          await unlink(loc.file);
          removed = true;
        } catch (err) {
          const code = errnoCode(err);
          // ENOENT: deleted meanwhile. EISDIR/EPERM: the key names a directory, no object.
          if (code !== 'ENOENT' && code !== 'EISDIR' && code !== 'EPERM') throw err;
        }
        if (removed) await fsyncDir(loc.dir);
      } catch (err) {
        throw mapFsError(err, { op: 'delete', key, path: loc.file, maybeApplied: removed });
      } finally {
        await lock.release();
      }
    });
    if (removed) await this.#pruneEmptyDirs(loc.dir);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- writes

  async #create(loc: Location, bytes: Uint8Array): Promise<PutResult> {
    // Fail fast before writing a body that cannot be published.
    if ((await this.#statObject(loc, 'put')) !== undefined) throw new AlreadyExistsError(loc.key);
    const temp = await this.#writeTemp(loc, bytes, undefined, false);
    let published = false;
    let tempRemoved = false;
    try {
      await this.#failpoint?.('temp-written', loc.key);
      try {
        await link(temp.path, loc.file);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        const existing = await lstat(loc.file).catch(() => undefined);
        if (existing?.isDirectory()) throw prefixConflict(loc.key);
        throw new AlreadyExistsError(loc.key);
      }
      published = true;
      await unlink(temp.path);
      tempRemoved = true;
      await fsyncDir(loc.dir);
      await this.#failpoint?.('published', loc.key);
      return { etag: etagOf(temp.stat) };
    } catch (err) {
      throw mapFsError(err, { op: 'put', key: loc.key, path: loc.file, maybeApplied: published });
    } finally {
      if (!tempRemoved) await unlink(temp.path).catch(() => {});
    }
  }

  async #replace(loc: Location, bytes: Uint8Array, mode: PutMode): Promise<PutResult> {
    const lock = await this.#lock(loc, 'put', mode === 'overwrite');
    if (lock === undefined) throw new PreconditionError(loc.key, 'object does not exist');
    let temp: TempFile | undefined;
    let published = false;
    try {
      await this.#failpoint?.('lock-acquired', loc.key);
      const current = await this.#statObject(loc, 'put');
      if (typeof mode === 'object') {
        if (current === undefined) throw new PreconditionError(loc.key, 'object does not exist');
        const etag = etagOf(current);
        if (etag !== mode.ifMatch) {
          throw new PreconditionError(loc.key, `etag is ${etag}, expected ${mode.ifMatch}`);
        }
      }
      // Our lock file keeps the directory from being pruned: it exists.
      temp = await this.#writeTemp(loc, bytes, current?.mtimeNs, true);
      await this.#failpoint?.('temp-written', loc.key);
      if (!(await lock.stillHeld())) {
        throw new TransientError(
          `local-fs put: the lock on ${loc.key} was broken by another process while held; nothing was written; retry`,
          { key: loc.key },
        );
      }
      try {
        await rename(temp.path, loc.file);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
          throw prefixConflict(loc.key);
        }
        throw err;
      }
      published = true;
      await fsyncDir(loc.dir);
      await this.#failpoint?.('published', loc.key);
      return { etag: etagOf(temp.stat) };
    } catch (err) {
      throw mapFsError(err, { op: 'put', key: loc.key, path: loc.file, maybeApplied: published });
    } finally {
      if (temp !== undefined && !published) await unlink(temp.path).catch(() => {});
      await lock.release();
    }
  }

  /**
   * Takes the key's lock. With `createDir`, makes the directory first (and again if a
   * concurrent delete prunes it); without, resolves `undefined` when it does not exist.
   */
  async #lock(loc: Location, op: string, createDir = false): Promise<HeldLock | undefined> {
    for (let attempt = 0; attempt < MKDIR_ATTEMPTS; attempt++) {
      if (createDir) await this.#ensureDir(loc);
      let lock: HeldLock | undefined;
      try {
        lock = await acquireLock(loc.dir, loc.lockName, this.#lockSettings);
      } catch (err) {
        throw mapFsError(err, { op, key: loc.key, path: join(loc.dir, loc.lockName) });
      }
      if (lock !== undefined || !createDir) return lock;
    }
    throw directoryKeptVanishing(loc);
  }

  /**
   * Writes `bytes` to a new temp file next to the object and makes it durable. Its
   * mtime is set past `previousMtimeNs` (the object it will replace), with random
   * microseconds, which is what makes ETags unique (see class comment).
   */
  async #writeTemp(
    loc: Location,
    bytes: Uint8Array,
    previousMtimeNs: bigint | undefined,
    dirExists: boolean,
  ): Promise<TempFile> {
    for (let attempt = 0; attempt < MKDIR_ATTEMPTS; attempt++) {
      if (attempt > 0 || !dirExists) await this.#ensureDir(loc);
      const path = join(loc.dir, tempFileName('obj'));
      let handle: FileHandle;
      try {
        handle = await open(path, OPEN_NEW, 0o666);
      } catch (err) {
        // The directory was pruned by a concurrent delete between mkdir and open.
        if (errnoCode(err) === 'ENOENT') continue;
        throw mapFsError(err, { op: 'put', key: loc.key, path });
      }
      try {
        await writeAll(handle, bytes);
        const stat = await this.#stampMtime(handle, previousMtimeNs, loc);
        await handle.sync();
        await handle.close();
        return { path, stat };
      } catch (err) {
        await handle.close().catch(() => {});
        await unlink(path).catch(() => {});
        throw mapFsError(err, { op: 'put', key: loc.key, path });
      }
    }
    throw directoryKeptVanishing(loc);
  }

  async #stampMtime(
    handle: FileHandle,
    previousMtimeNs: bigint | undefined,
    loc: Location,
  ): Promise<BigIntStats> {
    const nowMs = this.#now();
    let targetUs = BigInt(Math.floor(nowMs)) * 1000n + BigInt(randomInt(0, 1000));
    if (previousMtimeNs !== undefined && targetUs * 1000n <= previousMtimeNs) {
      targetUs = previousMtimeNs / 1000n + 1n;
    }
    for (let attempt = 0; attempt < 4; attempt++) {
      const seconds = Number(targetUs) / 1e6;
      await handle.utimes(nowMs / 1000, seconds);
      const stat = await handle.stat({ bigint: true });
      if (previousMtimeNs === undefined || stat.mtimeNs > previousMtimeNs) return stat;
      // Rounded down on the way to the inode: step further past the previous time.
      targetUs = previousMtimeNs / 1000n + BigInt(2 + attempt * 8);
    }
    throw new ObjectStoreFatalError(
      `local-fs: cannot give ${loc.key} a modification time after the previous write's; ` +
        `the filesystem under ${this.root} does not keep microsecond timestamps`,
      { key: loc.key },
    );
  }

  // ---------------------------------------------------------------- paths

  /** Validates the key and maps it to its paths under the real root. */
  #locate(root: string, key: string): Location {
    validateKey(key);
    const segments = key.split('/');
    for (const segment of segments) {
      if (isReserved(segment)) {
        throw new InvalidKeyError(
          key,
          `segments starting with "${RESERVED_PREFIX}" are reserved by the local-fs store`,
        );
      }
    }
    const base = segments[segments.length - 1]!;
    const dir = segments.length === 1 ? root : join(root, ...segments.slice(0, -1));
    return { key, dir, file: join(dir, base), lockName: lockFileName(base) };
  }

  /** Creates (once) and resolves the real root; checks the filesystem can hold a store. */
  #open(): Promise<string> {
    if (this.#closed) {
      return Promise.reject(new ObjectStoreFatalError(`${this.description} is closed`));
    }
    if (this.#ready === undefined) {
      const ready = this.#initialise();
      this.#ready = ready;
      // A failed start (full disk, permissions) is retried by the next call.
      ready.catch(() => {
        if (this.#ready === ready) this.#ready = undefined;
      });
    }
    return this.#ready;
  }

  async #initialise(): Promise<string> {
    let root: string;
    try {
      await mkdir(this.root, { recursive: true });
      root = await realpath(this.root);
    } catch (err) {
      throw mapFsError(err, { op: 'open', path: this.root });
    }
    // Probe the two filesystem features the store relies on: hard links (create) and
    // sub-millisecond modification times (ETags).
    const probe = join(root, tempFileName('obj'));
    const probeLink = `${probe}-link`;
    try {
      let handle: FileHandle;
      try {
        handle = await open(probe, OPEN_NEW, 0o666);
      } catch (err) {
        // A read-only root can still be read; writes will report the error themselves.
        const code = errnoCode(err);
        if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return root;
        throw err;
      }
      let st: BigIntStats;
      try {
        await handle.utimes(1_000_000_000.5, 1_000_000_000.123457);
        st = await handle.stat({ bigint: true });
      } finally {
        await handle.close();
      }
      const fractionUs = (st.mtimeNs % 1_000_000_000n) / 1000n;
      if (fractionUs < 123_000n || fractionUs > 123_999n) {
        throw new ObjectStoreFatalError(
          `local-fs: the filesystem under ${root} does not keep sub-millisecond modification times, ` +
            'which the store needs for ETags; use ext4, xfs, btrfs, zfs or tmpfs',
        );
      }
      try {
        await link(probe, probeLink);
      } catch (err) {
        throw new ObjectStoreFatalError(
          `local-fs: the filesystem under ${root} does not support hard links (${errnoCode(err)}), ` +
            'which the store needs for atomic create',
          { cause: err },
        );
      }
    } catch (err) {
      throw mapFsError(err, { op: 'open', path: root });
    } finally {
      await unlink(probeLink).catch(() => {});
      await unlink(probe).catch(() => {});
    }
    return root;
  }

  /**
   * True when `dir` exists and no component under the root is a symbolic link; false
   * when it (or a parent) does not exist.
   * @throws ObjectStoreFatalError on a symbolic link.
   */
  async #checkDir(dir: string): Promise<boolean> {
    const root = await this.#open();
    if (dir === root) return true;
    let real: string;
    try {
      real = await realpath(dir);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw err;
    }
    if (real !== dir) throw symlinkRefused(dir, undefined);
    return true;
  }

  /** mkdir -p the key's directory, fsyncing the parents of every directory it created. */
  async #ensureDir(loc: Location): Promise<void> {
    const root = await this.#open();
    for (let attempt = 0; attempt < MKDIR_ATTEMPTS; attempt++) {
      try {
        if (loc.dir === root) return;
        let first: string | undefined;
        try {
          first = await mkdir(loc.dir, { recursive: true });
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'EEXIST' || code === 'ENOTDIR') throw prefixConflict(loc.key);
          if (code === 'ENOENT') continue; // a parent was pruned mid-way
          throw err;
        }
        if (first !== undefined) {
          for (let d = dirname(loc.dir); ; d = dirname(d)) {
            await fsyncDir(d);
            if (d === dirname(first) || d === root || d.length <= root.length) break;
          }
        }
        if (await this.#checkDir(loc.dir)) return;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        throw mapFsError(err, { op: 'put', key: loc.key, path: loc.dir });
      }
    }
    throw directoryKeptVanishing(loc);
  }

  /** The object's stats, or undefined if there is no object at the key. */
  async #statObject(loc: Location, op: string): Promise<BigIntStats | undefined> {
    try {
      if (!(await this.#checkDir(loc.dir))) return undefined;
      const st = await lstat(loc.file, { bigint: true });
      if (st.isSymbolicLink()) throw symlinkRefused(loc.file, loc.key);
      return st.isFile() ? st : undefined;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw mapFsError(err, { op, key: loc.key, path: loc.file });
    }
  }

  /** Best effort: removes now-empty directories from `dir` up to (not including) the root. */
  async #pruneEmptyDirs(dir: string): Promise<void> {
    const root = await this.#open();
    for (let d = dir; d !== root && d.startsWith(root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or already gone, or not ours to remove)
      }
    }
  }

  // ---------------------------------------------------------------- listing

  async *#walk(dir: string, keyPrefix: string, namePrefix: string): AsyncGenerator<ObjectMeta> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // pruned while we walked
      throw mapFsError(err, { op: 'list', path: dir });
    }
    const entries: { name: string; dir: boolean; order: Buffer }[] = [];
    for (const dirent of dirents) {
      const name = dirent.name;
      if (isReserved(name)) {
        await this.#housekeep(dir, name);
        continue;
      }
      if (!name.startsWith(namePrefix) || !isValidSegment(name)) continue;
      let isDir = dirent.isDirectory();
      if (!isDir && !dirent.isFile()) {
        if (dirent.isSymbolicLink()) continue; // never followed, never listed
        // DT_UNKNOWN on some filesystems: ask.
        const st = await lstat(join(dir, name)).catch(() => undefined);
        if (st === undefined || !(st.isDirectory() || st.isFile())) continue;
        isDir = st.isDirectory();
      }
      // A directory sorts as "name/": every key below it starts with that, and '/' is
      // not the smallest byte ('a.b' < 'a/b'), so plain name order would be wrong.
      entries.push({ name, dir: isDir, order: Buffer.from(isDir ? `${name}/` : name, 'utf8') });
    }
    entries.sort((a, b) => Buffer.compare(a.order, b.order));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const key = keyPrefix + entry.name;
      if (entry.dir) {
        yield* this.#walk(path, `${key}/`, '');
        continue;
      }
      let st: BigIntStats;
      try {
        st = await lstat(path, { bigint: true });
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue; // deleted while we walked
        throw mapFsError(err, { op: 'list', key, path });
      }
      if (st.isFile()) yield metaOf(key, st);
    }
  }

  /** Removes a crashed writer's leftovers met while listing. Never throws. */
  async #housekeep(dir: string, name: string): Promise<void> {
    try {
      if (name.startsWith(TEMP_PREFIX)) {
        // A temp file in use was written (and its mtime stamped) moments ago.
        const st = await lstat(join(dir, name));
        if (this.#now() - st.mtimeMs > this.#tempGraceMs) await unlink(join(dir, name));
      } else if (name.includes('~broken-')) {
        // A grave shares its lock's inode (and old mtime); its ctime is when it was linked.
        const st = await lstat(join(dir, name));
        if (this.#now() - st.ctimeMs > this.#tempGraceMs) await unlink(join(dir, name));
      } else if (name.startsWith(LOCK_PREFIX)) {
        const st = await lstat(join(dir, name));
        if (this.#now() - st.mtimeMs > this.#tempGraceMs) {
          await breakIfStale(dir, name, this.#lockSettings);
        }
      }
    } catch {
      // Housekeeping is opportunistic; a read-only or racing directory is fine.
    }
  }
}

// ---------------------------------------------------------------- helpers

/** ETag of a file: inode, mtime (ns) and size, base 36. */
function etagOf(st: BigIntStats): string {
  return `${st.ino.toString(36)}-${st.mtimeNs.toString(36)}-${st.size.toString(36)}`;
}

function metaOf(key: string, st: BigIntStats): ObjectMeta {
  return {
    key,
    size: Number(st.size),
    etag: etagOf(st),
    lastModified: new Date(Number(st.mtimeNs / 1_000_000n)),
  };
}

/**
 * Writes `bytes` at offset 0 with as few `write(2)` calls as the kernel allows (one, up to
 * 2 GiB). `FileHandle.writeFile` splits a buffer into 512 KiB writes, each a round trip
 * between the thread pool and the event loop: a 10 MB batch object took 20 of them, and
 * every one waited for whatever else the event loop was doing.
 */
async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await handle.write(
      bytes,
      written,
      bytes.byteLength - written,
      written,
    );
    written += bytesWritten;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } catch (err) {
    // Some filesystems cannot fsync a directory; the entry is then as durable as it gets.
    if (errnoCode(err) !== 'EINVAL' && errnoCode(err) !== 'ENOTSUP') throw err;
  } finally {
    await handle.close();
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const INVALID_SEGMENT = /[\u0000-\u001f\u007f\\]/;

function isValidSegment(name: string): boolean {
  return name !== '.' && name !== '..' && !INVALID_SEGMENT.test(name);
}

function prefixConflict(key: string): InvalidKeyError {
  return new InvalidKeyError(
    key,
    'on the local filesystem a key cannot be both an object and a prefix of other keys ' +
      '("a" and "a/b" cannot coexist); choose another key',
  );
}

function symlinkRefused(path: string, key: string | undefined): ObjectStoreError {
  return new ObjectStoreFatalError(
    `local-fs: refusing to follow a symbolic link at ${path}; the store root must not contain symlinks`,
    { key },
  );
}

function directoryKeptVanishing(loc: Location): TransientError {
  return new TransientError(
    `local-fs put: directory ${loc.dir} kept disappearing (concurrent deletes); nothing was written; retry`,
    { key: loc.key },
  );
}
