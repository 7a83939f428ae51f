/**
 * Preloaded (`node --import …/fault-probe.ts`) into the soak's writer processes, which
 * run with SEDIMENT_TEST_STORE_FAULTS: it finds the writer's `FaultInjectingStore` when
 * it is constructed and keeps a snapshot of its `stats` (calls, injected transient
 * errors, lost replies, delayed calls) in the JSON file named by
 * `CHAOS_FAULT_STATS_FILE`, rewritten every 500 ms and at exit. A SIGKILL loses at most
 * the last half second of counts, so the soak's totals are lower bounds.
 *
 * Why a probe: the writer does not export the injector's counters (see README, "What
 * is counted how"); this reads them without changing the process under test.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FaultInjectingStore, FaultStats } from '@sediment/object-store';

const file = process.env.CHAOS_FAULT_STATS_FILE;
if (file) {
  // The writer's own copy of the module (same URL = same class), also when the services
  // run from another checkout (CHAOS_SERVICE_ROOT, see the soak's --repo option).
  const root =
    process.env.CHAOS_SERVICE_ROOT ??
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const mod = (await import(
    pathToFileURL(path.join(root, 'packages/object-store/src/index.ts')).href
  )) as typeof import('@sediment/object-store');
  const stores = new Set<FaultInjectingStore>();
  const proto = mod.FaultInjectingStore.prototype;
  const configure = proto.configure;
  // The constructor calls configure(): the earliest point that sees the instance.
  proto.configure = function (this: FaultInjectingStore, ...args: Parameters<typeof configure>) {
    stores.add(this);
    return configure.apply(this, args);
  };

  let last = '';
  const write = () => {
    if (stores.size === 0) return;
    const all: FaultStats[] = [...stores].map((s) => s.stats);
    const sum = { calls: 0, transientErrors: 0, lostReplies: 0, delayedCalls: 0, totalDelayMs: 0 };
    for (const s of all) {
      sum.calls += s.calls;
      sum.transientErrors += s.transientErrors;
      sum.lostReplies += s.lostReplies;
      sum.delayedCalls += s.delayedCalls;
      sum.totalDelayMs += s.totalDelayMs;
    }
    const text = JSON.stringify(sum);
    if (text === last) return;
    last = text;
    try {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    } catch {
      // the run directory is gone (the soak ended): nothing to report to
    }
  };
  setInterval(write, 500).unref();
  process.on('exit', write);
}
