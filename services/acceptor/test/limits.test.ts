/**
 * The acceptor's connection-level limits, each proved against a real acceptor with a
 * real writer: gRPC tokens checked before a byte of the message is read, header size
 * (SEDIMENT_MAX_HEADER_SIZE), request timeout (SEDIMENT_REQUEST_TIMEOUT), connections per
 * port (SEDIMENT_MAX_CONNECTIONS, both ports), concurrent streams per gRPC connection
 * (SEDIMENT_GRPC_MAX_CONCURRENT_STREAMS), and the in-flight bound on bodies being read.
 */
import http2 from 'node:http2';
import net from 'node:net';
import zlib from 'node:zlib';
import { MemoryStore } from '@sediment/object-store';
import type { Writer } from '@sediment/writer';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  clientStart,
  Flag,
  FrameType,
  frame,
  grpcFrame,
  grpcRequestHeaders,
  headerBlock,
  rawH2Exchange,
} from '../../../test/support/fuzz-h2.js';
import { rawHttpExchange, rawRequest } from '../../../test/support/fuzz-http1.js';
import { encodeRequest } from '../../../test/support/otlp-proto.js';
import { traceRequest } from '../../../test/support/otlp-workload.js';
import { otlpHttp2Tuning, replyBudgetMs } from '../src/grpc-server.js';
import type { Acceptor } from '../src/index.js';
import {
  Code,
  decodeStatus,
  GRPC_PATHS,
  GrpcOtlpClient,
  httpRequest,
  metricValue,
  parseJsonStatus,
  postOtlp,
  rawGrpcCall,
  sleep,
  startAcceptor,
  startWriter,
} from './support.js';

const T0 = 1_714_564_800_000_000_000n;
let n = 1;
const body = (rows = 2) =>
  Buffer.from(encodeRequest('traces', traceRequest({ request: n++, rows, startNs: T0 })));

let writer: Writer;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  writer = await startWriter(new MemoryStore());
});

afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await writer?.close();
});

async function acceptorWith(env: Record<string, string>): Promise<Acceptor> {
  const a = await startAcceptor(`127.0.0.1:${writer.flightPort}`, env);
  cleanup.push(() => a.close());
  return a;
}

interface CallOutcome {
  grpcStatus?: number;
  httpStatus?: number;
  rst?: number;
  details?: Buffer;
  /** The client had not ended its request when the reply came. */
  beforeRequestEnded: boolean;
}

interface OpenCall {
  /** Resolves with the grpc-status once it arrives (or the reset when there is none). */
  readonly outcome: Promise<CallOutcome>;
  readonly stream: http2.ClientHttp2Stream;
}

/** A gRPC call whose request is written but NOT ended: the stream stays open. */
function openCall(
  session: http2.ClientHttp2Session,
  path: string,
  headers: Record<string, string>,
  written: Buffer,
): OpenCall {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  let httpStatus: number | undefined;
  const outcome = new Promise<CallOutcome>((resolve) => {
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h[':status'] !== undefined) httpStatus = Number(h[':status']);
      if (h['grpc-status'] === undefined) return;
      const bin = h['grpc-status-details-bin'];
      resolve({
        grpcStatus: Number(h['grpc-status']),
        ...(httpStatus === undefined ? {} : { httpStatus }),
        ...(typeof bin === 'string' ? { details: Buffer.from(bin, 'base64') } : {}),
        beforeRequestEnded: !stream.writableEnded,
      });
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('close', () =>
      resolve({
        ...(httpStatus === undefined ? {} : { httpStatus }),
        rst: stream.rstCode,
        beforeRequestEnded: false,
      }),
    );
  });
  stream.on('data', () => {});
  stream.on('error', () => {});
  stream.write(written);
  return { outcome, stream };
}

