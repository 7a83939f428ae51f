/**
 * Byte-level text writers used to render values straight into Utf8 column buffers.
 * Every function writes at `pos` into `dst` (the caller reserved enough room: see
 * the `max*` helpers) and returns the position after the written bytes.
 */

const HEX = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));
const B64 = new Uint8Array(
  [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c) =>
    c.charCodeAt(0),
  ),
);

/** The two lowercase hex digits of each byte value, as a little-endian 16-bit word. */
export const HEX_PAIRS = Uint16Array.from(
  { length: 256 },
  (_, b) => HEX[b >>> 4]! | (HEX[b & 15]! << 8),
);

/** Room needed by writeBase64 for `n` input bytes. */
export function maxBase64(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/** Standard base64 (RFC 4648, with padding) of `src[start, end)`. */
export function writeBase64(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  pos: number,
): number {
  let i = start;
  for (; i + 3 <= end; i += 3) {
    const v = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
    dst[pos++] = B64[v >>> 18]!;
    dst[pos++] = B64[(v >>> 12) & 63]!;
    dst[pos++] = B64[(v >>> 6) & 63]!;
    dst[pos++] = B64[v & 63]!;
  }
  const rest = end - i;
  if (rest === 1) {
    const v = src[i]! << 16;
    dst[pos++] = B64[v >>> 18]!;
    dst[pos++] = B64[(v >>> 12) & 63]!;
    dst[pos++] = 61;
    dst[pos++] = 61;
  } else if (rest === 2) {
    const v = (src[i]! << 16) | (src[i + 1]! << 8);
    dst[pos++] = B64[v >>> 18]!;
    dst[pos++] = B64[(v >>> 12) & 63]!;
    dst[pos++] = B64[(v >>> 6) & 63]!;
    dst[pos++] = 61;
  }
  return pos;
}

/** Writes an ASCII-only string (the caller guarantees it: numbers, fixed names). */
export function writeAscii(s: string, dst: Uint8Array, pos: number): number {
  for (let i = 0; i < s.length; i++) dst[pos++] = s.charCodeAt(i);
  return pos;
}

/** Writes a non-negative integer below 2^53 in decimal. */
export function writeUintDecimal(v: number, dst: Uint8Array, pos: number): number {
  if (v < 10) {
    dst[pos] = 48 + v;
    return pos + 1;
  }
  let digits = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
  let p = pos + digits;
  const end = p;
  if (v < 0x80000000) {
    let x = v | 0;
    while (x >= 10) {
      const q = (x / 10) | 0;
      dst[--p] = 48 + x - q * 10;
      x = q;
    }
    dst[--p] = 48 + x;
  } else {
    let x = v;
    while (x >= 10) {
      const q = Math.floor(x / 10);
      dst[--p] = 48 + (x - q * 10);
      x = q;
    }
    dst[--p] = 48 + x;
  }
  return end;
}

/** Room always sufficient for a 64-bit integer in decimal. */
export const MAX_INT64_DECIMAL = 20;

/** Signed 64-bit integer given as two's-complement halves, in decimal. */
export function writeInt64Decimal(lo: number, hi: number, dst: Uint8Array, pos: number): number {
  if (hi >= 0) {
    if (hi < 0x200000) return writeUintDecimal(hi * 4294967296 + (lo >>> 0), dst, pos);
  } else {
    const mlo = (~lo + 1) >>> 0;
    const mhi = (~hi + (mlo === 0 ? 1 : 0)) >>> 0;
    if (mhi < 0x200000) {
      dst[pos++] = 45; // '-'
      return writeUintDecimal(mhi * 4294967296 + mlo, dst, pos);
    }
  }
  // Beyond 2^53: rare, exact through BigInt.
  const big = BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  return writeAscii(big.toString(), dst, pos);
}

/** Room always sufficient for `String(double)`. */
export const MAX_DOUBLE_TEXT = 26;

/**
 * A double as JavaScript's shortest round-trip text (`String(d)`): "1.5", "1e+21",
 * "NaN", "Infinity", "-Infinity"; -0 renders as "0".
 */
export function writeDouble(d: number, dst: Uint8Array, pos: number): number {
  if (Number.isSafeInteger(d)) {
    if (d >= 0) return writeUintDecimal(d, dst, pos);
    dst[pos++] = 45;
    return writeUintDecimal(-d, dst, pos);
  }
  return writeAscii(String(d), dst, pos);
}

/** Writes a double as a JSON value: a number, or "NaN"/"Infinity"/"-Infinity" quoted. */
export function writeJsonDouble(d: number, dst: Uint8Array, pos: number): number {
  if (Number.isFinite(d)) return writeDouble(d, dst, pos);
  dst[pos++] = 34;
  pos = writeDouble(d, dst, pos);
  dst[pos++] = 34;
  return pos;
}

/** Room needed by writeJsonString for `n` UTF-8 bytes. */
export function maxJsonString(n: number): number {
  return 6 * n + 2;
}

const ESCAPE = new Uint8Array(128);
for (let c = 0; c < 32; c++) ESCAPE[c] = 1;
ESCAPE[34] = 1;
ESCAPE[92] = 1;

/**
 * A UTF-8 string as a quoted JSON string, escaped exactly like JSON.stringify
 * (`\"`, `\\`, `\b\f\n\r\t`, other control characters as `\u00xx`); bytes >= 0x80
 * are copied unchanged.
 */
export function writeJsonString(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  pos: number,
): number {
  dst[pos++] = 34;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    if (b >= 128 || ESCAPE[b] === 0) {
      dst[pos++] = b;
      continue;
    }
    dst[pos++] = 92;
    switch (b) {
      case 34:
        dst[pos++] = 34;
        break;
      case 92:
        dst[pos++] = 92;
        break;
      case 8:
        dst[pos++] = 98;
        break;
      case 9:
        dst[pos++] = 116;
        break;
      case 10:
        dst[pos++] = 110;
        break;
      case 12:
        dst[pos++] = 102;
        break;
      case 13:
        dst[pos++] = 114;
        break;
      default:
        dst[pos++] = 117; // u00xx
        dst[pos++] = 48;
        dst[pos++] = 48;
        dst[pos++] = HEX[b >>> 4]!;
        dst[pos++] = HEX[b & 15]!;
    }
  }
  dst[pos++] = 34;
  return pos;
}

/** FNV-1a over a byte range (dictionary and duplicate-key hashing). */
export function hashBytes(src: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
  return h;
}

/** True when `a[as, ae)` and `b[bs, be)` hold the same bytes. */
export function bytesEqual(
  a: Uint8Array,
  as: number,
  ae: number,
  b: Uint8Array,
  bs: number,
  be: number,
): boolean {
  const n = ae - as;
  if (n !== be - bs) return false;
  for (let i = 0; i < n; i++) if (a[as + i] !== b[bs + i]) return false;
  return true;
}

/** True when every byte of `buf[start, end)` is zero (an unset W3C id). */
export function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
