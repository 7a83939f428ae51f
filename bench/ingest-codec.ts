/**
 * Batch codec throughput (encode + decode of a v1 batch object) against a plain
 * `Buffer.concat` copy of the same records, measured in the same run.
 *
 * Records are telemetry-like text (JSON-ish lines with varying ids and numbers), so zstd
 * sees realistic redundancy. Each scenario encodes and decodes one 16 MiB batch of
 * 1 KiB or 64 KiB records, repeated for `--seconds`; scenarios alternate with the
 * baseline in rounds to cancel machine drift. MB/s counts record payload bytes.
 *
 *   node scripts/run-ts.mjs bench/ingest-codec.ts [--seconds 1] [--rounds 3] [--mib 16]
 */
import { decodeBatch, encodeBatch } from '@sediment/ingest';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SECONDS = arg('seconds', 1);
const ROUNDS = arg('rounds', 3);
const MIB = arg('mib', 16);

/** Deterministic telemetry-like records of `size` bytes. */
function makeRecords(size: number, totalBytes: number): Uint8Array[] {
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const services = ['checkout', 'cart', 'payment', 'frontend', 'ad', 'email'];
  const records: Uint8Array[] = [];
  for (let total = 0; total < totalBytes; total += size) {
    let text = '';
    while (text.length < size) {
      text +=
        `{"trace_id":"${rand().toString(16).padStart(8, '0')}${rand().toString(16)}",` +
        `"service":"${services[rand() % services.length]}","duration_ns":${rand() % 1_000_000},` +
        `"status":"${rand() % 10 === 0 ? 'ERROR' : 'OK'}","attrs":{"http.status_code":${200 + (rand() % 5)}}}\n`;
    }
    records.push(Buffer.from(text.slice(0, size)));
  }
  return records;
}

interface Result {
  bytes: number;
  ms: number;
}

function timeLoop(seconds: number, body: () => number): Result {
  let bytes = 0;
  const start = performance.now();
  let now = start;
  do {
    bytes += body();
    now = performance.now();
  } while (now - start < seconds * 1000);
  return { bytes, ms: now - start };
}

const mbps = (r: Result) => r.bytes / (1024 * 1024) / (r.ms / 1000);

console.log(
  `ingest-codec: ${MIB} MiB batches, ${ROUNDS} rounds × ${SECONDS} s per scenario (node ${process.version})`,
);
console.log(
  'scenario                       encode MB/s  decode MB/s  enc+dec MB/s  baseline MB/s  ratio  size',
);
for (const recordSize of [1024, 64 * 1024]) {
  const records = makeRecords(recordSize, MIB * 1024 * 1024);
  const payload = records.reduce((n, r) => n + r.byteLength, 0);
  for (const compression of ['none', 'zstd'] as const) {
    const enc: Result = { bytes: 0, ms: 0 };
    const dec: Result = { bytes: 0, ms: 0 };
    const both: Result = { bytes: 0, ms: 0 };
    const base: Result = { bytes: 0, ms: 0 };
    let encodedSize = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const b = timeLoop(SECONDS, () => {
        const copy = Buffer.concat(records);
        if (copy.byteLength !== payload) throw new Error('copy size');
        return payload;
      });
      base.bytes += b.bytes;
      base.ms += b.ms;
      const encoded = encodeBatch(records, { compression });
      encodedSize = encoded.byteLength;
      const e = timeLoop(SECONDS / 2, () => {
        encodeBatch(records, { compression });
        return payload;
      });
      enc.bytes += e.bytes;
      enc.ms += e.ms;
      const d = timeLoop(SECONDS / 2, () => {
        const out = decodeBatch(encoded);
        if (out.records.length !== records.length) throw new Error('decode count');
        return payload;
      });
      dec.bytes += d.bytes;
      dec.ms += d.ms;
      const ed = timeLoop(SECONDS, () => {
        decodeBatch(encodeBatch(records, { compression }));
        return payload;
      });
      both.bytes += ed.bytes;
      both.ms += ed.ms;
    }
    const name = `${recordSize === 1024 ? '1 KiB' : '64 KiB'} records, ${compression}`;
    console.log(
      `${name.padEnd(30)} ${mbps(enc).toFixed(0).padStart(11)}  ${mbps(dec).toFixed(0).padStart(11)}  ` +
        `${mbps(both).toFixed(0).padStart(12)}  ${mbps(base).toFixed(0).padStart(13)}  ` +
        `${(mbps(both) / mbps(base)).toFixed(2).padStart(5)}  ` +
        `${(encodedSize / payload).toFixed(3)}×`,
    );
  }
}
console.log(
  'ratio = (encode+decode MB/s) / (Buffer.concat MB/s); size = object bytes / payload bytes.',
);
