#!/usr/bin/env node
// Sample OTLP load for a running Sediment: traces, metrics and logs as OTLP/JSON over
// HTTP, the way an OpenTelemetry SDK exports them (POST /v1/traces, /v1/metrics,
// /v1/logs), retrying 429/502/503/504 and network errors after Retry-After like an SDK
// exporter does. Plain Node.js (fetch), no dependencies: it runs from a checkout and
// from the writer image (the compose stack's `load` service).
//
// Prints one JSON summary line: requests and acked items per signal (items the server
// rejected in partial_success are not counted as acked). Exit code 0 when every request
// was finally acked, 1 otherwise, 2 on bad usage.
//
//   node deploy/load/send-otlp.mjs [--endpoint http://localhost:4318] [--rounds 20]
//     [--interval 500ms] [--batch 50] [--token T] [--retries 10] [--timeout 30s]
//
// --endpoint defaults to $OTEL_EXPORTER_OTLP_ENDPOINT, then http://localhost:4318.
// --rounds 0 sends until SIGTERM/SIGINT. Each round sends one request per signal, each
// with --batch spans, log records and data points per metric type (gauge, sum,
// histogram). Every request has fresh random trace and span ids, so none is a byte-wise
// repeat of another (Sediment drops repeats of an already stored request as retries).
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const USAGE = `usage: node deploy/load/send-otlp.mjs [options]

  --endpoint URL   OTLP/HTTP base URL (default $OTEL_EXPORTER_OTLP_ENDPOINT or http://localhost:4318)
  --rounds N       rounds to send, one request per signal each; 0 = until SIGTERM (default 20)
  --interval D     pause between rounds, e.g. 500ms, 2s (default 500ms)
  --batch N        spans / log records / data points per metric type per request (default 50)
  --token T        send Authorization: Bearer T (for SEDIMENT_AUTH_TOKENS)
  --retries N      retries per request on 429/502/503/504 and network errors (default 10)
  --timeout D      per-attempt timeout (default 30s)`;

const SERVICES = ['checkout', 'cart', 'payments', 'frontend'];
const ROUTES = ['GET /cart', 'POST /checkout', 'GET /product/{id}', 'POST /pay', 'GET /'];
const RETRYABLE = new Set([429, 502, 503, 504]);

/** Parses `500ms`, `2s`, `1m` or plain milliseconds. */
export function parseDuration(raw, name) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(raw ?? ''));
  if (!m) throw new Error(`${name} ${JSON.stringify(raw)}: use e.g. 500ms, 2s, 1m`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

function parseCount(raw, name, min) {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} ${JSON.stringify(raw)}: an integer ≥ ${min}`);
  return n;
}

export function parseArgs(argv, env) {
  const o = {
    endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://localhost:4318',
    rounds: 20,
    intervalMs: 500,
    batch: 50,
    token: undefined,
    retries: 10,
    timeoutMs: 30_000,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--endpoint':
        o.endpoint = value();
        break;
      case '--rounds':
        o.rounds = parseCount(value(), arg, 0);
        break;
      case '--interval':
        o.intervalMs = parseDuration(value(), arg);
        break;
      case '--batch':
        o.batch = parseCount(value(), arg, 1);
        break;
      case '--token':
        o.token = value();
        break;
      case '--retries':
        o.retries = parseCount(value(), arg, 0);
        break;
      case '--timeout':
        o.timeoutMs = parseDuration(value(), arg);
        break;
      case '-h':
      case '--help':
        o.help = true;
        break;
      default:
        throw new Error(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  let url;
  try {
    url = new URL(o.endpoint);
  } catch {
    throw new Error(`--endpoint ${JSON.stringify(o.endpoint)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`--endpoint ${o.endpoint}: http:// or https:// only`);
  }
  o.endpoint = o.endpoint.replace(/\/+$/, '');
  return o;
}

// ---- payloads (OTLP/JSON: ids as hex, 64-bit integers as decimal strings) -------------

const hex = (bytes) => randomBytes(bytes).toString('hex');
const pick = (list, i) => list[i % list.length];
const str = (key, value) => ({ key, value: { stringValue: value } });
const int = (key, value) => ({ key, value: { intValue: String(value) } });
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

function resource(service) {
  return {
    attributes: [
      str('service.name', service),
      str('service.version', '1.4.2'),
      str('deployment.environment.name', 'demo'),
      str('host.name', `${service}-host-${hex(2)}`),
    ],
  };
}

