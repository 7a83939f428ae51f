/**
 * The writer's check of one put, before it is queued: the put's zstd-compressed Arrow IPC
 * stream (what acceptors send) turned into its plain form in a reused scratch
 * (`decompressIpcStream`, @sediment/lake), then the structural check of every batch
 * (`validatePut`, services/writer). Baseline, same run: decompressing the same zstd frames
 * into the same scratch and nothing else, the part of the check no code change removes.
 * The ratio is what the rest (framing, planning, message headers, the structural check)
 * adds on top of zstd.
 *
 * Input: the end-to-end benchmark's requests (bench/lib/trace-payload.ts, 512 spans each),
 * decoded and encoded as the acceptor does (`toIpcStream`, zstd level 1). Rounds alternate
 * ours/baseline; figures are medians over rounds, µs per put (best in brackets).
 *
 *   node scripts/run-ts.mjs bench/writer-check.ts [--rounds 15] [--ms 300]
 */
import { decompressIpcStream, readBatchHeader, splitIpcStream } from '@sediment/lake';
import { toIpcStream } from '@sediment/otlp';
import zstd from 'zstd-napi/binding.js';
import { createPutValidator } from '../services/writer/src/validate-put.js';
import { numberArg } from './lib/args.js';
import { spanBatches } from './lib/span-batches.js';

const ROUNDS = numberArg('rounds', 15);
const MS = numberArg('ms', 300);

const puts = spanBatches(16).map((batch) => toIpcStream('spans', batch, { compression: 'zstd' }));

/** Each put's zstd frames with their plain lengths (the -1 "stored raw" buffers skipped). */
const frames = puts.map((ipc) => {
  const out: { frame: Uint8Array; plain: number }[] = [];
  for (const m of splitIpcStream(ipc)) {
    const h = readBatchHeader(ipc.subarray(m.metaStart, m.metaEnd));
    if (!h.compressed) continue;
    const body = ipc.subarray(m.bodyStart, m.end);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let i = 0; i < h.bufferCount; i++) {
      const at = h.bufferOffset(i);
      if (h.bufferLength(i) === 0) continue;
      const plain = Number(view.getBigInt64(at, true));
      if (plain >= 0) out.push({ frame: body.subarray(at + 8, at + h.bufferLength(i)), plain });
    }
  }
  return out;
});

let scratch = new Uint8Array(0);
const take = (size: number): Uint8Array => {
  if (scratch.length < size) scratch = new Uint8Array(size * 2);
  return scratch.subarray(0, size);
};
const dctx = new zstd.DCtx();
/** One validator for the run, as each writer keeps one (its compiled schemas are cached). */
const validatePut = createPutValidator();

function ours(i: number): number {
  const plain = decompressIpcStream(puts[i]!, 1 << 30, take);
  return validatePut(['spans'], plain).rows;
}

function floor(i: number): number {
  let n = 0;
  const target = take(8 << 20);
  for (const f of frames[i]!) n += dctx.decompress(target.subarray(0, f.plain), f.frame);
  return n;
}

/** µs per put over about MS milliseconds. */
function measure(fn: (i: number) => number): number {
  let n = 0;
  let sink = 0;
  const start = performance.now();
  let now = start;
  while (now - start < MS) {
    for (let i = 0; i < puts.length; i++) sink += fn(i);
    n += puts.length;
    now = performance.now();
  }
  if (sink < 0) console.log(sink);
  return ((now - start) * 1000) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const oursUs: number[] = [];
const floorUs: number[] = [];
for (let r = 0; r < 3; r++) {
  measure(ours);
  measure(floor);
}
for (let r = 0; r < ROUNDS; r++) {
  oursUs.push(measure(ours));
  floorUs.push(measure(floor));
}
const o = median(oursUs);
const f = median(floorUs);
console.log(
  `writer check of a 512-span put (${(puts.reduce((a, p) => a + p.length, 0) / puts.length / 1024).toFixed(0)} KiB compressed), µs per put, median of ${ROUNDS} rounds [best]`,
);
console.log(
  `  decompressIpcStream + validatePut  ${o.toFixed(0)} [${Math.min(...oursUs).toFixed(0)}]`,
);
console.log(
  `  zstd frames alone (baseline)       ${f.toFixed(0)} [${Math.min(...floorUs).toFixed(0)}]`,
);
console.log(
  `  ratio ${(o / f).toFixed(2)}× the baseline; check overhead ${(o - f).toFixed(0)} µs per put`,
);
