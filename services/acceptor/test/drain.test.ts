/**
 * SIGTERM drain of a real acceptor process: requests in flight when the signal arrives
 * (held by a writer that takes its time to make them durable) still get their OK, their
 * data lands, new connections are refused, and the process exits 0.
 */
import type { Writer } from '@sediment/writer';
import { afterAll, expect, test } from 'vitest';
import { withLakeDuckDB } from '../../../test/support/lake-duckdb.js';
import { encodeRequest } from '../../../test/support/otlp-proto.js';
import { logsRequest, traceRequest } from '../../../test/support/otlp-workload.js';
import {
  type AcceptorProcess,
  Code,
  GrpcOtlpClient,
  httpRequest,
  metricValue,
  postOtlp,
  removeTempDirs,
  spawnAcceptor,
  startWriter,
  tempStore,
  waitFor,
} from './support.js';

const T0 = 1_714_564_800_000_000_000n;

let writer: Writer | undefined;
let acceptor: AcceptorProcess | undefined;
afterAll(async () => {
  acceptor?.kill();
  await writer?.close();
  await removeTempDirs();
});

test('SIGTERM while requests are in flight: they still get OK and land; then exit 0', async () => {
  const store = await tempStore();
  // Every put waits 3 s for its batch (from the batch's first input): the requests are
  // still waiting for their acks when SIGTERM arrives.
  writer = await startWriter(store, { SEDIMENT_FLUSH_INTERVAL: '3000' });
  acceptor = await spawnAcceptor({ SEDIMENT_WRITERS: `127.0.0.1:${writer.flightPort}` });
  const a = acceptor;

  const spans = encodeRequest('traces', traceRequest({ request: 1, rows: 7, startNs: T0 }));
  const logs = encodeRequest('logs', logsRequest({ request: 2, rows: 5, startNs: T0 }));
  const grpc = new GrpcOtlpClient(a.grpcPort);
  try {
    const repliedAt: number[] = [];
    const viaGrpc = grpc.export('traces', spans).finally(() => repliedAt.push(Date.now()));
    const viaHttp = postOtlp(a.httpPort, 'logs', logs).finally(() => repliedAt.push(Date.now()));
    // Both decoded and waiting for the writer (the acceptor counts 3 bytes per body byte).
    await waitFor('both requests in flight', async () => {
      const text = (await httpRequest(a.httpPort, '/metrics', { method: 'GET' })).body.toString();
      const inflight = metricValue(text, 'sediment_acceptor_inflight_bytes') ?? 0;
      return inflight >= 3 * (spans.byteLength + logs.byteLength) ? true : undefined;
    });
    const signalledAt = Date.now();
    a.child.kill('SIGTERM');

    const [g, h] = await Promise.all([viaGrpc, viaHttp]);
    // Both replies came after the signal: they really were in flight when it arrived.
    expect(repliedAt.length).toBe(2);
    for (const t of repliedAt) expect(t).toBeGreaterThanOrEqual(signalledAt);
    expect(g.code).toBe(Code.OK);
    expect(h.status).toBe(200);
    expect(await a.exited).toBe(0);
    expect(a.output()).toMatch(/draining: no new requests/);
    // Gone: new connections are refused.
    await expect(postOtlp(a.httpPort, 'logs', logs)).rejects.toThrow(/ECONNREFUSED/);
    expect((await grpc.export('logs', logs, { deadlineMs: 2_000 })).code).toBe(Code.UNAVAILABLE);
  } finally {
    grpc.close();
  }

  await writer.drain();
  await withLakeDuckDB(store, 'lake', async (query) => {
    const [s] = await query(`SELECT count(*)::INT AS n FROM spans`);
    const [l] = await query(`SELECT count(*)::INT AS n FROM logs`);
    expect({ spans: s!.n, logs: l!.n }).toEqual({ spans: 7, logs: 5 });
  });
}, 90_000);