const SCOPE = { name: 'sediment-sample-load', version: '1.0.0' };

/** One request per service, `batch` spans spread over traces of up to 5 spans. */
export function tracesRequest(batch, round) {
  const service = pick(SERVICES, round);
  const end = nowNs();
  const spans = [];
  let traceId = hex(16);
  let rootId;
  for (let i = 0; i < batch; i++) {
    if (i % 5 === 0) {
      traceId = hex(16);
      rootId = undefined;
    }
    const spanId = hex(8);
    const durationNs = BigInt(1_000_000 + ((i * 7919) % 250) * 1_000_000);
    const start = end - durationNs - BigInt(i) * 1_000_000n;
    const failed = i % 17 === 3;
    const route = pick(ROUTES, i + round);
    spans.push({
      traceId,
      spanId,
      ...(rootId ? { parentSpanId: rootId } : {}),
      name: route,
      kind: rootId ? 3 : 2,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + durationNs),
      attributes: [
        str('http.request.method', route.split(' ')[0]),
        str('url.path', route.split(' ')[1]),
        int('http.response.status_code', failed ? 500 : 200),
      ],
      ...(failed
        ? {
            status: { code: 2, message: 'upstream timed out' },
            events: [
              {
                timeUnixNano: String(start + durationNs / 2n),
                name: 'exception',
                attributes: [str('exception.type', 'TimeoutError')],
              },
            ],
          }
        : { status: { code: 1 } }),
    });
    rootId ??= spanId;
  }
  return {
    body: {
      resourceSpans: [{ resource: resource(service), scopeSpans: [{ scope: SCOPE, spans }] }],
    },
    items: spans.length,
  };
}

/** `batch` data points each of a gauge, a monotonic cumulative sum and a histogram. */
export function metricsRequest(batch, round) {
  const service = pick(SERVICES, round);
  const t = nowNs();
  const start = t - 60_000_000_000n;
  const gauge = [];
  const sum = [];
  const histogram = [];
  for (let i = 0; i < batch; i++) {
    const attributes = [str('http.route', pick(ROUTES, i)), int('worker', i % 4)];
    const time = String(t - BigInt(i) * 1_000_000n);
    gauge.push({ timeUnixNano: time, asDouble: 0.25 + ((i * 37 + round) % 70) / 100, attributes });
    sum.push({
      startTimeUnixNano: String(start),
      timeUnixNano: time,
      asInt: String(1000 * (round + 1) + i),
      attributes,
    });
    const counts = [i % 5, (i * 3) % 7, (i * 5) % 11, 1];
    const count = counts.reduce((a, b) => a + b, 0);
    histogram.push({
      startTimeUnixNano: String(start),
      timeUnixNano: time,
      count: String(count),
      sum: count * 0.137,
      min: 0.002,
      max: 2.5,
      bucketCounts: counts.map(String),
      explicitBounds: [0.05, 0.25, 1],
      attributes,
    });
  }
  const metrics = [
    { name: 'process.cpu.utilization', unit: '1', gauge: { dataPoints: gauge } },
    {
      name: 'http.server.requests',
      unit: '{request}',
      sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: sum },
    },
    {
      name: 'http.server.request.duration',
      unit: 's',
      histogram: { aggregationTemporality: 2, dataPoints: histogram },
    },
  ];
  return {
    body: {
      resourceMetrics: [{ resource: resource(service), scopeMetrics: [{ scope: SCOPE, metrics }] }],
    },
    items: 3 * batch,
  };
}

const SEVERITIES = [
  [9, 'INFO'],
  [9, 'INFO'],
  [5, 'DEBUG'],
  [13, 'WARN'],
  [17, 'ERROR'],
];

/** `batch` log records, some correlated with a trace. */
export function logsRequest(batch, round) {
  const service = pick(SERVICES, round);
  const t = nowNs();
  const logRecords = [];
  for (let i = 0; i < batch; i++) {
    const [severityNumber, severityText] = pick(SEVERITIES, i + round);
    const time = String(t - BigInt(i) * 1_000_000n);
    logRecords.push({
      timeUnixNano: time,
      observedTimeUnixNano: time,
      severityNumber,
      severityText,
      body: {
        stringValue: `${severityText.toLowerCase()}: handled ${pick(ROUTES, i)} (#${round}.${i}) ✓`,
      },
      attributes: [str('code.function', 'handleRequest'), int('attempt', 1 + (i % 3))],
      ...(i % 2 === 0 ? { traceId: hex(16), spanId: hex(8) } : {}),
    });
  }
  return {
    body: {
      resourceLogs: [{ resource: resource(service), scopeLogs: [{ scope: SCOPE, logRecords }] }],
    },
    items: logRecords.length,
  };
}

