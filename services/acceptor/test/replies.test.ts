/**
 * SPEC §7, row by row, on both OTLP ports: the exact gRPC status / HTTP status, and a body
 * a client can decode (Export…Response with partial_success, google.rpc.Status with
 * RetryInfo). Real writer, real acceptor, raw grpc-js and node:http clients.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { FaultInjectingStore } from '@sediment/object-store';
import type { Writer } from '@sediment/writer';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { withLakeDuckDB } from '../../../test/support/lake-duckdb.js';
import { encodeRequest, type Signal } from '../../../test/support/otlp-proto.js';
import {
  logsRequest,
  metricsRequest,
  rowIds,
  traceRequest,
} from '../../../test/support/otlp-workload.js';
import type { Acceptor } from '../src/index.js';
import {
  Code,
  decodeExportResponse,
  decodeStatus,
  freePort,
  GRPC_PATHS,
  GrpcOtlpClient,
  type HttpReply,
  httpRequest,
  metricValue,
  parseJsonStatus,
  postOtlp,
  rawGrpcCall,
  removeTempDirs,
  startAcceptor,
  startWriter,
  tempStore,
  waitFor,
} from './support.js';

const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

// 2024-05-01T12:00:00Z
const T0 = 1_714_564_800_000_000_000n;
const BUILDERS = { traces: traceRequest, metrics: metricsRequest, logs: logsRequest } as const;
const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

/** Rows each request number contributes, per table, on the main writer. */
const landed = new Map<number, { signal: Signal; rows: number }>();
let nextRequest = 1;

/** A fresh request (unique ids) in both encodings. */
function request(signal: Signal, rows = 3): { n: number; json: string; protobuf: Uint8Array } {
  const n = nextRequest++;
  const obj = BUILDERS[signal]({ request: n, rows, startNs: T0 });
  return { n, json: JSON.stringify(obj), protobuf: encodeRequest(signal, obj) };
}

let store: Awaited<ReturnType<typeof tempStore>>;
let writer: Writer;
let acceptor: Acceptor;
let grpc: GrpcOtlpClient;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  store = await tempStore();
  writer = await startWriter(store, { SEDIMENT_MAX_FILE_AGE: '1h' });
  acceptor = await startAcceptor(`127.0.0.1:${writer.flightPort}`, {
    SEDIMENT_RETRY_AFTER: '2500',
  });
  grpc = new GrpcOtlpClient(acceptor.grpcPort);
});

afterAll(async () => {
  grpc.close();
  for (const fn of cleanup.reverse()) await fn();
  await acceptor.close();
  await writer.close();
  await removeTempDirs();
});

function expectHttpStatusBody(
  reply: HttpReply,
  status: number,
  format: 'protobuf' | 'json',
  code: number,
) {
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toMatch(
    format === 'json' ? /^application\/json/ : /^application\/x-protobuf/,
  );
  const decoded =
    format === 'json' ? parseJsonStatus(reply.body.toString('utf8')) : decodeStatus(reply.body);
  expect(decoded.code).toBe(code);
  expect(decoded.message.length).toBeGreaterThan(0);
  return decoded;
}

