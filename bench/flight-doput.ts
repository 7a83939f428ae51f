/**
 * Flight DoPut throughput over loopback vs. a raw grpc-js baseline, same run.
 *
 * Scenario: 1 MiB Arrow IPC streams (schema + 4 record batches of a spans-like table),
 * concurrency 8, one client process → one server process (a child, so client and server
 * do not share an event loop).
 *
 * - flight:   FlightClient.doPut → FlightServer (split into FlightData, hand codec,
 *             reassembly and validation on the server, PutResult); the handler returns at once.
 * - baseline: grpc-js unary calls with pass-through serializers carrying the same bytes to
 *             a handler that answers an empty message. This is the floor the transport sets.
 * - stream:   (diagnostic) a raw grpc-js bidi call sending the same FlightData frames,
 *             pre-encoded once, to a handler that answers one empty message: the cost of
 *             the message pattern alone, without our codec, reassembly or validation.
 *
 * Rounds alternate flight/baseline to cancel machine drift; the figures are the sums.
 *
 *   node scripts/run-ts.mjs bench/flight-doput.ts [--seconds 4] [--rounds 3] [--concurrency 8]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  createFlightServer,
  DescriptorType,
  encodeFlightData,
  FlightClient,
  silentFlightLogger,
  splitIpcStream,
} from '@sediment/flight';
import {
  Client,
  credentials,
  type handleBidiStreamingCall,
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
} from '@sediment/flight/grpc-js';
import {
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimestampNanosecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';

const RAW_PATH = '/sediment.bench.Raw/Put';
const STREAM_PATH = '/sediment.bench.Raw/Stream';
const identity = (b: Buffer) => b;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A spans-like IPC stream of about `bytes` bytes in `batches` record batches. */
function makeStream(bytes: number, batches: number): Uint8Array {
  const schema = new Schema(
    [
      new Field('timestamp', new TimestampNanosecond('UTC'), false),
      new Field('duration_ns', new Int64(), false),
      new Field('value', new Float64(), true),
      new Field('service_name', new Dictionary(new Utf8(), new Int32(), 0), true),
      new Field('span_name', new Utf8(), true),
    ],
    new Map([['sediment.table', 'spans']]),
  );
  // ~8+8+8+4+~40 bytes per row.
  const rows = Math.floor(bytes / batches / 68);
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  for (let b = 0; b < batches; b++) {
    const ts = new BigInt64Array(rows);
    const dur = new BigInt64Array(rows);
    const val = new Float64Array(rows);
    const names: string[] = [];
    const services: string[] = [];
    for (let i = 0; i < rows; i++) {
      ts[i] = 1_700_000_000_000_000_000n + BigInt(b * rows + i);
      dur[i] = BigInt(i * 1000);
      val[i] = i * 0.5;
      names.push(`GET /api/v1/resource/${i % 97}/items?page=${i % 13}`);
      services.push(`svc-${i % 7}`);
    }
    const children = [
      makeData({ type: new TimestampNanosecond('UTC'), length: rows, data: ts }),
      makeData({ type: new Int64(), length: rows, data: dur }),
      makeData({ type: new Float64(), length: rows, data: val }),
      vectorFromArray(services, schema.fields[3]!.type).data[0]!,
      vectorFromArray(names, new Utf8()).data[0]!,
    ];
    writer.write(
      new RecordBatch(
        schema,
        makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children }),
      ),
    );
  }
  writer.finish();
  return writer.toUint8Array(true);
}