// ---- sending -------------------------------------------------------------------------

const SIGNALS = [
  { signal: 'traces', path: '/v1/traces', build: tracesRequest, rejectedField: 'rejectedSpans' },
  {
    signal: 'metrics',
    path: '/v1/metrics',
    build: metricsRequest,
    rejectedField: 'rejectedDataPoints',
  },
  { signal: 'logs', path: '/v1/logs', build: logsRequest, rejectedField: 'rejectedLogRecords' },
];

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

function retryDelayMs(res, attempt) {
  const header = res?.headers.get('retry-after');
  const seconds = header === null || header === undefined ? Number.NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 30_000);
  return Math.min(250 * 2 ** attempt, 5000);
}

/**
 * POSTs one OTLP/JSON body, retrying what an OTLP exporter retries. Resolves with
 * `{ ok, status, rejected, attempts, error? }`; never rejects.
 */
export async function send(url, body, o, field, stop) {
  const payload = JSON.stringify(body);
  const headers = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let last = { ok: false, status: 0, rejected: 0, attempts: 0, error: 'not sent' };
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers,
        body: payload,
        signal: AbortSignal.timeout(o.timeoutMs),
      });
      const text = await res.text();
      if (res.ok) {
        let rejected = 0;
        try {
          rejected = Number(JSON.parse(text || '{}').partialSuccess?.[field] ?? 0);
        } catch {
          return {
            ok: false,
            status: res.status,
            rejected: 0,
            attempts: attempt + 1,
            error: `unparsable reply ${text.slice(0, 200)}`,
          };
        }
        return { ok: true, status: res.status, rejected, attempts: attempt + 1 };
      }
      last = {
        ok: false,
        status: res.status,
        rejected: 0,
        attempts: attempt + 1,
        error: text.slice(0, 300),
      };
      if (!RETRYABLE.has(res.status)) return last;
    } catch (err) {
      last = {
        ok: false,
        status: 0,
        rejected: 0,
        attempts: attempt + 1,
        error: String(err?.cause?.code ?? err?.message ?? err),
      };
    }
    if (attempt < o.retries && !stop?.aborted) await sleep(retryDelayMs(res, attempt), stop);
    if (stop?.aborted) break;
  }
  return last;
}

/** Runs the load; resolves with the summary printed by the command. */
export async function run(o, { stop, log = () => {} } = {}) {
  const summary = { endpoint: o.endpoint, rounds: 0 };
  for (const s of SIGNALS)
    summary[s.signal] = { requests: 0, ok: 0, failed: 0, acked: 0, rejected: 0 };
  const started = Date.now();
  for (let round = 0; o.rounds === 0 || round < o.rounds; round++) {
    if (stop?.aborted) break;
    for (const s of SIGNALS) {
      const { body, items } = s.build(o.batch, round);
      const r = await send(`${o.endpoint}${s.path}`, body, o, s.rejectedField, stop);
      const counts = summary[s.signal];
      counts.requests++;
      if (r.ok) {
        counts.ok++;
        counts.acked += items - r.rejected;
        counts.rejected += r.rejected;
      } else {
        counts.failed++;
        log(
          `${s.signal}: request failed after ${r.attempts} attempt(s): ${r.status || ''} ${r.error ?? ''}`.trim(),
        );
      }
    }
    summary.rounds = round + 1;
    if ((round + 1) % 10 === 0) log(`round ${round + 1} sent`);
    if (o.rounds === 0 || round + 1 < o.rounds) await sleep(o.intervalMs, stop);
  }
  summary.seconds = Math.round((Date.now() - started) / 100) / 10;
  summary.ok = SIGNALS.every((s) => summary[s.signal].failed === 0);
  return summary;
}

async function main(argv, env) {
  let o;
  try {
    o = parseArgs(argv, env);
  } catch (err) {
    console.error(`send-otlp: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (o.help) {
    console.log(USAGE);
    return;
  }
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => stop.abort());
  const log = (msg) => console.error(`send-otlp: ${msg}`);
  log(`sending to ${o.endpoint}: ${o.rounds || 'unlimited'} round(s) of traces, metrics and logs`);
  const summary = await run(o, { stop: stop.signal, log });
  console.log(JSON.stringify(summary));
  process.exitCode = summary.ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2), process.env);
}
