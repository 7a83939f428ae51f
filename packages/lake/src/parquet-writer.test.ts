import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  Field,
  LargeUtf8,
  makeData,
  type RecordBatch,
  Table,
  Timestamp,
  TimeUnit,
  tableFromIPC,
} from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import { decompress } from 'zstd-napi';
import {
  bool,
  dict,
  f64,
  i32,
  i64,
  list,
  map,
  recordBatch,
  struct,
  ts,
  u32,
  utf8,
} from '../test/fixtures/arrow-build.js';
import { TABLE_GENERATORS, toIpc } from '../test/fixtures/synthetic-tables.js';
import { canonical, duckRead, oracleRowsForDuck } from '../test/helpers/duck.js';
import { joinedStream } from '../test/helpers/joined-ipc.js';
import { ByteSink } from './byte-sink.js';
import { encodeParquetFile, SEDIMENT_CREATED_BY } from './parquet-encoder.js';
import { KeyDictionary, PARQUET_ENCODINGS, ParquetWriter } from './parquet-writer.js';
import { encodeRleHybrid } from './rle-hybrid.js';

const pw = createRequire(import.meta.url)('parquet-wasm') as typeof import('parquet-wasm');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Batches as queue entries, joined the way the compactor joins them. */
const joined = (batches: readonly RecordBatch[]) => joinedStream(batches.map(toIpc));

const ser = (v: unknown) =>
  JSON.stringify(v, (_k, x) =>
    typeof x === 'bigint'
      ? `${x}n`
      : typeof x === 'number' && !Number.isFinite(x)
        ? `num:${x}`
        : Object.is(x, -0)
          ? 'num:-0'
          : x,
  );

