/**
 * Arrow IPC entries (toIpcStream/fromIpcStream) preserve every value, nanoseconds
 * included; and the tables are Parquet/DuckDB-compatible: written with parquet-wasm
 * (the lake's writer) and queried by DuckDB with the queries the README shows.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  type DecodedTable,
  decodeLogs,
  decodeMetrics,
  decodeTraces,
  fromIpcStream,
  InvalidInputError,
  LOGS_SCHEMA,
  SPANS_SCHEMA,
  TABLE_METADATA_KEY,
  TABLE_NAMES,
  toIpcStream,
} from '@sediment/otlp';
import { RecordBatch, RecordBatchStreamWriter, Schema, tableToIPC, Table } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { batchRows } from './support/arrow-rows.js';
import { genMetrics, genTraces, Rng } from './support/generator.js';
import { encode, MetricsRequest, TraceRequest } from './support/proto.js';
import { sdkLogs, sdkMetrics, sdkTraces } from './support/sdk.js';

async function allTables(): Promise<DecodedTable[]> {
  const tables = [
    ...decodeTraces(sdkTraces().protobuf).tables,
    ...decodeLogs((await sdkLogs()).protobuf).tables,
    ...decodeMetrics((await sdkMetrics('cumulative')).protobuf).tables,
  ];
  for (let seed = 1; seed <= 30; seed++) {
    tables.push(...decodeTraces(encode(TraceRequest, genTraces(new Rng(seed)))).tables);
    tables.push(...decodeMetrics(encode(MetricsRequest, genMetrics(new Rng(seed)))).tables);
  }
  return tables;
}

describe('Arrow IPC entries', async () => {
  const tables = await allTables();

  it('cover all seven tables', () => {
    expect(new Set(tables.map((t) => t.table))).toEqual(new Set(TABLE_NAMES));
  });

  it('round-trip every value, nanoseconds included', () => {
    for (const t of tables) {
      const bytes = toIpcStream(t.table, t.batch);
      const back = fromIpcStream(bytes);
      expect(back.table).toBe(t.table);
      expect(back.batch.schema.metadata.get(TABLE_METADATA_KEY)).toBe(t.table);
      expect(batchRows(back.batch)).toEqual(batchRows(t.batch));
    }
    const spans = tables.find((t) => t.table === 'spans')!;
    const back = fromIpcStream(toIpcStream('spans', spans.batch)).batch;
    expect(batchRows(back).map((r) => r.timestamp)).toContain('1700000000123456789');
  });

  it('rejects bytes that are not a single-batch entry of a known table', () => {
    const spans = tables.find((t) => t.table === 'spans')!.batch;
    expect(() => fromIpcStream(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(
      InvalidInputError,
    );
    // No sediment.table metadata.
    const bare = tableToIPC(
      new Table([new RecordBatch(new Schema(spans.schema.fields), spans.data)]),
      'stream',
    );
    expect(() => fromIpcStream(bare)).toThrow(/sediment.table/);
    // Metadata naming a table whose schema it does not have.
    const lying = new RecordBatch(
      new Schema(spans.schema.fields, new Map([[TABLE_METADATA_KEY, 'logs']])),
      spans.data,
    );
    expect(() => fromIpcStream(tableToIPC(new Table([lying]), 'stream'))).toThrow(
      /does not match table logs/,
    );
    // Two batches.
    const w = new RecordBatchStreamWriter();
    w.write(spans);
    w.write(spans);
    w.finish();
    expect(() => fromIpcStream(w.toUint8Array(true))).toThrow(/one record batch/);
    expect(SPANS_SCHEMA.metadata.get(TABLE_METADATA_KEY)).toBe('spans');
    expect(LOGS_SCHEMA.metadata.get(TABLE_METADATA_KEY)).toBe('logs');
  });
});

describe('DuckDB reads the tables (through Parquet written by parquet-wasm)', async () => {
  // parquet-wasm is the lake's Parquet writer (a dependency of packages/lake).
  const lakeRequire = createRequire(new URL('../../lake/package.json', import.meta.url));
  const pq = lakeRequire('parquet-wasm/node') as {
    Table: { fromIPCStream(b: Uint8Array): unknown };
    writeParquet(t: unknown): Uint8Array;
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'otlp-duckdb-'));
  const duck = await DuckDBInstance.create(':memory:');
  const db = await duck.connect();
  afterAll(() => {
    db.closeSync();
    duck.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });
  const tables = await allTables();
  const expectedRows = new Map<string, number>();
  tables.forEach((t, i) => {
    mkdirSync(path.join(dir, t.table), { recursive: true });
    const bytes = pq.writeParquet(pq.Table.fromIPCStream(toIpcStream(t.table, t.batch)));
    writeFileSync(path.join(dir, t.table, `part-${i}.parquet`), bytes);
    expectedRows.set(t.table, (expectedRows.get(t.table) ?? 0) + t.batch.numRows);
  });
  const q = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJson();
  const files = (table: string) => `read_parquet('${path.join(dir, table)}/*.parquet')`;

  it('every table reads back with all its rows', async () => {
    for (const [table, n] of expectedRows) {
      expect(await q(`SELECT count(*)::INTEGER AS n FROM ${files(table)}`)).toEqual([{ n }]);
    }
  });

  it('the README queries run', async () => {
    const bySpan = await q(
      `SELECT service_name, span_name, count(*)::INTEGER AS n FROM ${files('spans')} WHERE service_name = 'checkout' GROUP BY ALL ORDER BY span_name`,
    );
    expect(bySpan).toContainEqual({ service_name: 'checkout', span_name: 'GET /cart', n: 1 });
    const attrs = await q(
      `SELECT span_attributes['http.method'] AS method, resource_attributes['host.name'] AS host FROM ${files('spans')} WHERE span_name = 'GET /cart'`,
    );
    expect(attrs).toEqual([{ method: 'GET', host: 'node-7' }]);
    const events = await q(
      `SELECT e.name AS name, e.attributes['size'] AS size FROM (SELECT unnest(events) AS e FROM ${files('spans')} WHERE span_name = 'GET /cart') ORDER BY name`,
    );
    expect(events).toEqual([
      { name: 'no.attributes', size: null },
      { name: 'request.received', size: '512' },
    ]);
    const logs = await q(
      `SELECT severity_text, count(*)::INTEGER AS n FROM ${files('logs')} WHERE severity_text = 'ERROR' AND service_name = 'checkout' GROUP BY ALL`,
    );
    expect(logs).toEqual([{ severity_text: 'ERROR', n: 1 }]);
    const sums = await q(
      `SELECT metric_name, sum(value) AS total FROM ${files('metrics_sum')} WHERE metric_name = 'http.requests' AND service_name = 'checkout' GROUP BY ALL`,
    );
    expect(sums).toEqual([{ metric_name: 'http.requests', total: 7 }]);
    const hist = await q(
      `SELECT count::INTEGER AS count, list_sum(bucket_counts)::INTEGER AS total, len(explicit_bounds) + 1 = len(bucket_counts) AS shape FROM ${files('metrics_histogram')} WHERE metric_name = 'latency' AND service_name = 'checkout'`,
    );
    expect(hist).toEqual([{ count: 6, total: 6, shape: true }]);
  });

  it('timestamps are UTC nanoseconds in the file (DuckDB shows them as TIMESTAMPTZ)', async () => {
    const schema = await q(
      `SELECT name, logical_type FROM parquet_schema('${path.join(dir, 'spans')}/*.parquet') WHERE name = 'end_timestamp' LIMIT 1`,
    );
    expect(String(schema[0]!.logical_type)).toMatch(/isAdjustedToUTC=1.*NANOS/);
    const t = await q(
      `SELECT epoch_ns(end_timestamp)::VARCHAR AS ns, typeof(end_timestamp) AS type FROM ${files('spans')} WHERE span_name = 'SELECT carts'`,
    );
    // DuckDB's TIMESTAMPTZ has microsecond resolution: 1700000001.000000005 reads as .000000.
    expect(t).toEqual([{ ns: '1700000001000000000', type: 'TIMESTAMP WITH TIME ZONE' }]);
  });
});
