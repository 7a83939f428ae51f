import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Client,
  credentials,
  status as GrpcStatus,
  Metadata,
  type StatusObject,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescriptorType,
  encodeFlightData,
  FlightCallError,
  FlightError,
  FlightInternalError,
  FlightInvalidArgumentError,
  type FlightLogger,
  FlightPermissionDeniedError,
  FlightResourceExhaustedError,
  FlightUnauthenticatedError,
  FlightUnavailableError,
  FlightUnimplementedError,
  flightServiceDefinition,
  splitIpcStream,
} from '../src/index.js';
import { bulkStream, multiBatchStream } from './fixtures.js';
import { client, startServer, type TestServer } from './helpers.js';

/** Sends raw FlightData frames with a plain grpc-js client; resolves with the final status. */
function rawDoPut(
  target: string,
  frames: Uint8Array[],
  metadata = new Metadata(),
): Promise<StatusObject> {
  const c = new Client(target, credentials.createInsecure());
  const call = c.makeBidiStreamRequest(
    flightServiceDefinition.DoPut.path,
    (b: Buffer) => b,
    (b: Buffer) => b,
    metadata,
    { deadline: Date.now() + 20_000 },
  );
  return new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', () => {});
    call.on('status', (s: StatusObject) => {
      c.close();
      resolve(s);
    });
    for (const f of frames) call.write(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    call.end();
  });
}

function framesFor(ipc: Uint8Array, path = ['spans']): Uint8Array[] {
  return splitIpcStream(ipc).map((m, i) =>
    encodeFlightData({
      descriptor: i === 0 ? { type: DescriptorType.PATH, cmd: new Uint8Array(0), path } : undefined,
      dataHeader: m.header,
      dataBody: m.body,
    }),
  );
}

class RetryableStoreError extends Error {
  readonly retryable = true;
  readonly code = 'OBJECT_STORE_TRANSIENT';
}

describe('handler errors → gRPC status → client error class', () => {
  const logged: { obj: object; msg: string | undefined }[] = [];
  const logger: FlightLogger = {
    debug() {},
    info() {},
    warn() {},
    error: (obj, msg) => logged.push({ obj, msg }),
  };
  let toThrow: unknown;
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({
      logger,
      onDoPut: async () => {
        throw toThrow;
      },
    });
  });
  afterAll(() => srv.server.close());

  const cases: [string, () => unknown, new (...a: never[]) => FlightError, number, boolean][] = [
    [
      'FlightInvalidArgumentError',
      () => new FlightInvalidArgumentError('bad rows'),
      FlightInvalidArgumentError,
      GrpcStatus.INVALID_ARGUMENT,
      false,
    ],
    [
      'FlightUnavailableError',
      () => new FlightUnavailableError('queue full'),
      FlightUnavailableError,
      GrpcStatus.UNAVAILABLE,
      true,
    ],
    [
      'FlightUnauthenticatedError',
      () => new FlightUnauthenticatedError('who are you'),
      FlightUnauthenticatedError,
      GrpcStatus.UNAUTHENTICATED,
      false,
    ],
    [
      'FlightPermissionDeniedError',
      () => new FlightPermissionDeniedError('not yours'),
      FlightPermissionDeniedError,
      GrpcStatus.PERMISSION_DENIED,
      false,
    ],
    [
      'FlightResourceExhaustedError',
      () => new FlightResourceExhaustedError('too big'),
      FlightResourceExhaustedError,
      GrpcStatus.RESOURCE_EXHAUSTED,
      false,
    ],
    [
      'retryable error from another layer',
      () => new RetryableStoreError('S3 503 at /secret/bucket'),
      FlightUnavailableError,
      GrpcStatus.UNAVAILABLE,
      true,
    ],
    [
      'unknown Error',
      () => new Error('secret internal path /etc/x'),
      FlightInternalError,
      GrpcStatus.INTERNAL,
      false,
    ],
    ['a thrown string', () => 'just a string', FlightInternalError, GrpcStatus.INTERNAL, false],
  ];
  for (const [name, make, cls, code, retryable] of cases) {
    it(`${name} → ${cls.name} (${code})`, async () => {
      const thrown = make();
      toThrow = thrown;
      const c = client({ targets: srv.target, targetBackoff: { initialMs: 1, maxMs: 1 } });
      try {
        const err = await c.doPut(['spans'], multiBatchStream(1, 3)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(cls);
        expect((err as FlightError).grpcCode).toBe(code);
        expect((err as FlightError).retryable).toBe(retryable);
        expect((err as FlightError).target).toBe(srv.target);
        if (thrown instanceof FlightError) {
          expect((err as Error).message).toContain(thrown.message);
        } else {
          // Unclassified: nothing internal reaches the client; the detail is logged.
          expect((err as Error).message).not.toMatch(/secret|string/);
          expect(logged.some((l) => (l.obj as { err?: unknown }).err === thrown)).toBe(
            code === GrpcStatus.INTERNAL || code === GrpcStatus.UNAVAILABLE,
          );
        }
      } finally {
        c.close();
      }
    });
  }
});