describe('SPEC §7 replies', () => {
  test.each(SIGNALS)(
    'accepted and durable (%s): gRPC OK + empty Export…Response; HTTP 200 in the request encoding',
    async (signal) => {
      const a = request(signal);
      const viaGrpc = await grpc.export(signal, a.protobuf);
      expect(viaGrpc.code).toBe(Code.OK);
      expect(decodeExportResponse(signal, viaGrpc.response!)).toEqual({});
      landed.set(a.n, { signal, rows: 3 });

      const b = request(signal);
      const proto = await postOtlp(acceptor.httpPort, signal, b.protobuf);
      expect(proto.status).toBe(200);
      expect(proto.headers['content-type']).toMatch(/^application\/x-protobuf/);
      expect(decodeExportResponse(signal, proto.body)).toEqual({});
      landed.set(b.n, { signal, rows: 3 });

      const c = request(signal);
      const json = await postOtlp(acceptor.httpPort, signal, c.json, { format: 'json' });
      expect(json.status).toBe(200);
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(json.body.toString())).toEqual({});
      landed.set(c.n, { signal, rows: 3 });

      // Compressed bodies are accepted in every encoding HTTP clients use.
      for (const [encoding, compress] of [
        ['gzip', gzip],
        ['deflate', deflate],
        ['zstd', zstdCompress],
      ] as const) {
        const d = request(signal);
        const reply = await postOtlp(acceptor.httpPort, signal, await compress(d.protobuf), {
          headers: { 'content-encoding': encoding },
        });
        expect({ encoding, status: reply.status }).toEqual({ encoding, status: 200 });
        landed.set(d.n, { signal, rows: 3 });
      }
    },
  );

  test('some items invalid: OK / 200 with partial_success (rejected count + message), valid items kept', async () => {
    // traces: one span with an 8-byte trace id among two valid ones
    const tracesPartial = (format: 'protobuf' | 'json') => {
      const n = nextRequest++;
      const obj = traceRequest({ request: n, rows: 3, startNs: T0 }) as {
        resourceSpans: { scopeSpans: { spans: { traceId: string }[] }[] }[];
      };
      obj.resourceSpans[0]!.scopeSpans[0]!.spans[1]!.traceId = '0102030405060708';
      landed.set(n, { signal: 'traces', rows: 2 });
      return format === 'json' ? JSON.stringify(obj) : encodeRequest('traces', obj);
    };
    // logs: a 4-byte span id
    const logsPartial = (format: 'protobuf' | 'json') => {
      const n = nextRequest++;
      const obj = logsRequest({ request: n, rows: 3, startNs: T0 }) as {
        resourceLogs: { scopeLogs: { logRecords: { spanId: string }[] }[] }[];
      };
      obj.resourceLogs[0]!.scopeLogs[0]!.logRecords[2]!.spanId = 'abcdef01';
      landed.set(n, { signal: 'logs', rows: 2 });
      return format === 'json' ? JSON.stringify(obj) : encodeRequest('logs', obj);
    };
    // metrics: a histogram point whose bucket_counts does not match explicit_bounds + 1
    const metricsPartial = (format: 'protobuf' | 'json') => {
      const n = nextRequest++;
      const obj = metricsRequest({ request: n, rows: 3, startNs: T0 }) as {
        resourceMetrics: {
          scopeMetrics: {
            metrics: { histogram?: { dataPoints: { bucketCounts: string[] }[] } }[];
          }[];
        }[];
      };
      const hist = obj.resourceMetrics[0]!.scopeMetrics[0]!.metrics[2]!.histogram!;
      hist.dataPoints[0]!.bucketCounts = ['1', '2'];
      landed.set(n, { signal: 'metrics', rows: 8 });
      return format === 'json' ? JSON.stringify(obj) : encodeRequest('metrics', obj);
    };
    const cases = [
      { signal: 'traces', make: tracesPartial, field: 'rejectedSpans', why: /trace_id/ },
      { signal: 'logs', make: logsPartial, field: 'rejectedLogRecords', why: /span_id/ },
      { signal: 'metrics', make: metricsPartial, field: 'rejectedDataPoints', why: /bucket/ },
    ] as const;
    for (const { signal, make, field, why } of cases) {
      const viaGrpc = await grpc.export(signal, make('protobuf') as Uint8Array);
      expect(viaGrpc.code).toBe(Code.OK);
      const grpcBody = decodeExportResponse(signal, viaGrpc.response!) as {
        partialSuccess: Record<string, string>;
      };
      expect(grpcBody.partialSuccess[field]).toBe('1');
      expect(grpcBody.partialSuccess.errorMessage).toMatch(why);

      const proto = await postOtlp(acceptor.httpPort, signal, make('protobuf'));
      expect(proto.status).toBe(200);
      const protoBody = decodeExportResponse(signal, proto.body) as {
        partialSuccess: Record<string, string>;
      };
      expect(protoBody.partialSuccess[field]).toBe('1');
      expect(protoBody.partialSuccess.errorMessage).toMatch(why);

      const json = await postOtlp(acceptor.httpPort, signal, make('json'), { format: 'json' });
      expect(json.status).toBe(200);
      const jsonBody = JSON.parse(json.body.toString()) as {
        partialSuccess: Record<string, string>;
      };
      expect(jsonBody.partialSuccess[field]).toBe('1');
      expect(jsonBody.partialSuccess.errorMessage).toMatch(why);
    }
    const metrics = await acceptor.registry.metrics();
    expect(
      metricValue(metrics, 'sediment_acceptor_rejected_items_total', { signal: 'traces' }),
    ).toBe(3);
  });

  test('undecodable protobuf / bad JSON: INVALID_ARGUMENT / 400 + google.rpc.Status', async () => {
    // A length-delimited field whose length runs past the end of the message.
    const garbage = Uint8Array.from([0x0a, 0x7f, 0x0a, 0x02, 0x01]);
    for (const signal of SIGNALS) {
      const viaGrpc = await grpc.export(signal, garbage);
      expect(viaGrpc.code).toBe(Code.INVALID_ARGUMENT);
      expect(viaGrpc.status).toMatchObject({ code: Code.INVALID_ARGUMENT });
      expect(viaGrpc.status!.retryDelayMs).toBeUndefined();

      const proto = await postOtlp(acceptor.httpPort, signal, garbage);
      const s1 = expectHttpStatusBody(proto, 400, 'protobuf', Code.INVALID_ARGUMENT);
      expect(proto.headers['retry-after']).toBeUndefined();
      expect(s1.retryDelayMs).toBeUndefined();

      const json = await postOtlp(acceptor.httpPort, signal, '{"resource', { format: 'json' });
      expectHttpStatusBody(json, 400, 'json', Code.INVALID_ARGUMENT);

      // Valid JSON of the wrong shape is as undecodable as broken JSON.
      const shape = await postOtlp(acceptor.httpPort, signal, '[1,2,3]', { format: 'json' });
      expectHttpStatusBody(shape, 400, 'json', Code.INVALID_ARGUMENT);

      // A body that claims gzip but is not.
      const corrupt = await postOtlp(acceptor.httpPort, signal, Buffer.from('not gzip at all'), {
        headers: { 'content-encoding': 'gzip' },
      });
      expectHttpStatusBody(corrupt, 400, 'protobuf', Code.INVALID_ARGUMENT);
    }
    // gRPC with corrupt compressed messages: the acceptor decompresses gRPC messages
    // itself (not grpc-js, which would answer INTERNAL), so they are INVALID_ARGUMENT too,
    // with a google.rpc.Status in grpc-status-details-bin.
    const valid = request('traces').protobuf;
    for (const [encoding, bytes] of [
      ['gzip', Buffer.from('not gzip at all')],
      ['gzip', (await gzip(valid)).subarray(0, 40)],
      ['deflate', Buffer.from([1, 2, 3, 4, 5])],
      ['zstd', Buffer.from('not zstd')],
    ] as const) {
      const corrupt = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.traces, bytes, {
        encoding,
        compressed: true,
      });
      expect(corrupt.grpcStatus, encoding).toBe(Code.INVALID_ARGUMENT);
      expect(corrupt.grpcMessage).toMatch(new RegExp(`corrupt ${encoding}`));
    }
    // The Compressed-Flag set on a call without grpc-encoding: undecodable as sent.
    const flagged = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.traces, valid, {
      compressed: true,
    });
    expect(flagged.grpcStatus).toBe(Code.INVALID_ARGUMENT);
    expect(flagged.grpcMessage).toMatch(/Compressed-Flag/);
  });

  test('body over the limit, on the wire and after decompression: RESOURCE_EXHAUSTED (no RetryInfo) / 413', async () => {
    const limit = 64 * 1024;
    const small = await startAcceptor(`127.0.0.1:${writer.flightPort}`, {
      SEDIMENT_MAX_REQUEST_SIZE: String(limit),
    });
    cleanup.push(() => small.close());
    const big = encodeRequest(
      'traces',
      traceRequest({ request: 999_999, rows: 1500, startNs: T0 }),
    );
    expect(big.byteLength).toBeGreaterThan(limit);
    const bigGzip = await gzip(big);
    expect(bigGzip.byteLength).toBeLessThan(limit); // small on the wire, large inflated

    // HTTP: Content-Length over the limit (refused before reading).
    const declared = await postOtlp(small.httpPort, 'traces', big);
    expectHttpStatusBody(declared, 413, 'protobuf', Code.RESOURCE_EXHAUSTED);
    expect(declared.headers['retry-after']).toBeUndefined();
    // HTTP: chunked, no Content-Length (counted while reading).
    const chunked = await postOtlp(small.httpPort, 'traces', big, {
      headers: { 'transfer-encoding': 'chunked' },
    });
    expectHttpStatusBody(chunked, 413, 'protobuf', Code.RESOURCE_EXHAUSTED);
    // HTTP: under the limit compressed, over it decompressed — every encoding.
    for (const [encoding, bytes] of [
      ['gzip', bigGzip],
      ['deflate', await deflate(big)],
      ['zstd', await zstdCompress(big)],
    ] as const) {
      expect(bytes.byteLength).toBeLessThan(limit);
      const reply = await postOtlp(small.httpPort, 'traces', bytes, {
        headers: { 'content-encoding': encoding },
      });
      const status = expectHttpStatusBody(reply, 413, 'protobuf', Code.RESOURCE_EXHAUSTED);
      expect(status.message).toMatch(/inflates past the limit/);
      expect(reply.headers['retry-after']).toBeUndefined();
    }
    // JSON requests get their error in JSON.
    const jsonBig = JSON.stringify(traceRequest({ request: 999_998, rows: 600, startNs: T0 }));
    expectHttpStatusBody(
      await postOtlp(small.httpPort, 'traces', jsonBig, { format: 'json' }),
      413,
      'json',
      Code.RESOURCE_EXHAUSTED,
    );

    // gRPC: a message over the limit …
    const smallGrpc = new GrpcOtlpClient(small.grpcPort);
    cleanup.push(() => smallGrpc.close());
    const plain = await smallGrpc.export('traces', big);
    expect(plain.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(plain.status?.retryDelayMs).toBeUndefined();
    // … and one compressed by the client (grpc-encoding: gzip) that inflates past it:
    // the acceptor checks the size while decompressing.
    const gzipGrpc = new GrpcOtlpClient(small.grpcPort, {
      channelOptions: { 'grpc.default_compression_algorithm': 2 },
    });
    cleanup.push(() => gzipGrpc.close());
    const compressed = await gzipGrpc.export('traces', big);
    expect(compressed.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(compressed.details).toMatch(/gzip body inflates past the limit of 65536/);
    expect(compressed.status?.retryDelayMs).toBeUndefined();
    // The same with zstd and deflate framed by hand (grpc-js clients cannot send zstd).
    for (const [encoding, bytes] of [
      ['zstd', await zstdCompress(big)],
      ['deflate', await deflate(big)],
    ] as const) {
      const r = await rawGrpcCall(small.grpcPort, GRPC_PATHS.traces, bytes, {
        encoding,
        compressed: true,
      });
      expect(r.grpcStatus, encoding).toBe(Code.RESOURCE_EXHAUSTED);
      expect(r.grpcMessage).toMatch(/inflates past the limit of 65536/);
    }
    // A compressed request under the limit goes through.
    const ok = request('traces');
    expect((await gzipGrpc.export('traces', ok.protobuf)).code).toBe(Code.OK);
    landed.set(ok.n, { signal: 'traces', rows: 3 });

    // The acceptor is still healthy after all that.
    const after = request('logs');
    expect((await postOtlp(small.httpPort, 'logs', after.protobuf)).status).toBe(200);
    landed.set(after.n, { signal: 'logs', rows: 3 });
  });

  test('unsupported content type / encoding: 415; gRPC unknown grpc-encoding: UNIMPLEMENTED', async () => {
    const body = request('traces').protobuf;
    const text = await postOtlp(acceptor.httpPort, 'traces', body, {
      headers: { 'content-type': 'text/plain' },
    });
    const s = expectHttpStatusBody(text, 415, 'json', Code.UNIMPLEMENTED);
    expect(s.message).toMatch(/Content-Type/);
    // Empty, malformed or missing Content-Type: fastify refuses the first two itself; all
    // three still get a google.rpc.Status body.
    for (const contentType of ['', 'garbage', 'application/x-www-form-urlencoded']) {
      const reply = await postOtlp(acceptor.httpPort, 'traces', body, {
        headers: { 'content-type': contentType },
      });
      expectHttpStatusBody(reply, 415, 'json', Code.UNIMPLEMENTED);
    }
    const missing = await httpRequest(acceptor.httpPort, '/v1/traces', { body });
    expectHttpStatusBody(missing, 415, 'json', Code.UNIMPLEMENTED);

    const br = await postOtlp(acceptor.httpPort, 'traces', body, {
      headers: { 'content-encoding': 'br' },
    });
    const sb = expectHttpStatusBody(br, 415, 'protobuf', Code.UNIMPLEMENTED);
    expect(sb.message).toMatch(/Content-Encoding "br"/);
    const stacked = await postOtlp(acceptor.httpPort, 'traces', body, {
      format: 'json',
      headers: { 'content-encoding': 'gzip, zstd' },
    });
    expectHttpStatusBody(stacked, 415, 'json', Code.UNIMPLEMENTED);

    // An unknown grpc-encoding on a compressed message: UNIMPLEMENTED, naming the ones
    // supported (also in grpc-accept-encoding, as the gRPC compression spec asks).
    const snappy = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.traces, body, {
      encoding: 'snappy',
      compressed: true,
    });
    expect(snappy.httpStatus).toBe(200);
    expect(snappy.grpcStatus).toBe(Code.UNIMPLEMENTED);
    expect(snappy.grpcMessage).toMatch(/unsupported encoding "snappy"/);
    expect(snappy.headers?.['grpc-accept-encoding']).toBe('identity,gzip,deflate,zstd');
    // Every supported encoding works on gRPC, including zstd (the Collector can send it).
    for (const [encoding, compress] of [
      ['gzip', gzip],
      ['deflate', deflate],
      ['zstd', zstdCompress],
    ] as const) {
      const r = request('traces');
      const sent = await rawGrpcCall(
        acceptor.grpcPort,
        GRPC_PATHS.traces,
        await compress(r.protobuf),
        { encoding, compressed: true },
      );
      expect(sent.grpcStatus, encoding).toBe(Code.OK);
      landed.set(r.n, { signal: 'traces', rows: 3 });
    }
    // An unknown encoding named but the message not flagged compressed is fine (the flag
    // decides), as the gRPC spec says.
    const unflagged = request('traces');
    const ok = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.traces, unflagged.protobuf, {
      encoding: 'snappy',
      compressed: false,
    });
    expect(ok.grpcStatus).toBe(Code.OK);
    landed.set(unflagged.n, { signal: 'traces', rows: 3 });
  });

  test('writer down: UNAVAILABLE + RetryInfo / 503 + Retry-After, never 500', async () => {
    const nowhere = await freePort();
    const orphan = await startAcceptor(`127.0.0.1:${nowhere}`, { SEDIMENT_RETRY_AFTER: '2500' });
    cleanup.push(() => orphan.close());
    const client = new GrpcOtlpClient(orphan.grpcPort);
    cleanup.push(() => client.close());
    for (const signal of SIGNALS) {
      const body = request(signal);
      const viaGrpc = await client.export(signal, body.protobuf);
      expect(viaGrpc.code).toBe(Code.UNAVAILABLE);
      expect(viaGrpc.status).toMatchObject({ code: Code.UNAVAILABLE, retryDelayMs: 2500 });
      expect(viaGrpc.status!.detailTypes).toEqual(['type.googleapis.com/google.rpc.RetryInfo']);

      const proto = await postOtlp(orphan.httpPort, signal, body.protobuf);
      const sp = expectHttpStatusBody(proto, 503, 'protobuf', Code.UNAVAILABLE);
      expect(proto.headers['retry-after']).toBe('3'); // whole seconds, rounded up
      expect(sp.retryDelayMs).toBe(2500);

      const json = await postOtlp(orphan.httpPort, signal, body.json, { format: 'json' });
      const sj = expectHttpStatusBody(json, 503, 'json', Code.UNAVAILABLE);
      expect(json.headers['retry-after']).toBe('3');
      expect(sj.retryDelayMs).toBe(2500);
    }
    const ready = await fetch(`http://127.0.0.1:${orphan.httpPort}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ reason: expect.stringMatching(/no writer/) });
    expect((await fetch(`http://127.0.0.1:${orphan.httpPort}/healthz`)).status).toBe(200);
  });

  test('writer slow (past SEDIMENT_WRITER_TIMEOUT): UNAVAILABLE + RetryInfo / 503 + Retry-After', async () => {
    const slowStore = await tempStore();
    const slow = await startWriter(slowStore, { SEDIMENT_FLUSH_INTERVAL: '3000' });
    cleanup.push(() => slow.close());
    const impatient = await startAcceptor(`127.0.0.1:${slow.flightPort}`, {
      SEDIMENT_WRITER_TIMEOUT: '200',
    });
    cleanup.push(() => impatient.close());
    const client = new GrpcOtlpClient(impatient.grpcPort);
    cleanup.push(() => client.close());
    const a = request('traces');
    const [viaGrpc, viaHttp] = await Promise.all([
      client.export('traces', a.protobuf),
      postOtlp(impatient.httpPort, 'traces', request('traces').protobuf),
    ]);
    expect(viaGrpc.code).toBe(Code.UNAVAILABLE);
    expect(viaGrpc.status?.retryDelayMs).toBe(1000);
    expectHttpStatusBody(viaHttp, 503, 'protobuf', Code.UNAVAILABLE);
    expect(viaHttp.headers['retry-after']).toBe('1');
  });

  test('writer slower than the gRPC deadline: UNAVAILABLE + RetryInfo before the deadline, not DEADLINE_EXCEEDED', async () => {
    const slowStore = await tempStore();
    const slow = await startWriter(slowStore, { SEDIMENT_FLUSH_INTERVAL: '5000' });
    cleanup.push(() => slow.close());
    // The default writer timeout (8 s) is longer than this client's 2 s deadline.
    const a = await startAcceptor(`127.0.0.1:${slow.flightPort}`);
    cleanup.push(() => a.close());
    const client = new GrpcOtlpClient(a.grpcPort);
    cleanup.push(() => client.close());
    // Warm up the connection with an export of no spans (answered without the writer): the
    // client's clock starts before the acceptor sees the call, so connecting on a loaded
    // machine would eat into the acceptor's margin, and no server can account for that.
    expect((await client.export('traces', new Uint8Array(0))).code).toBe(Code.OK);
    const sent = Date.now();
    const reply = await client.export('traces', request('traces').protobuf, { deadlineMs: 2000 });
    expect(reply.code).toBe(Code.UNAVAILABLE);
    expect(reply.status?.retryDelayMs).toBe(1000);
    expect(Date.now() - sent).toBeLessThan(2000);
  });

  test('object store down: UNAVAILABLE + RetryInfo / 503 + Retry-After; OK again once it is back', async () => {
    const faulty = new FaultInjectingStore(await tempStore(), {
      seed: 7,
      transientErrorRate: 1,
      operations: ['put'],
    });
    const w = await startWriter(faulty);
    cleanup.push(() => w.close());
    const a = await startAcceptor(`127.0.0.1:${w.flightPort}`, { SEDIMENT_WRITER_TIMEOUT: '1500' });
    cleanup.push(() => a.close());
    const client = new GrpcOtlpClient(a.grpcPort);
    cleanup.push(() => client.close());
    const [viaGrpc, viaHttp] = await Promise.all([
      client.export('logs', request('logs').protobuf),
      postOtlp(a.httpPort, 'logs', request('logs').json, { format: 'json' }),
    ]);
    expect(viaGrpc.code).toBe(Code.UNAVAILABLE);
    expect(viaGrpc.status?.retryDelayMs).toBeGreaterThan(0);
    expectHttpStatusBody(viaHttp, 503, 'json', Code.UNAVAILABLE);
    expect(viaHttp.headers['retry-after']).toBeDefined();

    faulty.configure({ transientErrorRate: 0 });
    const retried = await waitFor('the store to be back', async () => {
      const r = await client.export('logs', request('logs').protobuf);
      return r.code === Code.OK ? r : undefined;
    });
    expect(retried.code).toBe(Code.OK);
  });

  test('in-flight bound exceeded: UNAVAILABLE + RetryInfo / 503 + Retry-After; the held request still succeeds', async () => {
    const slowStore = await tempStore();
    const slow = await startWriter(slowStore, { SEDIMENT_FLUSH_INTERVAL: '2000' });
    cleanup.push(() => slow.close());
    const bounded = await startAcceptor(`127.0.0.1:${slow.flightPort}`, {
      SEDIMENT_MAX_INFLIGHT_BYTES: '1024',
    });
    cleanup.push(() => bounded.close());
    const client = new GrpcOtlpClient(bounded.grpcPort);
    cleanup.push(() => client.close());

    const held = postOtlp(bounded.httpPort, 'traces', request('traces').protobuf);
    await waitFor('the first request to be in flight', async () => {
      const text = await bounded.registry.metrics();
      return (metricValue(text, 'sediment_acceptor_inflight_bytes') ?? 0) > 0 ? true : undefined;
    });
    const viaGrpc = await client.export('traces', request('traces').protobuf);
    expect(viaGrpc.code).toBe(Code.UNAVAILABLE);
    expect(viaGrpc.status).toMatchObject({ code: Code.UNAVAILABLE, retryDelayMs: 1000 });
    expect(viaGrpc.status!.message).toMatch(/in-flight limit/);
    const viaHttp = await postOtlp(bounded.httpPort, 'traces', request('traces').protobuf);
    const s = expectHttpStatusBody(viaHttp, 503, 'protobuf', Code.UNAVAILABLE);
    expect(s.message).toMatch(/in-flight limit/);
    expect(viaHttp.headers['retry-after']).toBe('1');

    expect((await held).status).toBe(200);
  });

  test('writer refuses the acceptor’s own credentials: UNAVAILABLE / 503 (the client’s data is fine), not 500', async () => {
    const guarded = await startWriter(await tempStore(), { SEDIMENT_FLIGHT_TOKENS: 'right' });
    cleanup.push(() => guarded.close());
    const a = await startAcceptor(`127.0.0.1:${guarded.flightPort}`, {
      SEDIMENT_WRITER_TOKEN: 'wrong',
    });
    cleanup.push(() => a.close());
    const client = new GrpcOtlpClient(a.grpcPort);
    cleanup.push(() => client.close());
    expect((await client.export('traces', request('traces').protobuf)).code).toBe(Code.UNAVAILABLE);
    const http = await postOtlp(a.httpPort, 'traces', request('traces').protobuf);
    expectHttpStatusBody(http, 503, 'protobuf', Code.UNAVAILABLE);
  });

  test('missing or bad credentials: UNAUTHENTICATED / 401 (+ WWW-Authenticate); the right token is accepted', async () => {
    const guarded = await startAcceptor(`127.0.0.1:${writer.flightPort}`, {
      SEDIMENT_AUTH_TOKENS: 'alpha-token,beta-token',
    });
    cleanup.push(() => guarded.close());
    const client = new GrpcOtlpClient(guarded.grpcPort);
    cleanup.push(() => client.close());
    const body = request('traces');
    for (const token of [undefined, 'wrong', '']) {
      const r = await client.export('traces', body.protobuf, token === undefined ? {} : { token });
      expect(r.code).toBe(Code.UNAUTHENTICATED);
      expect(r.status).toMatchObject({ code: Code.UNAUTHENTICATED });
      expect(r.status!.retryDelayMs).toBeUndefined();
    }
    const basic = await client.export('traces', body.protobuf, {
      metadata: { authorization: 'Basic YWxwaGEtdG9rZW46' },
    });
    expect(basic.code).toBe(Code.UNAUTHENTICATED);

    for (const authorization of [
      undefined,
      'Bearer wrong',
      'alpha-token',
      'Bearer alpha-token x',
    ]) {
      for (const format of ['protobuf', 'json'] as const) {
        const reply = await postOtlp(
          guarded.httpPort,
          'traces',
          format === 'json' ? body.json : body.protobuf,
          { format, headers: authorization === undefined ? {} : { authorization } },
        );
        expectHttpStatusBody(reply, 401, format, Code.UNAUTHENTICATED);
        expect(reply.headers['www-authenticate']).toBe('Bearer');
        expect(reply.headers['retry-after']).toBeUndefined();
      }
    }
    // Either configured token works, on both ports.
    const viaGrpc = await client.export('traces', body.protobuf, { token: 'beta-token' });
    expect(viaGrpc.code).toBe(Code.OK);
    landed.set(body.n, { signal: 'traces', rows: 3 });
    const second = request('traces');
    const viaHttp = await postOtlp(guarded.httpPort, 'traces', second.protobuf, {
      headers: { authorization: 'bearer alpha-token' },
    });
    expect(viaHttp.status).toBe(200);
    landed.set(second.n, { signal: 'traces', rows: 3 });
  });

  test('every accepted row is in Parquet exactly once; rejected items and refused requests are not', async () => {
    await writer.drain();
    const expected = { spans: 0, logs: 0, points: 0 };
    const spanIds = new Set<string>();
    for (const [n, { signal, rows }] of landed) {
      if (signal === 'traces') {
        expected.spans += rows;
        for (let i = 0; i < 3; i++) {
          const { traceId, spanId } = rowIds(n, i);
          spanIds.add(`${traceId}/${spanId}`);
        }
      } else if (signal === 'logs') expected.logs += rows;
      else expected.points += rows === 3 ? 9 : rows;
    }
    await withLakeDuckDB(store, 'lake', async (query) => {
      const spans = await query(`SELECT trace_id || '/' || span_id AS id FROM spans`);
      expect(spans.length).toBe(expected.spans);
      const got = new Set(spans.map((r) => r.id as string));
      expect(got.size).toBe(spans.length);
      for (const id of got) expect(spanIds.has(id)).toBe(true);
      // The 8-byte trace id of the partial request is nowhere.
      expect(spans.some((r) => (r.id as string).startsWith('0102030405060708'))).toBe(false);

      const [logs] = await query(
        `SELECT count(*)::INT AS n, count(DISTINCT (trace_id, span_id))::INT AS d FROM logs`,
      );
      expect(logs).toEqual({ n: expected.logs, d: expected.logs });
      const [points] = await query(
        `SELECT (SELECT count(*) FROM metrics_gauge) + (SELECT count(*) FROM metrics_sum)
                + (SELECT count(*) FROM metrics_histogram) AS n`,
      );
      expect(Number(points!.n)).toBe(expected.points);
      // Only requests that got OK / 200 are there (each request number is one reply).
      const numbers = await query(
        `SELECT DISTINCT span_attributes['request.number']::INT AS n FROM spans ORDER BY 1`,
      );
      const tracesAcked = [...landed].filter(([, v]) => v.signal === 'traces').map(([n]) => n);
      expect(numbers.map((r) => r.n)).toEqual(tracesAcked.sort((x, y) => x - y));
    });
  });
});

async function zstdCompress(bytes: Uint8Array): Promise<Buffer> {
  const { compress } = await import('zstd-napi');
  return compress(Buffer.from(bytes));
}
