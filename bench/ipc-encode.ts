/**
 * Arrow IPC encode: decoded span batches → one Arrow IPC stream per batch, as the acceptor
 * does before each DoPut. Ours (`toIpcStream`, packages/otlp/src/ipc-writer.ts) against
 * apache-arrow's RecordBatchStreamWriter (the encoder it replaced) on the same batches,
 * same run; then the Flight client's framing of that stream (split into messages, one
 * FlightData per message, grpc-js's length-prefixed copy): lazy FlightDataFrame (body
 * copied once) against encodeFlightData (body copied into a FlightData buffer, then again).
 *
 * Input: the end-to-end benchmark's requests (bench/lib/trace-payload.ts, 512 spans each),
 * decoded once. Rounds alternate ours/baseline; figures are medians over rounds, in spans
 * per CPU second of this process (best in brackets) and µs per request.
 *
 *   node scripts/run-ts.mjs bench/ipc-encode.ts [--rounds 15] [--ms 300]
 */
import os from 'node:os';
import { encodeFlightData, FlightDataFrame, splitIpcStream } from '@sediment/flight';
import { readBatchHeader, splitIpcStream as splitMessages } from '@sediment/lake';
import { toIpcStream } from '@sediment/otlp';
import zstd from 'zstd-napi/binding.js';
import { arrowJsIpcStream } from '../packages/otlp/test/support/arrow-js-ipc.js';
import { numberArg } from './lib/args.js';
import { spanBatches } from './lib/span-batches.js';

const ROUNDS = numberArg('rounds', 15);
const MS = numberArg('ms', 300);

const batches = spanBatches(16);
const SPANS = batches[0]!.numRows;
const ipcBytes = toIpcStream('spans', batches[0]!).length;
// The message headers differ in layout (test/ipc-writer.test.ts checks the rest is equal).
if (Math.abs(arrowJsIpcStream('spans', batches[0]!).length - ipcBytes) > 4096) {
  throw new Error('the two encoders disagree on the stream size');
}
const descriptor = { type: 1, cmd: new Uint8Array(0), path: ['spans'] };
const requestId = new Uint8Array(16);

/**
 * The client's framing of one stream as grpc-js sees it: one FlightData per IPC message,
 * then grpc-js's own framing (compression-filter.js: allocUnsafe(length + 5), copy).
 */
function flightFrames(ipc: Uint8Array, lazy: boolean): number {
  let n = 0;
  for (const [i, m] of splitIpcStream(ipc).entries()) {
    const init = {
      descriptor: i === 0 ? descriptor : undefined,
      dataHeader: m.header,
      dataBody: m.body,
      appMetadata: i === 0 ? requestId : undefined,
    };
    const message = lazy ? new FlightDataFrame(init) : encodeFlightData(init);
    const grpcFrame = Buffer.allocUnsafe(message.length + 5);
    message.copy(grpcFrame, 5);
    n += grpcFrame.length;
  }
  return n;
}
const streams = batches.map((b) => toIpcStream('spans', b));

/** Each request's column buffers as the zstd stream compresses them (64 bytes and up). */
const columnBuffers = streams.map((ipc) => {
  const out: Uint8Array[] = [];
  for (const m of splitMessages(ipc)) {
    const h = readBatchHeader(ipc.subarray(m.metaStart, m.metaEnd));
    for (let i = 0; i < h.bufferCount; i++) {
      const at = m.bodyStart + h.bufferOffset(i);
      if (h.bufferLength(i) >= 64) out.push(ipc.subarray(at, at + h.bufferLength(i)));
    }
  }
  return out;
});
const cctx = new zstd.CCtx();
const frameScratch = new Uint8Array(zstd.compressBound(4 << 20));
/** The floor of the zstd stream: compressing the same buffers at level 1, nothing else. */
function zstdAlone(i: number): number {
  let n = 0;
  for (const b of columnBuffers[i]!) n += cctx.compress(frameScratch, b, 1);
  return n;
}

/** Spans per CPU second of `fn` (each call handles one request), run for about MS ms. */
function rate(fn: (i: number) => unknown): number {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < MS) {
    fn(n % batches.length);
    n++;
  }
  const c = process.cpuUsage(c0);
  return (n * SPANS) / ((c.user + c.system) / 1e6);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fmt = (r: number) => `${(r / 1e6).toFixed(2)}M spans/s`;
const usPerRequest = (r: number) => `${((SPANS / r) * 1e6).toFixed(0)} µs/request`;

const ours: number[] = [];
const base: number[] = [];
const flight: number[] = [];
const flightOld: number[] = [];
const zstdStream: number[] = [];
const zstdFloor: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  zstdStream.push(rate((i) => toIpcStream('spans', batches[i]!, { compression: 'zstd' })));
  zstdFloor.push(rate(zstdAlone));
  ours.push(rate((i) => toIpcStream('spans', batches[i]!)));
  base.push(rate((i) => arrowJsIpcStream('spans', batches[i]!)));
  flight.push(rate((i) => flightFrames(streams[i]!, true)));
  flightOld.push(rate((i) => flightFrames(streams[i]!, false)));
}

console.log(
  `IPC encode, ${SPANS} spans/request, ${(ipcBytes / 1024).toFixed(0)} KiB per stream; ` +
    `${ROUNDS} rounds × ${MS} ms, per CPU second; node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
const line = (name: string, xs: number[]) =>
  console.log(
    `  ${name.padEnd(42)} ${fmt(median(xs)).padStart(16)} [best ${fmt(Math.max(...xs))}]  ${usPerRequest(median(xs))}`,
  );
line('toIpcStream (ipc-writer.ts)', ours);
line('apache-arrow RecordBatchStreamWriter', base);
line('Flight + grpc-js framing (FlightDataFrame)', flight);
line('Flight + grpc-js framing (encodeFlightData)', flightOld);
line('toIpcStream, zstd bodies (level 1)', zstdStream);
line('zstd of the same buffers alone (floor)', zstdFloor);
console.log(`  ratio ours / apache-arrow: ${(median(ours) / median(base)).toFixed(2)}×`);
console.log(
  `  zstd stream: ${(median(zstdFloor) / median(zstdStream)).toFixed(2)}× the time of zstd alone; ` +
    `${((SPANS / median(zstdStream) - SPANS / median(zstdFloor)) * 1e6).toFixed(0)} µs/request above it`,
);
console.log(
  `  ratio FlightDataFrame / encodeFlightData: ${(median(flight) / median(flightOld)).toFixed(2)}×`,
);
