/**
 * The rest of the HTTP surface: CORS for browser SDKs, 405 / 404, the admin routes on the
 * OTLP/HTTP port or on SEDIMENT_ADMIN_PORT, and the Prometheus metrics — checked against
 * the exact traffic sent.
 */
import { gzipSync } from 'node:zlib';
import { MemoryStore } from '@sediment/object-store';
import type { Writer } from '@sediment/writer';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeRequest } from '../../../test/support/otlp-proto.js';
import { logsRequest, traceRequest } from '../../../test/support/otlp-workload.js';
import type { Acceptor } from '../src/index.js';
import {
  Code,
  GrpcOtlpClient,
  httpRequest,
  metricValue,
  parseJsonStatus,
  postOtlp,
  startAcceptor,
  startWriter,
} from './support.js';

const T0 = 1_714_564_800_000_000_000n;
let n = 1;
const traces = (rows = 3) =>
  encodeRequest('traces', traceRequest({ request: n++, rows, startNs: T0 }));

let writer: Writer;
const cleanup: Array<() => Promise<void> | void> = [];
const writers = () => `127.0.0.1:${writer.flightPort}`;

beforeAll(async () => {
  writer = await startWriter(new MemoryStore());
});

afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await writer?.close();
});

async function acceptorWith(env: Record<string, string>): Promise<Acceptor> {
  const a = await startAcceptor(writers(), env);
  cleanup.push(() => a.close());
  return a;
}