async function serve(): Promise<void> {
  const flight = createFlightServer({ onDoPut: async () => undefined, logger: silentFlightLogger });
  const flightPort = await flight.listen('127.0.0.1', 0);
  const raw = new Server({ 'grpc.max_receive_message_length': 64 << 20 });
  const put: handleUnaryCall<Buffer, Buffer> = (_call, callback) => callback(null, Buffer.alloc(0));
  const stream: handleBidiStreamingCall<Buffer, Buffer> = (call) => {
    call.on('data', () => {});
    call.on('end', () => {
      call.write(Buffer.alloc(0));
      call.end();
    });
  };
  const passThrough = {
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
  raw.addService(
    {
      Put: { path: RAW_PATH, requestStream: false, responseStream: false, ...passThrough },
      Stream: { path: STREAM_PATH, requestStream: true, responseStream: true, ...passThrough },
    },
    { Put: put, Stream: stream },
  );
  const rawPort = await new Promise<number>((resolve, reject) =>
    raw.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  process.stdout.write(`${JSON.stringify({ flightPort, rawPort })}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await flight.close();
  raw.forceShutdown();
}

async function runFor(
  seconds: number,
  concurrency: number,
  op: () => Promise<void>,
): Promise<{ ops: number; ms: number }> {
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  let ops = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await op();
        ops++;
      }
    }),
  );
  return { ops, ms: performance.now() - start };
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 4);
  const rounds = arg('rounds', 3);
  const concurrency = arg('concurrency', 8);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), 'serve'],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const { flightPort, rawPort } = JSON.parse(line.toString()) as {
    flightPort: number;
    rawPort: number;
  };

  const ipc = makeStream(1 << 20, 4);
  const rawBody = Buffer.from(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  const flight = new FlightClient({
    targets: `127.0.0.1:${flightPort}`,
    logger: silentFlightLogger,
  });
  const raw = new Client(`127.0.0.1:${rawPort}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
  });
  const flightPut = async () => {
    await flight.doPut(['spans'], ipc, {
      appMetadata: Buffer.from('bench-request-id'),
      deadlineMs: 60_000,
    });
  };
  const frames = splitIpcStream(ipc).map((m, i) =>
    encodeFlightData({
      descriptor:
        i === 0
          ? { type: DescriptorType.PATH, cmd: new Uint8Array(0), path: ['spans'] }
          : undefined,
      dataHeader: m.header,
      dataBody: m.body,
    }),
  );
  const streamPut = () =>
    new Promise<void>((resolve, reject) => {
      const call = raw.makeBidiStreamRequest(STREAM_PATH, identity, identity, new Metadata(), {
        deadline: Date.now() + 60_000,
      });
      call.on('data', () => {});
      call.on('error', reject);
      call.on('status', () => resolve());
      for (const f of frames) call.write(f);
      call.end();
    });
  const rawPut = () =>
    new Promise<void>((resolve, reject) =>
      raw.makeUnaryRequest(
        RAW_PATH,
        identity,
        identity,
        rawBody,
        { deadline: Date.now() + 60_000 },
        (e) => (e ? reject(e) : resolve()),
      ),
    );

  console.log(
    `flight-doput: ${(ipc.length / 1048576).toFixed(2)} MiB IPC streams (4 record batches), concurrency ${concurrency}, ` +
      `${rounds} rounds × ${seconds}s each, server in a child process`,
  );
  // Warm-up: JIT, connections, buffers.
  await runFor(1, concurrency, flightPut);
  await runFor(1, concurrency, rawPut);
  await runFor(1, concurrency, streamPut);

  const total = { flight: { ops: 0, ms: 0 }, raw: { ops: 0, ms: 0 }, stream: { ops: 0, ms: 0 } };
  for (let r = 0; r < rounds; r++) {
    for (const [name, op] of [
      ['flight', flightPut],
      ['raw', rawPut],
      ['stream', streamPut],
    ] as const) {
      const res = await runFor(seconds, concurrency, op);
      total[name].ops += res.ops;
      total[name].ms += res.ms;
      const mbs = (res.ops * ipc.length) / 1e6 / (res.ms / 1000);
      console.log(
        `  round ${r + 1} ${name.padEnd(6)} ${(res.ops / (res.ms / 1000)).toFixed(1).padStart(7)} puts/s ${mbs.toFixed(1).padStart(7)} MB/s`,
      );
    }
  }
  const rate = (t: { ops: number; ms: number }) => ({
    puts: t.ops / (t.ms / 1000),
    mbs: (t.ops * ipc.length) / 1e6 / (t.ms / 1000),
  });
  const f = rate(total.flight);
  const b = rate(total.raw);
  const st = rate(total.stream);
  console.log(`flight DoPut:        ${f.puts.toFixed(1)} puts/s  ${f.mbs.toFixed(1)} MB/s`);
  console.log(`baseline grpc unary: ${b.puts.toFixed(1)} puts/s  ${b.mbs.toFixed(1)} MB/s`);
  console.log(`ratio flight/baseline: ${(f.mbs / b.mbs).toFixed(2)}`);
  console.log(
    `(diagnostic) raw bidi stream, same frames: ${st.mbs.toFixed(1)} MB/s; flight/stream ${(f.mbs / st.mbs).toFixed(2)}`,
  );

  flight.close();
  raw.close();
  child.stdin!.end();
  await once(child, 'exit');
}

if (process.argv[2] === 'serve') await serve();
else await main();
