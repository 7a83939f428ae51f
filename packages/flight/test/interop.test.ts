/**
 * The hand-written codec against an independent implementation, both ways:
 *
 * 1. a generic Flight client built from OUR Flight.proto with protobufjs + grpc-js, which
 *    splits the IPC stream with apache-arrow's own MessageReader and re-encodes each header
 *    with apache-arrow's Message.encode (none of our framing or codec code), drives our
 *    FlightServer like any spec-conformant Flight client would;
 * 2. our FlightClient drives a server whose messages are decoded by protobufjs and whose
 *    IPC stream is rebuilt by a few lines of framing written here from the IPC spec.
 */
import {
  type Client,
  type ClientDuplexStream,
  credentials,
  status as GrpcStatus,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { Message, MessageReader, tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightInvalidArgumentError } from '../src/index.js';
import { bulkStream, describeTable, multiBatchStream, schemaOnlyStream } from './fixtures.js';
import { client, startServer, type TestServer, text } from './helpers.js';
import { loadFlightProto } from './proto-root.js';

const pb = loadFlightProto();

/** A grpc-js service definition whose (de)serializers are protobufjs types from our .proto. */
function protobufjsServiceDefinition(): ServiceDefinition {
  const def: Record<string, unknown> = {};
  for (const m of Object.values(pb.service.methods)) {
    const req = pb.root.lookupType(m.requestType);
    const res = pb.root.lookupType(m.responseType);
    def[m.name] = {
      path: `/arrow.flight.protocol.FlightService/${m.name}`,
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
      requestSerialize: (o: object) => Buffer.from(req.encode(req.fromObject(o)).finish()),
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), { defaults: true }),
      responseSerialize: (o: object) => Buffer.from(res.encode(res.fromObject(o)).finish()),
      responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), { defaults: true }),
      originalName: m.name,
    };
  }
  return def as ServiceDefinition;
}

interface PbFlightData {
  flight_descriptor?: { type: number; cmd: Uint8Array; path: string[] } | null;
  data_header: Uint8Array;
  app_metadata: Uint8Array;
  data_body: Uint8Array;
}

/** FlightData objects for a stream, produced by apache-arrow alone. */
function arrowFlightData(
  ipc: Uint8Array,
  path: string[],
  appMetadataOn?: number,
  appMetadata?: Uint8Array,
): PbFlightData[] {
  const reader = new MessageReader(ipc);
  const out: PbFlightData[] = [];
  for (let msg = reader.readMessage(); msg !== null; msg = reader.readMessage()) {
    const body = msg.bodyLength > 0 ? reader.readMessageBody(msg.bodyLength) : new Uint8Array(0);
    out.push({
      flight_descriptor: out.length === 0 ? { type: 1, cmd: new Uint8Array(0), path } : null,
      data_header: Message.encode(msg),
      app_metadata: out.length === appMetadataOn && appMetadata ? appMetadata : new Uint8Array(0),
      data_body: body,
    });
  }
  return out;
}

