/**
 * The writer process is SIGKILLed at random moments while acked DoPuts stream in, then
 * restarted, ≥ 20 rounds. Clients behave like OTLP exporters: a put that failed is retried
 * later with the same request identity (or, for some, abandoned). After a final clean
 * drain, DuckDB must find every acked row exactly once, abandoned puts either whole or
 * absent, and nothing twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FlightClient, silentFlightLogger } from '@sediment/flight';
import { LocalFsStore, listAll } from '@sediment/object-store';
import { expect, test } from 'vitest';
import { withLakeDuckDB } from '../../../test/support/lake-duckdb.js';
import { REPO_ROOT } from '../../../test/support/otlp-proto.js';
import { prng } from '../../../test/support/otlp-workload.js';
import { put, requestPuts, type TablePut } from './support.js';

const ROUNDS = Number(process.env.WRITER_CRASH_ROUNDS ?? 20);
const ROWS = 20;
const T0 = 1_711_924_800_000_000_000n;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function startWriter(dataDir: string, flightPort: number, adminPort: number): ChildProcess {
  return spawn(
    process.execPath,
    ['--conditions=sediment-src', '--import', 'tsx/esm', 'services/writer/src/main.ts'],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        SEDIMENT_STORE: pathToFileURL(dataDir).href,
        SEDIMENT_FLIGHT_HOST: '127.0.0.1',
        SEDIMENT_FLIGHT_PORT: String(flightPort),
        SEDIMENT_WRITER_ADMIN_PORT: String(adminPort),
        SEDIMENT_MAX_FILE_AGE: '400ms',
        SEDIMENT_FLUSH_INTERVAL: '20ms',
        SEDIMENT_LOG_LEVEL: 'error',
      },
    },
  );
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

test(`writer SIGKILLed at random moments, ${ROUNDS} rounds: every acked row exactly once`, async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sediment-writer-crash-'));
  const flightPort = await freePort();
  const adminPort = await freePort();
  const random = prng(7);
  const client = new FlightClient({
    targets: [`127.0.0.1:${flightPort}`],
    defaultDeadlineMs: 3_000,
    targetBackoff: { initialMs: 20, maxMs: 200 },
    logger: silentFlightLogger,
  });

  let next = 1;
  const fresh = (): TablePut =>
    requestPuts('traces', {
      request: next++,
      rows: ROWS,
      startNs: T0 + BigInt(next) * 1_000_000n,
    })[0]!;
  const retry: TablePut[] = [];
  const acked = new Set<number>();
  const abandoned = new Set<number>();
  const requestOf = new Map<TablePut, number>();
  const take = (): TablePut => {
    const p = retry.shift() ?? fresh();
    if (!requestOf.has(p)) requestOf.set(p, next - 1);
    return p;
  };

  const pump = async (until: () => boolean, concurrency: number) => {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!until()) {
          const p = take();
          try {
            await put(client, p, 3_000);
            acked.add(requestOf.get(p)!);
          } catch {
            if (random() < 0.75) retry.push(p);
            else abandoned.add(requestOf.get(p)!);
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }),
    );
  };

  let kills = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const child = startWriter(dataDir, flightPort, adminPort);
    const ready = await client.waitForReady(Date.now() + 30_000);
    expect(ready).toBe(true);
    let stop = false;
    const pumping = pump(() => stop, 6);
    await new Promise((r) => setTimeout(r, 300 + random() * 1500));
    child.kill('SIGKILL');
    kills++;
    await exited(child);
    stop = true;
    await pumping;
  }

  // Last run: deliver every pending retry, then a clean SIGTERM drain.
  const child = startWriter(dataDir, flightPort, adminPort);
  expect(await client.waitForReady(Date.now() + 30_000)).toBe(true);
  while (retry.length > 0) {
    const p = retry.shift()!;
    await put(client, p, 10_000);
    acked.add(requestOf.get(p)!);
  }
  child.kill('SIGTERM');
  expect(await exited(child)).toBe(0);
  await client.close();

  for (const r of acked) abandoned.delete(r);
  expect(kills).toBe(ROUNDS);
  expect(acked.size).toBeGreaterThan(ROUNDS * 5);

  const store = new LocalFsStore({ root: dataDir });
  await withLakeDuckDB(store, 'lake', async (query) => {
    const rows = await query(
      `SELECT span_attributes['request.number']::BIGINT AS request, count(*)::INT AS n,
              count(DISTINCT span_id)::INT AS distinct_n
       FROM spans GROUP BY 1 ORDER BY 1`,
    );
    const found = new Map(rows.map((r) => [Number(r.request), r]));
    for (const r of acked) {
      expect(found.get(r), `acked request ${r}`).toMatchObject({ n: ROWS, distinct_n: ROWS });
    }
    for (const [r, row] of found) {
      expect(acked.has(r) || abandoned.has(r), `request ${r} was never sent`).toBe(true);
      expect(row, `request ${r} (whole or absent, never twice)`).toMatchObject({
        n: ROWS,
        distinct_n: ROWS,
      });
    }
    const [total] = await query(
      'SELECT count(*)::INT AS n, count(DISTINCT span_id)::INT AS d FROM spans',
    );
    expect(total!.n).toBe(total!.d);
  });
  // How often a retried put had in fact been stored before the kill (the de-duplication
  // by request identity is what keeps those from appearing twice).
  let duplicates = 0;
  for (const meta of await listAll(store, 'lake/_commits/')) {
    if (!/\/\d{20}\.json$/.test(meta.key)) continue;
    const record = JSON.parse(new TextDecoder().decode((await store.get(meta.key)).bytes));
    duplicates += record.stats.duplicateEntries;
  }
  console.log(
    `writer crash: ${kills} kills, ${acked.size} requests acked (${acked.size * ROWS} rows), ${abandoned.size} abandoned, ${duplicates} retried puts dropped as duplicates`,
  );
}, 600_000);