describe('gRPC bearer tokens are checked on the metadata, before the message is read', () => {
  let acceptor: Acceptor;
  beforeAll(async () => {
    acceptor = await acceptorWith({ SEDIMENT_AUTH_TOKENS: 'the-token', SEDIMENT_ADMIN_PORT: '0' });
  });

  test('a call without a token is refused while its (1 MiB) message has not even been sent', async () => {
    const session = http2.connect(`http://127.0.0.1:${acceptor.grpcPort}`);
    session.on('error', () => {});
    cleanup.push(() => session.destroy());
    for (const [signal, path] of Object.entries(GRPC_PATHS)) {
      for (const authorization of [undefined, 'Bearer wrong', 'the-token', 'Basic dGhlLXRva2Vu']) {
        // The frame prefix announces 1 MiB; 10 bytes follow, and the client never ends.
        const call = openCall(
          session,
          path,
          authorization === undefined ? {} : { authorization },
          Buffer.concat([grpcFrame(Buffer.alloc(0), 0, 1 << 20), Buffer.alloc(10)]),
        );
        const outcome = await call.outcome;
        expect(outcome.grpcStatus, `${signal} ${authorization}`).toBe(Code.UNAUTHENTICATED);
        expect(decodeStatus(outcome.details!).code).toBe(Code.UNAUTHENTICATED);
        // Answered although the request is incomplete: grpc-js never got to read it.
        expect(outcome.beforeRequestEnded).toBe(true);
        call.stream.destroy();
      }
    }
    // With the token, the same incomplete call is simply waited for.
    const waiting = openCall(
      session,
      GRPC_PATHS.traces,
      { authorization: 'Bearer the-token' },
      Buffer.concat([grpcFrame(Buffer.alloc(0), 0, 1 << 20), Buffer.alloc(10)]),
    );
    const raced = await Promise.race([waiting.outcome, sleep(500).then(() => 'still waiting')]);
    expect(raced).toBe('still waiting');
    waiting.stream.close(http2.constants.NGHTTP2_CANCEL);
  });

  test('an unauthenticated gzip bomb is refused without being inflated (or even counted as received)', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 << 20), { level: 9 });
    const metrics = async () =>
      (await httpRequest(acceptor.adminPort, '/metrics', { method: 'GET' })).body.toString();
    const before = await metrics();
    for (let i = 0; i < 4; i++) {
      const r = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.logs, bomb, {
        encoding: 'gzip',
        compressed: true,
      });
      expect(r.grpcStatus).toBe(Code.UNAUTHENTICATED);
    }
    const after = await metrics();
    const bytes = (text: string, name: string) =>
      metricValue(text, name, { protocol: 'grpc', signal: 'logs' }) ?? 0;
    for (const name of [
      'sediment_acceptor_received_bytes_total',
      'sediment_acceptor_decoded_bytes_total',
    ]) {
      expect(bytes(after, name), name).toBe(bytes(before, name));
    }
    const refused = (text: string) =>
      metricValue(text, 'sediment_acceptor_requests_total', {
        protocol: 'grpc',
        signal: 'logs',
        status: 'UNAUTHENTICATED',
      }) ?? 0;
    expect(refused(after) - refused(before)).toBe(4);
  });
});

