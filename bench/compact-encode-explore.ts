/**
 * Exploration: what does parquet-wasm's encoding of one spans file cost, and which writer
 * settings / feeding strategies change it? Standalone (no compactor): the same synthetic
 * 512-row entries as bench/compact.ts, joined into one IPC stream as the compactor does.
 *
 *   node scripts/run-ts.mjs bench/compact-encode-explore.ts [--entries 200] [--repeat 5] [--table spans|logs]
 */
import { createRequire } from 'node:module';
import { type RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { joinIpcStream } from '../packages/lake/src/parquet-encoder.js';
import { splitIpcStream } from '../packages/lake/src/ipc.js';
import { ParquetWriter } from '../packages/lake/src/parquet-writer.js';
import { logsBatch, spansBatch, toIpc } from '../packages/lake/test/fixtures/synthetic-tables.js';

const require = createRequire(new URL('../packages/lake/package.json', import.meta.url));
// parquet-wasm is a dependency of packages/lake, not of the root: typed loosely here.
// biome-ignore lint/suspicious/noExplicitAny: see above
const pw = require('parquet-wasm') as any;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const ENTRIES = Number(arg('entries', '200'));
const REPEAT = Number(arg('repeat', '5'));
const TABLE = arg('table', 'spans');
const ONLY = arg('only', '');
const ROWS = 512;
const HOUR_NS = 3_600_000_000_000n;
const base = 480_000n * HOUR_NS;

const make = TABLE === 'logs' ? logsBatch : spansBatch;
const batches: RecordBatch[] = [];
const entries: Uint8Array[] = [];
for (let i = 0; i < ENTRIES; i++) {
  const b = make({
    rows: ROWS,
    seed: i,
    timestamp: (j) => base + BigInt(i * ROWS + j) * 1_000_003n,
  });
  batches.push(b);
  entries.push(toIpc(b));
}
const rows = ENTRIES * ROWS;
const schemaMsg = (() => {
  const m = splitIpcStream(entries[0]!);
  return entries[0]!.slice(m[0]!.start, m[0]!.end);
})();
const bodies: Uint8Array[] = [];
for (const e of entries) {
  const ms = splitIpcStream(e);
  for (const m of ms.slice(1)) bodies.push(e.subarray(m.start, m.end));
}
const stream = joinIpcStream(schemaMsg, bodies);
const dictColumns = batches[0]!.schema.fields
  .filter((f) => f.type.typeId === -1 /* Type.Dictionary */)
  .map((f) => f.name);

// biome-ignore lint/suspicious/noExplicitAny: parquet-wasm's builder, typed loosely
type Builder = any;
type Cfg = (b: Builder) => Builder;

function current(b: Builder): Builder {
  let x = b
    .setCompression(pw.Compression.ZSTD)
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(pw.EnabledStatistics.Page)
    .setMaxRowGroupSize(131072);
  for (const c of dictColumns) x = x.setColumnDictionaryEnabled(c, true);
  return x;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};
const krows = (ms: number, n = rows) => `${(((n / ms) * 1000) / 1000).toFixed(0)}k`;

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}

function measure(name: string, cfg: Cfg, input: Uint8Array = stream, n = rows) {
  if (ONLY && !name.includes(ONLY)) return;
  const load: number[] = [];
  const write: number[] = [];
  let size = 0;
  for (let r = 0; r < REPEAT; r++) {
    const [t, ms1] = time(() => pw.Table.fromIPCStream(input));
    const props = cfg(new pw.WriterPropertiesBuilder()).build();
    const [out, ms2] = time(() => pw.writeParquet(t, props));
    size = out.length;
    load.push(ms1);
    write.push(ms2);
  }
  const tot = load.map((l, i) => l + write[i]!);
  console.log(
    `${name.padEnd(44)} load ${median(load).toFixed(1).padStart(6)} ms  write ${median(write).toFixed(1).padStart(7)} ms  total med ${krows(median(tot), n).padStart(5)} best ${krows(Math.min(...tot), n).padStart(5)} rows/s  ${(size / n).toFixed(1)} B/row`,
  );
}

const load0 = await import('node:os').then((os) =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' '),
);
console.log(
  `# ${TABLE}: ${rows} rows, ${(stream.length / rows).toFixed(0)} B/row IPC, ${bodies.length} messages; load ${load0}`,
);

