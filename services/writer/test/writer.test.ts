import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FlightClient,
  FlightInvalidArgumentError,
  FlightResourceExhaustedError,
} from '@sediment/flight';
import { decodeBatch } from '@sediment/ingest';
import { readBatchHeader, readCommittedFiles, splitIpcStream } from '@sediment/lake';
import { LocalFsStore } from '@sediment/object-store';
import { afterEach, describe, expect, test } from 'vitest';
import { withLakeDuckDB } from '../../../test/support/lake-duckdb.js';
import { HOUR } from '../../../test/support/otlp-workload.js';
import { threadNices, threadsAt } from '../../../test/support/thread-nice.js';
import { createWriter, type Writer } from '../src/index.js';
import { put, requestPuts, storeCases, type TablePut, testWriterConfig } from './support.js';

const { cases } = storeCases();
const open: Array<Writer | FlightClient> = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

// 2024-03-31 22:40 UTC: spreads of 2 h cross an hour, a day and a month boundary.
const T0 = 1_711_924_800_000_000_000n;

/**
 * 100 DoPuts: traces (1 table each), logs (1 table), metrics (3 tables each); every other
 * request with zstd-compressed bodies, as acceptors send them by default.
 */
function mixedPuts(): TablePut[] {
  const puts: TablePut[] = [];
  for (let request = 1; puts.length < 100; request++) {
    const signal = (['traces', 'logs', 'metrics'] as const)[request % 3]!;
    const spreadNs = request % 4 === 0 ? 2n * HOUR : 1_000_000_000n;
    const compression = request % 2 === 0 ? 'zstd' : 'none';
    puts.push(
      ...requestPuts(
        signal,
        { request, rows: 10 + (request % 7), startNs: T0, spreadNs },
        { compression },
      ),
    );
  }
  return puts.slice(0, 100);
}

describe.each(cases)('writer on $name', ({ open: openStore }) => {
  test('100 DoPuts of mixed tables, half zstd-compressed → after drain DuckDB reads exactly the rows sent, in event-time partitions', async () => {
    const store = await openStore();
    const writer = await createWriter(testWriterConfig({ SEDIMENT_MAX_FILE_AGE: '1h' }), { store });
    open.push(writer);
    const client = new FlightClient({ targets: [`127.0.0.1:${writer.flightPort}`] });
    open.push(client);

    const puts = mixedPuts();
    await Promise.all(puts.map((p) => put(client, p)));
    const expected = new Map<string, number>();
    for (const p of puts) expected.set(p.table, (expected.get(p.table) ?? 0) + p.rows);

    expect(await writer.drain()).toEqual({
      clean: true,
      queueFlushFailed: false,
      collector: 'drained',
    });
    await withLakeDuckDB(store, 'lake', async (query, tables) => {
      expect(tables).toEqual([...expected.keys()].sort());
      for (const [table, rows] of expected) {
        const [counts] = await query(
          `SELECT count(*)::INT AS n, count(DISTINCT (${identity(table)}))::INT AS distinct_n FROM ${table}`,
        );
        expect({ table, ...counts }).toEqual({ table, n: rows, distinct_n: rows });
        // Every row sits in the dt=/hour= partition of its own event time (UTC).
        const [misplaced] = await query(
          `SELECT count(*)::INT AS n FROM ${table}
           WHERE epoch_us("timestamp") // 3600000000 <> epoch_us(dt::TIMESTAMP) // 3600000000 + hour::INT`,
        );
        expect(misplaced!.n).toBe(0);
      }
      // The 2-hour spreads really landed in several partitions, across the month boundary.
      const partitions = await query(
        `SELECT DISTINCT dt::VARCHAR AS dt, hour::INT AS hour FROM spans ORDER BY 1, 2`,
      );
      expect(partitions).toEqual([
        { dt: '2024-03-31', hour: 22 },
        { dt: '2024-03-31', hour: 23 },
        { dt: '2024-04-01', hour: 0 },
      ]);
    });
    // The queue holds every put as it arrived: compressed bodies stay compressed.
    const queued = new Set<string>();
    for await (const object of store.list('ingest/')) {
      if (!object.key.endsWith('.batch')) continue;
      const { bytes } = await store.get(object.key);
      for (const record of decodeBatch(bytes).records)
        queued.add(Buffer.from(record).toString('base64'));
    }
    for (const p of puts) expect(queued.has(Buffer.from(p.ipc).toString('base64'))).toBe(true);
    const metrics = await writer.registry.metrics();
    expect(metrics).toMatch(
      /sediment_writer_puts_total\{table="spans",outcome="ok",service="writer"\} \d+/,
    );
    expect(metrics).toMatch(/sediment_compaction_rows_total\{table="logs",service="writer"\} \d+/);
  });
});