describe('SEDIMENT_MAX_HEADER_SIZE', () => {
  let acceptor: Acceptor;
  beforeAll(async () => {
    acceptor = await acceptorWith({ SEDIMENT_MAX_HEADER_SIZE: '4KiB' });
  });

  test('HTTP: headers over the limit → 431 with a google.rpc.Status body; under it → 200', async () => {
    const big = await postOtlp(acceptor.httpPort, 'traces', body(), {
      headers: { 'x-padding': 'x'.repeat(5000) },
    });
    expect(big.status).toBe(431);
    const status = parseJsonStatus(big.body.toString());
    expect(status.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(status.message).toMatch(/SEDIMENT_MAX_HEADER_SIZE/);
    // A request line (URL) counts too.
    const longUrl = await httpRequest(acceptor.httpPort, `/v1/traces?${'q'.repeat(5000)}`, {
      body: body(),
      headers: { 'content-type': 'application/x-protobuf' },
    });
    expect(longUrl.status).toBe(431);
    const ok = await postOtlp(acceptor.httpPort, 'traces', body(), {
      headers: { 'x-padding': 'x'.repeat(3000) },
    });
    expect(ok.status).toBe(200);
  });

  test('gRPC: metadata over the limit → RESOURCE_EXHAUSTED (with status details); under it → OK', async () => {
    const client = new GrpcOtlpClient(acceptor.grpcPort);
    cleanup.push(() => client.close());
    const big = await client.export('traces', body(), {
      metadata: { 'x-padding': 'x'.repeat(5000) },
    });
    expect(big.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(big.details).toMatch(/exceeds the limit of 4096 bytes/);
    expect(big.status?.code).toBe(Code.RESOURCE_EXHAUSTED);
    // Many small entries add up the same way.
    const many: Record<string, string> = {};
    for (let i = 0; i < 100; i++) many[`x-m${i}`] = 'v'.repeat(20);
    expect((await client.export('traces', body(), { metadata: many })).code).toBe(
      Code.RESOURCE_EXHAUSTED,
    );
    const ok = await client.export('traces', body(), {
      metadata: { 'x-padding': 'x'.repeat(3000) },
    });
    expect(ok.code).toBe(Code.OK);
  });
});

describe('SEDIMENT_REQUEST_TIMEOUT', () => {
  let acceptor: Acceptor;
  beforeAll(async () => {
    acceptor = await acceptorWith({ SEDIMENT_REQUEST_TIMEOUT: '1500ms' });
  });

  test('HTTP: a body that stops arriving, or headers that never end → 408 with a Status body', async () => {
    const b = body();
    for (const writes of [
      // Content-Length promises more than is sent.
      [
        rawRequest(
          'POST',
          '/v1/traces',
          [
            ['Host', 'x'],
            ['Content-Type', 'application/x-protobuf'],
            ['Content-Length', String(b.byteLength + 100)],
          ],
          b,
        ),
      ],
      // Slowloris: headers dribbled, never finished.
      [
        Buffer.from('POST /v1/traces HTTP/1.1\r\nHost: x\r\n'),
        500,
        Buffer.from('X-A: 1\r\n'),
        500,
        Buffer.from('X-B: 2\r\n'),
      ],
    ]) {
      const started = Date.now();
      const r = await rawHttpExchange(acceptor.httpPort, writes, { timeoutMs: 15_000 });
      expect(r.timedOut).toBe(false);
      expect(r.responses.map((x) => x.status)).toEqual([408]);
      expect(parseJsonStatus(r.responses[0]!.body.toString()).code).toBe(Code.DEADLINE_EXCEEDED);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    }
  });

  test('gRPC: a message that stops arriving → DEADLINE_EXCEEDED; a connection that never starts HTTP/2 is closed', async () => {
    const session = http2.connect(`http://127.0.0.1:${acceptor.grpcPort}`);
    session.on('error', () => {});
    cleanup.push(() => session.destroy());
    const b = body();
    const call = openCall(session, GRPC_PATHS.traces, {}, grpcFrame(b).subarray(0, 20));
    const outcome = await call.outcome;
    expect(outcome.grpcStatus).toBe(Code.DEADLINE_EXCEEDED);
    expect(outcome.beforeRequestEnded).toBe(true);
    call.stream.destroy();
    // The session itself is fine.
    const client = new GrpcOtlpClient(acceptor.grpcPort);
    cleanup.push(() => client.close());
    expect((await client.export('traces', body())).code).toBe(Code.OK);

    const started = Date.now();
    const silent = await rawH2Exchange(acceptor.grpcPort, [], {
      timeoutMs: 15_000,
      ackSettings: false,
    });
    expect(silent.timedOut).toBe(false);
    expect(silent.closed).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });
});

test('SEDIMENT_REQUEST_TIMEOUT does not cover the wait for the writer: a slow durable ack still gets 200 / OK', async () => {
  const slowWriter = await startWriter(new MemoryStore(), { SEDIMENT_FLUSH_INTERVAL: '2500ms' });
  cleanup.push(() => slowWriter.close());
  const acceptor = await startAcceptor(`127.0.0.1:${slowWriter.flightPort}`, {
    SEDIMENT_REQUEST_TIMEOUT: '1s',
  });
  cleanup.push(() => acceptor.close());
  const client = new GrpcOtlpClient(acceptor.grpcPort);
  cleanup.push(() => client.close());
  const started = Date.now();
  const [viaHttp, viaGrpc] = await Promise.all([
    postOtlp(acceptor.httpPort, 'traces', body()),
    client.export('traces', body()),
  ]);
  expect(viaHttp.status).toBe(200);
  expect(viaGrpc.code).toBe(Code.OK);
  expect(Date.now() - started).toBeGreaterThan(1000);
});

describe('SEDIMENT_MAX_CONNECTIONS', () => {
  let acceptor: Acceptor;
  const LIMIT = 4;
  beforeAll(async () => {
    acceptor = await acceptorWith({ SEDIMENT_MAX_CONNECTIONS: String(LIMIT) });
  });

  /** Whether a fresh TCP connection is closed by the server without an answer. */
  async function refusedConnection(port: number, probe: Buffer): Promise<boolean> {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    return new Promise((resolve) => {
      let got = false;
      socket.on('data', () => {
        got = true;
      });
      socket.on('close', () => resolve(!got));
      socket.on('connect', () => socket.write(probe));
      setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 2000).unref();
    });
  }

  test('HTTP: with the limit held by idle keep-alive connections the next one is closed at once; freeing one lets it in', async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const s = net.connect(acceptor.httpPort, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    await sleep(100);
    const probe = Buffer.from('GET /v1/traces HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await refusedConnection(acceptor.httpPort, probe)).toBe(true);
    held.pop()!.destroy();
    await sleep(200);
    const ok = await postOtlp(acceptor.httpPort, 'traces', body());
    expect(ok.status).toBe(200);
    for (const s of held) s.destroy();
  });

  test('gRPC: the same on the gRPC port (HTTP/2 connections held open by clients)', async () => {
    const sessions: http2.ClientHttp2Session[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const s = http2.connect(`http://127.0.0.1:${acceptor.grpcPort}`);
      s.on('error', () => {});
      await new Promise((r) => s.once('remoteSettings', r));
      sessions.push(s);
    }
    expect(await refusedConnection(acceptor.grpcPort, clientStart())).toBe(true);
    // A gRPC call on a new connection gets no gRPC status at all: the connection is closed.
    const refused = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.traces, body()).catch(
      (err: Error) => err,
    );
    expect(refused instanceof Error || refused.grpcStatus === undefined).toBe(true);
    sessions.pop()!.destroy();
    await sleep(200);
    const ok = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.traces, body());
    expect(ok.grpcStatus).toBe(Code.OK);
    for (const s of sessions) s.destroy();
  });
});

