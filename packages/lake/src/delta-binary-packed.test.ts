import { describe, expect, it } from 'vitest';
import { ByteSink } from './byte-sink.js';
import { encodeDeltaBinaryPacked, encodeDeltaBinaryPacked64 } from './delta-binary-packed.js';

/**
 * A DELTA_BINARY_PACKED reader written from parquet-format's Encodings.md, for values
 * whose deltas need more bits than real string lengths reach (the file-level tests in
 * parquet-writer.test.ts have DuckDB, arrow-rs and hyparquet read real pages).
 */
function decode(bytes: Uint8Array, bits: 32 | 64 = 32): bigint[] {
  let p = 0;
  const uleb = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[p++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  const zz = (): bigint => {
    const v = uleb();
    return v & 1n ? -(v >> 1n) - 1n : v >> 1n;
  };
  const blockSize = Number(uleb());
  const miniblocks = Number(uleb());
  const total = Number(uleb());
  let last = zz();
  const out: bigint[] = total > 0 ? [BigInt.asIntN(bits, last)] : [];
  const perMini = blockSize / miniblocks;
  while (out.length < total) {
    const min = zz();
    const widths = Array.from(bytes.subarray(p, p + miniblocks));
    p += miniblocks;
    for (const w of widths) {
      if (out.length >= total) break;
      let bitPos = 0;
      const start = p;
      for (let k = 0; k < perMini; k++) {
        let v = 0n;
        for (let b = 0; b < w; b++, bitPos++) {
          const bit = (bytes[start + (bitPos >> 3)]! >> (bitPos & 7)) & 1;
          v |= BigInt(bit) << BigInt(b);
        }
        if (out.length < total) {
          last += min + v;
          out.push(BigInt.asIntN(bits, last));
        }
      }
      p += (perMini * w) / 8;
    }
  }
  expect(p).toBe(bytes.length);
  return out;
}

function roundTrip(values: number[]): void {
  const sink = new ByteSink(16);
  encodeDeltaBinaryPacked(sink, Int32Array.from(values), values.length, new Int32Array(128));
  expect(decode(sink.view()).map(Number)).toEqual(values);
}

/** The int64 encoder: true and the values back, or false with nothing written. */
function roundTrip64(values: bigint[]): boolean {
  const sink = new ByteSink(16);
  sink.u8(0xee);
  const words = new Int32Array(BigInt64Array.from(values).buffer);
  const ok = encodeDeltaBinaryPacked64(sink, words, values.length, new Float64Array(128));
  if (ok) expect(decode(sink.view().subarray(1), 64)).toEqual(values);
  else expect(sink.pos).toBe(1);
  return ok;
}

describe('DELTA_BINARY_PACKED', () => {
  it('round-trips every bit width, the largest lengths and partial blocks', () => {
    let seed = 7;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    for (const n of [0, 1, 2, 31, 32, 33, 127, 128, 129, 130, 257, 1000]) {
      for (let width = 0; width <= 31; width++) {
        const mask = 2 ** width - 1;
        const values = Array.from({ length: n }, () => rnd() & mask);
        roundTrip(values);
      }
    }
    // Lengths from 0 to 2^31 - 1 back and forth: `delta - min` needs all 32 bits.
    roundTrip([0x7fffffff, 0, 0x7fffffff, 0, 0, 5, 1]);
    roundTrip(Array.from({ length: 300 }, (_, i) => (i % 2 ? 0 : 0x7fffffff)));
    // Equal deltas that are not 0 (a width-0 block with a non-zero minimum).
    roundTrip(Array.from({ length: 300 }, (_, i) => 7 * i));
    // Constant and monotone runs (string lengths of ids: width 0 throughout).
    roundTrip(Array.from({ length: 1000 }, () => 32));
    roundTrip(Array.from({ length: 1000 }, (_, i) => 1000 - i));
  });

  it('round-trips int64 values whose neighbours are less than 2^52 apart, at every width', () => {
    let seed = 11n;
    const rnd = () => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
      return seed;
    };
    for (const n of [0, 1, 2, 33, 128, 129, 300]) {
      for (let width = 0; width <= 51; width++) {
        // Deltas in [-2^width, 2^width): `delta - min` up to 2^(width+1), 52 bits at most.
        const start = BigInt.asIntN(64, rnd());
        const values: bigint[] = [];
        for (let i = 0, x = start; i < n; i++) {
          values.push(x);
          const d = (rnd() >> 8n) & ((1n << BigInt(width + 1)) - 1n);
          x = BigInt.asIntN(64, x + d - (1n << BigInt(width)));
        }
        expect(roundTrip64(values), `n ${n}, width ${width}`).toBe(true);
      }
    }
    // Nanosecond timestamps; int64 extremes with small steps; the widest deltas allowed.
    const t = 1_700_000_000_000_000_000n;
    expect(roundTrip64([t, t + 1n, t + 1_000n, t - 3_000_000_000n])).toBe(true);
    const M = (1n << 63n) - 1n;
    expect(roundTrip64([M, M - 1n, M - 5n])).toBe(true);
    expect(roundTrip64([-M - 1n, -M, -M + 7n])).toBe(true);
    const wide = (1n << 52n) - 1n;
    expect(roundTrip64([0n, wide, 0n, -wide, 0n, wide])).toBe(true);
    expect(roundTrip64([5n, 5n + wide + 1n])).toBe(false);
    // Past 2^53 doubles lose precision: such pages must not be packed.
    expect(roundTrip64([0n, (1n << 56n) + 1n, 1n])).toBe(false);
    expect(roundTrip64([M, -M - 1n])).toBe(false);
  });
});
