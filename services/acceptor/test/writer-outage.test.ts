/**
 * The writer goes away under load and comes back on the same port: clients get
 * UNAVAILABLE / 503 with a retry delay (never an error they would drop data on), the
 * acceptor stays up and reports not-ready, traffic recovers by itself, and after a drain
 * every acked row is in Parquet exactly once — including requests whose first attempt was
 * stored but not acked when the writer vanished (the client retried them).
 */
import type { Writer } from '@sediment/writer';
import { afterAll, expect, test } from 'vitest';
import { withLakeDuckDB } from '../../../test/support/lake-duckdb.js';
import { encodeRequest } from '../../../test/support/otlp-proto.js';
import { rowIds, traceRequest } from '../../../test/support/otlp-workload.js';
import type { Acceptor } from '../src/index.js';
import {
  Code,
  decodeStatus,
  freePort,
  GrpcOtlpClient,
  parseJsonStatus,
  postOtlp,
  removeTempDirs,
  sleep,
  startAcceptor,
  startWriter,
  tempStore,
  waitFor,
} from './support.js';

const T0 = 1_714_564_800_000_000_000n;
const REQUESTS = 60;
const ROWS = 5;
const WORKERS = 4;

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await removeTempDirs();
});

type Transport = 'grpc' | 'http-protobuf' | 'http-json';

interface Refusal {
  transport: Transport;
  code: number;
  retryDelayMs: number | undefined;
  retryAfter: string | undefined;
}

test('writer stopped and restarted: UNAVAILABLE/503 + retry delay, acceptor stays up, traffic recovers, every acked row lands exactly once', async () => {
  const store = await tempStore();
  const flightPort = await freePort();
  const writerEnv = {
    SEDIMENT_FLIGHT_PORT: String(flightPort),
    // Compact often, so some requests are already in Parquet when the writer goes away.
    SEDIMENT_MAX_FILE_AGE: '300',
  };
  let writer: Writer = await startWriter(store, writerEnv);
  cleanup.push(() => writer.close());
  const acceptor: Acceptor = await startAcceptor(`127.0.0.1:${flightPort}`, {
    SEDIMENT_RETRY_AFTER: '200',
    SEDIMENT_WRITER_TIMEOUT: '3000',
  });
  cleanup.push(() => acceptor.close());
  const grpc = new GrpcOtlpClient(acceptor.grpcPort);
  cleanup.push(() => grpc.close());

  const acked = new Set<number>();
  const refusals: Refusal[] = [];
  const unexpected: string[] = [];

  /** Sends request `n` until it is acked, waiting the server's retry delay in between. */
  async function send(n: number): Promise<void> {
    const transport: Transport = (['grpc', 'http-protobuf', 'http-json'] as const)[n % 3]!;
    const obj = traceRequest({ request: n, rows: ROWS, startNs: T0 });
    const protobuf = encodeRequest('traces', obj);
    const json = JSON.stringify(obj);
    for (let attempt = 0; attempt < 400; attempt++) {
      let ok: boolean;
      let delayMs: number | undefined;
      if (transport === 'grpc') {
        const r = await grpc.export('traces', protobuf);
        ok = r.code === Code.OK;
        if (!ok) {
          refusals.push({
            transport,
            code: r.code,
            retryDelayMs: r.status?.retryDelayMs,
            retryAfter: undefined,
          });
          delayMs = r.status?.retryDelayMs;
        }
      } else {
        const format = transport === 'http-json' ? 'json' : 'protobuf';
        const r = await postOtlp(acceptor.httpPort, 'traces', format === 'json' ? json : protobuf, {
          format,
        });
        ok = r.status === 200;
        if (!ok) {
          const status =
            format === 'json' ? parseJsonStatus(r.body.toString()) : decodeStatus(r.body);
          refusals.push({
            transport,
            code: r.status,
            retryDelayMs: status.retryDelayMs,
            retryAfter: r.headers['retry-after'],
          });
          delayMs = status.retryDelayMs;
        }
      }
      if (ok) {
        acked.add(n);
        return;
      }
      await sleep(delayMs ?? 200);
    }
    unexpected.push(`request ${n} never acked`);
  }

  // Several concurrent clients, paced so the run spans the outage.
  let next = 1;
  const workers = Array.from({ length: WORKERS }, async () => {
    while (next <= REQUESTS) {
      const n = next++;
      await send(n);
      await sleep(40);
    }
  });

  await waitFor('a third of the requests acked', () =>
    acked.size >= REQUESTS / 3 ? true : undefined,
  );
  await writer.close(); // abrupt: in-flight puts fail, queued data stays in the queue
  const ackedBeforeOutage = acked.size;

  // While no writer is up: retryable refusals on both ports, not ready, still alive.
  await waitFor('refusals on both ports', () => {
    const kinds = new Set(refusals.map((r) => (r.transport === 'grpc' ? 'grpc' : 'http')));
    return kinds.size === 2 && refusals.length >= 6 ? true : undefined;
  });
  const readyz = await fetch(`http://127.0.0.1:${acceptor.httpPort}/readyz`);
  expect(readyz.status).toBe(503);
  expect(((await readyz.json()) as { reason: string }).reason).toMatch(/no writer reachable/);
  expect((await fetch(`http://127.0.0.1:${acceptor.httpPort}/healthz`)).status).toBe(200);
  await sleep(500); // a little longer down
  expect(acked.size - ackedBeforeOutage).toBeLessThanOrEqual(WORKERS); // only puts already durable

  // The writer returns on the same port over the same store.
  writer = await startWriter(store, writerEnv);
  await Promise.all(workers);
  expect(unexpected).toEqual([]);
  expect(acked.size).toBe(REQUESTS);
  await waitFor('readiness back', async () =>
    (await fetch(`http://127.0.0.1:${acceptor.httpPort}/readyz`)).status === 200 ? true : undefined,
  );

  // Every refusal was retryable and said when to retry.
  expect(refusals.length).toBeGreaterThanOrEqual(6);
  for (const r of refusals) {
    if (r.transport === 'grpc') {
      expect(r).toMatchObject({ code: Code.UNAVAILABLE, retryDelayMs: 200 });
    } else {
      expect(r).toMatchObject({ code: 503, retryDelayMs: 200, retryAfter: '1' });
    }
  }

  await acceptor.drain();
  await writer.drain();
  await withLakeDuckDB(store, 'lake', async (query) => {
    const rows = await query(`SELECT trace_id, span_id FROM spans`);
    expect(rows.length).toBe(REQUESTS * ROWS);
    const got = new Set(rows.map((r) => `${r.trace_id}/${r.span_id}`));
    expect(got.size).toBe(REQUESTS * ROWS);
    for (let n = 1; n <= REQUESTS; n++) {
      for (let i = 0; i < ROWS; i++) {
        const { traceId, spanId } = rowIds(n, i);
        expect(got.has(`${traceId}/${spanId}`)).toBe(true);
      }
    }
  });
}, 120_000);
