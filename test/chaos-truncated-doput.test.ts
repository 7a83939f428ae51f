/**
 * Found by the chaos soak (bench/chaos, issue #7): an acceptor SIGKILLed while it streams
 * a DoPut to a writer. The kernel closes the dead process's TCP connection; the writer
 * must then treat the put as cancelled. It must NEVER hand the part that arrived (here:
 * the Schema message, no record batch) to its put handler as a complete put — in the
 * writer that would enqueue an entry with the request's identity and zero rows, and the
 * collector would then drop the client's retry of the same request as a duplicate:
 * an acked request lost.
 *
 * The client is a raw HTTP/2 connection that sends the gRPC headers and the first
 * FlightData (descriptor + Schema + the request identity) WITHOUT end-of-stream, then
 * closes its socket the way the kernel does for a killed process.
 */
import http2 from 'node:http2';
import net from 'node:net';
import {
  createFlightServer,
  type DoPutRequest,
  encodeFlightData,
  DescriptorType,
  silentFlightLogger,
  splitIpcStream,
} from '@sediment/flight';
import { Field, Int32, Schema, Table, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterEach, expect, test } from 'vitest';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.byteLength);
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, 5);
  return frame;
}

async function startServer() {
  const puts: DoPutRequest[] = [];
  const server = createFlightServer({
    onDoPut: async (put) => {
      puts.push(put);
      return new Uint8Array(0);
    },
    logger: silentFlightLogger,
  });
  const port = await server.listen('127.0.0.1', 0);
  cleanup.push(() => server.forceClose());
  return { port, puts };
}

/**
 * Sends the first FlightData of a DoPut (no end of stream), then `cut`s the connection;
 * with `cut` undefined, sends the whole put and half-closes like a healthy client.
 */
async function partialDoPut(
  port: number,
  cut: ((socket: net.Socket) => void) | undefined,
): Promise<void> {
  const schema = new Schema([new Field('x', new Int32(), false)]);
  const table = new Table(schema, { x: vectorFromArray([1, 2, 3], new Int32()) });
  const messages = splitIpcStream(tableToIPC(table, 'stream'));
  expect(messages.length).toBeGreaterThanOrEqual(2); // Schema + one record batch
  const first = encodeFlightData({
    descriptor: { type: DescriptorType.PATH, cmd: new Uint8Array(0), path: ['spans'] },
    dataHeader: messages[0]!.header,
    dataBody: messages[0]!.body,
    appMetadata: new TextEncoder().encode('request-identity'),
  });
  let socket: net.Socket | undefined;
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    createConnection: () => {
      socket = net.connect(port, '127.0.0.1');
      return socket;
    },
  });
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const stream = session.request({
    ':method': 'POST',
    ':path': '/arrow.flight.protocol.FlightService/DoPut',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => {});
  stream.write(grpcFrame(first));
  if (!cut) {
    for (const m of messages.slice(1)) {
      stream.write(grpcFrame(encodeFlightData({ dataHeader: m.header, dataBody: m.body })));
    }
    stream.end();
    await sleep(1_000);
    session.close();
    return;
  }
  await sleep(300); // the Schema arrives; the record batch never does
  cut(socket!);
  await sleep(1_000);
}

test('control: the same DoPut sent whole and half-closed is handed over', async () => {
  const { port, puts } = await startServer();
  await partialDoPut(port, undefined);
  expect(puts.map((p) => ({ path: p.path, recordBatchCount: p.recordBatchCount }))).toEqual([
    { path: ['spans'], recordBatchCount: 1 },
  ]);
});

test('a DoPut cut off by the client process dying (FIN) is not handed over as a complete put', async () => {
  const { port, puts } = await startServer();
  // A killed process's sockets are closed by the kernel: a FIN when nothing was left unread.
  await partialDoPut(port, (socket) => socket.end());
  expect(puts.map((p) => ({ path: p.path, recordBatchCount: p.recordBatchCount }))).toEqual([]);
});

test('a DoPut cut off by a connection reset is not handed over as a complete put', async () => {
  const { port, puts } = await startServer();
  await partialDoPut(port, (socket) => socket.resetAndDestroy());
  expect(puts.map((p) => ({ path: p.path, recordBatchCount: p.recordBatchCount }))).toEqual([]);
});