describe('writer Parquet value encodings (SEDIMENT_PARQUET_ENCODING)', () => {
  test('delta by default, PLAIN when configured; both read back exactly', async () => {
    const seen: Record<string, string> = {};
    for (const encoding of ['default', 'plain'] as const) {
      const store = new LocalFsStore({
        root: await mkdtemp(path.join(tmpdir(), 'sediment-writer-enc-')),
      });
      const env: Record<string, string> = { SEDIMENT_MAX_FILE_AGE: '1h' };
      if (encoding === 'plain') env.SEDIMENT_PARQUET_ENCODING = 'plain';
      const writer = await createWriter(testWriterConfig(env), { store });
      open.push(writer);
      const client = new FlightClient({ targets: [`127.0.0.1:${writer.flightPort}`] });
      open.push(client);
      const puts = requestPuts('traces', { request: 1, rows: 50, startNs: T0, spreadNs: 1_000n });
      for (const p of puts) await put(client, p);
      expect((await writer.drain()).clean).toBe(true);
      const files = await readCommittedFiles(store, 'lake', { table: 'spans' });
      expect(files.length).toBe(1);
      await withLakeDuckDB(store, 'lake', async (query) => {
        const [row] = await query(
          `SELECT string_agg(DISTINCT encodings, ',' ORDER BY encodings) AS enc FROM parquet_metadata('${path.join(store.root, files[0]!.key)}') WHERE path_in_schema IN ('trace_id', 'timestamp')`,
        );
        seen[encoding] = String(row!.enc);
        const [counts] = await query('SELECT count(DISTINCT span_id)::INT AS n FROM spans');
        expect(counts!.n).toBe(50);
      });
    }
    expect(seen.default).toContain('DELTA_LENGTH_BYTE_ARRAY');
    expect(seen.default).toContain('DELTA_BINARY_PACKED');
    expect(seen.plain).not.toContain('DELTA');
    expect(() => testWriterConfig({ SEDIMENT_PARQUET_ENCODING: 'utf16' })).toThrow(
      /SEDIMENT_PARQUET_ENCODING/,
    );
  });
});