/** Rows as arrow-rs (parquet-wasm's reader) reads them back, with the Arrow schema. */
function arrowRsRows(bytes: Uint8Array): { schema: string; rows: string[] } {
  const t = tableFromIPC(pw.readParquet(bytes).intoIPCStream());
  return {
    schema: t.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`).join(','),
    rows: t.toArray().map((r) => ser(r.toJSON())),
  };
}

async function hyparquetRows(bytes: Uint8Array): Promise<string[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows = await parquetReadObjects({
    file: file as ArrayBuffer,
    compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(decompress(input)) },
  });
  return rows.map(ser);
}

/** `bytes` as a Parquet file in a temporary directory (removed after the tests). */
async function tempParquet(bytes: Uint8Array): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pq-writer-'));
  dirs.push(dir);
  const path = join(dir, 'f.parquet');
  await writeFile(path, bytes);
  return path;
}

async function duckRows(bytes: Uint8Array): Promise<string[]> {
  return (await duckRead([await tempParquet(bytes)])).rows.map((r) => canonical(r));
}

/** Rows of a query over DuckDB's `parquet_metadata` of `bytes` (`FILE` in `sql`: its path). */
async function duckMetadata(bytes: Uint8Array, sql: string) {
  const path = await tempParquet(bytes);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql.replace('FILE', `'${path}'`))).getRowObjectsJson();
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Top-level column-chunk statistics as DuckDB reports them. */
function duckStats(bytes: Uint8Array) {
  return duckMetadata(
    bytes,
    `SELECT row_group_id, path_in_schema, stats_null_count, stats_min_value, stats_max_value,
            row_group_num_rows
     FROM parquet_metadata(FILE) ORDER BY row_group_id, column_id`,
  );
}

/** Each column's encodings (all row groups) as DuckDB reports them. */
async function duckEncodings(bytes: Uint8Array): Promise<Map<string, string>> {
  const rows = await duckMetadata(
    bytes,
    `SELECT path_in_schema AS col, string_agg(DISTINCT encodings, ',') AS enc
     FROM parquet_metadata(FILE) GROUP BY path_in_schema`,
  );
  return new Map(rows.map((x) => [String(x.col), String(x.enc)]));
}

/** A reproducible random source in [0, 1) (a linear congruential generator). */
function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

const H = 3_600_000_000_000n;
describe('ParquetWriter (sediment writer)', () => {
  for (const [name, gen] of Object.entries(TABLE_GENERATORS))
    for (const parquetEncoding of PARQUET_ENCODINGS) {
      it(`writes ${name} (edge cases, ${parquetEncoding} strings) that arrow-rs, DuckDB and hyparquet read exactly`, {
        timeout: 60_000,
      }, async () => {
        const batches = Array.from({ length: 6 }, (_, i) =>
          gen({
            rows: 23 + i * 31,
            seed: 100 + i,
            edgeCases: true,
            timestamp: (j) => 480_000n * H + BigInt(j) * 1_000_003n - 7n,
          }),
        );
        const stream = joined(batches);
        // Small row groups (split inside batches) and tiny pages: many pages per chunk.
        const options = {
          rowGroupRows: 100,
          dictionaryColumns: batches[0]!.schema.fields
            .filter((f) => f.typeId === -1)
            .map((f) => f.name),
          keyValueMetadata: new Map([['sediment.table', name]]),
        };
        const ours = encodeParquetFile(stream.slice(), { ...options, parquetEncoding });
        expect(ours.writer).toBe('sediment');
        expect(ours.fallback).toBeUndefined();
        const theirs = encodeParquetFile(stream.slice(), { ...options, writer: 'parquet-wasm' });
        expect(theirs.writer).toBe('parquet-wasm');

        // arrow-rs restores the exact Arrow schema and values (from ARROW:schema).
        const a = arrowRsRows(ours.bytes);
        const b = arrowRsRows(theirs.bytes);
        expect(a.schema).toBe(b.schema);
        expect(a.rows).toEqual(b.rows);
        expect(a.rows.length).toBe(batches.reduce((n, x) => n + x.numRows, 0));
        // DuckDB: every value against the independent oracle.
        const want = batches.flatMap(oracleRowsForDuck).map((r) => canonical(r));
        expect(await duckRows(ours.bytes)).toEqual(want);
        // hyparquet (exact int64 nanoseconds).
        expect(await hyparquetRows(ours.bytes)).toEqual(await hyparquetRows(theirs.bytes));
        // Statistics of top-level columns equal arrow-rs's (it truncates long strings to
        // 64 bytes where we leave min/max out); nested leaves carry null counts.
        const sa = await duckStats(ours.bytes);
        const sb = await duckStats(theirs.bytes);
        expect(sa.length).toBe(sb.length);
        for (let i = 0; i < sa.length; i++) {
          const x = sa[i]!;
          const y = sb[i]!;
          expect(x.path_in_schema).toBe(y.path_in_schema);
          expect(x.row_group_num_rows).toBe(y.row_group_num_rows);
          expect(x.stats_null_count, String(x.path_in_schema)).toBe(y.stats_null_count);
          if (String(x.path_in_schema).includes(',')) continue;
          if (x.stats_min_value === null && String(y.stats_min_value ?? '').length >= 64) continue;
          expect([x.path_in_schema, x.stats_min_value, x.stats_max_value]).toEqual([
            y.path_in_schema,
            y.stats_min_value,
            y.stats_max_value,
          ]);
        }
        // The sediment writer says so in the footer.
        expect(Buffer.from(ours.bytes).includes(SEDIMENT_CREATED_BY)).toBe(true);
        // Strings outside dictionaries carry the chosen encoding, and only those.
        const enc = await duckEncodings(ours.bytes);
        const delta = [...enc].filter(([, e]) => e.includes('DELTA_LENGTH_BYTE_ARRAY'));
        if (parquetEncoding === 'plain') expect(delta).toEqual([]);
        else {
          expect(delta.length).toBeGreaterThan(0);
          for (const [col, e] of delta) expect(e, col).not.toContain('RLE_DICTIONARY');
        }
      });
    }

  it('writes delta-length strings whose lengths jump, shrink and fill partial blocks', {
    timeout: 60_000,
  }, async () => {
    // Lengths chosen for the delta encoding's corners: equal runs (width 0), negative
    // deltas, a block of 128 and one value past it, partial miniblocks, deltas of ±2^24
    // (packed wider than 24 bits), empty strings, nulls, and pages of only nulls.
    const lengths: (number | null)[] = [];
    for (let i = 0; i < 129; i++) lengths.push(32);
    for (let i = 0; i < 97; i++) lengths.push((i * 37) % 300);
    for (let i = 0; i < 40; i++) lengths.push(i % 3 === 0 ? null : 0);
    lengths.push(0, (1 << 24) + 5, 0, 5, null, 1);
    for (let i = 0; i < 300; i++) lengths.push(null);
    for (let i = 0; i < 33; i++) lengths.push(300 - i * 9);
    const strings = lengths.map((n, i) =>
      n === null ? null : n === 0 ? '' : String.fromCharCode(97 + (i % 26)) + 'x'.repeat(n - 1),
    );
    const rows = strings.length;
    const batch = recordBatch('t', [
      ['id', i32(Array.from({ length: rows }, (_, i) => i)), false],
      ['s', utf8(strings)],
    ]);
    for (const pageBytes of [1 << 20, 200]) {
      const w = new ParquetWriter();
      const bytes = w.writeStream(toIpc(batch), {
        rowGroupRows: 1000,
        createdBy: SEDIMENT_CREATED_BY,
        dataPageBytes: pageBytes,
      });
      const got = arrowRsRows(bytes).rows.map((r) => JSON.parse(r).s as string | null);
      expect(got.map((s) => s?.length ?? null)).toEqual(lengths);
      expect(got).toEqual(strings);
      const hy = (await hyparquetRows(bytes)).map((r) => JSON.parse(r).s as string | null);
      expect(hy.map((s) => s?.length ?? null)).toEqual(lengths);
      const duck = await duckRows(bytes);
      expect(duck.length).toBe(rows);
      expect((await duckEncodings(bytes)).get('s')).toContain('DELTA_LENGTH_BYTE_ARRAY');
    }
    // DuckDB, value for value (without the 16 MiB string: it is checked above).
    const small = strings.map((s) => (s !== null && s.length > 1000 ? s.slice(0, 3) : s));
    const smallBatch = recordBatch('t', [['s', utf8(small)]]);
    const bytes = new ParquetWriter().writeStream(toIpc(smallBatch), {
      rowGroupRows: 1000,
      createdBy: SEDIMENT_CREATED_BY,
      dataPageBytes: 200,
    });
    expect(await duckRows(bytes)).toEqual(oracleRowsForDuck(smallBatch).map((r) => canonical(r)));
  });

  it('writes INT64 delta-packed at every width, and PLAIN pages where neighbours are 2^52 apart', {
    timeout: 60_000,
  }, async () => {
    // Deltas for the 64-bit corners: equal (width 0), negative, just below and at 2^32
    // (one word, then a second), up to 2^52 - 1 (the widest packed), partial blocks;
    // nulls. Repeated past the first page (a page per 4,096 rows when pages are small),
    // then int64 extremes side by side: a delta past 2^52 makes their page PLAIN.
    const MAX = (1n << 63n) - 1n;
    const clamp = (a: bigint) => (a < 0n ? 0n : a > 1n << 62n ? 1n << 62n : a);
    const v: (bigint | null)[] = [];
    let x = -(1n << 41n);
    while (v.length < 4500) {
      for (let i = 0; i < 130; i++) v.push(x);
      for (let i = 0; i < 97; i++) {
        x += BigInt((i * 7919) % 1000) - 500n;
        v.push(x);
      }
      for (const d of [(1n << 32n) - 1n, 1n << 32n, -(1n << 32n), 1n << 40n, (1n << 52n) - 1n]) {
        v.push(x + d, null, x);
      }
      for (let i = 0; i < 40; i++) v.push(i % 3 ? x - BigInt(i) * 1_000_003n : null);
    }
    v.push(-MAX - 1n, MAX, 0n, MAX, -MAX - 1n);
    for (let i = 0; i < 33; i++) v.push(BigInt(i) * (1n << 45n));
    const rows = v.length;
    const batch = recordBatch('t', [
      ['id', i32(Array.from({ length: rows }, (_, i) => i)), false],
      ['v', i64(v)],
      // Timestamps of today, in [0, 2^62] (DuckDB reads int64 max as infinity).
      ['t', ts(v.map((y) => (y === null ? null : clamp(1_700_000_000_000_000_000n + y))))],
    ]);
    const want = oracleRowsForDuck(batch).map((r) => canonical(r));
    for (const pageBytes of [1 << 20, 300]) {
      const bytes = new ParquetWriter().writeStream(toIpc(batch), {
        rowGroupRows: 10_000,
        createdBy: SEDIMENT_CREATED_BY,
        dataPageBytes: pageBytes,
      });
      const got = arrowRsRows(bytes).rows.map((r) => JSON.parse(r).v as string | null);
      expect(got).toEqual(v.map((y) => (y === null ? null : `${y}n`)));
      const hy = (await hyparquetRows(bytes)).map((r) => JSON.parse(r).v as string | null);
      expect(hy).toEqual(v.map((y) => (y === null ? null : `${y}n`)));
      expect(await duckRows(bytes)).toEqual(want);
      const enc = await duckEncodings(bytes);
      // One page: the extremes make it PLAIN, and the chunk says so only. Small pages:
      // the first is delta-packed, the extremes' one PLAIN.
      for (const col of ['v', 't']) {
        if (pageBytes === 300)
          expect(enc.get(col)).toMatch(/DELTA_BINARY_PACKED.*PLAIN|PLAIN.*DELTA_BINARY_PACKED/);
        else expect(enc.get(col)).not.toContain('DELTA');
        expect(enc.get(col)).toContain('PLAIN');
      }
    }
    // PLAIN when asked (readers without the delta encodings).
    const plain = new ParquetWriter().writeStream(toIpc(batch), {
      rowGroupRows: 1000,
      createdBy: SEDIMENT_CREATED_BY,
      parquetEncoding: 'plain',
    });
    expect(await duckRows(plain)).toEqual(want);
    expect((await duckEncodings(plain)).get('t')).not.toContain('DELTA');
  });

  it('handles null structs, null list items, nested lists, bools, floats and extremes', async () => {
    const n = 300;
    const valid = Array.from({ length: n }, (_, i) => i % 7 !== 3);
    const innerLens = Array.from({ length: n * 2 }, (_, k) => (k % 5 === 0 ? null : k % 4));
    const innerTotal = innerLens.reduce((a: number, b) => a + (b ?? 0), 0);
    const itemLens = Array.from({ length: n }, (_, i) => (i % 3 === 2 ? null : (i % 4) + (i % 2)));
    const itemTotal = itemLens.reduce((a: number, b) => a + (b ?? 0), 0);
    const batch = recordBatch('odd', [
      ['timestamp', ts(Array.from({ length: n }, (_, i) => BigInt(i) - 150n))],
      [
        'obj',
        struct(
          [
            ['name', utf8(Array.from({ length: n }, (_, i) => (i % 3 ? `n${i}` : null)))],
            [
              'tags',
              map(Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : [['k', `${i}`]]))),
            ],
            ['count', i64(Array.from({ length: n }, (_, i) => (i % 6 ? BigInt(i) * -3n : null)))],
          ],
          valid,
        ),
      ],
      [
        'nested',
        list(
          list(
            i32(Array.from({ length: innerTotal }, (_, k) => (k % 9 === 0 ? null : k - 20))),
            innerLens,
          ),
          Array.from({ length: n }, () => 2),
        ),
      ],
      [
        'items',
        list(
          struct(
            [
              [
                'x',
                f64(
                  Array.from(
                    { length: itemTotal },
                    (_, k) => [0, -0, Number.NaN, 1.5, null, -Infinity][k % 6]!,
                  ),
                ),
              ],
              ['u', u32(Array.from({ length: itemTotal }, (_, k) => (k * 2654435761) >>> 0))],
            ],
            Array.from({ length: itemTotal }, (_, k) => k % 5 !== 1),
          ),
          itemLens,
        ),
      ],
      ['flag', bool(Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i % 3 === 0)))],
      [
        'level',
        dict(
          Array.from({ length: n }, (_, i) => (i % 8 === 0 ? null : `L${i % 3}`)),
          9,
        ),
      ],
      ['big', u32(Array.from({ length: n }, (_, i) => (i === 0 ? 4294967295 : i)))],
    ]);
    const stream = joined([batch.slice(0, 120), batch.slice(120)].map((b) => rebuild(b)));
    const options = { rowGroupRows: 64, dictionaryColumns: ['level'] };
    const ours = encodeParquetFile(stream.slice(), options);
    expect(ours.fallback).toBeUndefined();
    const theirs = encodeParquetFile(stream.slice(), { ...options, writer: 'parquet-wasm' });
    const a = arrowRsRows(ours.bytes);
    const b = arrowRsRows(theirs.bytes);
    expect(a.schema).toBe(b.schema);
    expect(a.rows).toEqual(b.rows);
    expect(await duckRows(ours.bytes)).toEqual(await duckRows(theirs.bytes));
    expect(await hyparquetRows(ours.bytes)).toEqual(await hyparquetRows(theirs.bytes));
  });

  it('writes dictionary columns and map keys too large for one dictionary page as plain values', async () => {
    const n = 70_000;
    const batch = recordBatch('big_dict', [
      ['timestamp', ts(Array.from({ length: n }, (_, i) => BigInt(i)))],
      [
        'v',
        dict(
          Array.from({ length: n }, (_, i) => `value-${i}`),
          0,
        ),
      ],
      // Map keys get a dictionary built while writing; 70k distinct keys overflow it.
      ['m', map(Array.from({ length: n }, (_, i) => [[`key-${i}`, 'x'] as const]))],
    ]);
    const ours = encodeParquetFile(joined([batch]), {
      rowGroupRows: 1 << 20,
      dictionaryColumns: ['v'],
    });
    expect(ours.writer).toBe('sediment');
    const rows = arrowRsRows(ours.bytes).rows;
    expect(rows.length).toBe(n);
    expect(JSON.parse(rows[n - 1]!).v).toBe(`value-${n - 1}`);
    expect(rows[n - 1]).toContain(`key-${n - 1}`);
    expect(await duckRows(ours.bytes)).toEqual(oracleRowsForDuck(batch).map((r) => canonical(r)));
    const stats = await duckStats(ours.bytes);
    expect(stats[1]).toMatchObject({ stats_min_value: 'value-0', stats_max_value: 'value-9999' });
  });

  it('hands types it does not write to parquet-wasm, and says why', () => {
    const n = 10;
    const large = makeData({
      type: new LargeUtf8(),
      length: n,
      nullCount: 0,
      valueOffsets: new BigInt64Array(n + 1),
      data: new Uint8Array(0),
    });
    const seconds = makeData({
      type: new Timestamp(TimeUnit.SECOND, 'UTC'),
      length: n,
      nullCount: 0,
      data: new BigInt64Array(n),
    });
    for (const [name, data] of [
      ['large', large],
      ['seconds', seconds],
    ] as const) {
      const batch = recordBatch('odd', [
        ['timestamp', ts(Array.from({ length: n }, (_, i) => BigInt(i)))],
        [name, data as never],
      ]);
      const r = encodeParquetFile(toIpc(batch), { rowGroupRows: 100, dictionaryColumns: [] });
      expect(r.writer).toBe('parquet-wasm');
      expect(r.fallback).toMatch(/LargeUtf8|Timestamp\(s\)/);
      expect(arrowRsRows(r.bytes).rows.length).toBe(n);
    }
    void Field;
  });
});

describe('map-key dictionary', () => {
  const enc = new TextEncoder();
  /** Keys as one buffer with offsets, the way an Arrow Utf8 column holds them. */
  const column = (keys: readonly string[]) => {
    const parts = keys.map((k) => enc.encode(k));
    const offsets = [0];
    for (const p of parts) offsets.push(offsets.at(-1)! + p.length);
    const data = new Uint8Array(offsets.at(-1)!);
    for (const [i, p] of parts.entries()) data.set(p, offsets[i]!);
    return { data, offsets };
  };

  it('gives equal keys one id and different keys dense distinct ids, whatever their order', () => {
    const rand = seededRandom(11);
    // 1,500 distinct keys (past the 256- and 512-entry growth steps), many of them
    // prefixes of others; rows mostly repeat one order (the guess is right), sometimes
    // skip, swap or add a key (the guess is wrong and the hash decides).
    const distinct = Array.from({ length: 1500 }, (_, i) =>
      i % 3 === 0 ? `k${i}` : i % 3 === 1 ? `k${i - 1}.x` : `${'k'.repeat(i % 7)}${i}`,
    );
    const stream: string[] = [];
    for (let row = 0; row < 4000; row++) {
      const base = Math.floor(rand() * 1490);
      const order = Array.from({ length: 8 }, (_, j) => distinct[base + j]!);
      if (rand() < 0.2) order.splice(Math.floor(rand() * 8), 1);
      if (rand() < 0.2) order.reverse();
      if (rand() < 0.1) order.push(distinct[Math.floor(rand() * 1500)]!);
      stream.push(...(rand() < 0.7 ? order.slice(0, 5) : order));
    }
    stream.push('', '', 'k0', '');
    for (let round = 0; round < 3; round++) {
      const dictionary = new KeyDictionary();
      if (round >= 1) {
        // A reset dictionary must not remember the previous chunk's guesses.
        const stale = enc.encode('stale');
        dictionary.id(stale, new DataView(stale.buffer), 0, 5);
        dictionary.reset();
      }
      const { data, offsets } = column(stream);
      const view = new DataView(data.buffer);
      // Rounds 0 and 1 look keys up one by one (id), round 2 in ranges of random sizes
      // (ids, the writer's path).
      const ids = new Int32Array(stream.length);
      if (round === 2) {
        const int32Offsets = Int32Array.from(offsets);
        let n = 0;
        for (let a = 0; a < stream.length; ) {
          const b = Math.min(stream.length, a + 1 + Math.floor(rand() * 300));
          n = dictionary.ids(data, view, int32Offsets, a, b, ids, n);
          a = b;
        }
        expect(n).toBe(stream.length);
      } else {
        for (let i = 0; i < stream.length; i++) {
          ids[i] = dictionary.id(data, view, offsets[i]!, offsets[i + 1]!);
        }
      }
      const idOf = new Map<string, number>();
      for (let i = 0; i < stream.length; i++) {
        const id = ids[i]!;
        const known = idOf.get(stream[i]!);
        if (known === undefined) {
          expect(id, stream[i]).toBe(idOf.size);
          idOf.set(stream[i]!, id);
        } else {
          expect(id, stream[i]).toBe(known);
        }
      }
      expect(dictionary.count).toBe(idOf.size);
    }
  });

  it('gives the same ids through the period path as key by key, wherever a repeat breaks', () => {
    const rand = seededRandom(23);
    // Long stretches of rows repeating one key set (the period path copies ids), broken by
    // rows whose keys differ in bytes only (same lengths: only the byte comparison sees
    // it), in length, or in count, at random places; periods of 1 to 12 keys, empty keys.
    const names = ['service.name', 'host.name', 'k8s.pod.name', 'a', '', 'b', 'http.route'];
    const stream: string[] = [];
    for (let stretch = 0; stretch < 60; stretch++) {
      const width = 1 + Math.floor(rand() * 12);
      const row = Array.from({ length: width }, (_, j) => names[(stretch + j) % names.length]!);
      const rows = 1 + Math.floor(rand() * 400);
      for (let r = 0; r < rows; r++) {
        const x = rand();
        if (x < 0.01) {
          // Same lengths, one byte different.
          const j = Math.floor(rand() * width);
          const k = row[j]!;
          stream.push(...row.slice(0, j), k ? `${k.slice(0, -1)}#` : '', ...row.slice(j + 1));
        } else if (x < 0.02) stream.push(...row.slice(0, -1), `${row.at(-1)}.x`);
        else if (x < 0.03) stream.push(...row.slice(1));
        else stream.push(...row);
      }
    }
    const { data, offsets } = column(stream);
    const view = new DataView(data.buffer);
    const int32Offsets = Int32Array.from(offsets);
    const expected = new KeyDictionary();
    const want = stream.map((_, i) => expected.id(data, view, offsets[i]!, offsets[i + 1]!));
    for (const maxRange of [1, 7, 300, 5000, stream.length]) {
      const dictionary = new KeyDictionary();
      const ids = new Int32Array(stream.length);
      let n = 0;
      for (let a = 0; a < stream.length; ) {
        const b = Math.min(stream.length, a + 1 + Math.floor(rand() * maxRange));
        n = dictionary.ids(data, view, int32Offsets, a, b, ids, n);
        a = b;
      }
      expect(n).toBe(stream.length);
      expect(Array.from(ids), `ranges up to ${maxRange}`).toEqual(want);
      expect(dictionary.count).toBe(expected.count);
    }
  });
});