function measureTs(
  name: string,
  opts: Partial<import('../packages/lake/src/parquet-writer.js').ParquetWriterOptions> = {},
) {
  if (ONLY && !name.includes(ONLY)) return;
  const tot: number[] = [];
  let size = 0;
  for (let r = 0; r < REPEAT; r++) {
    const [out, ms] = time(() =>
      writer.writeStream(stream, { rowGroupRows: 131072, createdBy: 'x', ...opts }),
    );
    size = out.length;
    tot.push(ms);
  }
  console.log(
    `${name.padEnd(44)} total med ${krows(median(tot)).padStart(5)} best ${krows(Math.min(...tot)).padStart(5)} rows/s  ${(size / rows).toFixed(1)} B/row`,
  );
}
const writer = new ParquetWriter();
measureTs('TSW warm-up');
measureTs('TSW writer (zstd 1, stats)');
measureTs('TSW writer (zstd 1, no min/max)', { statistics: false });
measureTs('TSW writer (uncompressed)', { zstdLevel: 0 });
measureTs('TSW writer (zstd 3)', { zstdLevel: 3 });
measureTs('TSW writer (zstd -1)', { zstdLevel: -1 });
measureTs('TSW writer (zstd 1, 8 MiB pages)', { dataPageBytes: 8 << 20 });
measureTs('TSW writer (zstd 1, 256 KiB pages)', { dataPageBytes: 256 << 10 });

// Warm-up
measure('warm-up', current);

measure('TSW-baseline parquet-wasm current', current);
measure('zstd, stats None', (b) => current(b).setStatisticsEnabled(pw.EnabledStatistics.None));
measure('zstd, stats Chunk', (b) => current(b).setStatisticsEnabled(pw.EnabledStatistics.Chunk));
measure('snappy, page stats', (b) => current(b).setCompression(pw.Compression.SNAPPY));
measure('lz4_raw, page stats', (b) => current(b).setCompression(pw.Compression.LZ4_RAW));
measure('uncompressed, page stats', (b) => current(b).setCompression(pw.Compression.UNCOMPRESSED));
measure('uncompressed, stats None', (b) =>
  current(b)
    .setCompression(pw.Compression.UNCOMPRESSED)
    .setStatisticsEnabled(pw.EnabledStatistics.None),
);
measure('zstd, writer v2', (b) => current(b).setWriterVersion(pw.WriterVersion.V2));
measure('zstd, page 1 MiB', (b) => current(b).setDataPageSizeLimit(1 << 20));
measure('zstd, page 8 MiB', (b) => current(b).setDataPageSizeLimit(8 << 20));
measure('zstd, write batch 8192', (b) => current(b).setWriteBatchSize(8192));
measure('zstd, dictionary all', (b) => current(b).setDictionaryEnabled(true));
measure('zstd, row group 1M', (b) => current(b).setMaxRowGroupSize(1 << 20));
const noDict: Cfg = (b) => {
  let x = current(b);
  for (const c of dictColumns) x = x.setColumnDictionaryEnabled(c, false);
  return x;
};
measure('zstd, no dictionary at all', noDict);
measure('zstd, no dict, stats None', (b) =>
  noDict(b).setStatisticsEnabled(pw.EnabledStatistics.None),
);
measure('zstd, stats None, map/list cols None only', (b) => {
  let x = current(b);
  for (const f of batches[0]!.schema.fields)
    if (/attributes|events|links/.test(f.name))
      x = x.setColumnStatisticsEnabled(f.name, pw.EnabledStatistics.None);
  return x;
});
{
  // The same 200 batches, re-serialized by Arrow JS into one stream (dictionaries unified).
  const big = tableToIPC(new Table(batches), 'stream');
  measure('200 batches re-serialized by Arrow JS', current, big);
}

// Per column: one column alone (Arrow JS select + re-serialize), current settings.
if (!ONLY || ONLY === 'col') {
  const table = new Table(batches);
  console.log('\n# per column (current settings, column alone)');
  for (const f of table.schema.fields) {
    const sub = tableToIPC(table.select([f.name]), 'stream');
    measure(
      `  ${f.name}`,
      (b) => {
        let x = b
          .setCompression(pw.Compression.ZSTD)
          .setDictionaryEnabled(false)
          .setStatisticsEnabled(pw.EnabledStatistics.Page)
          .setMaxRowGroupSize(131072);
        if (dictColumns.includes(f.name)) x = x.setColumnDictionaryEnabled(f.name, true);
        return x;
      },
      sub,
    );
  }
}
void tableFromIPC;