describe('writer compaction priority (SEDIMENT_COMPACTION_NICE)', () => {
  test.skipIf(process.platform !== 'linux')(
    'the Parquet encoder thread runs at nice 10 by default, the rest of the writer as before',
    async () => {
      const before = threadNices();
      const store = new LocalFsStore({
        root: await mkdtemp(path.join(tmpdir(), 'sediment-writer-nice-')),
      });
      const writer = await createWriter(testWriterConfig({ SEDIMENT_MAX_FILE_AGE: '1s' }), {
        store,
      });
      open.push(writer);
      const client = new FlightClient({ targets: [`127.0.0.1:${writer.flightPort}`] });
      open.push(client);
      for (const p of requestPuts('traces', { request: 1, rows: 20, startNs: T0 })) {
        await put(client, p);
      }
      // Once a file is committed the encoder thread exists (it lives until the writer
      // closes or drains).
      const deadline = Date.now() + 20_000;
      while ((await readCommittedFiles(store, 'lake', { table: 'spans' })).length === 0) {
        if (Date.now() > deadline) throw new Error('no file committed within 20 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      const after = threadNices();
      expect(threadsAt(after, 10)).toBe(threadsAt(before, 10) + 1);
      for (const [tid, nice] of after) if (before.has(tid)) expect(nice).toBe(before.get(tid));
      expect(() => testWriterConfig({ SEDIMENT_COMPACTION_NICE: '20' })).toThrow(
        /SEDIMENT_COMPACTION_NICE/,
      );
      expect(testWriterConfig({ SEDIMENT_COMPACTION_NICE: '0' }).compactionNice).toBe(0);
    },
  );
});

describe('writer on memory', () => {
  test('bad puts are INVALID_ARGUMENT and the writer keeps serving', async () => {
    const writer = await createWriter(testWriterConfig());
    open.push(writer);
    const client = new FlightClient({ targets: [`127.0.0.1:${writer.flightPort}`] });
    open.push(client);
    const good = requestPuts('logs', { request: 1, rows: 3, startNs: T0 })[0]!;

    const cases: Array<[string[], Uint8Array, RegExp]> = [
      [['logs', 'extra'], good.ipc, /one table name/],
      [['../etc'], good.ipc, /one table name/],
      [['Spans'], good.ipc, /one table name/],
      [['spans'], good.ipc, /disagrees with descriptor path/],
    ];
    for (const [path, ipc, message] of cases) {
      const err = await client.doPut(path, ipc).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlightInvalidArgumentError);
      expect(String((err as Error).message)).toMatch(message);
    }
    // A truncated record batch body: framing may pass, Arrow decoding must not.
    const truncated = good.ipc.slice(0, good.ipc.length - 40);
    const err = await client.doPut(['logs'], truncated).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlightInvalidArgumentError);

    const [result] = await client.doPut(['logs'], good.ipc, { appMetadata: good.requestId });
    expect(JSON.parse(new TextDecoder().decode(result))).toMatchObject({ rows: 3 });
    expect(writer.readiness()).toEqual({ ready: true });
  });

  test('compressed puts: a bad frame is INVALID_ARGUMENT, one that inflates past SEDIMENT_MAX_PUT_BYTES is RESOURCE_EXHAUSTED', async () => {
    const big = requestPuts(
      'logs',
      { request: 2, rows: 400, startNs: T0 },
      { compression: 'zstd' },
    )[0]!;
    const plainBytes = requestPuts('logs', { request: 2, rows: 400, startNs: T0 })[0]!.ipc.length;
    expect(big.ipc.length).toBeLessThan(plainBytes / 2);
    const limit = Math.floor((big.ipc.length + plainBytes) / 2);
    const writer = await createWriter(testWriterConfig({ SEDIMENT_MAX_PUT_BYTES: String(limit) }));
    open.push(writer);
    const client = new FlightClient({ targets: [`127.0.0.1:${writer.flightPort}`] });
    open.push(client);

    const tooBig = await client.doPut(['logs'], big.ipc).catch((e: unknown) => e);
    expect(tooBig).toBeInstanceOf(FlightResourceExhaustedError);
    expect(String((tooBig as Error).message)).toMatch(/would exceed/);

    const small = requestPuts(
      'logs',
      { request: 3, rows: 5, startNs: T0 },
      { compression: 'zstd' },
    )[0]!;
    // The first zstd frame of the record batch loses its magic number.
    const broken = small.ipc.slice();
    const frame = firstFrame(broken);
    broken.fill(0x5a, frame, frame + 8);
    const bad = await client.doPut(['logs'], broken).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(FlightInvalidArgumentError);

    const [ok] = await client.doPut(['logs'], small.ipc, { appMetadata: small.requestId });
    expect(JSON.parse(new TextDecoder().decode(ok))).toMatchObject({ rows: 5 });
  });

  test('admin port serves /healthz, /readyz and /metrics; drain makes it not ready', async () => {
    const writer = await createWriter(testWriterConfig());
    open.push(writer);
    const base = `http://127.0.0.1:${writer.adminPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('sediment_queue_depth_entries');
    const draining = writer.drain();
    await draining;
    expect(writer.readiness().ready).toBe(false);
  });
});

/** Offset of the first zstd frame (after its length prefix) in the stream's last batch. */
function firstFrame(ipc: Uint8Array): number {
  const dv = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  const last = splitIpcStream(ipc).at(-1)!;
  const h = readBatchHeader(ipc.subarray(last.metaStart, last.metaEnd));
  for (let i = 0; i < h.bufferCount; i++) {
    const at = last.bodyStart + h.bufferOffset(i);
    if (h.bufferLength(i) > 8 && dv.getBigInt64(at, true) > 0n) return at + 8;
  }
  throw new Error('no zstd frame in the stream');
}

function identity(table: string): string {
  switch (table) {
    case 'spans':
      return 'trace_id, span_id';
    case 'logs':
      return 'trace_id, span_id';
    case 'metrics_histogram':
    case 'metrics_gauge':
    case 'metrics_sum':
      return `attributes['request.number'], attributes['point']`;
    default:
      throw new Error(`no identity for ${table}`);
  }
}
