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
 * Also: the same compactor with `parquetWriter: 'parquet-wasm'` (the writer before the
 * TypeScript one), best and median wall-clock rates and rows per CPU-second of the
 * process (modes interleaved, so load changes hit all alike), Parquet bytes per row,
 * and object-store requests per million rows (the counts of a HookedStore around the store).
 *
 *   node scripts/run-ts.mjs bench/compact.ts [--spans 200] [--logs 300] [--rows 512] [--repeat 3] [--row-appender]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Compactor,
  InlineParquetEncoder,
  type ParquetEncoder,
  type ParquetWriterKind,
  readLakeSnapshot,
  silentLogger,
  WorkerParquetEncoder,
} from '@sediment/lake';
import { LocalFsStore, MemoryStore, type ObjectStore } from '@sediment/object-store';
import { HookedStore } from '@sediment/object-store/testing';
import { type RecordBatch, tableFromIPC } from 'apache-arrow';
import { logsBatch, spansBatch } from '../packages/lake/test/fixtures/synthetic-tables.js';
import { appendAndCopy, extractRows, openDuck } from './compact-duckdb.js';
import {
  workload as buildWorkload,
  ENTRIES_PER_BATCH,
  HOUR_NS,
  PrebuiltQueue,
  type Workload,
} from './lib/compact-workload.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const ROWS = Number(arg('rows', '512'));
const SPANS_ENTRIES = Number(arg('spans', '200'));
const LOGS_ENTRIES = Number(arg('logs', '300'));
const REPEAT = Number(arg('repeat', '3'));
const ROW_APPENDER = process.argv.includes('--row-appender');
const workload = (name: string, count: number, make: (i: number) => RecordBatch) =>
  buildWorkload(name, count, ROWS, make);

/** One encoder per mode for the whole run, as in a long-lived writer (warm wasm). */
const encoders: Record<'worker' | 'inline', ParquetEncoder> = {
  worker: new WorkerParquetEncoder(),
  inline: new InlineParquetEncoder(),
};

