/**
 * The Parquet writer of another commit against this checkout's, in one process: both
 * versions of `packages/lake/src` are loaded side by side and write the same spans file in
 * alternation, so load from other jobs on the shared machine hits both alike (separate
 * processes of the same code differ by up to 1.4× here). The figure is the median of the
 * per-pair time ratios: above 1 = this checkout is faster.
 *
 *   node scripts/run-ts.mjs bench/writer-ab.ts --base 0325c56 [--pairs 30] [--table spans|logs]
 *
 * The base commit's `packages/lake/src` is extracted with `git archive` under
 * `packages/lake/.ab-base/<commit>/` (ignored by git), where it resolves the package's
 * dependencies like the real one.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ParquetWriter } from '@sediment/lake';
import { logsBatch, spansBatch, toIpc } from '../packages/lake/test/fixtures/synthetic-tables.js';
import { joinedStream } from '../packages/lake/test/helpers/joined-ipc.js';
import { numberArg, stringArg } from './lib/args.js';
import { median } from './lib/latency.js';

const BASE = stringArg('base', '');
const PAIRS = numberArg('pairs', 30);
const WARMUP = 8;
const TABLE = stringArg('table', 'spans');
if (!BASE) {
  console.error('usage: bench/writer-ab.ts --base <commit> [--pairs 30] [--table spans|logs]');
  process.exit(2);
}

const repo = fileURLToPath(new URL('..', import.meta.url));
const commit = execFileSync('git', ['rev-parse', '--short', BASE], { cwd: repo }).toString().trim();
const dir = join(repo, 'packages/lake/.ab-base', commit);
if (!existsSync(join(dir, 'src/parquet-writer.ts'))) {
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync('git', ['archive', commit, 'packages/lake/src'], { cwd: repo });
  execFileSync('tar', ['-x', '--strip-components=2', '-C', dir], { input: tar });
}
type Writer = typeof ParquetWriter;
const base: Writer = (await import(pathToFileURL(join(dir, 'src/parquet-writer.ts')).href))
  .ParquetWriter;
const ours: Writer = (await import('../packages/lake/src/parquet-writer.js')).ParquetWriter;

const ROWS = 512;
const ENTRIES = 200;
const HOUR = 3_600_000_000_000n;
const make = TABLE === 'logs' ? logsBatch : spansBatch;
const entries = Array.from({ length: ENTRIES }, (_, i) =>
  toIpc(
    make({
      rows: ROWS,
      seed: i,
      timestamp: (j) => 480_000n * HOUR + BigInt(i * ROWS + j) * 1_000_003n,
    }),
  ),
);
const stream = joinedStream(entries);
const options = { rowGroupRows: 131_072, createdBy: 'bench' };
const a = new base();
const b = new ours();
const time = (w: InstanceType<Writer>) => {
  const t0 = performance.now();
  w.writeStream(stream, options);
  return performance.now() - t0;
};
const ta: number[] = [];
const tb: number[] = [];
for (let r = 0; r < WARMUP + PAIRS; r++) {
  // Alternate which goes first, so neither always runs right after the other's garbage.
  let x: number;
  let y: number;
  if (r % 2) {
    x = time(a);
    y = time(b);
  } else {
    y = time(b);
    x = time(a);
  }
  if (r >= WARMUP) {
    ta.push(x);
    tb.push(y);
  }
}
const rows = ROWS * ENTRIES;
const rate = (ms: number) => `${Math.round(rows / ms)}k rows/s`;
console.log(
  `# bench/writer-ab.ts — ${TABLE}, ${rows.toLocaleString('en-US')} rows per file, ${PAIRS} pairs after ${WARMUP} warm-up pairs`,
);
console.log(`base ${commit}: median ${median(ta).toFixed(1)} ms (${rate(median(ta))})`);
console.log(`this checkout: median ${median(tb).toFixed(1)} ms (${rate(median(tb))})`);
const ratios = ta.map((x, i) => x / tb[i]!);
console.log(
  `speed-up of this checkout (median of per-pair ratios): ${median(ratios).toFixed(3)}x (pairs ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
);
