/**
 * `sediment start` as a user runs it: with TLS on the OTLP ports (the supervisor's own
 * health probes must cope), and stopped while it is still starting (no restart loop).
 */
import https from 'node:https';
import { afterEach, expect, test } from 'vitest';
import { makeTestPki } from '../services/acceptor/test/tls.js';
import { type SedimentProcess, startSediment } from './support/sediment-process.js';

let running: SedimentProcess | undefined;
afterEach(() => {
  running?.kill();
  running = undefined;
});

function postJson(port: number, ca: Buffer, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/logs',
        method: 'POST',
        ca,
        servername: 'localhost',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('with TLS on the OTLP ports, start becomes ready, serves HTTPS and drains on SIGTERM', async () => {
  const pki = await makeTestPki();
  running = await startSediment(
    { SEDIMENT_TLS_CERT: pki.files.serverCert, SEDIMENT_TLS_KEY: pki.files.serverKey },
    'banner',
  );
  const t = `${Date.now()}000000`;
  const status = await postJson(
    running.ports.http,
    pki.ca,
    JSON.stringify({
      resourceLogs: [
        { scopeLogs: [{ logRecords: [{ timeUnixNano: t, body: { stringValue: 'over tls' } }] }] },
      ],
    }),
  );
  expect(status).toBe(200);
  expect(await running.stop()).toBe(0);
}, 180_000);

test('SIGTERM while still starting stops cleanly, without restarting anything', async () => {
  running = await startSediment({ SEDIMENT_LOG_LEVEL: 'info' }, 'spawned');
  // The supervisor is up and its writer is starting; the acceptor is not there yet.
  await expect
    .poll(() => running!.output(), { timeout: 60_000, interval: 50 })
    .toContain('"name":"writer"');
  expect(running.output()).not.toContain('Sediment is running.');
  const code = await running.stop(60_000);
  expect(code).toBe(0);
  expect(running.output()).not.toMatch(/restarting|exited unexpectedly/);
  // It stopped where it was instead of finishing the start-up first.
  expect(running.output()).toContain('stopping during start-up');
  expect(running.output()).not.toContain('Sediment is running.');
}, 120_000);
