import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError, ObjectStoreFatalError, TransientError } from '../src/errors.js';
import { S3Store } from '../src/s3-store.js';
import { listAll } from '../src/types.js';
import {
  defineObjectStoreConformance,
  removeAll,
  s3TestOptions,
  s3TestUrl,
} from '../src/testing/index.js';

const configured = s3TestOptions();

describe.skipIf(configured === undefined)('S3Store against the S3 test server', () => {
  defineObjectStoreConformance(
    's3',
    () => {
      // Small pages so that listing crosses page boundaries.
      const options = s3TestOptions({ listPageSize: 7 })!;
      const store = new S3Store(options);
      return {
        store,
        openClient: () => new S3Store(options),
        url: s3TestUrl(options),
        cleanup: async () => {
          await removeAll(store);
        },
      };
    },
    { contentEtags: true, race: { workers: 8, increments: 25, via: 'clients' } },
  );

  describe('S3-specific behaviour', () => {
    const options = configured!;
    const opened: S3Store[] = [];
    const open = (overrides: Partial<typeof options> = {}) => {
      const store = new S3Store({ ...options, ...overrides });
      opened.push(store);
      return store;
    };
    afterAll(async () => {
      await removeAll(open());
      for (const s of opened) await s.close();
    });

    it('keeps every key under its prefix and strips it from listings', async () => {
      const outer = open({ prefix: `${options.prefix}/outer` });
      const inner = open({ prefix: `${options.prefix}/outer/inner/` });
      await inner.put('k', new Uint8Array([1]));
      expect((await listAll(inner, '')).map((m) => m.key)).toEqual(['k']);
      expect((await listAll(outer, '')).map((m) => m.key)).toEqual(['inner/k']);
      expect((await outer.head('inner/k')).size).toBe(1);
      await expect(outer.get('k')).rejects.toBeInstanceOf(NotFoundError);
      expect(inner.description).toBe(
        `s3://${options.bucket}/${options.prefix}/outer/inner/ (endpoint ${options.endpoint})`,
      );
    });

    it('wrong credentials are fatal, not retried', async () => {
      const store = open({ credentials: { accessKeyId: 'NOPE', secretAccessKey: 'wrong' } });
      const err = await store.get('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ObjectStoreFatalError);
      expect(String((err as Error).message)).toMatch(/access denied/);
      expect(String((err as Error).message)).not.toMatch(/wrong/);
    });

    it('a missing bucket is fatal', async () => {
      const store = open({ bucket: `no-such-bucket-${Date.now()}` });
      for (const call of [
        () => store.get('x'),
        () => store.put('x', new Uint8Array([1])),
        () => store.put('x', new Uint8Array([1]), { mode: 'create' }),
        () => listAll(store, ''),
      ]) {
        const err = await call().catch((e: unknown) => e);
        expect(err, String(err)).toBeInstanceOf(ObjectStoreFatalError);
        expect((err as Error).message).toMatch(/bucket does not exist/);
      }
    });

    it('an unreachable endpoint is transient, and says whether a write may have landed', async () => {
      const store = open({
        endpoint: 'http://127.0.0.1:9',
        maxAttempts: 1,
        connectionTimeoutMs: 2000,
      });
      const read = await store.get('x').catch((e: unknown) => e);
      expect(read).toBeInstanceOf(TransientError);
      const write = await store
        .put('x', new Uint8Array([1]), { mode: 'create' })
        .catch((e: unknown) => e);
      expect(write).toBeInstanceOf(TransientError);
      // Connection refused: the request never left, so it cannot have been applied.
      expect((write as TransientError).maybeApplied).toBe(false);
    });

    it('sends If-Match without quotes and accepts quoted etags from callers', async () => {
      const store = open();
      const first = await store.put('quoted', new Uint8Array([1]));
      expect(first.etag).not.toMatch(/"/);
      const second = await store.put('quoted', new Uint8Array([2]), {
        mode: { ifMatch: `"${first.etag}"` },
      });
      expect((await store.head('quoted')).etag).toBe(second.etag);
    });
  });
});
