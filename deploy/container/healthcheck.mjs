#!/usr/bin/env node
// Container health check for the Sediment images (Dockerfile HEALTHCHECK, compose
// healthcheck): GET /healthz (or another admin path) of the process in this container,
// exit 0 on 200 and 1 otherwise. Plain Node.js, no dependencies: the slim images have no
// curl. It reads the same environment variables as the process it checks, so a port
// changed through the environment is followed.
//
//   node deploy/container/healthcheck.mjs acceptor|writer [/healthz|/readyz] [--timeout 4s]
import http from 'node:http';
import https from 'node:https';
import { pathToFileURL } from 'node:url';

/** The defaults of the settings below (deploy/test checks them against the code's). */
export const DEFAULTS = Object.freeze({
  SEDIMENT_HTTP_PORT: 4318,
  SEDIMENT_WRITER_ADMIN_PORT: 8816,
});

const ANY_ADDRESS = new Set(['', '0.0.0.0', '::', '[::]']);

function port(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not a port`);
  }
  return n;
}

function loopbackOr(host) {
  if (host === undefined || ANY_ADDRESS.has(host)) return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * Where the admin routes of `role` listen, given the process environment:
 * - writer: http on SEDIMENT_WRITER_ADMIN_PORT (bound to SEDIMENT_FLIGHT_HOST);
 * - acceptor: http on SEDIMENT_ADMIN_PORT when set, else the OTLP/HTTP port
 *   SEDIMENT_HTTP_PORT, which speaks https when SEDIMENT_TLS_CERT is set.
 */
export function healthUrl(role, env, path = '/healthz') {
  if (role === 'writer') {
    const host = loopbackOr(env.SEDIMENT_FLIGHT_HOST);
    const p = port(env, 'SEDIMENT_WRITER_ADMIN_PORT', DEFAULTS.SEDIMENT_WRITER_ADMIN_PORT);
    return `http://${host}:${p}${path}`;
  }
  if (role === 'acceptor') {
    const host = loopbackOr(env.SEDIMENT_HOST);
    const admin = port(env, 'SEDIMENT_ADMIN_PORT', undefined);
    if (admin !== undefined) return `http://${host}:${admin}${path}`;
    const scheme = env.SEDIMENT_TLS_CERT ? 'https' : 'http';
    return `${scheme}://${host}:${port(env, 'SEDIMENT_HTTP_PORT', DEFAULTS.SEDIMENT_HTTP_PORT)}${path}`;
  }
  throw new Error(`unknown role ${JSON.stringify(role)} (acceptor or writer)`);
}

/**
 * One GET; resolves with the status code and the start of the body. TLS certificates are
 * not verified: this checks our own process over loopback, it does not authenticate it.
 */
export function probe(url, timeoutMs) {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        if (body.length < 512) body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.slice(0, 512) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function parseTimeout(raw) {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(raw ?? '');
  if (!m) throw new Error(`--timeout ${JSON.stringify(raw)}: use e.g. 4s or 500ms`);
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}

async function main(argv, env) {
  const args = [...argv];
  let timeoutMs = 4000;
  const t = args.indexOf('--timeout');
  if (t >= 0) {
    timeoutMs = parseTimeout(args[t + 1]);
    args.splice(t, 2);
  }
  const [role, path = '/healthz'] = args;
  if (role === undefined || role === '--help' || role === '-h') {
    console.log(
      'usage: node deploy/container/healthcheck.mjs acceptor|writer [/healthz|/readyz] [--timeout 4s]',
    );
    process.exitCode = role === undefined ? 2 : 0;
    return;
  }
  let url;
  try {
    url = healthUrl(role, env, path);
  } catch (err) {
    console.error(`healthcheck: ${err.message}`);
    process.exitCode = 2;
    return;
  }
  try {
    const { status, body } = await probe(url, timeoutMs);
    if (status === 200) return;
    console.error(`healthcheck: ${url} answered ${status} ${body}`);
  } catch (err) {
    const mtls = role === 'acceptor' && env.SEDIMENT_TLS_CLIENT_CA && !env.SEDIMENT_ADMIN_PORT;
    const hint = mtls ? ' (mTLS is on: set SEDIMENT_ADMIN_PORT for a plain admin port)' : '';
    console.error(`healthcheck: ${url}: ${err.message}${hint}`);
  }
  process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2), process.env);
}
