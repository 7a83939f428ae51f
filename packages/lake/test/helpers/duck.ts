/**
 * Reading committed Parquet back in tests: DuckDB over `read_parquet([...], hive_partitioning=true)`
 * (values; DuckDB reads TIMESTAMP(NANOS, UTC) as microsecond TIMESTAMPTZ) and hyparquet
 * (exact nanoseconds), both compared with the oracle values of the rows sent.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  DuckDBInstance,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
} from '@duckdb/node-api';
import type { ObjectStore } from '@sediment/object-store';
import { type DataType, type Field, type RecordBatch, Type } from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { decompress } from 'zstd-napi';
import type { CommittedFile } from '../../src/index.js';
import { rowsOf, type Value } from '../fixtures/oracle.js';

/** Copies committed files to `dir` under their keys; returns the local paths. */
export async function download(
  store: ObjectStore,
  files: readonly CommittedFile[],
  dir: string,
): Promise<string[]> {
  const paths: string[] = [];
  for (const f of files) {
    const path = join(dir, f.key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, (await store.get(f.key)).bytes);
    paths.push(path);
  }
  return paths;
}

function normDuck(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (v instanceof DuckDBTimestampTZValue) return v.micros;
  if (v instanceof DuckDBMapValue)
    return v.entries.map((e) => [normDuck(e.key), normDuck(e.value)]);
  if (v instanceof DuckDBListValue) return v.items.map(normDuck);
  if (v instanceof DuckDBStructValue) {
    const o: Record<string, Value> = {};
    for (const [k, x] of Object.entries(v.entries)) o[k] = normDuck(x);
    return o;
  }
  if (
    typeof v === 'number' ||
    typeof v === 'bigint' ||
    typeof v === 'string' ||
    typeof v === 'boolean'
  )
    return v;
  return String(v);
}

/** Oracle value in DuckDB's shape: timestamps in microseconds, truncated toward zero as
 *  DuckDB does when it reads TIMESTAMP(NANOS). */
function toDuckShape(type: DataType, v: Value): Value {
  if (v === null) return null;
  switch (type.typeId) {
    case Type.Timestamp:
      return (v as bigint) / 1000n;
    case Type.Dictionary:
      return v;
    case Type.List:
      return (v as Value[]).map((x) => toDuckShape((type.children[0] as Field).type, x));
    case Type.Map: {
      const entry = (type.children[0] as Field).type as DataType;
      const [kf, vf] = entry.children as Field[];
      return (v as Value[][]).map(([k, x]) => [
        toDuckShape(kf!.type, k!),
        toDuckShape(vf!.type, x!),
      ]);
    }
    case Type.Struct: {
      const o: Record<string, Value> = {};
      for (const f of type.children as Field[])
        o[f.name] = toDuckShape(f.type, (v as Record<string, Value>)[f.name] ?? null);
      return o;
    }
    default:
      return v;
  }
}

export function oracleRowsForDuck(batch: RecordBatch): Record<string, Value>[] {
  return rowsOf(batch).map((row) => {
    const o: Record<string, Value> = {};
    for (const f of batch.schema.fields)
      o[f.name] = toDuckShape(f.type as DataType, row[f.name] ?? null);
    return o;
  });
}

/** Canonical text of a row, for multiset comparison (bigints tagged, keys sorted). */
export function canonical(v: Value): string {
  return JSON.stringify(v, (_k, x) => {
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x === 'number' && !Number.isFinite(x)) return `num:${x}`;
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      return Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return x;
  });
}

export interface DuckRows {
  readonly columns: string[];
  readonly rows: Record<string, Value>[];
}

export async function duckRead(paths: readonly string[], select = '*'): Promise<DuckRows> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const list = paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(', ');
    const reader = await conn.runAndReadAll(
      `SELECT ${select} FROM read_parquet([${list}], hive_partitioning = true, hive_types_autocast = false)`,
    );
    const columns = reader.columnNames();
    const rows = reader.getRows().map((r) => {
      const o: Record<string, Value> = {};
      columns.forEach((c, i) => {
        o[c] = normDuck(r[i]);
      });
      return o;
    });
    return { columns, rows };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

export async function duckScalar(sql: string): Promise<Value> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const reader = await conn.runAndReadAll(sql);
    return normDuck(reader.getRows()[0]?.[0]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Exact int64 nanosecond values of top-level timestamp columns, via hyparquet. */
export async function hyparquetTimestamps(
  bytes: Uint8Array,
  columns: readonly string[],
): Promise<Record<string, (bigint | null)[]>> {
  const file = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength,
  ) as ArrayBuffer;
  const rows = await parquetReadObjects({
    file,
    columns: [...columns],
    compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(decompress(input)) },
    parsers: { timestampFromNanoseconds: (ns: bigint) => ns },
  });
  const out: Record<string, (bigint | null)[]> = {};
  for (const c of columns) out[c] = rows.map((r) => (r[c] ?? null) as bigint | null);
  return out;
}