describe('RLE / bit-packing hybrid', () => {
  it('round-trips random runs and literals at every width up to 16', () => {
    const rand = seededRandom(7);
    for (let width = 1; width <= 16; width++) {
      for (let trial = 0; trial < 20; trial++) {
        const n = 1 + Math.floor(rand() * 300);
        const values = new Int32Array(n);
        for (let i = 0; i < n; ) {
          const v = Math.floor(rand() * 2 ** width);
          const run = rand() < 0.3 ? 1 + Math.floor(rand() * 40) : 1;
          for (let k = 0; k < run && i < n; k++) values[i++] = v;
        }
        const out = new ByteSink(16);
        encodeRleHybrid(out, values, n, width);
        expect(Array.from(decodeRleHybrid(out.view(), n, width))).toEqual(Array.from(values));
      }
    }
  });
});

describe('RLE / bit-packing hybrid on byte levels', () => {
  it('encodes byte arrays (found four at a time) exactly as the value-by-value path does', () => {
    const rand = seededRandom(3);
    for (let width = 1; width <= 8; width++) {
      for (let trial = 0; trial < 60; trial++) {
        const n = 64 + Math.floor(rand() * (trial % 3 === 0 ? 3000 : 200));
        // Runs of every length around the thresholds (8, 11, 16, 32), at any alignment.
        const offset = trial % 4;
        const bytes = new Uint8Array(n + offset + 5).fill(0xee).subarray(offset, offset + n);
        const p = rand();
        for (let i = 0; i < n; ) {
          const v = rand() < p ? 1 : Math.floor(rand() * 2 ** width);
          const run = rand() < 0.4 ? 1 + Math.floor(rand() * 70) : 1;
          for (let k = 0; k < run && i < n; k++) bytes[i++] = v;
        }
        const fromBytes = new ByteSink(16);
        encodeRleHybrid(fromBytes, bytes, n, width);
        const fromInts = new ByteSink(16);
        encodeRleHybrid(fromInts, Int32Array.from(bytes), n, width);
        expect(Array.from(fromBytes.view()), `width ${width} trial ${trial}`).toEqual(
          Array.from(fromInts.view()),
        );
        expect(Array.from(decodeRleHybrid(fromBytes.view(), n, width))).toEqual(Array.from(bytes));
      }
    }
  });
});

