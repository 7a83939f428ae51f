/**
 * Compaction per core in steady state: each configuration compacts the same queue
 * batches (synthetic 512-row entries, as bench/compact.ts) over and over in a process of
 * its own, as a writer's collector does for days, with the inline encoder (one thread:
 * the per-core figure). bench/compact.ts measures all modes and the DuckDB baseline in
 * one process, where each run also pays for the garbage and the cold code the other
 * modes left behind; this one does not.
 *
 * Baselines, same run, same rows, each in a process of its own: the same Compactor with
 * parquet-wasm (arrow-rs) as its Parquet writer, and DuckDB's appender + `COPY … (FORMAT
 * parquet, COMPRESSION zstd)` with one thread (values already extracted from Arrow, as in
 * bench/compact.ts: the conservative baseline). The processes alternate (sediment,
 * parquet-wasm, DuckDB, sediment, …) so load from other jobs hits all alike.
 *
 *   node scripts/run-ts.mjs bench/compact-steady.ts [--table spans|logs] [--entries 200]
 *     [--processes 2] [--warmup 8] [--runs 8] [--encoding delta|plain]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Compactor,
  InlineParquetEncoder,
  type ParquetEncoding,
  type ParquetWriterKind,
  silentLogger,
} from '@sediment/lake';
import { MemoryStore } from '@sediment/object-store';
import { tableFromIPC } from 'apache-arrow';
import { logsBatch, spansBatch } from '../packages/lake/test/fixtures/synthetic-tables.js';
import { appendAndCopy, extractRows, openDuck } from './compact-duckdb.js';
import { numberArg, stringArg } from './lib/args.js';
import { HOUR_NS, PrebuiltQueue, type Workload, workload } from './lib/compact-workload.js';

type Mode = ParquetWriterKind | 'duckdb';
const MODES: readonly Mode[] = ['sediment', 'parquet-wasm', 'duckdb'];

const ROWS = 512;
const TABLE = stringArg('table', 'spans');
const ENTRIES = numberArg('entries', 200);
const PROCESSES = numberArg('processes', 2);
const WARMUP = numberArg('warmup', 8);
const RUNS = numberArg('runs', 8);
const PARQUET_ENCODING = stringArg('encoding', 'delta') as ParquetEncoding;

interface RunFigures {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly bytes: number;
}

/** In the child: warm up, then time `RUNS` compactions of the whole workload. */
async function child(mode: Mode): Promise<void> {
  const base = 480_000n * HOUR_NS;
  const make = TABLE === 'logs' ? logsBatch : spansBatch;
  const w = workload(TABLE, ENTRIES, ROWS, (i) =>
    make({ rows: ROWS, seed: i, timestamp: (j) => base + BigInt(i * ROWS + j) * 1_000_003n }),
  );
  const runs = mode === 'duckdb' ? await duckRuns(w) : await compactorRuns(w, mode);
  process.stdout.write(`${JSON.stringify({ rows: w.rows, ipcBytes: w.ipcBytes, runs })}\n`);
}

/**
 * DuckDB: the rows extracted once (not timed), then appender + COPY, timed. Native code
 * needs no JIT warm-up: one warm-up run and at most 4 timed ones (each takes seconds).
 */
async function duckRuns(w: Workload): Promise<RunFigures[]> {
  const warmup = Math.min(WARMUP, 1);
  const batches = w.entries.flatMap((e) => tableFromIPC(e).batches);
  const rows = extractRows(batches);
  const dir = await mkdtemp(join(tmpdir(), 'bench-steady-'));
  const duck = await openDuck();
  const runs: RunFigures[] = [];
  try {
    for (let r = 0; r < warmup + Math.min(RUNS, 4); r++) {
      const path = join(dir, 'out.parquet');
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await appendAndCopy(duck.conn, 't', batches[0]!.schema, rows, path, 'chunks');
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      const bytes = (await stat(path)).size;
      if (r >= warmup) runs.push({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes });
    }
  } finally {
    duck.close();
    await rm(dir, { recursive: true, force: true });
  }
  return runs;
}

async function compactorRuns(w: Workload, writer: ParquetWriterKind): Promise<RunFigures[]> {
  const encoder = new InlineParquetEncoder();
  const runs: RunFigures[] = [];
  for (let r = 0; r < WARMUP + RUNS; r++) {
    const store = new MemoryStore();
    const compactor = new Compactor({
      store,
      queue: new PrebuiltQueue(w.batches),
      logger: silentLogger,
      gcIntervalMs: 0,
      encoder,
      parquetWriter: writer,
      parquetEncoding: PARQUET_ENCODING,
    });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await compactor.start();
    await compactor.drain();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    await compactor.close();
    let bytes = 0;
    for await (const o of store.list('lake/')) if (o.key.endsWith('.parquet')) bytes += o.size;
    if (r >= WARMUP) runs.push({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes });
  }
  await encoder.close();
  return runs;
}

function spawnChild(writer: Mode): Promise<{ rows: number; ipcBytes: number; runs: RunFigures[] }> {
  const self = fileURLToPath(import.meta.url);
  const args = [...process.execArgv, self, '--child', writer, ...process.argv.slice(2)];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    p.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${writer} child exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!));
    });
  });
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const k = (rows: number, ms: number) => `${Math.round(rows / ms)}k rows/s`;
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

async function parent(): Promise<void> {
  console.log(
    `# bench/compact-steady.ts — ${TABLE}, ${ENTRIES} entries × ${ROWS} rows, inline encoder, ${PROCESSES} processes per mode × ${RUNS} timed runs after ${WARMUP} warm-up runs`,
  );
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${load()}\n`);
  const all = new Map<Mode, RunFigures[]>();
  let rows = 0;
  let ipcBytes = 0;
  for (let p = 0; p < PROCESSES; p++) {
    for (const writer of MODES) {
      const r = await spawnChild(writer);
      rows = r.rows;
      ipcBytes = r.ipcBytes;
      all.set(writer, [...(all.get(writer) ?? []), ...r.runs]);
    }
  }
  const cpuMedian = (w: Mode) => median(all.get(w)!.map((r) => r.cpuMs));
  for (const [writer, runs] of all) {
    const wall = runs.map((r) => r.wallMs);
    console.log(
      `${writer.padEnd(12)}: per CPU-second ${k(rows, cpuMedian(writer))} (median), ${k(rows, Math.min(...runs.map((r) => r.cpuMs)))} (best); wall best ${k(rows, Math.min(...wall))}, median ${k(rows, median(wall))}; ${(runs[0]!.bytes / rows).toFixed(1)} B/row Parquet`,
    );
  }
  const ratio = (other: Mode) => (cpuMedian(other) / cpuMedian('sediment')).toFixed(2);
  console.log(
    `\n${TABLE}: ${rows.toLocaleString('en-US')} rows (${(ipcBytes / rows).toFixed(0)} B/row IPC); sediment per CPU-second (medians): ${ratio('duckdb')}x DuckDB appender+COPY, ${ratio('parquet-wasm')}x parquet-wasm (load ${load()})`,
  );
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) await child(process.argv[childAt + 1] as Mode);
else await parent();
