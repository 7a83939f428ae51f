/**
 * Compaction per core in steady state: each configuration compacts the same queue
 * batches (synthetic 512-row entries, as bench/compact.ts) over and over in a process of
 * its own, as a writer's collector does for days, with the inline encoder (one thread:
 * the per-core figure). bench/compact.ts measures all modes and the DuckDB baseline in
 * one process, where each run also pays for the garbage and the cold code the other
 * modes left behind; this one does not.
 *
 * Baseline, same run, same rows: the same Compactor with parquet-wasm (arrow-rs) as its
 * Parquet writer, also in a process of its own. The processes alternate (sediment,
 * parquet-wasm, sediment, …) so load from other jobs hits both alike.
 *
 *   node scripts/run-ts.mjs bench/compact-steady.ts [--table spans|logs] [--entries 200]
 *     [--processes 2] [--warmup 8] [--runs 8]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  Compactor,
  InlineParquetEncoder,
  type ParquetWriterKind,
  silentLogger,
} from '@sediment/lake';
import { MemoryStore } from '@sediment/object-store';
import { logsBatch, spansBatch } from '../packages/lake/test/fixtures/synthetic-tables.js';
import { numberArg } from './lib/args.js';
import { HOUR_NS, PrebuiltQueue, workload } from './lib/compact-workload.js';

const ROWS = 512;
const TABLE = process.argv.includes('--table')
  ? process.argv[process.argv.indexOf('--table') + 1]!
  : 'spans';
const ENTRIES = numberArg('entries', 200);
const PROCESSES = numberArg('processes', 2);
const WARMUP = numberArg('warmup', 8);
const RUNS = numberArg('runs', 8);

interface RunFigures {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly bytes: number;
}

/** In the child: warm up, then time `RUNS` compactions of the whole workload. */
async function child(writer: ParquetWriterKind): Promise<void> {
  const base = 480_000n * HOUR_NS;
  const make = TABLE === 'logs' ? logsBatch : spansBatch;
  const w = workload(TABLE, ENTRIES, ROWS, (i) =>
    make({ rows: ROWS, seed: i, timestamp: (j) => base + BigInt(i * ROWS + j) * 1_000_003n }),
  );
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
  process.stdout.write(`${JSON.stringify({ rows: w.rows, ipcBytes: w.ipcBytes, runs })}\n`);
}

function spawnChild(
  writer: ParquetWriterKind,
): Promise<{ rows: number; ipcBytes: number; runs: RunFigures[] }> {
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
    `# bench/compact-steady.ts — ${TABLE}, ${ENTRIES} entries × ${ROWS} rows, inline encoder, ${PROCESSES} processes per writer × ${RUNS} timed runs after ${WARMUP} warm-up runs`,
  );
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${load()}\n`);
  const all = new Map<ParquetWriterKind, RunFigures[]>();
  let rows = 0;
  let ipcBytes = 0;
  for (let p = 0; p < PROCESSES; p++) {
    for (const writer of ['sediment', 'parquet-wasm'] as const) {
      const r = await spawnChild(writer);
      rows = r.rows;
      ipcBytes = r.ipcBytes;
      all.set(writer, [...(all.get(writer) ?? []), ...r.runs]);
    }
  }
  const cpuMedian = (w: ParquetWriterKind) => median(all.get(w)!.map((r) => r.cpuMs));
  for (const [writer, runs] of all) {
    const wall = runs.map((r) => r.wallMs);
    console.log(
      `${writer.padEnd(12)}: per CPU-second ${k(rows, cpuMedian(writer))} (median), ${k(rows, Math.min(...runs.map((r) => r.cpuMs)))} (best); wall best ${k(rows, Math.min(...wall))}, median ${k(rows, median(wall))}; ${(runs[0]!.bytes / rows).toFixed(1)} B/row Parquet`,
    );
  }
  console.log(
    `\n${TABLE}: ${rows.toLocaleString('en-US')} rows (${(ipcBytes / rows).toFixed(0)} B/row IPC); sediment / parquet-wasm per CPU-second: ${(cpuMedian('parquet-wasm') / cpuMedian('sediment')).toFixed(2)}x (load ${load()})`,
  );
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) await child(process.argv[childAt + 1] as ParquetWriterKind);
else await parent();
