/**
 * Parquet's DELTA_BINARY_PACKED encoding of 32-bit integers, as the length section of
 * DELTA_LENGTH_BYTE_ARRAY (string values: all lengths first, then all bytes back to
 * back, so the bytes are one copy of the Arrow values buffer instead of a copy per
 * string between 4-byte length prefixes).
 *
 * Layout (parquet-format Encodings.md): a header `<block size> <miniblocks per block>
 * <value count> <first value (zigzag)>`, all ULEB128, then per block of 128 deltas `<min
 * delta (zigzag)> <4 bit widths, one byte each> <4 miniblocks of 32 values, each
 * bit-packed LSB first at its width>` holding `delta - min delta`. A partial last
 * miniblock is padded to 32 values; miniblocks past the last value are left out (their
 * width bytes are written as 0).
 */
import type { ByteSink } from './byte-sink.js';

const BLOCK = 128;
const MINIBLOCKS = 4;
const MINI = BLOCK / MINIBLOCKS;

/** Zigzag of a safe integer (not limited to 32 bits). */
function zigzag(v: number): number {
  return v >= 0 ? 2 * v : -2 * v - 1;
}

/**
 * Appends DELTA_BINARY_PACKED of `values[0, n)` to `out`. The values are non-negative
 * int32 (string lengths), so each delta fits int32. `deltas` is scratch of at least 128
 * entries.
 */
export function encodeDeltaBinaryPacked(
  out: ByteSink,
  values: Int32Array,
  n: number,
  deltas: Int32Array,
): void {
  out.varint(BLOCK);
  out.varint(MINIBLOCKS);
  out.varint(n);
  out.varint(zigzag(n > 0 ? values[0]! : 0));
  for (let i = 1; i < n; i += BLOCK) {
    const count = Math.min(BLOCK, n - i);
    let min = 0x7fffffff;
    let max = -0x80000000;
    let prev = values[i - 1]!;
    for (let k = 0; k < count; k++) {
      const v = values[i + k]!;
      const d = v - prev;
      prev = v;
      deltas[k] = d;
      if (d < min) min = d;
      if (d > max) max = d;
    }
    out.varint(zigzag(min));
    out.ensure(MINIBLOCKS);
    const widthsAt = out.pos;
    out.pos += MINIBLOCKS;
    const b = out.buf;
    if (min === max) {
      // Equal deltas (strings of one length: ids, hashes): every miniblock is width 0.
      b[widthsAt] = b[widthsAt + 1] = b[widthsAt + 2] = b[widthsAt + 3] = 0;
      continue;
    }
    const minis = Math.ceil(count / MINI);
    for (let m = 0; m < MINIBLOCKS; m++) {
      let or = 0;
      const end = Math.min(count, (m + 1) * MINI);
      // `delta - min` < 2^32, kept as its 32-bit pattern (`>>> 0` reads it back).
      for (let k = m * MINI; k < end; k++) {
        const v = (deltas[k]! - min) | 0;
        deltas[k] = v;
        or |= v;
      }
      out.buf[widthsAt + m] = m < minis && or !== 0 ? 32 - Math.clz32(or) : 0;
    }
    for (let m = 0; m < minis; m++) {
      const width = out.buf[widthsAt + m]!;
      if (width > 0) packMiniblock(out, deltas, m * MINI, Math.min(count, (m + 1) * MINI), width);
    }
  }
}

/** `values[from, to)` bit-packed at `width` (1..32), zero-padded to 32 values. */
function packMiniblock(
  out: ByteSink,
  values: Int32Array,
  from: number,
  to: number,
  width: number,
): void {
  out.ensure(4 * width); // 32 values × width bits
  const b = out.buf;
  let p = out.pos;
  let acc = 0;
  let bits = 0;
  const end = from + MINI;
  for (let i = from; i < end; i++) {
    const v = i < to ? values[i]! : 0;
    if (width <= 24) {
      acc |= v << bits;
      bits += width;
    } else {
      // Wider than acc can take at once: the low 16 bits, then the rest.
      acc |= (v & 0xffff) << bits;
      bits += 16;
      while (bits >= 8) {
        b[p++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
      acc |= (v >>> 16) << bits;
      bits += width - 16;
    }
    while (bits >= 8) {
      b[p++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  out.pos = p;
}
