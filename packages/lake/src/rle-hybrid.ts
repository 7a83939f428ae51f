/**
 * Parquet's RLE / bit-packing hybrid encoding (definition and repetition levels,
 * dictionary indices). Long runs of equal values become RLE runs (8 or more values, 32 at
 * bit width 1: long enough to pay for the headers, counted after the literals before
 * them are topped up to a whole group); everything else goes into bit-packed groups of 8
 * (LSB first). A bit-packed run in the middle must hold
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
  if (sameTo(values, n, v0) === n) {
    rleRun(out, v0, n, byteWidth);
    return;
  }
  // An RLE run costs its header and value, and ends a bit-packed run (whose successor
  // needs a header too): at narrow widths only a long run pays for that.
  const minRun = Math.max(8, Math.ceil((8 * (3 + byteWidth)) / Math.max(1, bitWidth)));
  if (values instanceof Uint8Array && n >= 64) {
    encodeBytes(out, values, n, bitWidth, byteWidth, minRun);
    return;
  }
  let pending = 0; // start of values not yet emitted
  let i = 0;
  while (i < n) {
    const v = values[i]!;
    let j = i + 1;
    while (j < n && values[j] === v) j++;
    if (j - i >= minRun) pending = emitRun(out, values, pending, i, j, bitWidth, byteWidth, minRun);
    i = j;
  }
  if (pending < n) bitPack(out, values, pending, n, bitWidth);
}

/**
 * The maximal run `values[s, e)` (at least `minRun` long), with literals pending from
 * `pending`: the literals are topped up to a whole group of 8, and if what is left of
 * the run is still `minRun` long, they are bit-packed and the run becomes an RLE run.
 * Shorter ones stay literals (a run of 13 in a period of 14 would otherwise cost four
 * bytes per period where bit-packing costs under two). Returns the new `pending`.
 */
function emitRun(
  out: ByteSink,
  values: Uint8Array | Int32Array,
  pending: number,
  s: number,
  e: number,
  bitWidth: number,
  byteWidth: number,
  minRun: number,
): number {
  let start = s;
  const lit = start - pending;
  if (lit % 8 !== 0) start += 8 - (lit % 8);
  if (e - start < minRun) return pending;
  if (start > pending) bitPack(out, values, pending, start, bitWidth);
  rleRun(out, values[s]!, e - start, byteWidth);
  return e;
}

/**
 * `encodeRleHybrid` for byte values (levels), the same output found four bytes at a
 * time: a run of 8 or more contains a whole 4-byte block (counted from 0) or, at either
 * end, starts or ends on one, so only uniform blocks can start a run; the rest is
 * skipped a block at a time.
 */
function encodeBytes(
  out: ByteSink,
  values: Uint8Array,
  n: number,
  bitWidth: number,
  byteWidth: number,
  minRun: number,
): void {
  const view = new DataView(values.buffer, values.byteOffset, n);
  const blocks = n >> 2;
  let pending = 0;
  let w = 0;
  while (w < blocks) {
    const x = view.getInt32(4 * w);
    const v = x & 0xff;
    if (x !== Math.imul(v, 0x01010101)) {
      w++;
      continue;
    }
    let w2 = w + 1;
    while (w2 < blocks && view.getInt32(4 * w2) === x) w2++;
    // The whole run: out from the uniform blocks byte by byte.
    let s = 4 * w;
    while (s > pending && values[s - 1] === v) s--;
    let e = 4 * w2;
    while (e < n && values[e] === v) e++;
    if (e - s >= minRun) pending = emitRun(out, values, pending, s, e, bitWidth, byteWidth, minRun);
    w = w2;
  }
  if (pending < n) bitPack(out, values, pending, n, bitWidth);
}

/** How many of `values[0, n)` equal `v` from the start; bytes are compared by fours. */
export function sameTo(values: Uint8Array | Int32Array, n: number, v: number): number {
  let i = 0;
  if (values instanceof Uint8Array && n >= 64) {
    while (i < n && ((values.byteOffset + i) & 3) !== 0) {
      if (values[i] !== v) return i;
      i++;
    }
    const words = new Int32Array(values.buffer, values.byteOffset + i, (n - i) >> 2);
    const w = Math.imul(v & 0xff, 0x01010101);
    let k = 0;
    while (k < words.length && words[k] === w) k++;
    i += 4 * k;
  }
  while (i < n && values[i] === v) i++;
  return i;
}