describe('generic protobufjs Flight client → our FlightServer', () => {
  let srv: TestServer;
  let FlightServiceClient: ReturnType<typeof makeGenericClientConstructor>;
  let raw: Client & { DoPut(): ClientDuplexStream<object, { app_metadata: Uint8Array }> };
  beforeAll(async () => {
    srv = await startServer({
      onDoPut: async (put) => Buffer.from(`stored ${put.path.join('/')}`),
    });
    FlightServiceClient = makeGenericClientConstructor(
      protobufjsServiceDefinition(),
      'FlightService',
    );
    raw = new FlightServiceClient(
      srv.target,
      credentials.createInsecure(),
    ) as unknown as typeof raw;
  });
  afterAll(async () => {
    raw.close();
    await srv.server.close();
  });

  function put(
    messages: PbFlightData[],
  ): Promise<{ code: number; details: string; results: Uint8Array[] }> {
    return new Promise((resolve) => {
      const call = raw.DoPut();
      const results: Uint8Array[] = [];
      call.on('data', (r: { app_metadata: Uint8Array }) => results.push(r.app_metadata));
      call.on('error', () => {});
      call.on('status', (s: { code: number; details: string }) =>
        resolve({ code: s.code, details: s.details, results }),
      );
      for (const m of messages) call.write(m);
      call.end();
    });
  }

  const cases: [string, () => Uint8Array][] = [
    ['kitchen sink, 4 batches with dictionary batches', () => multiBatchStream(4, 40, 9)],
    ['schema only', () => schemaOnlyStream()],
    ['bulk', () => bulkStream(2 << 20, 2)],
  ];
  for (const [name, make] of cases) {
    it(`DoPut + PutResult: ${name}`, async () => {
      const ipc = make();
      const before = srv.puts.length;
      const r = await put(arrowFlightData(ipc, ['logs'], 0, Buffer.from('req-1')));
      expect(r.code).toBe(GrpcStatus.OK);
      expect(r.results.map(text)).toEqual(['stored logs']);
      const seen = srv.puts[before]!;
      expect(seen.path).toEqual(['logs']);
      expect(text(seen.appMetadata)).toBe('req-1');
      expect(describeTable(tableFromIPC(seen.ipc))).toBe(describeTable(tableFromIPC(ipc)));
    });
  }

  it('app_metadata on a later message (as pyarrow write_with_metadata does) and none at all', async () => {
    const ipc = multiBatchStream(2, 10);
    const before = srv.puts.length;
    expect((await put(arrowFlightData(ipc, ['spans'], 3, Buffer.from('late')))).code).toBe(
      GrpcStatus.OK,
    );
    expect((await put(arrowFlightData(ipc, ['spans']))).code).toBe(GrpcStatus.OK);
    expect(text(srv.puts[before]!.appMetadata)).toBe('late');
    expect(srv.puts[before + 1]!.appMetadata).toBeUndefined();
  });

  it('a spec client that forgets the descriptor gets INVALID_ARGUMENT', async () => {
    const msgs = arrowFlightData(multiBatchStream(1, 3), ['spans']);
    msgs[0]!.flight_descriptor = null;
    const r = await put(msgs);
    expect(r.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(r.details).toMatch(/FlightDescriptor/);
  });
});

describe('our FlightClient → a protobufjs Flight server', () => {
  let server: Server;
  let port: number;
  const received: { path: string[]; appMetadata: string; ipc: Uint8Array; headers: number[] }[] =
    [];

  /** IPC stream framing written from the spec, independent of src/ipc-framing.ts. */
  function frame(messages: PbFlightData[]): Uint8Array {
    const parts: Buffer[] = [];
    for (const m of messages) {
      if (m.data_header.length === 0) continue;
      const padded = Math.ceil(m.data_header.length / 8) * 8;
      const prefix = Buffer.alloc(8);
      prefix.writeUInt32LE(0xffffffff, 0);
      prefix.writeInt32LE(padded, 4);
      parts.push(
        prefix,
        Buffer.from(m.data_header),
        Buffer.alloc(padded - m.data_header.length),
        Buffer.from(m.data_body),
      );
    }
    parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    return Buffer.concat(parts);
  }

  beforeAll(async () => {
    server = new Server({ 'grpc.max_receive_message_length': 64 << 20 });
    const def = protobufjsServiceDefinition();
    server.addService(def, {
      DoPut: (call: ServerDuplexStream<PbFlightData, object>) => {
        const messages: PbFlightData[] = [];
        call.on('data', (m: PbFlightData) => messages.push(m));
        call.on('end', () => {
          const first = messages[0];
          const path = first?.flight_descriptor?.path ?? [];
          const headers = messages.map((m) => Message.decode(m.data_header).headerType);
          for (const m of messages) {
            // Arrow's own decoder agrees with the body length our client sent.
            expect(Message.decode(m.data_header).bodyLength).toBe(m.data_body.length);
          }
          const appMetadata = Buffer.from(
            messages.find((m) => m.app_metadata.length > 0)?.app_metadata ?? [],
          ).toString();
          received.push({ path, appMetadata, ipc: frame(messages), headers });
          call.write({ app_metadata: Buffer.from(`pb-ack ${appMetadata}`) });
          call.end();
        });
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
  });
  afterAll(() => new Promise<void>((r) => server.tryShutdown(() => r())));

  const cases: [string, () => Uint8Array][] = [
    ['kitchen sink, 5 batches', () => multiBatchStream(5, 33, 77)],
    ['schema only', () => schemaOnlyStream('metrics_gauge')],
    ['bulk 8 MiB, 2 batches', () => bulkStream(8 << 20, 2)],
  ];
  for (const [name, make] of cases) {
    it(`protobufjs decodes what we encode: ${name}`, async () => {
      const ipc = make();
      const c = client({ targets: `127.0.0.1:${port}` });
      try {
        const before = received.length;
        const results = await c.doPut(['metrics_gauge'], ipc, {
          appMetadata: Buffer.from('rid-42'),
        });
        expect(results.map(text)).toEqual(['pb-ack rid-42']);
        const got = received[before]!;
        expect(got.path).toEqual(['metrics_gauge']);
        expect(got.appMetadata).toBe('rid-42');
        expect(got.headers[0]).toBe(1);
        expect(describeTable(tableFromIPC(got.ipc))).toBe(describeTable(tableFromIPC(ipc)));
        expect(Buffer.compare(Buffer.from(got.ipc), Buffer.from(ipc))).toBe(0);
      } finally {
        c.close();
      }
    });
  }

  it('client-side validation still applies', async () => {
    const c = client({ targets: `127.0.0.1:${port}` });
    await expect(c.doPut(['x'], new Uint8Array(16))).rejects.toBeInstanceOf(
      FlightInvalidArgumentError,
    );
    c.close();
  });
});
