/**
 * Compaction throughput: queue batches of pre-built Arrow IPC entries (512 rows each,
 * realistic spans-like and logs-like tables) → committed Parquet, through the real
 * Compactor (entry decoding, hour partitioning, dedup bookkeeping, parquet-wasm, data
 * file puts, commit, checkpoint, hint), on a memory and a local-fs store, with the
 * default worker-thread encoder (one warm worker for the run, as in a long-lived
 * writer) and with the inline encoder.
 *
 * Baseline, same rows, same run: DuckDB's appender inserting the rows into a table,
 * then `COPY … TO 'x.parquet' (FORMAT parquet, COMPRESSION zstd)`, with one DuckDB
 * thread. The appender is fed vectorized data chunks of 2048 rows (4-6x faster than
 * row-by-row appends here; `--row-appender` also measures those). Two baseline figures:
 * "append+COPY" (values already extracted from Arrow: the conservative one the ratio
 * uses) and "from IPC" (decode + extract + append + COPY: the compactor's input).
 *
 * Also: Parquet bytes per row for both, and object-store requests per million rows
 * (a counting wrapper around the store).
 *
 *   node scripts/run-ts.mjs bench/compact.ts [--spans 200] [--logs 300] [--rows 512] [--repeat 3] [--row-appender]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Compactor,
  InlineParquetEncoder,
  type ParquetEncoder,
  type QueueBatch,
  type QueueSource,
  readLakeSnapshot,
  silentLogger,
  WorkerParquetEncoder,
} from '@sediment/lake';
import {
  type GetResult,
  LocalFsStore,
  MemoryStore,
  type ObjectMeta,
  type ObjectStore,
  type PutOptions,
  type PutResult,
} from '@sediment/object-store';
import { type RecordBatch, tableFromIPC } from 'apache-arrow';
import { logsBatch, spansBatch, toIpc } from '../packages/lake/test/fixtures/synthetic-tables.js';
import { appendAndCopy, extractRows, openDuck } from './compact-duckdb.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const ROWS = Number(arg('rows', '512'));
const SPANS_ENTRIES = Number(arg('spans', '200'));
const LOGS_ENTRIES = Number(arg('logs', '300'));
const REPEAT = Number(arg('repeat', '3'));
const ROW_APPENDER = process.argv.includes('--row-appender');
const ENTRIES_PER_BATCH = 16;
const HOUR_NS = 3_600_000_000_000n;

/** Counts requests by kind; everything else is passed through. */
class CountingStore implements ObjectStore {
  readonly description: string;
  readonly counts = { put: 0, get: 0, head: 0, list: 0, delete: 0 };
  constructor(readonly inner: ObjectStore) {
    this.description = inner.description;
  }
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult> {
    this.counts.put++;
    return this.inner.put(key, bytes, options);
  }
  get(key: string): Promise<GetResult> {
    this.counts.get++;
    return this.inner.get(key);
  }
  head(key: string): Promise<ObjectMeta> {
    this.counts.head++;
    return this.inner.head(key);
  }
  list(prefix: string): AsyncIterable<ObjectMeta> {
    this.counts.list++;
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    this.counts.delete++;
    return this.inner.delete(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Serves pre-built queue batches from memory, so the figures are the compactor's (the
 * queue's own cost is measured by bench/ingest-throughput.ts).
 */
class PrebuiltQueue implements QueueSource {
  #next = 0;
  epoch = 1n;
  constructor(readonly batches: readonly QueueBatch[]) {}
  async initialize(): Promise<void> {
    this.#next = 0;
  }
  async nextBatch(): Promise<QueueBatch | undefined> {
    return this.batches[this.#next++];
  }
  async ack(): Promise<void> {}
  async flush(): Promise<void> {}
}

interface Workload {
  readonly name: string;
  readonly entries: Uint8Array[];
  readonly batches: QueueBatch[];
  readonly rows: number;
  readonly ipcBytes: number;
}

function workload(name: string, count: number, make: (i: number) => RecordBatch): Workload {
  const entries: Uint8Array[] = [];
  for (let i = 0; i < count; i++) entries.push(toIpc(make(i)));
  const batches: QueueBatch[] = [];
  for (let i = 0; i < entries.length; i += ENTRIES_PER_BATCH) {
    const chunk = entries.slice(i, i + ENTRIES_PER_BATCH);
    batches.push({
      sequence: BigInt(batches.length),
      location: `ingest/${i}.batch`,
      entries: chunk,
      // One ingest() call per entry, each with its own 16-byte idempotency key.
      metadata: chunk.map((_, k) => ({
        startIndex: k,
        recordCount: 1,
        ingestionTimeMs: Date.now(),
        payload: new Uint8Array(16).fill((i + k) & 255),
      })),
    });
  }
  const ipcBytes = entries.reduce((a, e) => a + e.length, 0);
  return { name, entries, batches, rows: count * ROWS, ipcBytes };
}

/** One encoder per mode for the whole run, as in a long-lived writer (warm wasm). */
const encoders: Record<'worker' | 'inline', ParquetEncoder> = {
  worker: new WorkerParquetEncoder(),
  inline: new InlineParquetEncoder(),
};

async function runCompactor(w: Workload, store: ObjectStore, mode: 'worker' | 'inline' = 'worker') {
  const counting = new CountingStore(store);
  const compactor = new Compactor({
    store: counting,
    queue: new PrebuiltQueue(w.batches),
    logger: silentLogger,
    gcIntervalMs: 0,
    encoder: encoders[mode],
  });
  const t0 = performance.now();
  await compactor.start();
  const { commits } = await compactor.drain();
  const ms = performance.now() - t0;
  await compactor.close();
  const { files } = await readLakeSnapshot(store);
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  return {
    ms,
    commits: commits.length,
    files: files.length,
    bytes,
    requests: counting.total,
    counts: { ...counting.counts },
    stats: compactor.stats,
  };
}

async function runBaseline(w: Workload, dir: string, mode: 'rows' | 'chunks' = 'chunks') {
  const duck = await openDuck();
  try {
    const t0 = performance.now();
    const batches = w.entries.flatMap((e) => tableFromIPC(e).batches);
    const rows = extractRows(batches);
    const t1 = performance.now();
    const size = await appendAndCopy(
      duck.conn,
      't',
      batches[0]!.schema,
      rows,
      join(dir, `${w.name}.parquet`),
      mode,
    );
    const t2 = performance.now();
    return { fromIpcMs: t2 - t0, appendCopyMs: t2 - t1, bytes: size };
  } finally {
    duck.close();
  }
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const krows = (rows: number, ms: number) => `${fmt(rows / (ms / 1000) / 1000, 0)}k rows/s`;

async function main() {
  const base = 480_000n * HOUR_NS;
  console.log(
    `# bench/compact.ts — ${ROWS} rows/entry, ${ENTRIES_PER_BATCH} entries/queue batch, best of ${REPEAT}`,
  );
  console.log(
    `node ${process.version}, ${process.arch}; DuckDB threads=1; compactor single-threaded (JS + wasm)\n`,
  );
  const workloads = [
    workload('spans', SPANS_ENTRIES, (i) =>
      spansBatch({
        rows: ROWS,
        seed: i,
        timestamp: (j) => base + BigInt(i * ROWS + j) * 1_000_003n,
      }),
    ),
    workload('logs', LOGS_ENTRIES, (i) =>
      logsBatch({
        rows: ROWS,
        seed: i,
        timestamp: (j) => base + BigInt(i * ROWS + j) * 1_000_003n,
      }),
    ),
    // 1 entry in 10 straddles an hour boundary: decoded, split with take, re-encoded.
    workload('spans-10%-split', SPANS_ENTRIES, (i) =>
      spansBatch({
        rows: ROWS,
        seed: i,
        timestamp: (j) =>
          i % 10 === 0
            ? base + HOUR_NS - 256n + BigInt(j)
            : base + BigInt(i * ROWS + j) * 1_000_003n,
      }),
    ),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'bench-compact-'));
  const summary: string[] = [];
  // Warm-up: JIT, wasm instantiation and memory growth are not part of the figures.
  for (const w of workloads)
    await runCompactor({ ...w, batches: w.batches.slice(0, 4) }, new MemoryStore());
  try {
    for (const w of workloads) {
      console.log(
        `## ${w.name}: ${fmt(w.rows)} rows, ${fmt(w.ipcBytes / w.rows, 0)} B/row of Arrow IPC`,
      );
      let best: Awaited<ReturnType<typeof runCompactor>> | undefined;
      for (let r = 0; r < REPEAT; r++) {
        const res = await runCompactor(w, new MemoryStore());
        if (!best || res.ms < best.ms) best = res;
      }
      const mem = best!;
      let inline: Awaited<ReturnType<typeof runCompactor>> | undefined;
      for (let r = 0; r < REPEAT; r++) {
        const res = await runCompactor(w, new MemoryStore(), 'inline');
        if (!inline || res.ms < inline.ms) inline = res;
      }
      const fsRoot = await mkdtemp(join(dir, 'fs-'));
      const fs = await runCompactor(w, new LocalFsStore({ root: fsRoot }));
      let baseline: Awaited<ReturnType<typeof runBaseline>> | undefined;
      if (w.name !== 'spans-10%-split') {
        for (let r = 0; r < REPEAT; r++) {
          const res = await runBaseline(w, dir);
          if (!baseline || res.appendCopyMs < baseline.appendCopyMs) baseline = res;
        }
      }
      const perM = (n: number) => fmt((n / w.rows) * 1e6, 1);
      const rowAppender = ROW_APPENDER && baseline ? await runBaseline(w, dir, 'rows') : undefined;
      console.log(
        `compactor, memory store   : ${krows(w.rows, mem.ms)}  (${fmt(mem.ms)} ms, ${mem.files} files, ${mem.commits} commits)`,
      );
      console.log(`compactor, local-fs store : ${krows(w.rows, fs.ms)}  (${fmt(fs.ms)} ms)`);
      console.log(
        `compactor, inline encoder : ${krows(w.rows, inline!.ms)}  (memory store, Parquet encoded on the main thread)`,
      );
      console.log(
        `  Parquet: ${fmt(mem.bytes / w.rows, 1)} B/row (${fmt(w.ipcBytes / mem.bytes, 1)}x smaller than the IPC input)`,
      );
      console.log(
        `  store requests per million rows: ${perM(mem.requests)} (put ${perM(mem.counts.put)}, get ${perM(mem.counts.get)}, head ${perM(mem.counts.head)}, list ${perM(mem.counts.list)}, delete ${perM(mem.counts.delete)})`,
      );
      if (mem.stats.splitEntries > 0)
        console.log(`  entries split across hours: ${mem.stats.splitEntries}`);
      if (baseline) {
        console.log(
          `DuckDB appender + COPY    : ${krows(w.rows, baseline.appendCopyMs)}  (${fmt(baseline.appendCopyMs)} ms; values pre-extracted, 2048-row data chunks)`,
        );
        if (rowAppender)
          console.log(
            `DuckDB row appender + COPY: ${krows(w.rows, rowAppender.appendCopyMs)}  (${fmt(rowAppender.appendCopyMs)} ms)`,
          );
        console.log(
          `DuckDB from IPC           : ${krows(w.rows, baseline.fromIpcMs)}  (${fmt(baseline.fromIpcMs)} ms; decode + extract + append + COPY)`,
        );
        console.log(`  DuckDB Parquet: ${fmt(baseline.bytes / w.rows, 1)} B/row`);
        const ratio = baseline.appendCopyMs / mem.ms;
        const ratioIpc = baseline.fromIpcMs / mem.ms;
        console.log(
          `ratio compactor / DuckDB appender+COPY: ${fmt(ratio, 2)}x  (vs from-IPC: ${fmt(ratioIpc, 2)}x)`,
        );
        summary.push(
          `${w.name.padEnd(6)} ${krows(w.rows, mem.ms).padStart(16)}  baseline ${krows(w.rows, baseline.appendCopyMs).padStart(16)}  ratio ${fmt(ratio, 2)}x  parquet ${fmt(mem.bytes / w.rows, 1)} vs ${fmt(baseline.bytes / w.rows, 1)} B/row  requests/Mrow ${perM(mem.requests)}`,
        );
      } else {
        summary.push(`${w.name} ${krows(w.rows, mem.ms)}`);
      }
      console.log('');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await encoders.worker.close();
  }
  console.log('## summary (memory store; ratio > 1 = compactor faster)');
  for (const line of summary) console.log(line);
}

await main();