/**
 * Byte values (each < 2^bitWidth, width 1 or 2) packed four at a time: a 32-bit word of
 * four values folds into 4 or 8 bits with two shifts and masks. Returns the new `p`.
 */
function packBytesNarrow(
  b: Uint8Array,
  p: number,
  values: Uint8Array,
  from: number,
  to: number,
  bitWidth: number,
): number {
  const view = new DataView(values.buffer, values.byteOffset);
  let idx = from;
  if (bitWidth === 1) {
    for (const full = from + ((to - from) & ~7); idx < full; idx += 8) {
      let lo = view.getInt32(idx, true);
      lo |= lo >>> 7;
      lo &= 0x00030003;
      lo |= lo >>> 14;
      let hi = view.getInt32(idx + 4, true);
      hi |= hi >>> 7;
      hi &= 0x00030003;
      hi |= hi >>> 14;
      b[p++] = (lo & 0xf) | ((hi & 0xf) << 4);
    }
    if (idx < to) {
      let byte = 0;
      for (let k = 0; idx + k < to; k++) byte |= values[idx + k]! << k;
      b[p++] = byte;
    }
    return p;
  }
  for (const full = from + ((to - from) & ~3); idx < full; idx += 4) {
    let x = view.getInt32(idx, true);
    x |= x >>> 6;
    x &= 0x000f000f;
    x |= x >>> 12;
    b[p++] = x & 0xff;
  }
  if (idx < to) {
    let byte = 0;
    for (let k = 0; idx + k < to; k++) byte |= values[idx + k]! << (2 * k);
    b[p++] = byte;
  }
  return p;
}

/**
 * Groups of 8 values at `bitWidth` ≤ 8 (dictionary indices): each half-group's 4 values
 * are joined in one 32-bit word, then the group's `bitWidth` bytes are written from the
 * two words. The last group is zero-padded. Returns the new `p`.
 */
function packGroups(
  b: Uint8Array,
  p: number,
  values: Uint8Array | Int32Array,
  from: number,
  to: number,
  w: number,
): number {
  const half = 4 * w; // bits per half-group
  const whole = half >> 3; // whole bytes of the low half
  const odd = (half & 7) !== 0; // odd widths: a byte shared by both halves
  const at = (i: number) => (i < to ? values[i]! : 0);
  for (let i = from; i < to; i += 8) {
    let lo: number;
    let hi: number;
    if (i + 8 <= to) {
      lo =
        values[i]! |
        (values[i + 1]! << w) |
        (values[i + 2]! << (2 * w)) |
        (values[i + 3]! << (3 * w));
      hi =
        values[i + 4]! |
        (values[i + 5]! << w) |
        (values[i + 6]! << (2 * w)) |
        (values[i + 7]! << (3 * w));
    } else {
      lo = at(i) | (at(i + 1) << w) | (at(i + 2) << (2 * w)) | (at(i + 3) << (3 * w));
      hi = at(i + 4) | (at(i + 5) << w) | (at(i + 6) << (2 * w)) | (at(i + 7) << (3 * w));
    }
    for (let k = 0; k < whole; k++) b[p++] = (lo >>> (8 * k)) & 0xff;
    if (odd) {
      b[p++] = ((lo >>> (8 * whole)) & 0xf) | ((hi & 0xf) << 4);
      hi >>>= 4;
    }
    for (let k = 0; k < whole; k++) b[p++] = (hi >>> (8 * k)) & 0xff;
  }
  return p;
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
  if (bitWidth <= 2 && values instanceof Uint8Array) {
    p = packBytesNarrow(b, p, values, from, to, bitWidth);
    // Zero padding up to the last group's end.
    const end = out.pos + bytes;
    while (p < end) b[p++] = 0;
    out.pos = p;
    return;
  }
  if (bitWidth <= 8) {
    // Dictionary indices (and levels wider than 2 bits).
    out.pos = packGroups(b, p, values, from, to, bitWidth);
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