describe('CORS (SEDIMENT_CORS_ORIGINS)', () => {
  test('listed origins: preflight 204 with the allow headers; POST replies carry the origin; others get none', async () => {
    const a = await acceptorWith({
      SEDIMENT_CORS_ORIGINS: 'https://app.example,https://other.example',
    });
    const preflight = await httpRequest(a.httpPort, '/v1/traces', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'content-type,authorization',
      'access-control-max-age': '7200',
      vary: 'Origin',
    });

    const refused = await httpRequest(a.httpPort, '/v1/logs', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();

    const post = await postOtlp(a.httpPort, 'traces', traces(), {
      headers: { origin: 'https://other.example' },
    });
    expect(post.status).toBe(200);
    expect(post.headers).toMatchObject({
      'access-control-allow-origin': 'https://other.example',
      'access-control-expose-headers': 'Retry-After',
      vary: 'Origin',
    });
    // Error replies are readable by the page too.
    const bad = await postOtlp(a.httpPort, 'traces', '{', {
      format: 'json',
      headers: { origin: 'https://app.example' },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers['access-control-allow-origin']).toBe('https://app.example');

    const other = await postOtlp(a.httpPort, 'traces', traces(), {
      headers: { origin: 'https://evil.example' },
    });
    expect(other.status).toBe(200); // CORS is enforced by browsers; the reply just lacks the grant
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('`*` allows any origin; unset means no CORS headers and no preflight route', async () => {
    const any = await acceptorWith({ SEDIMENT_CORS_ORIGINS: '*' });
    const preflight = await httpRequest(any.httpPort, '/v1/metrics', {
      method: 'OPTIONS',
      headers: { origin: 'https://anything.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-headers']).toBe(
      'Content-Type, Content-Encoding, Authorization',
    );
    expect(preflight.headers.vary).toBeUndefined();

    const none = await acceptorWith({});
    const post = await postOtlp(none.httpPort, 'traces', traces(), {
      headers: { origin: 'https://app.example' },
    });
    expect(post.status).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    const options = await httpRequest(none.httpPort, '/v1/traces', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(options.status).toBe(405);
    expect(options.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('routes', () => {
  test('GET (or PUT) on an OTLP path → 405 + Allow: POST; unknown paths → 404; both with a google.rpc.Status', async () => {
    const a = await acceptorWith({});
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await httpRequest(a.httpPort, '/v1/traces', { method });
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('POST');
      expect(parseJsonStatus(r.body.toString()).message).toMatch(/use POST/);
    }
    for (const path of ['/v1/spans', '/', '/v1/traces/extra', '/v2/logs']) {
      const r = await httpRequest(a.httpPort, path, { method: 'POST', body: 'x' });
      expect(r.status).toBe(404);
      expect(parseJsonStatus(r.body.toString()).message).toMatch(/no such endpoint/);
    }
    // A query string does not change the route.
    const q = await postOtlp(a.httpPort, 'traces', traces());
    expect(q.status).toBe(200);
    const withQuery = await httpRequest(a.httpPort, '/v1/traces?x=1', { method: 'GET' });
    expect(withQuery.status).toBe(405);
  });

  test('/healthz, /readyz and /metrics on the OTLP/HTTP port by default', async () => {
    const a = await acceptorWith({});
    expect(a.adminPort).toBe(a.httpPort);
    const health = await httpRequest(a.httpPort, '/healthz', { method: 'GET' });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toEqual({ status: 'ok' });
    const ready = await httpRequest(a.httpPort, '/readyz', { method: 'GET' });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body.toString())).toEqual({ status: 'ready' });
    const metrics = await httpRequest(a.httpPort, '/metrics', { method: 'GET' });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body.toString()).toContain('sediment_acceptor_inflight_bytes');
  });
});

describe('SEDIMENT_ADMIN_PORT and metrics', () => {
  test('admin routes move to their own port; metrics count requests by signal × protocol × status, rows, bytes, latency, in-flight', async () => {
    const a = await acceptorWith({ SEDIMENT_ADMIN_PORT: '0' });
    expect(a.adminPort).not.toBe(a.httpPort);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await httpRequest(a.adminPort, path, { method: 'GET' })).status).toBe(200);
      expect((await httpRequest(a.httpPort, path, { method: 'GET' })).status).toBe(404);
    }

    const grpc = new GrpcOtlpClient(a.grpcPort);
    cleanup.push(() => grpc.close());
    // 2 × traces OK over gRPC (3 + 4 spans)
    expect((await grpc.export('traces', traces(3))).code).toBe(Code.OK);
    expect((await grpc.export('traces', traces(4))).code).toBe(Code.OK);
    // 1 × logs OK over HTTP, gzip on the wire
    const logs = encodeRequest('logs', logsRequest({ request: n++, rows: 5, startNs: T0 }));
    const logsGz = gzipSync(logs);
    expect(
      (await postOtlp(a.httpPort, 'logs', logsGz, { headers: { 'content-encoding': 'gzip' } }))
        .status,
    ).toBe(200);
    // 1 × bad JSON traces over HTTP, 1 × garbage metrics over gRPC, 1 × 415
    expect((await postOtlp(a.httpPort, 'traces', '{', { format: 'json' })).status).toBe(400);
    expect((await grpc.export('metrics', Uint8Array.from([0x0a, 0x7f]))).code).toBe(
      Code.INVALID_ARGUMENT,
    );
    expect(
      (await postOtlp(a.httpPort, 'logs', logs, { headers: { 'content-type': 'text/csv' } }))
        .status,
    ).toBe(415);

    const text = (await httpRequest(a.adminPort, '/metrics', { method: 'GET' })).body.toString();
    const m = (name: string, labels: Record<string, string> = {}) =>
      metricValue(text, name, labels);
    const requests = 'sediment_acceptor_requests_total';
    expect(m(requests, { signal: 'traces', protocol: 'grpc', status: 'OK' })).toBe(2);
    expect(m(requests, { signal: 'logs', protocol: 'http', status: '200' })).toBe(1);
    expect(m(requests, { signal: 'traces', protocol: 'http', status: '400' })).toBe(1);
    expect(m(requests, { signal: 'metrics', protocol: 'grpc', status: 'INVALID_ARGUMENT' })).toBe(
      1,
    );
    expect(m(requests, { signal: 'logs', protocol: 'http', status: '415' })).toBe(1);
    expect(m(requests)).toBe(6);

    expect(m('sediment_acceptor_rows_total', { signal: 'traces' })).toBe(7);
    expect(m('sediment_acceptor_rows_total', { signal: 'logs' })).toBe(5);
    expect(m('sediment_acceptor_received_bytes_total', { signal: 'logs', protocol: 'http' })).toBe(
      logsGz.byteLength,
    );
    expect(m('sediment_acceptor_decoded_bytes_total', { signal: 'logs', protocol: 'http' })).toBe(
      logs.byteLength,
    );
    expect(
      m('sediment_acceptor_request_duration_seconds_count', { signal: 'traces', protocol: 'grpc' }),
    ).toBe(2);
    expect(
      m('sediment_acceptor_request_duration_seconds_bucket', {
        signal: 'traces',
        protocol: 'grpc',
        le: '+Inf',
      }),
    ).toBe(2);
    expect(m('sediment_acceptor_writer_puts_total', { outcome: 'ok' })).toBe(3);
    expect(m('sediment_acceptor_inflight_bytes')).toBe(0);
    // Process metrics come with the registry.
    expect(m('sediment_process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
