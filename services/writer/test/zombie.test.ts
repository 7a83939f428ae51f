/**
 * Two writers' collectors on one store. Writer A's collector is held (by a gate in its
 * view of the store) just before it creates its commit; writer B starts, fences A, and
 * commits the same queued batches. When A resumes, its commit must fail with
 * FencedError, and DuckDB must find every row exactly once.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FlightClient, silentFlightLogger } from '@sediment/flight';
import { FencedError } from '@sediment/lake';
import { LocalFsStore, type ObjectStore, ObjectStoreFatalError } from '@sediment/object-store';
import { HookedStore } from '@sediment/object-store/testing';
import { afterEach, expect, test } from 'vitest';
import { withLakeDuckDB } from '../../../test/support/lake-duckdb.js';
import { createWriter, type Writer } from '../src/index.js';
import { put, requestPuts, testWriterConfig } from './support.js';

/** `inner` with `beforePut(key)` run before every put (to hold or refuse commit objects). */
function beforeEachPut(inner: ObjectStore, beforePut: (key: string) => Promise<void>) {
  const store = new HookedStore(inner, { closeInner: false });
  store.onPut = async (key, _bytes, _options, next) => {
    await beforePut(key);
    return next();
  };
  return store;
}

const isCommit = (key: string) => /_commits\/\d{20}\.json$/.test(key);

/** Commit-object creations wait while the gate is closed. */
function commitGate(inner: ObjectStore) {
  let release!: () => void;
  let arrived!: () => void;
  const open = new Promise<void>((r) => {
    release = r;
  });
  const reached = new Promise<void>((r) => {
    arrived = r;
  });
  const store = beforeEachPut(inner, async (key) => {
    if (!isCommit(key)) return;
    arrived();
    await open;
  });
  return { store, arrived: reached, release };
}

const open: Array<Writer | FlightClient> = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

test('zombie collector: paused before its commit, fenced by a newer one; no row twice', async () => {
  const store = new LocalFsStore({ root: await mkdtemp(path.join(tmpdir(), 'sediment-zombie-')) });
  const gate = commitGate(store);
  const config = testWriterConfig({ SEDIMENT_MAX_FILE_AGE: '1h' });
  const a = await createWriter(config, { store: gate.store });
  open.push(a);
  const client = new FlightClient({
    targets: [`127.0.0.1:${a.flightPort}`],
    logger: silentFlightLogger,
  });
  open.push(client);
  const T0 = 1_711_924_800_000_000_000n;
  for (let request = 1; request <= 20; request++) {
    await put(client, requestPuts('traces', { request, rows: 5, startNs: T0 })[0]!);
  }
  expect(await a.collector!.whenStarted()).toBe(true);

  // A reads everything and blocks at its commit.
  const zombieDrain = a.collector!.compactor.drain();
  await gate.arrived;

  // B takes over: its start fences A, then it commits the same batches.
  const b = await createWriter(config, { store });
  open.push(b);
  expect(await b.collector!.whenStarted()).toBe(true);
  expect(await b.collector!.drain()).toBe('drained');

  gate.release();
  await expect(zombieDrain).rejects.toBeInstanceOf(FencedError);
  await expect.poll(() => a.collectorState, { timeout: 10_000 }).toBe('fenced');
  expect(b.collectorState).toBe('running');

  await withLakeDuckDB(store, 'lake', async (query) => {
    const [r] = await query(
      'SELECT count(*)::INT AS n, count(DISTINCT span_id)::INT AS d FROM spans',
    );
    expect(r).toEqual({ n: 100, d: 100 });
  });
  expect(await a.registry.metrics()).toMatch(
    /sediment_writer_errors_total\{kind="fenced",service="writer"\} 1/,
  );
});

test('a retried put with the same request identity is stored once', async () => {
  const store = new LocalFsStore({ root: await mkdtemp(path.join(tmpdir(), 'sediment-retry-')) });
  const writer = await createWriter(testWriterConfig({ SEDIMENT_MAX_FILE_AGE: '1h' }), { store });
  open.push(writer);
  const client = new FlightClient({
    targets: [`127.0.0.1:${writer.flightPort}`],
    logger: silentFlightLogger,
  });
  open.push(client);
  const p = requestPuts('logs', { request: 1, rows: 7, startNs: 1_711_924_800_000_000_000n })[0]!;
  await put(client, p); // acked, but say the reply was lost: the client retries…
  await put(client, p); // …the same request
  await writer.drain();
  await withLakeDuckDB(store, 'lake', async (query) => {
    const [r] = await query('SELECT count(*)::INT AS n FROM logs');
    expect(r!.n).toBe(7);
  });
  expect(await writer.registry.metrics()).toMatch(
    /sediment_compaction_deduplicated_rows_total\{service="writer"\} 7/,
  );
});

test('a drain whose commit cannot be made reports it (the process then exits 1)', async () => {
  const inner = new LocalFsStore({
    root: await mkdtemp(path.join(tmpdir(), 'sediment-nocommit-')),
  });
  const store = beforeEachPut(inner, async (key) => {
    if (isCommit(key)) throw new ObjectStoreFatalError(`refusing ${key}`);
  });
  const writer = await createWriter(testWriterConfig({ SEDIMENT_MAX_FILE_AGE: '1h' }), { store });
  open.push(writer);
  const client = new FlightClient({
    targets: [`127.0.0.1:${writer.flightPort}`],
    logger: silentFlightLogger,
  });
  open.push(client);
  await put(
    client,
    requestPuts('logs', { request: 1, rows: 3, startNs: 1_711_924_800_000_000_000n })[0]!,
  );
  const report = await writer.drain();
  expect(report).toMatchObject({ clean: false, collector: 'failed' });
});