describe('request validation', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({ maxPutBytes: 2 << 20, maxMessageBytes: 4 << 20 });
  });
  afterAll(() => srv.server.close());

  it('bad data_header bytes → INVALID_ARGUMENT', async () => {
    const frames = framesFor(multiBatchStream(1, 3));
    const bad = encodeFlightData({
      dataHeader: Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff),
      dataBody: Uint8Array.of(1, 2, 3),
    });
    const s = await rawDoPut(srv.target, [frames[0]!, bad]);
    expect(s.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(s.details).toMatch(/Arrow IPC message header/);
  });

  it('body length disagreeing with the header → INVALID_ARGUMENT', async () => {
    const [schema, ...rest] = splitIpcStream(multiBatchStream(1, 30));
    const last = rest[rest.length - 1]!;
    const frames = [
      ...framesFor(multiBatchStream(1, 30)).slice(0, -1),
      encodeFlightData({ dataHeader: last.header, dataBody: last.body.subarray(8) }),
    ];
    expect(schema).toBeDefined();
    const s = await rawDoPut(srv.target, frames);
    expect(s.code).toBe(GrpcStatus.INVALID_ARGUMENT);
  });

  it('no descriptor / empty path / not protobuf / nothing at all → INVALID_ARGUMENT', async () => {
    const ipc = multiBatchStream(1, 3);
    const noDescriptor = splitIpcStream(ipc).map((m) =>
      encodeFlightData({ dataHeader: m.header, dataBody: m.body }),
    );
    for (const frames of [noDescriptor, framesFor(ipc, []), [Uint8Array.of(0x0a, 0x7f)], []]) {
      const s = await rawDoPut(srv.target, frames);
      expect(s.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    }
    expect(srv.puts.length).toBe(0);
  });

  it('a put over maxPutBytes → RESOURCE_EXHAUSTED (FlightResourceExhaustedError)', async () => {
    const c = client({ targets: srv.target });
    try {
      const err = await c.doPut(['bulk'], bulkStream(3 << 20, 3)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlightResourceExhaustedError);
      const errOneMessage = await c
        .doPut(['bulk'], bulkStream(5 << 20, 1))
        .catch((e: unknown) => e);
      expect(errOneMessage).toBeInstanceOf(FlightResourceExhaustedError);
      await expect(c.doPut(['bulk'], bulkStream(1 << 20, 1))).resolves.toHaveLength(1);
    } finally {
      c.close();
    }
  });

  it('every other FlightService RPC answers UNIMPLEMENTED', async () => {
    const raw = new Client(srv.target, credentials.createInsecure());
    const id = (b: Buffer) => b;
    const unary = (name: keyof typeof flightServiceDefinition) =>
      new Promise<number>((resolve) =>
        raw.makeUnaryRequest(flightServiceDefinition[name].path, id, id, Buffer.alloc(0), (err) =>
          resolve(err?.code ?? GrpcStatus.OK),
        ),
      );
    const stream = (name: keyof typeof flightServiceDefinition, bidi: boolean) =>
      new Promise<number>((resolve) => {
        const call = bidi
          ? raw.makeBidiStreamRequest(flightServiceDefinition[name].path, id, id)
          : raw.makeServerStreamRequest(
              flightServiceDefinition[name].path,
              id,
              id,
              Buffer.alloc(0),
            );
        call.on('data', () => {});
        call.on('error', () => {});
        call.on('status', (s: StatusObject) => resolve(s.code));
        if (bidi) (call as unknown as { end(): void }).end();
      });
    const codes = await Promise.all([
      unary('GetFlightInfo'),
      unary('PollFlightInfo'),
      unary('GetSchema'),
      stream('ListFlights', false),
      stream('DoGet', false),
      stream('DoAction', false),
      stream('ListActions', false),
      stream('Handshake', true),
      stream('DoExchange', true),
    ]);
    raw.close();
    expect(codes).toEqual(Array(9).fill(GrpcStatus.UNIMPLEMENTED));
    // The typed client error for that code:
    expect(new FlightUnimplementedError('x').grpcCode).toBe(GrpcStatus.UNIMPLEMENTED);
    expect(new FlightCallError(GrpcStatus.ABORTED, 'x').retryable).toBe(true);
  });
});

describe('bearer token auth', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({ auth: { tokens: ['current-token', 'next-token'] } });
  });
  afterAll(() => srv.server.close());

  it('missing or wrong token → UNAUTHENTICATED; either accepted token → OK', async () => {
    const ipc = multiBatchStream(1, 3);
    for (const token of [undefined, 'wrong', 'current-token-but-longer', '']) {
      const c = client({ targets: srv.target, ...(token === undefined ? {} : { token }) });
      const err = await c.doPut(['spans'], ipc).catch((e: unknown) => e);
      c.close();
      expect(err, String(token)).toBeInstanceOf(FlightUnauthenticatedError);
    }
    expect(srv.puts.length).toBe(0);
    for (const token of ['current-token', 'next-token']) {
      const c = client({ targets: srv.target, token });
      await expect(c.doPut(['spans'], ipc)).resolves.toHaveLength(1);
      c.close();
    }
    const md = new Metadata();
    md.set('authorization', 'Basic current-token');
    expect((await rawDoPut(srv.target, framesFor(ipc), md)).code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(srv.puts.length).toBe(2);
  });
});

describe('TLS', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;
  let srv: TestServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flight-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
    srv = await startServer({ tls: { cert, key } });
  });
  afterAll(async () => {
    await srv.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a client trusting the CA puts over TLS; a plaintext client cannot', async () => {
    const ipc = multiBatchStream(2, 10);
    const tlsClient = client({ targets: `localhost:${srv.port}`, tls: { ca: cert } });
    await expect(tlsClient.doPut(['spans'], ipc)).resolves.toHaveLength(1);
    tlsClient.close();
    const named = client({ targets: srv.target, tls: { ca: cert, serverName: 'localhost' } });
    await expect(named.doPut(['spans'], ipc)).resolves.toHaveLength(1);
    named.close();
    const plain = client({ targets: srv.target, defaultDeadlineMs: 3_000 });
    const err = await plain.doPut(['spans'], ipc).catch((e: unknown) => e);
    plain.close();
    expect(err).toBeInstanceOf(FlightError);
    expect((err as FlightError).retryable).toBe(true);
    expect(srv.puts.length).toBe(2);
  });
});
