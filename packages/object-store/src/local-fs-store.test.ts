import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidKeyError,
  ObjectStoreFatalError,
  PreconditionError,
  TransientError,
} from './errors.js';
import { mapFsError } from './fs-errors.js';
import { LocalFsStore } from './local-fs-store.js';
import { type ProcessIdentity, selfIdentity } from './process-identity.js';
import { casIncrement, defineObjectStoreConformance, readCounter } from './testing/index.js';
import { listAll } from './types.js';

defineObjectStoreConformance(
  'local-fs',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'sediment-localfs-'));
    return {
      store: new LocalFsStore({ root }),
      openClient: () => new LocalFsStore({ root }),
      url: pathToFileURL(root).href,
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  },
  { objectsUnderObjects: false, race: { workers: 6, increments: 50, via: 'processes' } },
);

describe('LocalFsStore specifics', () => {
  let root: string;
  let store: LocalFsStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sediment-localfs-'));
    store = new LocalFsStore({ root });
  });

  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  const bytes = (s: string) => new TextEncoder().encode(s);

  it('needs an absolute root', () => {
    expect(() => new LocalFsStore({ root: 'relative/dir' })).toThrow(ObjectStoreFatalError);
    expect(new LocalFsStore({ root: '/var/x/../y' }).description).toBe('file:///var/y');
  });

  it('stores objects as plain files and leaves no temp or lock files behind', async () => {
    await store.put('a/b/c', bytes('plain'), { mode: 'create' });
    const { etag } = await store.put('a/b/c', bytes('plain2'));
    await store.put('a/b/c', bytes('plain3'), { mode: { ifMatch: etag } });
    expect(await readFile(join(root, 'a/b/c'), 'utf8')).toBe('plain3');
    expect(await readdir(join(root, 'a/b'))).toEqual(['c']);
    expect(await readdir(root)).toEqual(['a']);
  });

  it('reserves segment names starting with ".sediment~"', async () => {
    for (const key of ['.sediment~x', 'a/.sediment~lock-b', '.sediment~tmp-obj-1/x']) {
      await expect(store.put(key, bytes('x'))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
    }
    await store.put('.sediment-not-reserved/.sediment', bytes('fine'));
    expect((await listAll(store, '')).map((m) => m.key)).toEqual([
      '.sediment-not-reserved/.sediment',
    ]);
  });

  it('gives every write a new ETag, even identical bytes within one millisecond', async () => {
    const frozen = new LocalFsStore({ root, now: () => 1_700_000_000_000 });
    const seen = new Set<string>();
    let etag = (await frozen.put('same', bytes('x'))).etag;
    seen.add(etag);
    for (let i = 0; i < 100; i++) {
      etag = (await frozen.put('same', bytes('x'), i % 2 === 0 ? { mode: { ifMatch: etag } } : {}))
        .etag;
      expect(seen.has(etag)).toBe(false);
      seen.add(etag);
    }
    expect((await store.head('same')).etag).toBe(etag);
  });

  it('ETags and lastModified agree between independent instances', async () => {
    const other = new LocalFsStore({ root });
    const before = Date.now();
    const put = await store.put('shared/k', bytes('v'));
    const head = await other.head('shared/k');
    expect(head.etag).toBe(put.etag);
    expect(Math.abs(head.lastModified.getTime() - before)).toBeLessThan(60_000);
    await other.put('shared/k', bytes('w'), { mode: { ifMatch: head.etag } });
    await expect(
      store.put('shared/k', bytes('z'), { mode: { ifMatch: put.etag } }),
    ).rejects.toBeInstanceOf(PreconditionError);
  });

  it('accepts long segments and rejects ones the filesystem cannot hold', async () => {
    const long = 'L'.repeat(250); // lock name is hashed, the file name fits in 255 bytes
    await store.put(`dir/${long}`, bytes('long'));
    await store.put(`dir/${long}`, bytes('longer'), {
      mode: { ifMatch: (await store.head(`dir/${long}`)).etag },
    });
    expect((await listAll(store, 'dir/')).map((m) => m.key)).toEqual([`dir/${long}`]);
    await expect(store.put(`dir/${'L'.repeat(300)}`, bytes('x'))).rejects.toBeInstanceOf(
      InvalidKeyError,
    );
  });

  it('delete prunes empty directories, never the root', async () => {
    await store.put('p/q/r/s', bytes('x'));
    await store.put('p/keep', bytes('y'));
    await store.delete('p/q/r/s');
    expect(await readdir(join(root, 'p'))).toEqual(['keep']);
    await store.delete('p/keep');
    expect(await readdir(root)).toEqual([]);
    await store.put('p/q/again', bytes('z'), { mode: 'create' });
    expect((await listAll(store, '')).map((m) => m.key)).toEqual(['p/q/again']);
  });

  it('never follows symbolic links inside the root', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'sediment-outside-'));
    try {
      await writeFile(join(outside, 'secret'), 'outside');
      await symlink(outside, join(root, 'linkdir'));
      await symlink(join(outside, 'secret'), join(root, 'linkfile'));
      await expect(store.get('linkdir/secret')).rejects.toBeInstanceOf(ObjectStoreFatalError);
      await expect(store.put('linkdir/new', bytes('x'))).rejects.toBeInstanceOf(
        ObjectStoreFatalError,
      );
      await expect(store.get('linkfile')).rejects.toBeInstanceOf(ObjectStoreFatalError);
      await expect(store.head('linkfile')).rejects.toBeInstanceOf(ObjectStoreFatalError);
      await store.put('real', bytes('r'));
      expect((await listAll(store, '')).map((m) => m.key)).toEqual(['real']);
      expect(await readdir(outside)).toEqual(['secret']);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('list ignores a crashed writer’s temp file and removes it after the grace period', async () => {
    await store.put('t/obj', bytes('x'));
    const old = join(root, 't', '.sediment~tmp-obj-1-deadbeef');
    const fresh = join(root, 't', '.sediment~tmp-obj-2-cafecafe');
    await writeFile(old, 'partial');
    await writeFile(fresh, 'in flight');
    const twoHoursAgo = (Date.now() - 2 * 3_600_000) / 1000;
    await utimes(old, twoHoursAgo, twoHoursAgo);
    expect((await listAll(store, '')).map((m) => m.key)).toEqual(['t/obj']);
    expect((await readdir(join(root, 't'))).sort()).toEqual([
      '.sediment~tmp-obj-2-cafecafe',
      'obj',
    ]);
  });

  it('breaks the lock of a dead process at once', async () => {
    const deadPid = await exitedPid();
    await store.put('locked/k', bytes('v1'));
    await writeFile(join(root, 'locked', '.sediment~lock-k'), lockRecord({ pid: deadPid }));
    const quick = new LocalFsStore({ root, lockTimeoutMs: 5_000 });
    const put = await quick.put('locked/k', bytes('v2'), {
      mode: { ifMatch: (await store.head('locked/k')).etag },
    });
    expect((await store.head('locked/k')).etag).toBe(put.etag);
    expect(await readdir(join(root, 'locked'))).toEqual(['k']);
  });

  it('waits for a live holder and reports a timeout as TransientError', async () => {
    await store.put('held/k', bytes('v1'));
    const lockPath = join(root, 'held', '.sediment~lock-k');
    await writeFile(lockPath, lockRecord({}));
    const impatient = new LocalFsStore({ root, lockTimeoutMs: 300 });
    const err = await impatient.put('held/k', bytes('v2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).maybeApplied).toBe(false);
    expect((err as Error).message).toMatch(/timed out .* held by pid/);
    expect(new TextDecoder().decode((await store.get('held/k')).bytes)).toBe('v1');
    await expect(impatient.delete('held/k')).rejects.toBeInstanceOf(TransientError);
    await rm(lockPath);
    await impatient.put('held/k', bytes('v2'));
  });

  it('breaks a lock it cannot check (another host) only once it is old', async () => {
    await store.put('foreign/k', bytes('v1'));
    const lockPath = join(root, 'foreign', '.sediment~lock-k');
    await writeFile(lockPath, lockRecord({ host: 'some-other-host' }));
    const s = new LocalFsStore({ root, lockTimeoutMs: 300, foreignLockStaleMs: 10_000 });
    await expect(s.put('foreign/k', bytes('v2'))).rejects.toBeInstanceOf(TransientError);
    const old = (Date.now() - 20_000) / 1000;
    await utimes(lockPath, old, old);
    await s.put('foreign/k', bytes('v2'));
    expect(new TextDecoder().decode((await store.get('foreign/k')).bytes)).toBe('v2');
  });

  it('in-process race across separate instances on one root', async () => {
    const stores = Array.from({ length: 6 }, () => new LocalFsStore({ root }));
    await Promise.all(
      stores.map(async (s, w) => {
        for (let seq = 1; seq <= 10; seq++) await casIncrement(s, 'counter', `i${w}`, seq);
      }),
    );
    const counter = await readCounter(store, 'counter');
    expect(counter.n).toBe(60);
  });

  it('a closed store refuses further calls', async () => {
    await store.close();
    await expect(store.get('x')).rejects.toBeInstanceOf(ObjectStoreFatalError);
    await store.close();
  });
});

describe('local-fs error mapping', () => {
  const errno = (code: string) => Object.assign(new Error(`${code}: synthetic`), { code });

  it('full disk and quota are transient, with a message that says what to do', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const err = mapFsError(errno(code), { op: 'put', key: 'k', path: '/data/k' });
      expect(err).toBeInstanceOf(TransientError);
      expect(err.retryable).toBe(true);
      expect((err as TransientError).maybeApplied).toBe(false);
      expect(err.message).toMatch(/free disk space/i);
      expect(err.cause).toBeInstanceOf(Error);
    }
    const late = mapFsError(errno('ENOSPC'), { op: 'put', key: 'k', maybeApplied: true });
    expect((late as TransientError).maybeApplied).toBe(true);
  });

  it('permission and I/O errors are fatal; long names are invalid keys', () => {
    for (const code of ['EACCES', 'EPERM', 'EROFS', 'EIO']) {
      expect(mapFsError(errno(code), { op: 'get', key: 'k' })).toBeInstanceOf(
        ObjectStoreFatalError,
      );
    }
    expect(mapFsError(errno('ENAMETOOLONG'), { op: 'put', key: 'k' })).toBeInstanceOf(
      InvalidKeyError,
    );
    expect(mapFsError(errno('EMFILE'), { op: 'put', key: 'k' })).toBeInstanceOf(TransientError);
  });
});

/** A pid that certainly belongs to no running process. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

function lockRecord(overrides: Partial<ProcessIdentity>): string {
  return JSON.stringify({
    v: 1,
    ...selfIdentity(),
    nonce: `n${Math.random()}`,
    acquiredAt: Date.now(),
    ...overrides,
  });
}
