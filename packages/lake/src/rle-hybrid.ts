/**
 * Parquet's RLE / bit-packing hybrid encoding (definition and repetition levels,
 * dictionary indices). Runs of 8 or more equal values become RLE runs; everything else
 * goes into bit-packed groups of 8 (LSB first). A bit-packed run in the middle must hold
 * a multiple of 8 values, so a long run first tops the pending literals up to a group
 * boundary; only the final group is zero-padded (readers stop at the value count).
 */
import type { ByteSink } from './byte-sink.js';

/** Bits needed for values in [0, max]. */
export function bitWidthOf(max: number): number {
  return max <= 0 ? 0 : 32 - Math.clz32(max);
}

/**
 * Appends the hybrid encoding of `values[0, n)` (each < 2^bitWidth, bitWidth ≤ 24) to
 * `out`, without a length prefix.
 */
export function encodeRleHybrid(
  out: ByteSink,
  values: Uint8Array | Int32Array,
  n: number,
  bitWidth: number,
): void {
  if (n === 0) return;
  const byteWidth = (bitWidth + 7) >> 3;
  // Common case (definition levels of a column without nulls): one value throughout.
  const v0 = values[0]!;
  let same = 1;
  while (same < n && values[same] === v0) same++;
  if (same === n) {
    rleRun(out, v0, n, byteWidth);
    return;
  }
  let pending = 0; // start of values not yet emitted
  let i = 0;
  while (i < n) {
    const v = values[i]!;
    let j = i + 1;
    while (j < n && values[j] === v) j++;
    if (j - i >= 8) {
      let start = i;
      const lit = start - pending;
      if (lit % 8 !== 0) start += 8 - (lit % 8);
      if (start > pending) bitPack(out, values, pending, start, bitWidth);
      rleRun(out, v, j - start, byteWidth);
      pending = j;
    }
    i = j;
  }
  if (pending < n) bitPack(out, values, pending, n, bitWidth);
}

function rleRun(out: ByteSink, value: number, count: number, byteWidth: number): void {
  out.varint(count * 2);
  out.ensure(byteWidth);
  const b = out.buf;
  let p = out.pos;
  for (let k = 0; k < byteWidth; k++) b[p++] = (value >>> (8 * k)) & 0xff;
  out.pos = p;
}

/** Bit-packed groups for values[from, to), zero-padded to a multiple of 8 values. */
function bitPack(
  out: ByteSink,
  values: Uint8Array | Int32Array,
  from: number,
  to: number,
  bitWidth: number,
): void {
  const groups = Math.ceil((to - from) / 8);
  out.varint(groups * 2 + 1);
  const bytes = groups * bitWidth;
  out.ensure(bytes);
  const b = out.buf;
  let p = out.pos;
  if (bitWidth === 0) return;
  if (bitWidth === 1) {
    const full = from + ((to - from) & ~7);
    let idx = from;
    for (; idx < full; idx += 8) {
      b[p++] =
        values[idx]! |
        (values[idx + 1]! << 1) |
        (values[idx + 2]! << 2) |
        (values[idx + 3]! << 3) |
        (values[idx + 4]! << 4) |
        (values[idx + 5]! << 5) |
        (values[idx + 6]! << 6) |
        (values[idx + 7]! << 7);
    }
    if (idx < to) {
      let byte = 0;
      for (let k = 0; idx + k < to; k++) byte |= values[idx + k]! << k;
      b[p++] = byte;
    }
    out.pos = p;
    return;
  }
  let acc = 0;
  let bits = 0;
  const end = from + groups * 8;
  for (let idx = from; idx < end; idx++) {
    const v = idx < to ? values[idx]! : 0;
    acc |= v << bits;
    bits += bitWidth;
    while (bits >= 8) {
      b[p++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  out.pos = p;
}
