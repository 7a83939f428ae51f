import { Writable } from 'node:stream';
import { Counter } from 'prom-client';
import { afterEach, expect, test } from 'vitest';
import { type AdminServer, createLogger, createRegistry, startAdminServer } from './index.js';

let server: AdminServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

test('admin routes: healthz, readyz with reason, metrics in Prometheus format', async () => {
  const registry = createRegistry('test');
  const counter = new Counter({ name: 'sediment_test_total', help: 'x', registers: [registry] });
  counter.inc(3);
  let ready = false;
  server = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    ready: () => (ready ? { ready: true } : { ready: false, reason: 'no writer reachable' }),
  });
  const base = `http://127.0.0.1:${server.port}`;
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  const notReady = await fetch(`${base}/readyz`);
  expect(notReady.status).toBe(503);
  expect(await notReady.json()).toEqual({ status: 'not ready', reason: 'no writer reachable' });
  ready = true;
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toContain('sediment_test_total{service="test"} 3');
  expect(metrics).toContain('sediment_process_resident_memory_bytes');
});

test('logger redacts credentials wherever they appear', async () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ name: 't', destination });
  logger.info(
    {
      headers: { authorization: 'Bearer s3cret' },
      token: 's3cret',
      config: { authTokens: ['s3cret'] },
    },
    'hello',
  );
  logger.flush();
  await new Promise((r) => setImmediate(r));
  const text = lines.join('');
  expect(text).toContain('hello');
  expect(text).toContain('[redacted]');
  expect(text).not.toContain('s3cret');
});
