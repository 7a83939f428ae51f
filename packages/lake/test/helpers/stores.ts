/**
 * The real stores every lake integration test runs against: memory, local filesystem
 * (a fresh temp dir) and S3 (the Ceph RGW test server, random prefix per test; skipped
 * loudly without S3_ENDPOINT, mandatory under SEDIMENT_CI=1).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFsStore, MemoryStore, type ObjectStore, S3Store } from '@sediment/object-store';
import { removeAll, s3TestOptions, s3TestUrl } from '@sediment/object-store/testing';

export interface OpenedStore {
  readonly store: ObjectStore;
  /** URL a child process can open with `openStore()`; undefined for memory. */
  readonly url: string | undefined;
  cleanup(): Promise<void>;
}

export interface StoreTarget {
  readonly name: 'memory' | 'local-fs' | 's3';
  /** False when the backend is not available here (S3 without S3_ENDPOINT). */
  readonly available: boolean;
  open(): Promise<OpenedStore>;
}

export function storeTargets(): StoreTarget[] {
  const s3 = s3TestOptions();
  return [
    {
      name: 'memory',
      available: true,
      async open() {
        const store = new MemoryStore();
        return { store, url: undefined, cleanup: async () => store.close() };
      },
    },
    {
      name: 'local-fs',
      available: true,
      async open() {
        const root = await mkdtemp(join(tmpdir(), 'sediment-lake-'));
        const store = new LocalFsStore({ root });
        return {
          store,
          url: `file://${root}`,
          cleanup: async () => {
            await store.close();
            await rm(root, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: 's3',
      available: s3 !== undefined,
      async open() {
        const options = s3TestOptions();
        if (!options) throw new Error('S3 is not configured');
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
    },
  ];
}
