import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalFsStore } from './local-fs-store.js';
import { defineObjectStoreConformance } from './testing/index.js';

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
