/**
 * Locked-down endpoints of `sediment start` run the way an operator locks it down:
 * SEDIMENT_AUTH_TOKENS on the OTLP ports, SEDIMENT_FLIGHT_TOKENS on the writer's Flight
 * port (start hands the first one to its acceptor), SEDIMENT_ADMIN_PORT for health and
 * metrics.
 *
 * - every data endpoint — the three signals over OTLP/HTTP in both encodings, the three
 *   gRPC services — refuses a missing, wrong or malformed token (401 / UNAUTHENTICATED)
 *   and the refused data is nowhere in the lake after the drain;
 * - the Flight port refuses DoPuts without the flight token, while the acceptor that
 *   start configured with it stores data end to end;
 * - health and metrics are served on the admin port only, and nothing else is.
 */
import http2 from 'node:http2';
import { FlightClient, FlightUnauthenticatedError } from '@sediment/flight';
import { LocalFsStore } from '@sediment/object-store';
import { decodeTraces, toIpcStream } from '@sediment/otlp';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { GrpcOtlpClient, httpRequest, postOtlp } from '../services/acceptor/test/support.js';
import { requestJson } from './support/fuzz-cases.js';
import { rawHttpExchange } from './support/fuzz-http1.js';
import { withLakeDuckDB } from './support/lake-duckdb.js';
import { encodeRequest, type Signal } from './support/otlp-proto.js';
import { freePorts, type SedimentProcess, startSediment } from './support/sediment-process.js';

const TOKEN = 'otlp-token-1f9c';
const FLIGHT_TOKEN = 'flight-token-77ab';
const SIGNALS: Signal[] = ['traces', 'metrics', 'logs'];

let sediment: SedimentProcess;
let adminPort: number;
let next = 1;
/** Requests acked, by producer: signal → request numbers. */
const acked: Array<{ signal: Signal; request: number; producer: string }> = [];

function request(signal: Signal, producer: string) {
  const n = next++;
  const json = requestJson(signal, n, 2, producer);
  return { n, protobuf: Buffer.from(encodeRequest(signal, json)), json: JSON.stringify(json) };
}

beforeAll(async () => {
  [adminPort] = (await freePorts(1)) as [number];
  sediment = await startSediment(
    {
      SEDIMENT_AUTH_TOKENS: `${TOKEN},second-token`,
      SEDIMENT_FLIGHT_TOKENS: FLIGHT_TOKEN,
      SEDIMENT_ADMIN_PORT: String(adminPort),
      SEDIMENT_FLUSH_INTERVAL: '20ms',
    },
    'banner',
  );
}, 180_000);

afterAll(() => sediment?.kill());

const BAD_AUTHORIZATION = [
  undefined, // none
  'Bearer wrong-token',
  TOKEN, // no scheme
  `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`,
  `Bearer ${TOKEN} trailing`,
  'Bearer',
  `Bearer ${TOKEN.toUpperCase()}`,
  '',
];

test('OTLP/HTTP: every signal, both encodings: missing, wrong or malformed tokens → 401; the token → 200', async () => {
  for (const signal of SIGNALS) {
    for (const format of ['protobuf', 'json'] as const) {
      for (const authorization of BAD_AUTHORIZATION) {
        const r = request(signal, 'security-refused');
        const reply = await postOtlp(
          sediment.ports.http,
          signal,
          format === 'json' ? r.json : r.protobuf,
          {
            format,
            headers: authorization === undefined ? {} : { authorization },
          },
        );
        expect(reply.status, `${signal} ${format} ${authorization}`).toBe(401);
        expect(reply.headers['www-authenticate']).toBe('Bearer');
      }
      for (const token of [TOKEN, 'second-token']) {
        const r = request(signal, 'security-accepted');
        const ok = await postOtlp(
          sediment.ports.http,
          signal,
          format === 'json' ? r.json : r.protobuf,
          {
            format,
            headers: { authorization: `bearer ${token}` },
          },
        );
        expect(ok.status, `${signal} ${format}`).toBe(200);
        acked.push({ signal, request: r.n, producer: 'security-accepted' });
      }
    }
  }
}, 120_000);

test('OTLP/gRPC: every service: missing, wrong or malformed tokens → UNAUTHENTICATED; the token → OK', async () => {
  const client = new GrpcOtlpClient(sediment.ports.grpc);
  try {
    for (const signal of SIGNALS) {
      for (const authorization of BAD_AUTHORIZATION) {
        const r = request(signal, 'security-refused');
        const reply = await client.export(signal, r.protobuf, {
          metadata: authorization === undefined ? {} : { authorization },
        });
        expect(reply.code, `${signal} ${authorization}`).toBe(16);
      }
      const r = request(signal, 'security-accepted');
      expect((await client.export(signal, r.protobuf, { token: TOKEN })).code).toBe(0);
      acked.push({ signal, request: r.n, producer: 'security-accepted' });
    }
  } finally {
    client.close();
  }
}, 120_000);

