/**
 * The two scripts the images carry: the health check (its defaults against the code's,
 * its answers against a real admin server) and the sample load (options, retries of
 * what OTLP exporters retry, partial_success accounting) against real HTTP servers.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createRegistry, startAdminServer } from '@sediment/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS, healthUrl } from '../container/healthcheck.mjs';
import {
  logsRequest,
  metricsRequest,
  parseArgs,
  run,
  send,
  tracesRequest,
} from '../load/send-otlp.mjs';
import { REPO, SETTINGS } from './support/repo.js';

const HEALTHCHECK = path.join(REPO, 'deploy/container/healthcheck.mjs');
const LOAD = path.join(REPO, 'deploy/load/send-otlp.mjs');

function runNode(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

describe('deploy/container/healthcheck.mjs', () => {
  it('defaults to the ports the code defaults to', () => {
    for (const [env, port] of Object.entries(DEFAULTS))
      expect(SETTINGS.get(env)?.default, env).toBe(port);
    expect(healthUrl('writer', {})).toBe(
      `http://127.0.0.1:${SETTINGS.get('SEDIMENT_WRITER_ADMIN_PORT')!.default}/healthz`,
    );
    expect(healthUrl('acceptor', {})).toBe(
      `http://127.0.0.1:${SETTINGS.get('SEDIMENT_HTTP_PORT')!.default}/healthz`,
    );
    // Admin routes stay on the OTLP/HTTP port unless SEDIMENT_ADMIN_PORT is set (no default).
    expect(SETTINGS.get('SEDIMENT_ADMIN_PORT')!.default).toBeUndefined();
  });

  it('follows the variables the process reads', () => {
    expect(healthUrl('writer', { SEDIMENT_WRITER_ADMIN_PORT: '9100' }, '/readyz')).toBe(
      'http://127.0.0.1:9100/readyz',
    );
    expect(
      healthUrl('writer', { SEDIMENT_FLIGHT_HOST: '10.1.2.3', SEDIMENT_WRITER_ADMIN_PORT: '' }),
    ).toBe('http://10.1.2.3:8816/healthz');
    expect(healthUrl('acceptor', { SEDIMENT_HTTP_PORT: '14318' })).toBe(
      'http://127.0.0.1:14318/healthz',
    );
    expect(
      healthUrl('acceptor', { SEDIMENT_HTTP_PORT: '14318', SEDIMENT_TLS_CERT: '/c.pem' }),
    ).toBe('https://127.0.0.1:14318/healthz');
    expect(
      healthUrl('acceptor', { SEDIMENT_ADMIN_PORT: '8816', SEDIMENT_TLS_CERT: '/c.pem' }),
    ).toBe('http://127.0.0.1:8816/healthz');
    expect(healthUrl('acceptor', { SEDIMENT_HOST: '::1', SEDIMENT_ADMIN_PORT: '8816' })).toBe(
      'http://[::1]:8816/healthz',
    );
    expect(() => healthUrl('writer', { SEDIMENT_WRITER_ADMIN_PORT: 'eighty' })).toThrow(
      /not a port/,
    );
    expect(() => healthUrl('collector', {})).toThrow(/unknown role/);
  });

  it('exits 0 while a real admin server is live, 1 when it is not or nothing listens', async () => {
    let live = true;
    const registry = createRegistry('probe');
    const admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      live: () => live,
      ready: () => ({ ready: false, reason: 'testing' }),
    });
    closers.push(() => admin.close());
    const env = { SEDIMENT_WRITER_ADMIN_PORT: String(admin.port) };
    expect((await runNode([HEALTHCHECK, 'writer'], env)).code).toBe(0);
    const notReady = await runNode([HEALTHCHECK, 'writer', '/readyz'], env);
    expect(notReady.code).toBe(1);
    expect(notReady.out).toContain('503');
    live = false;
    expect((await runNode([HEALTHCHECK, 'writer'], env)).code).toBe(1);
    await admin.close();
    const refused = await runNode([HEALTHCHECK, 'writer'], env);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/ECONNREFUSED/);
    expect((await runNode([HEALTHCHECK], {})).code).toBe(2);
  });
});

/** A real HTTP server answering each request with the next of `replies`. */
async function otlpServer(
  replies: { status: number; body?: string; headers?: Record<string, string> }[],
) {
  const seen: { url: string; body: string; auth?: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      seen.push({
        url: req.url ?? '',
        body,
        ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
      });
      const r = replies[Math.min(seen.length - 1, replies.length - 1)]!;
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(r.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('deploy/load/send-otlp.mjs', () => {
  const opts = (endpoint: string, extra: Record<string, unknown> = {}) => ({
    ...parseArgs(['--endpoint', endpoint, '--retries', '3', '--timeout', '5s'], {}),
    ...extra,
  });

  it('takes the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT, later flags winning', () => {
    expect(parseArgs([], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://acceptor:4318/' }).endpoint).toBe(
      'http://acceptor:4318',
    );
    expect(parseArgs([], {}).endpoint).toBe('http://localhost:4318');
    expect(parseArgs(['--rounds', '60', '--rounds', '4'], {}).rounds).toBe(4);
    expect(parseArgs(['--interval', '2s'], {}).intervalMs).toBe(2000);
    expect(() => parseArgs(['--endpoint', 'grpc://x:4317'], {})).toThrow(/http/);
    expect(() => parseArgs(['--batch', '0'], {})).toThrow(/--batch/);
    expect(() => parseArgs(['--bogus'], {})).toThrow(/unknown option/);
  });

  it('exits 2 on bad options and 0 on --help', async () => {
    expect((await runNode([LOAD, '--rounds', 'x'], {})).code).toBe(2);
    const help = await runNode([LOAD, '--help'], {});
    expect(help.code).toBe(0);
    expect(help.out).toContain('--endpoint');
  });

  it('retries 503 after Retry-After like an OTLP exporter, and does not retry 400', async () => {
    const server = await otlpServer([
      { status: 503, headers: { 'retry-after': '0' } },
      { status: 503, headers: { 'retry-after': '0' } },
      { status: 200 },
    ]);
    const ok = await send(
      `${server.url}/v1/traces`,
      { resourceSpans: [] },
      opts(server.url),
      'rejectedSpans',
    );
    expect(ok).toMatchObject({ ok: true, status: 200, attempts: 3 });
    expect(server.seen).toHaveLength(3);

    const bad = await otlpServer([{ status: 400, body: '{"code":3,"message":"bad"}' }]);
    const r = await send(`${bad.url}/v1/traces`, {}, opts(bad.url), 'rejectedSpans');
    expect(r).toMatchObject({ ok: false, status: 400, attempts: 1 });
    expect(bad.seen).toHaveLength(1);
  });

  it('counts partial_success rejections out of the acked items and sends the bearer token', async () => {
    const server = await otlpServer([
      { status: 200, body: '{"partialSuccess":{"rejectedLogRecords":"2"}}' },
    ]);
    const r = await send(
      `${server.url}/v1/logs`,
      {},
      opts(server.url, { token: 't0k' }),
      'rejectedLogRecords',
    );
    expect(r).toMatchObject({ ok: true, rejected: 2 });
    expect(server.seen[0]!.auth).toBe('Bearer t0k');
  });

  it('summarises rounds: requests per signal, acked = sent − rejected, failures make it not ok', async () => {
    const server = await otlpServer([
      { status: 200, body: '{"partialSuccess":{"rejectedSpans":"1"}}' },
    ]);
    const summary = await run(opts(server.url, { rounds: 2, intervalMs: 0, batch: 4 }));
    expect(summary.rounds).toBe(2);
    expect(summary.traces).toEqual({ requests: 2, ok: 2, failed: 0, acked: 6, rejected: 2 });
    expect(summary.metrics).toMatchObject({ requests: 2, ok: 2, acked: 24 });
    expect(summary.logs).toMatchObject({ requests: 2, ok: 2, acked: 8 });
    expect(summary.ok).toBe(true);
    expect(server.seen.map((s) => s.url)).toEqual([
      '/v1/traces',
      '/v1/metrics',
      '/v1/logs',
      '/v1/traces',
      '/v1/metrics',
      '/v1/logs',
    ]);

    const down = await otlpServer([{ status: 415 }]);
    const failed = await run(opts(down.url, { rounds: 1, intervalMs: 0, batch: 1 }));
    expect(failed.ok).toBe(false);
    expect(failed.traces).toMatchObject({ requests: 1, ok: 0, failed: 1, acked: 0 });
  });

  it('builds OTLP/JSON with the advertised item counts and fresh ids per request', () => {
    const a = tracesRequest(12, 0);
    const b = tracesRequest(12, 0);
    expect(a.items).toBe(12);
    const spans = a.body.resourceSpans[0].scopeSpans[0].spans;
    expect(spans).toHaveLength(12);
    for (const s of spans) {
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)).toBe(true);
    }
    expect(JSON.stringify(a.body)).not.toBe(JSON.stringify(b.body));
    const m = metricsRequest(7, 1);
    expect(m.items).toBe(21);
    const metrics = m.body.resourceMetrics[0].scopeMetrics[0].metrics;
    expect(
      metrics.map((x: { gauge?: unknown; sum?: unknown; histogram?: unknown }) =>
        Object.keys(x).find((k) => ['gauge', 'sum', 'histogram'].includes(k)),
      ),
    ).toEqual(['gauge', 'sum', 'histogram']);
    for (const p of metrics[2].histogram.dataPoints) {
      expect(p.bucketCounts).toHaveLength(p.explicitBounds.length + 1);
      expect(p.bucketCounts.reduce((x: number, y: string) => x + Number(y), 0)).toBe(
        Number(p.count),
      );
    }
    const l = logsRequest(5, 2);
    expect(l.items).toBe(5);
    expect(l.body.resourceLogs[0].scopeLogs[0].logRecords).toHaveLength(5);
  });
});