describe('SEDIMENT_GRPC_MAX_CONCURRENT_STREAMS', () => {
  let acceptor: Acceptor;
  const LIMIT = 3;
  beforeAll(async () => {
    acceptor = await acceptorWith({ SEDIMENT_GRPC_MAX_CONCURRENT_STREAMS: String(LIMIT) });
  });

  test('the limit is advertised in SETTINGS; a client that opens more streams anyway gets them refused', async () => {
    const hb = headerBlock(grpcRequestHeaders(GRPC_PATHS.traces));
    const writes: Array<Buffer | number> = [clientStart(), 100];
    // LIMIT calls left open (no END_STREAM), then two more.
    for (let i = 0; i < LIMIT + 2; i++)
      writes.push(frame(FrameType.HEADERS, Flag.END_HEADERS, 1 + 2 * i, hb));
    const r = await rawH2Exchange(acceptor.grpcPort, writes, {
      timeoutMs: 5000,
      until: (x) => x.goaway !== undefined || x.resets.size > 0,
    });
    const settings = r.frames.find((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK))!;
    const advertised = new Map<number, number>();
    for (let i = 0; i + 6 <= settings.payload.byteLength; i += 6) {
      advertised.set(settings.payload.readUInt16BE(i), settings.payload.readUInt32BE(i + 2));
    }
    expect(advertised.get(0x3)).toBe(LIMIT); // SETTINGS_MAX_CONCURRENT_STREAMS
    // Node's HTTP/2 layer refuses the excess: the extra streams are reset, or (node 20)
    // the whole offending connection is torn down with GOAWAY. Either way no call beyond
    // the limit is processed.
    expect(r.goaway !== undefined || r.resets.get(1 + 2 * LIMIT) === 'REFUSED_STREAM').toBe(true);
    expect(r.answered.size).toBe(0);
  });

  test('a well-behaved client with more calls than the limit still gets every one answered', async () => {
    const client = new GrpcOtlpClient(acceptor.grpcPort);
    cleanup.push(() => client.close());
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => client.export('traces', body())),
    );
    expect(replies.map((r) => r.code)).toEqual(Array(12).fill(Code.OK));
  });
});

