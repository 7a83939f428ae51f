/**
 * Ingest queue throughput, with baselines measured in the same run:
 *
 * 1. ingest → durable on memory and local-fs stores (MB/s, entries/s), against the raw
 *    store writing the same bytes as objects of the same size (create puts, same
 *    concurrency as the Ingestor's batch writes). Object-store requests per MB ingested
 *    come from the counts of a HookedStore (no hooks) around the store.
 * 2. Manifest appends/s and conflict rate with 1, 4 and 16 contending producer
 *    PROCESSES on one local-fs manifest (flush interval 5 ms to stress appends).
 *
 *   node scripts/run-ts.mjs bench/ingest-throughput.ts [--mib 64] [--seconds 3] [--procs 1,4,16]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ingestor, type IngestorMetrics } from '@sediment/ingest';
import { LocalFsStore, MemoryStore, type ObjectStore } from '@sediment/object-store';
import { HookedStore } from '@sediment/object-store/testing';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const MIB = Number(arg('mib', '64'));
const SECONDS = Number(arg('seconds', '3'));
const PROCS = arg('procs', '1,4,16').split(',').map(Number);
const ENTRY_BYTES = 1024;
const ENTRIES_PER_CALL = 16;

const tmpRoots: string[] = [];
async function openBackend(name: string): Promise<ObjectStore> {
  if (name === 'memory') return new MemoryStore();
  const root = await mkdtemp(join(tmpdir(), 'bench-ingest-'));
  tmpRoots.push(root);
  return new LocalFsStore({ root });
}

async function ingestScenario(backend: string) {
  const store = new HookedStore(await openBackend(backend));
  const ingestor = new Ingestor({ store });
  const entries = Array.from({ length: ENTRIES_PER_CALL }, (_, i) =>
    new Uint8Array(ENTRY_BYTES).fill(97 + (i % 26)),
  );
  const calls = Math.ceil((MIB * 1024 * 1024) / (ENTRY_BYTES * ENTRIES_PER_CALL));
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < calls; i++) {
    const handle = await ingestor.ingest(entries);
    pending.push(handle.awaitDurable());
  }
  await Promise.all(pending);
  const ms = performance.now() - started;
  await ingestor.close();
  const m = ingestor.metrics();
  const payloadMiB = (calls * ENTRIES_PER_CALL * ENTRY_BYTES) / (1024 * 1024);
  return { store, ms, m, payloadMiB, calls };
}

/** The same bytes as objects of the ingestor's average batch size, 4 puts in flight. */
async function rawPutScenario(backend: string, totalBytes: number, objects: number) {
  const store = await openBackend(backend);
  const size = Math.ceil(totalBytes / objects);
  const body = new Uint8Array(size).fill(0x61);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < objects) {
        const n = next++;
        await store.put(`raw/${String(n).padStart(8, '0')}.bin`, body, { mode: 'create' });
      }
    }),
  );
  return { ms: performance.now() - started };
}

console.log(`ingest-throughput (node ${process.version}, ${MIB} MiB per scenario)`);
console.log('\n1) ingest → durable (1 KiB entries, 16 per ingest() call, default Ingestor config)');
console.log(
  'store     MB/s   entries/s   batches  avg batch   raw put MB/s  ratio  requests/MB  (puts/gets/other)',
);
for (const backend of ['memory', 'local-fs']) {
  const run = await ingestScenario(backend);
  const raw = await rawPutScenario(backend, run.m.batchBytesWritten, run.m.batchesWritten);
  const mbps = run.payloadMiB / (run.ms / 1000);
  const rawMbps = run.m.batchBytesWritten / (1024 * 1024) / (raw.ms / 1000);
  const c = run.store.counts;
  console.log(
    `${backend.padEnd(8)} ${mbps.toFixed(0).padStart(5)}  ${((run.calls * ENTRIES_PER_CALL) / (run.ms / 1000)).toFixed(0).padStart(10)}` +
      `  ${String(run.m.batchesWritten).padStart(8)}  ${(run.m.batchBytesWritten / run.m.batchesWritten / (1024 * 1024)).toFixed(2).padStart(6)} MiB` +
      `  ${rawMbps.toFixed(0).padStart(12)}  ${(mbps / rawMbps).toFixed(2).padStart(5)}` +
      `  ${(run.store.total / run.payloadMiB).toFixed(3).padStart(11)}  (${c.put}/${c.get}/${c.head + c.list + c.delete})`,
  );
}
console.log('ratio = ingest MB/s ÷ raw put MB/s of the same bytes in objects of the same size.');

// 2) contention between producer processes
const require = createRequire(import.meta.url);
const workerFile = fileURLToPath(new URL('./ingest-contention-worker.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../', import.meta.url));

