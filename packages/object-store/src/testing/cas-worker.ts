/**
 * Child-process entry for cross-process race and crash tests (spawned by
 * `spawnCasWorker`). Argument: a JSON `CasWorkerConfig`. Talks JSON lines on stdout:
 * `ready` once the store is open, then (after `go` on stdin) `acked` per increment,
 * `holding` when stalled at a failpoint (the parent then SIGKILLs it), `done` at the end.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LocalFsStore } from '../local-fs-store.js';
import { openStore } from '../open-store.js';
import type { ObjectStore } from '../types.js';
import { casIncrement, newIncrementStats } from './cas-counter.js';
import type { CasWorkerConfig, CasWorkerEvent } from './workers.js';

function emit(event: CasWorkerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as CasWorkerConfig;
  let seq = config.startSeq ?? 1;
  let store: ObjectStore;
  const hold = config.holdAt;
  if (hold !== undefined) {
    if (!config.url.startsWith('file:')) throw new Error('holdAt needs a file: store');
    store = new LocalFsStore({
      root: fileURLToPath(config.url),
      failpoint: async (point) => {
        if (point === hold.point && seq === hold.seq) {
          emit({ type: 'holding', seq, point });
          await new Promise<never>(() => {
            setInterval(() => {}, 60_000); // keep the process alive until it is killed
          });
        }
      },
    });
  } else {
    store = openStore(config.url);
  }
  emit({ type: 'ready' });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) if (line.trim() === 'go') break;
  lines.close();
  const stats = newIncrementStats();
  const last = (config.startSeq ?? 1) + config.count - 1;
  for (; seq <= last; seq++) {
    await casIncrement(store, config.key, config.worker, seq, stats);
    emit({ type: 'acked', seq });
  }
  await store.close();
  emit({ type: 'done', stats });
}

main().catch((err: unknown) => {
  emit({
    type: 'error',
    message: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  });
  process.exitCode = 1;
});
