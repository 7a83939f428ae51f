/**
 * The baseline for bench/compact.ts: the same rows through DuckDB's appender into a
 * table, then `COPY … TO 'x.parquet' (FORMAT parquet, COMPRESSION zstd)`, on one
 * DuckDB thread (per-core comparison). Arrow types map to the DuckDB types DuckDB
 * itself would pick (TIMESTAMP_NS keeps nanoseconds, like our Parquet).
 */
import { stat } from 'node:fs/promises';
import {
  BIGINT,
  DuckDBDataChunk,
  BOOLEAN,
  DOUBLE,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampNanosecondsValue,
  type DuckDBType,
  type DuckDBValue,
  INTEGER,
  LIST,
  listValue,
  MAP,
  mapValue,
  STRUCT,
  structValue,
  TIMESTAMP_NS,
  UBIGINT,
  UINTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import {
  type Data,
  type DataType,
  type Field,
  type RecordBatch,
  type Schema,
  Type,
} from 'apache-arrow';

function duckType(t: DataType): string {
  switch (t.typeId) {
    case Type.Utf8:
    case Type.Dictionary:
      return 'VARCHAR';
    case Type.Timestamp:
      return 'TIMESTAMP_NS';
    case Type.Float:
      return 'DOUBLE';
    case Type.Bool:
      return 'BOOLEAN';
    case Type.Int: {
      const i = t as unknown as { bitWidth: number; isSigned: boolean };
      if (i.bitWidth === 64) return i.isSigned ? 'BIGINT' : 'UBIGINT';
      return i.isSigned ? 'INTEGER' : 'UINTEGER';
    }
    case Type.List:
      return `${duckType((t.children[0] as Field).type)}[]`;
    case Type.Map:
      return 'MAP(VARCHAR, VARCHAR)';
    case Type.Struct:
      return `STRUCT(${(t.children as Field[]).map((f) => `"${f.name}" ${duckType(f.type)}`).join(', ')})`;
    default:
      throw new Error(`no DuckDB type for ${String(t)}`);
  }
}

function duckLogical(t: DataType): DuckDBType {
  switch (t.typeId) {
    case Type.Utf8:
    case Type.Dictionary:
      return VARCHAR;
    case Type.Timestamp:
      return TIMESTAMP_NS;
    case Type.Float:
      return DOUBLE;
    case Type.Bool:
      return BOOLEAN;
    case Type.Int: {
      const i = t as unknown as { bitWidth: number; isSigned: boolean };
      if (i.bitWidth === 64) return i.isSigned ? BIGINT : UBIGINT;
      return i.isSigned ? INTEGER : UINTEGER;
    }
    case Type.List:
      return LIST(duckLogical((t.children[0] as Field).type));
    case Type.Map:
      return MAP(VARCHAR, VARCHAR);
    case Type.Struct:
      return STRUCT(
        Object.fromEntries((t.children as Field[]).map((f) => [f.name, duckLogical(f.type)])),
      );
    default:
      throw new Error(`no DuckDB type for ${String(t)}`);
  }
}

export function createTableSql(name: string, schema: Schema): string {
  return `CREATE TABLE ${name} (${schema.fields.map((f) => `"${f.name}" ${duckType(f.type)}`).join(', ')})`;
}

const decoder = new TextDecoder();

function valid(d: Data, i: number): boolean {
  const bm = d.nullBitmap;
  if (!bm || bm.length === 0 || d.nullCount === 0) return true;
  const p = d.offset + i;
  return ((bm[p >> 3]! >> (p & 7)) & 1) === 1;
}

/** Arrow value → DuckDB value (what any appender-based writer has to do per value). */
function toDuck(d: Data, i: number): DuckDBValue {
  if (!valid(d, i)) return null;
  const t = d.type as DataType;
  switch (t.typeId) {
    case Type.Utf8: {
      const o = d.valueOffsets as Int32Array;
      return decoder.decode((d.values as Uint8Array).subarray(o[i]!, o[i + 1]!));
    }
    case Type.Dictionary: {
      const k = (d.values as Int32Array)[i]!;
      return toDuck(d.dictionary!.data[0] as Data, k);
    }
    case Type.Timestamp:
      return new DuckDBTimestampNanosecondsValue((d.values as BigInt64Array)[i]!);
    case Type.Bool: {
      const p = d.offset + i;
      return ((d.values[p >> 3] >> (p & 7)) & 1) === 1;
    }
    case Type.Int:
    case Type.Float:
      return (d.values as unknown as ArrayLike<number | bigint>)[i]!;
    case Type.List: {
      const o = d.valueOffsets as Int32Array;
      const items: DuckDBValue[] = [];
      for (let j = o[i]!; j < o[i + 1]!; j++) items.push(toDuck(d.children[0]!, j));
      return listValue(items);
    }
    case Type.Map: {
      const o = d.valueOffsets as Int32Array;
      const entries = d.children[0]!;
      const out: { key: DuckDBValue; value: DuckDBValue }[] = [];
      for (let j = o[i]!; j < o[i + 1]!; j++) {
        out.push({ key: toDuck(entries.children[0]!, j), value: toDuck(entries.children[1]!, j) });
      }
      return mapValue(out);
    }
    case Type.Struct: {
      const o: Record<string, DuckDBValue> = {};
      (t.children as Field[]).forEach((f, c) => {
        o[f.name] = toDuck(d.children[c]!, i);
      });
      return structValue(o);
    }
    default:
      throw new Error(`no conversion for ${String(t)}`);
  }
}

/** Rows of the batches as DuckDB values (column-major per batch). */
export function extractRows(batches: readonly RecordBatch[]): DuckDBValue[][] {
  const rows: DuckDBValue[][] = [];
  for (const b of batches) {
    const cols = b.data.children as Data[];
    for (let i = 0; i < b.numRows; i++) rows.push(cols.map((c) => toDuck(c, i)));
  }
  return rows;
}

export async function openDuck(): Promise<{ conn: DuckDBConnection; close(): void }> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await db.connect();
  return {
    conn,
    close() {
      conn.closeSync();
      db.closeSync();
    },
  };
}