describe('RLE / bit-packing hybrid sizes', () => {
  it('keeps runs shorter than 8 after the group top-up as literals (never bigger than bit-packing)', () => {
    for (const period of [9, 10, 13, 14, 15]) {
      const n = 14_000;
      const values = new Uint8Array(n);
      for (let i = 0; i < n; i++) values[i] = i % period === 0 ? 0 : 1;
      const out = new ByteSink(16);
      encodeRleHybrid(out, values, n, 1);
      expect(Array.from(decodeRleHybrid(out.view(), n, 1))).toEqual(Array.from(values));
      // Pure bit-packing: n / 8 bytes plus a header. Splitting a period into a literal
      // group and a short RLE run cost 4 bytes per period before.
      expect(out.pos, `period ${period}`).toBeLessThanOrEqual(n / 8 + 16);
    }
  });
});

/** Reference decoder (straight from the Parquet spec's grammar). */
function decodeRleHybrid(bytes: Uint8Array, n: number, width: number): number[] {
  const out: number[] = [];
  let p = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (out.length < n) {
    const header = varint();
    if (header & 1) {
      const count = (header >>> 1) * 8;
      let bit = 0;
      for (let k = 0; k < count; k++) {
        let v = 0;
        for (let b = 0; b < width; b++, bit++)
          v |= ((bytes[p + (bit >> 3)]! >> (bit & 7)) & 1) << b;
        if (out.length < n) out.push(v);
      }
      p += (header >>> 1) * width;
    } else {
      const count = header >>> 1;
      let v = 0;
      for (let k = 0; k < (width + 7) >> 3; k++) v |= bytes[p++]! << (8 * k);
      for (let k = 0; k < count; k++) out.push(v);
    }
  }
  return out;
}

/** A batch slice as its own batch with offset 0 (what an IPC round trip gives). */
function rebuild(batch: RecordBatch): RecordBatch {
  return tableFromIPC(toIpc(new Table([batch]).batches[0]!)).batches[0]!;
}
