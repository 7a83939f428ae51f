/**
 * Stores for the outage suites: the test S3 server behind a cuttable TCP proxy, and a
 * local-filesystem store on a small tmpfs that can be filled up.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LocalFsStore, S3Store } from '@sediment/object-store';
import { removeAll, s3TestOptions, s3TestUrl } from '@sediment/object-store/testing';
import { CuttableTcpProxy } from './outage-proxy.js';
import type { StoreTarget } from './outage-scenario.js';

const run = promisify(execFile);

export interface ProxiedS3 {
  readonly target: StoreTarget;
  readonly proxy: CuttableTcpProxy;
  /** Deletes the test prefix and closes the proxy. */
  cleanup(): Promise<void>;
}

/**
 * The writer reaches the test S3 server through a proxy this process controls; checks
 * read the bucket directly. `undefined` (with a loud warning) when no S3 server is
 * configured; under SEDIMENT_CI=1 that throws instead (see s3TestOptions).
 */
export async function proxiedS3(): Promise<ProxiedS3 | undefined> {
  const options = s3TestOptions();
  if (!options?.endpoint) return undefined;
  const upstream = new URL(options.endpoint);
  const proxy = new CuttableTcpProxy({
    host: upstream.hostname,
    port: Number(upstream.port || (upstream.protocol === 'https:' ? 443 : 80)),
  });
  const port = await proxy.listen();
  const env = process.env;
  const store = new S3Store(options);
  const target: StoreTarget = {
    url: s3TestUrl(options),
    env: {
      S3_ENDPOINT: `${upstream.protocol}//127.0.0.1:${port}`,
      S3_FORCE_PATH_STYLE: String(options.forcePathStyle ?? true),
      AWS_REGION: options.region ?? 'us-east-1',
      ...(env.AWS_ACCESS_KEY_ID ? { AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID } : {}),
      ...(env.AWS_SECRET_ACCESS_KEY ? { AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY } : {}),
    },
    store,
  };
  return {
    target,
    proxy,
    cleanup: async () => {
      await proxy.close();
      await removeAll(store).catch(() => {});
      await store.close();
    },
  };
}

export interface SmallDisk {
  readonly target: StoreTarget;
  /** The mount point (the store root is `<dir>/store`). */
  readonly dir: string;
  /** Bytes free on the filesystem now. */
  free(): Promise<number>;
  /** Writes `<dir>/filler` so that about `leaveFree` bytes stay free. */
  fill(leaveFree: number): Promise<number>;
  /** Deletes the filler: the space comes back. */
  unfill(): Promise<void>;
  /** Unmounts and removes everything. */
  cleanup(): Promise<void>;
}

/**
 * A tmpfs of `sizeMiB` mounted on a fresh directory, with a local-fs store inside.
 * Needs root (CI runs as root); the reason is returned when mounting is not permitted so
 * the caller can skip LOUDLY (or fail under SEDIMENT_CI=1).
 */
export async function smallDisk(sizeMiB: number): Promise<SmallDisk | string> {
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()}): cannot mount a tmpfs`;
  const dir = await mkdtemp(path.join(tmpdir(), 'sediment-full-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${(err as Error).message}`;
  }
  const root = path.join(dir, 'store');
  const store = new LocalFsStore({ root });
  const filler = path.join(dir, 'filler');
  const free = async () => {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  };
  return {
    target: { url: `file://${root}`, env: {}, store },
    dir,
    free,
    fill: async (leaveFree) => {
      // In 1 MiB steps: the load is writing to the same disk meanwhile.
      const chunk = Buffer.alloc(1024 * 1024);
      const handle = await open(filler, 'a');
      let written = 0;
      try {
        for (;;) {
          const room = (await free()) - leaveFree;
          if (room <= 0) break;
          try {
            written += (await handle.write(chunk, 0, Math.min(chunk.byteLength, room)))
              .bytesWritten;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
      } finally {
        await handle.close();
      }
      return written;
    },
    unfill: () => rm(filler, { force: true }),
    cleanup: async () => {
      await store.close();
      await run('umount', ['-l', dir]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