async function runCompactor(
  w: Workload,
  store: ObjectStore,
  mode: 'worker' | 'inline' = 'worker',
  parquetWriter: ParquetWriterKind = 'sediment',
) {
  const counting = new HookedStore(store);
  const compactor = new Compactor({
    store: counting,
    queue: new PrebuiltQueue(w.batches),
    logger: silentLogger,
    gcIntervalMs: 0,
    encoder: encoders[mode],
    parquetWriter,
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await compactor.start();
  const { commits } = await compactor.drain();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  await compactor.close();
  const { files } = await readLakeSnapshot(store);
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  return {
    ms,
    cpuMs,
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
    const c1 = process.cpuUsage();
    const size = await appendAndCopy(
      duck.conn,
      't',
      batches[0]!.schema,
      rows,
      join(dir, `${w.name}.parquet`),
      mode,
    );
    const t2 = performance.now();
    const cpu = process.cpuUsage(c1);
    return {
      fromIpcMs: t2 - t0,
      appendCopyMs: t2 - t1,
      appendCopyCpuMs: (cpu.user + cpu.system) / 1000,
      bytes: size,
    };
  } finally {
    duck.close();
  }
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const krows = (rows: number, ms: number) => `${fmt(rows / (ms / 1000) / 1000, 0)}k rows/s`;

type Run = Awaited<ReturnType<typeof runCompactor>>;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

/** "best / median wall, median per CPU-second" of repeated runs. */
function figures(rows: number, wallMs: number[], cpuMs: number[]): string {
  return `best ${krows(rows, Math.min(...wallMs))}, median ${krows(rows, median(wallMs))}; per CPU-second ${krows(rows, median(cpuMs))}`;
}

async function main() {
  const base = 480_000n * HOUR_NS;
  console.log(
    `# bench/compact.ts — ${ROWS} rows/entry, ${ENTRIES_PER_BATCH} entries/queue batch, ${REPEAT} runs each (best, median)`,
  );
  console.log(
    `node ${process.version}, ${process.arch}, ${os.cpus().length} CPUs, load average ${loadavg()}; DuckDB threads=1`,
  );
  console.log(
    'Parquet writers: sediment (TypeScript, default) and parquet-wasm (arrow-rs), same compactor; "per CPU-second" = rows / (user+sys CPU time of the process), the per-core figure that load from other processes disturbs least\n',
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
  // Warm-up: JIT, wasm instantiation and memory growth are not part of the figures (a
  // writer's collector runs for days). Two whole runs per mode: V8 optimizes the encoder's
  // hot loops only after they have run a while, and 4 batches were not enough for that.
  for (const w of workloads) {
    for (let k = 0; k < 2; k++) {
      await runCompactor(w, new MemoryStore());
      await runCompactor(w, new MemoryStore(), 'inline');
      await runCompactor(w, new MemoryStore(), 'inline', 'parquet-wasm');
    }
  }
  try {
    for (const w of workloads) {
      console.log(
        `## ${w.name}: ${fmt(w.rows)} rows, ${fmt(w.ipcBytes / w.rows, 0)} B/row of Arrow IPC (load ${loadavg()})`,
      );
      const modes: [string, 'worker' | 'inline', ParquetWriterKind][] = [
        ['compactor, worker encoder      ', 'worker', 'sediment'],
        ['compactor, inline encoder      ', 'inline', 'sediment'],
        ['compactor, inline, parquet-wasm', 'inline', 'parquet-wasm'],
      ];
      const results = new Map<string, Run[]>();
      // Interleaved, so that load changes hit every mode alike.
      for (let r = 0; r < REPEAT; r++) {
        for (const [label, mode, writer] of modes) {
          const res = await runCompactor(w, new MemoryStore(), mode, writer);
          results.set(label, [...(results.get(label) ?? []), res]);
        }
      }
      const fsRoot = await mkdtemp(join(dir, 'fs-'));
      const fs = await runCompactor(w, new LocalFsStore({ root: fsRoot }));
      const baselines: Awaited<ReturnType<typeof runBaseline>>[] = [];
      if (w.name !== 'spans-10%-split') {
        for (let r = 0; r < REPEAT; r++) baselines.push(await runBaseline(w, dir));
      }
      const perM = (n: number) => fmt((n / w.rows) * 1e6, 1);
      for (const [label] of modes) {
        const runs = results.get(label)!;
        console.log(
          `${label}: ${figures(
            w.rows,
            runs.map((x) => x.ms),
            runs.map((x) => x.cpuMs),
          )}  (${fmt(runs[0]!.bytes / w.rows, 1)} B/row Parquet)`,
        );
      }
      const mem = results.get(modes[0]![0])!;
      const inline = results.get(modes[1]![0])!;
      const wasm = results.get(modes[2]![0])!;
      console.log(
        `compactor, local-fs store       : ${krows(w.rows, fs.ms)}  (${fmt(fs.ms)} ms, worker encoder)`,
      );
      const first = mem[0]!;
      console.log(
        `  ${first.files} files, ${first.commits} commits; Parquet ${fmt(first.bytes / w.rows, 1)} B/row (${fmt(w.ipcBytes / first.bytes, 1)}x smaller than the IPC input)`,
      );
      console.log(
        `  store requests per million rows: ${perM(first.requests)} (put ${perM(first.counts.put)}, get ${perM(first.counts.get)}, head ${perM(first.counts.head)}, list ${perM(first.counts.list)}, delete ${perM(first.counts.delete)})`,
      );
      if (first.stats.splitEntries > 0)
        console.log(`  entries split across hours: ${first.stats.splitEntries}`);
      if (first.stats.parquetFallbacks > 0)
        console.log(`  files handed to parquet-wasm: ${first.stats.parquetFallbacks}`);
      const speedup = median(wasm.map((x) => x.cpuMs)) / median(inline.map((x) => x.cpuMs));
      console.log(
        `sediment writer vs parquet-wasm (inline, per CPU-second, medians): ${fmt(speedup, 2)}x`,
      );
      if (baselines.length > 0) {
        const ac = baselines.map((b) => b.appendCopyMs);
        const acCpu = baselines.map((b) => b.appendCopyCpuMs);
        console.log(
          `DuckDB appender + COPY          : ${figures(w.rows, ac, acCpu)}  (values pre-extracted, 2048-row data chunks)`,
        );
        if (ROW_APPENDER) {
          const rowAppender = await runBaseline(w, dir, 'rows');
          console.log(
            `DuckDB row appender + COPY      : ${krows(w.rows, rowAppender.appendCopyMs)}`,
          );
        }
        const fromIpc = baselines.map((b) => b.fromIpcMs);
        console.log(
          `DuckDB from IPC                 : best ${krows(w.rows, Math.min(...fromIpc))}  (decode + extract + append + COPY)`,
        );
        console.log(`  DuckDB Parquet: ${fmt(baselines[0]!.bytes / w.rows, 1)} B/row`);
        const ratioBest = Math.min(...ac) / Math.min(...mem.map((x) => x.ms));
        const ratioMedian = median(ac) / median(mem.map((x) => x.ms));
        const ratioCpuInline = median(acCpu) / median(inline.map((x) => x.cpuMs));
        console.log(
          `ratio compactor / DuckDB appender+COPY: ${fmt(ratioBest, 2)}x best, ${fmt(ratioMedian, 2)}x median (worker encoder, wall); ${fmt(ratioCpuInline, 2)}x per CPU-second (inline)`,
        );
        summary.push(
          `${w.name.padEnd(6)} worker ${krows(w.rows, Math.min(...mem.map((x) => x.ms)))} best / ${krows(w.rows, median(mem.map((x) => x.ms)))} median; inline ${krows(w.rows, median(inline.map((x) => x.cpuMs)))} per CPU-s; DuckDB ${krows(w.rows, Math.min(...ac))} best; ratio ${fmt(ratioBest, 2)}x best, ${fmt(ratioMedian, 2)}x median, ${fmt(ratioCpuInline, 2)}x per CPU-s; vs parquet-wasm ${fmt(speedup, 2)}x; parquet ${fmt(first.bytes / w.rows, 1)} (wasm ${fmt(wasm[0]!.bytes / w.rows, 1)}, DuckDB ${fmt(baselines[0]!.bytes / w.rows, 1)}) B/row; requests/Mrow ${perM(first.requests)}`,
        );
      } else {
        summary.push(
          `${w.name} worker ${krows(w.rows, Math.min(...mem.map((x) => x.ms)))} best / ${krows(w.rows, median(mem.map((x) => x.ms)))} median; inline ${krows(w.rows, median(inline.map((x) => x.cpuMs)))} per CPU-s; vs parquet-wasm ${fmt(speedup, 2)}x`,
        );
      }
      console.log('');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await encoders.worker.close();
  }
  console.log(`## summary (memory store; ratio > 1 = compactor faster; load ${loadavg()})`);
  for (const line of summary) console.log(line);
}

await main();