interface WorkerDone {
  type: 'done';
  elapsedMs: number;
  failed: number;
  metrics: IngestorMetrics;
}

async function contention(procs: number) {
  const root = await mkdtemp(join(tmpdir(), 'bench-ingest-contention-'));
  tmpRoots.push(root);
  const config = {
    url: pathToFileURL(root).href,
    seconds: SECONDS,
    entryBytes: 256,
    flushIntervalMs: 5,
  };
  const children = Array.from({ length: procs }, () =>
    spawn(
      process.execPath,
      [
        '--conditions=sediment-src',
        '--import',
        require.resolve('tsx/esm'),
        workerFile,
        JSON.stringify(config),
      ],
      { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
    ),
  );
  const results = children.map((child) => {
    const lines = createInterface({ input: child.stdout! });
    let ready!: () => void;
    const readyP = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const done = new Promise<WorkerDone>((resolve, reject) => {
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as { type: string };
        if (msg.type === 'ready') ready();
        if (msg.type === 'done') resolve(msg as WorkerDone);
      });
      child.on('exit', (code) => {
        if (code !== 0) reject(new Error(`worker exited ${code}`));
      });
    });
    return { child, readyP, done };
  });
  await Promise.all(results.map((r) => r.readyP));
  for (const r of results) r.child.stdin!.write('go\n');
  const done = await Promise.all(results.map((r) => r.done));
  const seconds = Math.max(...done.map((d) => d.elapsedMs)) / 1000;
  const sum = (f: (m: IngestorMetrics) => number) => done.reduce((n, d) => n + f(d.metrics), 0);
  return {
    procs,
    seconds,
    commits: sum((m) => m.manifestCommits),
    writes: sum((m) => m.manifestWrites),
    conflicts: sum((m) => m.manifestConflicts),
    stale: sum((m) => m.manifestStaleCache),
    batches: sum((m) => m.batchesWritten),
    durable: sum((m) => m.durableInputs),
    failed: done.reduce((n, d) => n + d.failed, 0),
  };
}

console.log(
  `\n2) manifest contention on local-fs: N producer processes, ${SECONDS} s, 256 B entries, flush every 5 ms`,
);
// Baseline: one process doing read + conditional put on one key, as fast as it can.
const casRoot = await mkdtemp(join(tmpdir(), 'bench-ingest-cas-'));
tmpRoots.push(casRoot);
const casStore = new LocalFsStore({ root: casRoot });
const casBody = new Uint8Array(4096).fill(0x62);
let casOps = 0;
const casStart = performance.now();
await casStore.put('cas/key', casBody, { mode: 'create' });
while (performance.now() - casStart < SECONDS * 1000) {
  const current = await casStore.get('cas/key');
  await casStore.put('cas/key', casBody, { mode: { ifMatch: current.etag } });
  casOps++;
}
const casPerSec = casOps / ((performance.now() - casStart) / 1000);
console.log(
  `baseline: raw read + conditional put on one local-fs key, 1 process: ${casPerSec.toFixed(0)} CAS/s`,
);
console.log(
  'procs  appends/s  vs 1 proc  vs CAS  batches/s  ingests/s  write attempts  conflicts  conflict rate  (stale cache)  failed',
);
let single: number | undefined;
for (const procs of PROCS) {
  const r = await contention(procs);
  const appendsPerSec = r.commits / r.seconds;
  single ??= appendsPerSec;
  console.log(
    `${String(r.procs).padStart(5)}  ${appendsPerSec.toFixed(0).padStart(9)}  ${(appendsPerSec / single).toFixed(2).padStart(9)}` +
      `  ${(appendsPerSec / casPerSec).toFixed(2).padStart(6)}` +
      `  ${(r.batches / r.seconds).toFixed(0).padStart(9)}` +
      `  ${(r.durable / r.seconds).toFixed(0).padStart(9)}  ${String(r.writes).padStart(14)}  ${String(r.conflicts).padStart(9)}` +
      `  ${((100 * r.conflicts) / Math.max(1, r.writes)).toFixed(1).padStart(12)}%  ${String(r.stale).padStart(13)}  ${String(r.failed).padStart(6)}`,
  );
}
console.log(
  'appends/s = successful manifest writes per second (each may enqueue several batches: group commit);\n' +
    '"vs 1 proc" = aggregate appends/s ÷ the single-producer figure of this run;\n' +
    '"vs CAS" = appends/s ÷ the raw read + conditional-put rate (the floor one manifest can do);\n' +
    'conflict rate = conflicting writes ÷ write attempts; "stale cache" conflicts are optimistic writes\n' +
    'against the manifest this producer wrote last (no read first) that another producer had replaced.',
);

for (const root of tmpRoots) await rm(root, { recursive: true, force: true });