async function appendAll(
  appender: DuckDBAppender,
  schema: Schema,
  rows: readonly DuckDBValue[][],
): Promise<void> {
  const types = schema.fields.map((f) => f.type as DataType);
  const logical = types.map(duckLogical);
  for (const row of rows) {
    for (let c = 0; c < row.length; c++) {
      const v = row[c]!;
      if (v === null) appender.appendNull();
      else if (typeof v === 'string') appender.appendVarchar(v);
      else if (typeof v === 'bigint') appender.appendBigInt(v);
      else if (typeof v === 'boolean') appender.appendBoolean(v);
      else if (typeof v === 'number') {
        const t = types[c]!;
        if (t.typeId === Type.Float) appender.appendDouble(v);
        else if ((t as unknown as { isSigned: boolean }).isSigned) appender.appendInteger(v);
        else appender.appendUInteger(v);
      } else if (v instanceof DuckDBTimestampNanosecondsValue)
        appender.appendTimestampNanoseconds(v);
      else appender.appendValue(v, logical[c]);
    }
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
}

/** Vectorized variant: DuckDB data chunks of 2048 rows (DuckDB's vector size). */
async function appendChunks(
  appender: DuckDBAppender,
  schema: Schema,
  rows: readonly DuckDBValue[][],
): Promise<void> {
  const types = schema.fields.map((f) => duckLogical(f.type as DataType));
  for (let start = 0; start < rows.length; start += 2048) {
    const slice = rows.slice(start, start + 2048);
    const chunk = DuckDBDataChunk.create(types, slice.length);
    chunk.setRows(slice);
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}

/**
 * Appends the rows to a fresh table (row by row, or in data chunks) and COPYs it to
 * `path`. Returns the parquet size.
 */
export async function appendAndCopy(
  conn: DuckDBConnection,
  table: string,
  schema: Schema,
  rows: readonly DuckDBValue[][],
  path: string,
  mode: 'rows' | 'chunks' = 'rows',
): Promise<number> {
  await conn.run(`DROP TABLE IF EXISTS ${table}`);
  await conn.run(createTableSql(table, schema));
  const appender = await conn.createAppender(table);
  if (mode === 'rows') await appendAll(appender, schema, rows);
  else await appendChunks(appender, schema, rows);
  await conn.run(`COPY ${table} TO '${path}' (FORMAT parquet, COMPRESSION zstd)`);
  return (await stat(path)).size;
}