test('the writer Flight port refuses DoPuts without the flight token (or with an OTLP token); start gave its acceptor the right one', async () => {
  const decoded = decodeTraces(
    encodeRequest('traces', requestJson('traces', next++, 2, 'security-flight')),
  );
  const { table, batch } = decoded.tables[0]!;
  const ipc = toIpcStream(table, batch);
  for (const token of [undefined, 'wrong', TOKEN]) {
    const flight = new FlightClient({
      targets: [`127.0.0.1:${sediment.ports.flight}`],
      ...(token === undefined ? {} : { token }),
      defaultDeadlineMs: 10_000,
    });
    try {
      const err = await flight.doPut([table], ipc).catch((e: unknown) => e);
      expect(err, String(token)).toBeInstanceOf(FlightUnauthenticatedError);
    } finally {
      await flight.close();
    }
  }
  // A raw gRPC call with a malformed authorization is refused the same way.
  const raw = await new Promise<number | undefined>((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${sediment.ports.flight}`);
    session.on('error', () => resolve(undefined));
    const req = session.request({
      ':method': 'POST',
      ':path': '/arrow.flight.protocol.FlightService/DoPut',
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: `Basic ${FLIGHT_TOKEN}`,
    });
    let status: number | undefined;
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => {});
    req.on('error', () => {});
    req.on('close', () => {
      session.close();
      resolve(status);
    });
    req.end();
  });
  expect(raw).toBe(16);
  // The acceptor holds the flight token: data sent to it is stored (see the lake check).
  expect(acked.length).toBeGreaterThan(0);
});

test('health and metrics only on SEDIMENT_ADMIN_PORT; the OTLP ports serve none of it, the admin port nothing else', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    expect((await httpRequest(adminPort, path, { method: 'GET' })).status, path).toBe(200);
    expect((await httpRequest(sediment.ports.http, path, { method: 'GET' })).status, path).toBe(
      404,
    );
    expect(
      (
        await httpRequest(sediment.ports.http, path, {
          method: 'GET',
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).status,
    ).toBe(404);
  }
  const metrics = (await httpRequest(adminPort, '/metrics', { method: 'GET' })).body.toString();
  expect(metrics).toContain('sediment_acceptor_requests_total');
  // The admin port takes no OTLP.
  const r = request('traces', 'security-refused');
  const onAdmin = await postOtlp(adminPort, 'traces', r.protobuf, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(onAdmin.status).toBe(404);
  // The gRPC port is HTTP/2 only: an HTTP/1 GET /metrics gets no HTTP answer.
  const onGrpc = await rawHttpExchange(
    sediment.ports.grpc,
    [Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')],
    { timeoutMs: 10_000 },
  );
  expect(onGrpc.responses).toEqual([]);
  expect(onGrpc.closed || onGrpc.garbage).toBe(true);
  // gRPC health checks are not served either.
  const grpcHealth = await new Promise<number | undefined>((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${sediment.ports.grpc}`);
    session.on('error', () => resolve(undefined));
    const req = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: `Bearer ${TOKEN}`,
    });
    let status: number | undefined;
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
    });
    req.on('data', () => {});
    req.on('close', () => {
      session.close();
      resolve(status);
    });
    req.end(Buffer.alloc(5));
  });
  expect(grpcHealth).toBe(12); // UNIMPLEMENTED
});

test('after SIGTERM (exit 0) the lake holds every accepted request exactly once and nothing refused', async () => {
  expect(await sediment.stop()).toBe(0);
  await withLakeDuckDB(
    new LocalFsStore({ root: sediment.dataDir }),
    'lake',
    async (query, tables) => {
      const count = async (sql: string) => Number((await query(sql))[0]!.c);
      const producer = (who: string) => `resource_attributes['sediment.producer'] = '${who}'`;
      for (const who of ['security-refused', 'security-flight']) {
        for (const t of tables)
          expect(
            await count(`SELECT count(*) AS c FROM ${t} WHERE ${producer(who)}`),
            `${who} in ${t}`,
          ).toBe(0);
      }
      // Two rows per request (two spans, two log records, two points of each metric kind).
      const expectRows = (signal: Signal) => acked.filter((a) => a.signal === signal).length * 2;
      expect(
        await count(`SELECT count(*) AS c FROM spans WHERE ${producer('security-accepted')}`),
      ).toBe(expectRows('traces'));
      expect(
        await count(`SELECT count(*) AS c FROM logs WHERE ${producer('security-accepted')}`),
      ).toBe(expectRows('logs'));
      for (const t of ['metrics_gauge', 'metrics_sum', 'metrics_histogram']) {
        expect(
          await count(`SELECT count(*) AS c FROM ${t} WHERE ${producer('security-accepted')}`),
          t,
        ).toBe(expectRows('metrics'));
      }
    },
  );
}, 180_000);
