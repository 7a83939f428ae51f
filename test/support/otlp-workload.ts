/**
 * Deterministic OTLP workloads for tests and load generators: requests in the OTLP/JSON
 * shape (send as JSON with `JSON.stringify`, or as protobuf with `encodeRequest`) whose
 * rows carry unique, checkable identities — so a test can verify in DuckDB that every
 * acked record landed exactly once.
 */

/** Seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR_NS = 3_600_000_000_000n;

export interface WorkloadOptions {
  /** Request number: makes every id in the request unique across requests. */
  readonly request: number;
  /** Rows per request (spans, log records, or data points per metric kind). */
  readonly rows: number;
  /** Event time of the first row, ns since the epoch. */
  readonly startNs: bigint;
  /** Spread of event times across rows (e.g. 2 hours to cross partitions). Default 1 s. */
  readonly spreadNs?: bigint;
  readonly service?: string;
  /** Producer label written as an attribute (which client sent it). */
  readonly producer?: string;
}

function hex(n: bigint, bytes: number): string {
  return n.toString(16).padStart(bytes * 2, '0');
}

/** 16-byte trace id and 8-byte span id unique per (request, row). */
export function rowIds(request: number, row: number): { traceId: string; spanId: string } {
  const r = BigInt(request);
  const i = BigInt(row);
  return { traceId: hex((r << 32n) | (i + 1n), 16), spanId: hex((r << 24n) | (i + 1n), 8) };
}

function timeOf(o: WorkloadOptions, row: number): bigint {
  const spread = o.spreadNs ?? 1_000_000_000n;
  return o.rows <= 1 ? o.startNs : o.startNs + (spread * BigInt(row)) / BigInt(o.rows - 1);
}

function resource(o: WorkloadOptions) {
  return {
    attributes: [
      { key: 'service.name', value: { stringValue: o.service ?? 'checkout' } },
      { key: 'host.name', value: { stringValue: 'node-1' } },
      { key: 'sediment.producer', value: { stringValue: o.producer ?? 'test' } },
    ],
  };
}

const scope = { name: 'sediment-workload', version: '1.0.0' };

export function traceRequest(o: WorkloadOptions): object {
  const spans = [];
  for (let i = 0; i < o.rows; i++) {
    const { traceId, spanId } = rowIds(o.request, i);
    const start = timeOf(o, i);
    spans.push({
      traceId,
      spanId,
      name: `GET /items/${i % 7}`,
      kind: 2,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + 1_234_567n).toString(),
      attributes: [
        { key: 'http.method', value: { stringValue: 'GET' } },
        { key: 'http.status_code', value: { intValue: String(200 + (i % 3)) } },
        { key: 'request.number', value: { intValue: String(o.request) } },
      ],
      events: i % 5 === 0 ? [{ timeUnixNano: (start + 1000n).toString(), name: 'cache-miss' }] : [],
      status: { code: i % 11 === 0 ? 2 : 1 },
    });
  }
  return { resourceSpans: [{ resource: resource(o), scopeSpans: [{ scope, spans }] }] };
}

export function logsRequest(o: WorkloadOptions): object {
  const logRecords = [];
  for (let i = 0; i < o.rows; i++) {
    const { traceId, spanId } = rowIds(o.request, i);
    const t = timeOf(o, i).toString();
    logRecords.push({
      timeUnixNano: t,
      observedTimeUnixNano: t,
      severityNumber: 9,
      severityText: 'INFO',
      body: { stringValue: `request ${o.request} line ${i}` },
      attributes: [{ key: 'line', value: { intValue: String(i) } }],
      traceId,
      spanId,
    });
  }
  return { resourceLogs: [{ resource: resource(o), scopeLogs: [{ scope, logRecords }] }] };
}

/** One gauge, one sum and one histogram, each with `rows` data points. */
export function metricsRequest(o: WorkloadOptions): object {
  const points = (make: (i: number, t: string) => object) =>
    Array.from({ length: o.rows }, (_, i) => make(i, timeOf(o, i).toString()));
  const attrs = (i: number) => [
    { key: 'request.number', value: { intValue: String(o.request) } },
    { key: 'point', value: { intValue: String(i) } },
  ];
  return {
    resourceMetrics: [
      {
        resource: resource(o),
        scopeMetrics: [
          {
            scope,
            metrics: [
              {
                name: 'queue.size',
                unit: '1',
                gauge: {
                  dataPoints: points((i, t) => ({
                    timeUnixNano: t,
                    asInt: String(i),
                    attributes: attrs(i),
                  })),
                },
              },
              {
                name: 'requests',
                unit: '1',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: points((i, t) => ({
                    timeUnixNano: t,
                    asDouble: i + 0.5,
                    attributes: attrs(i),
                  })),
                },
              },
              {
                name: 'latency',
                unit: 'ms',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: points((i, t) => ({
                    timeUnixNano: t,
                    count: '3',
                    sum: 30 + i,
                    bucketCounts: ['1', '1', '1'],
                    explicitBounds: [10, 100],
                    attributes: attrs(i),
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

export const HOUR = HOUR_NS;