describe('HTTP/2 windows on the gRPC port', () => {
  /** SETTINGS the acceptor advertised, and the connection window it granted once its WINDOW_UPDATE arrived. */
  async function advertised(port: number, window: number) {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    cleanup.push(() => {
      session.destroy();
    });
    const settings = await new Promise<http2.Settings>((r) => session.once('remoteSettings', r));
    const deadline = Date.now() + 5_000;
    while ((session.state.remoteWindowSize ?? 0) < window && Date.now() < deadline) {
      await new Promise<void>((r) => session.ping(() => r()));
    }
    return { settings, connectionWindow: session.state.remoteWindowSize };
  }

  test('a request of a few MiB fits in one stream window; frames up to 256 KiB; 16 MiB per connection', async () => {
    const acceptor = await acceptorWith({});
    const { settings, connectionWindow } = await advertised(acceptor.grpcPort, 16 << 20);
    expect(settings.initialWindowSize).toBe(4 << 20);
    expect(settings.maxFrameSize).toBe(256 << 10);
    expect(connectionWindow).toBe(16 << 20);
    const client = new GrpcOtlpClient(acceptor.grpcPort);
    cleanup.push(() => client.close());
    expect((await client.export('traces', body(2000))).code).toBe(Code.OK);
  });

  test('the stream window never exceeds the largest request accepted', async () => {
    const acceptor = await acceptorWith({ SEDIMENT_MAX_REQUEST_SIZE: '100KiB' });
    const { settings } = await advertised(acceptor.grpcPort, 16 << 20);
    expect(settings.initialWindowSize).toBe(100 * 1024 + 5);
    expect(otlpHttp2Tuning(1024).streamWindowBytes).toBe(65_535);
    expect(otlpHttp2Tuning(2 ** 40).streamWindowBytes).toBe(4 << 20);
  });
});

describe('the in-flight bound covers bodies while they are read', () => {
  test('slow uploads hold their bytes against SEDIMENT_MAX_INFLIGHT_BYTES: past it, the next request gets 503 / UNAVAILABLE + retry delay', async () => {
    const acceptor = await acceptorWith({
      SEDIMENT_MAX_INFLIGHT_BYTES: '256KiB',
      SEDIMENT_MAX_REQUEST_SIZE: '1MiB',
      SEDIMENT_RETRY_AFTER: '2s',
    });
    // Two uploads of 200 KiB each, left unfinished: together past the 256 KiB bound.
    const hold = (size: number) => {
      const socket = net.connect(acceptor.httpPort, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(
        `POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${size + 1000}\r\n\r\n`,
      );
      socket.write(Buffer.alloc(size));
      return socket;
    };
    // A protobuf POST declaring `length` bytes and carrying `body`.
    const post = (path: string, length: number, body: Uint8Array) =>
      rawRequest(
        'POST',
        path,
        [
          ['Host', 'x'],
          ['Content-Type', 'application/x-protobuf'],
          ['Content-Length', String(length)],
        ],
        body,
      );
    const first = hold(200 * 1024);
    await sleep(300);
    const second = await rawHttpExchange(
      acceptor.httpPort,
      [post('/v1/logs', 200 * 1024 + 1000, Buffer.alloc(200 * 1024))],
      { timeoutMs: 10_000 },
    );
    expect(second.responses.map((r) => r.status)).toEqual([503]);
    expect(second.responses[0]!.headers['retry-after']).toBe('2');
    // The refused body is read to its end and discarded on an open connection: a client
    // still sending gets the 503, not a reset (EPIPE), and the connection serves on.
    expect(second.responses[0]!.headers.connection).not.toBe('close');
    const small = Buffer.from(body());
    const reused = await rawHttpExchange(
      acceptor.httpPort,
      [
        post('/v1/logs', 200 * 1024, Buffer.alloc(200 * 1024)),
        post('/v1/traces', small.byteLength, small),
      ],
      { timeoutMs: 10_000, expect: 2 },
    );
    expect(reused.responses.map((r) => r.status)).toEqual([503, 200]);
    expect(reused.reset).toBe(false);
    // gRPC: a message arriving while the bound is held is refused the same way.
    const viaGrpc = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.logs, Buffer.alloc(100 * 1024));
    expect(viaGrpc.grpcStatus).toBe(Code.UNAVAILABLE);
    first.destroy();
    await sleep(300);
    // Once the held upload is gone, requests flow again.
    expect((await postOtlp(acceptor.httpPort, 'traces', body())).status).toBe(200);
    const status = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.traces, body());
    expect(status.grpcStatus).toBe(Code.OK);
  });
});

describe('replyBudgetMs (how long a gRPC call waits for the writer)', () => {
  test('leaves a margin of 10 %, at least 500 ms, at most half of what is left', () => {
    const now = 1_000_000;
    expect(replyBudgetMs(now + 10_000, now)).toBe(9_000);
    expect(replyBudgetMs(now + 2_000, now)).toBe(1_500);
    expect(replyBudgetMs(new Date(now + 600), now)).toBe(300);
    expect(replyBudgetMs(now - 5, now)).toBe(0);
    expect(replyBudgetMs(Number.POSITIVE_INFINITY, now)).toBeUndefined();
  });
});
