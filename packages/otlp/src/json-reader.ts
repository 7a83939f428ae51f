import { Buffer } from 'node:buffer';
import type { DictColumn } from './col-dict.js';
import type { Utf8Column } from './col-utf8.js';
import { InvalidInputError } from './errors.js';
import {
  F_ESCAPED,
  F_HEX,
  F_INTEGER,
  type JsonTape,
  KEY_SHIFT,
  KIND_MASK,
  T_ARRAY,
  T_FALSE,
  T_NULL,
  T_NUMBER,
  T_OBJECT,
  T_STRING,
  T_TRUE,
} from './json-tape.js';

const TWO_32 = 4294967296;
const B64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;
const UINT_RE = /^\d+$/;
const INT_RE = /^-?\d+$/;
/** Exact powers of ten as doubles (10^0 … 10^22). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Pass 2 primitives of the OTLP/JSON decoder: typed reads of tape values (see
 * json-tape.ts) following the proto3 JSON mapping as OTLP uses it — null or absent
 * means the default; 64-bit integers as decimal strings or numbers; enums as numbers
 * or names; ids as hex; bytes as base64. A value of the wrong JSON type is
 * InvalidInputError naming its path.
 *
 * A value is a tape index, or -1 when absent. Common spellings are read straight from
 * the bytes (digits, unescaped strings); anything unusual (escapes, exponents, numeric
 * strings for doubles, base64) goes through the exact JavaScript value JSON.parse
 * gives for that one token, so every input means exactly what it meant when the
 * decoder ran JSON.parse on the whole body.
 *
 * The path of the item being read lives in `path` (name/index pairs) so messages can
 * point at it without building strings on the hot path.
 */
export class JsonReader {
  src: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(this.src.buffer);
  buf: Buffer = Buffer.alloc(0);
  tape: Int32Array = new Int32Array(0);
  /** Result of the last u64 / i64 read. */
  lo = 0;
  hi = 0;
  /** Unescaped bytes of the last `unescape` (reused). */
  esc: Uint8Array = new Uint8Array(256);
  escView: DataView = new DataView(this.esc.buffer);
  private readonly path: Array<string | number> = [];
  private depth = 0;

  /** Reads `t` (freshly scanned) from the start. */
  attach(t: JsonTape): void {
    this.src = t.src;
    this.view = t.view;
    this.buf = t.buf;
    this.tape = t.tape;
    this.depth = 0;
    if (this.esc.length > 1024 * 1024) {
      // Do not pin the scratch of one huge escaped string.
      this.esc = new Uint8Array(256);
      this.escView = new DataView(this.esc.buffer);
    }
  }

  // ---- positions and errors -------------------------------------------------------

  enter(name: string): void {
    this.path[this.depth] = name;
    this.path[this.depth + 1] = -1;
    this.depth += 2;
  }
  at(i: number): void {
    this.path[this.depth - 1] = i;
  }
  leave(): void {
    this.depth -= 2;
  }

  location(field: string): string {
    let s = '';
    for (let i = 0; i < this.depth; i += 2) {
      if (s !== '') s += '.';
      s += this.path[i];
      const idx = this.path[i + 1] as number;
      if (idx >= 0) s += `[${idx}]`;
    }
    return field === '' ? s : s === '' ? field : `${s}.${field}`;
  }

  fail(field: string, problem: string): never {
    throw new InvalidInputError(`invalid OTLP/JSON at ${this.location(field)}: ${problem}`);
  }

  // ---- structure ------------------------------------------------------------------

  /** Kind of value `v` (T_*), 0 when absent. */
  kind(v: number): number {
    return v < 0 ? 0 : this.tape[v]! & KIND_MASK;
  }

  /** `a ?? b`: `a` unless it is absent or null. */
  or(a: number, b: number): number {
    return a >= 0 && (this.tape[a]! & KIND_MASK) !== T_NULL ? a : b;
  }

  /** True unless `v` is absent or null. */
  isSet(v: number): boolean {
    return v >= 0 && (this.tape[v]! & KIND_MASK) !== T_NULL;
  }

  /** Tape index of the value after `v` (skips a container whole). */
  next(v: number): number {
    return (this.tape[v]! & KIND_MASK) <= T_ARRAY ? this.tape[v + 2]! : v + 3;
  }

  /** Value of the last member with key `id` in object `o` (-1 when absent). */
  member(o: number, id: number): number {
    const tape = this.tape;
    const end = tape[o + 2]!;
    let found = -1;
    for (let x = o + 3; x < end; x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3) {
      if (tape[x]! >>> KEY_SHIFT === id) found = x;
    }
    return found;
  }

  /**
   * Indexes the members of object `o` by key id (json-keys.ts) into `out`, an array of
   * KEY_IDS entries: the value of each key present, -1 for the others; the last of
   * duplicate keys wins, as with `member`. Returns `out`.
   */
  members(o: number, out: Int32Array): Int32Array {
    const tape = this.tape;
    out.fill(-1);
    for (let i = 0, n = tape[o + 1]!, x = o + 3; i < n; i++) {
      out[tape[x]! >>> KEY_SHIFT] = x;
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    return out;
  }

  /** Element count of an array value (absent or null: 0); elements start at `v + 3`. */
  array(v: number, field: string): number {
    if (v < 0) return 0;
    const k = this.tape[v]! & KIND_MASK;
    if (k === T_ARRAY) return this.tape[v + 1]!;
    if (k !== T_NULL) this.fail(field, 'expected an array');
    return 0;
  }

  /** An optional message: `v` if it is an object, -1 when absent or null. */
  object(v: number, field: string): number {
    if (v < 0) return -1;
    const k = this.tape[v]! & KIND_MASK;
    if (k === T_OBJECT) return v;
    if (k !== T_NULL) this.fail(field, 'expected an object');
    return -1;
  }

  /** An element of a repeated message field: must be an object. */
  item(v: number, field: string): void {
    if ((this.tape[v]! & KIND_MASK) !== T_OBJECT) this.fail(field, 'expected an object');
  }

  // ---- strings --------------------------------------------------------------------

  /** The JavaScript string value of string `v` (exactly what JSON.parse gives). */
  jsString(v: number): string {
    const w = this.tape[v]!;
    const s = this.tape[v + 1]!;
    const e = this.tape[v + 2]!;
    if ((w & F_ESCAPED) === 0) return this.buf.toString('utf8', s, e);
    return JSON.parse(this.buf.toString('utf8', s - 1, e + 1)) as string;
  }

  /**
   * Fails unless `v` is a string, absent or null; returns 1 for a string without
   * escapes (bytes at tape[v+1]…tape[v+2] of `src`), 2 for a string with escapes
   * (call `unescape`), 0 for absent or null (the empty string).
   */
  stringForm(v: number, field: string): number {
    if (v < 0) return 0;
    const w = this.tape[v]!;
    const k = w & KIND_MASK;
    if (k === T_STRING) return (w & F_ESCAPED) === 0 ? 1 : 2;
    if (k !== T_NULL) this.fail(field, 'expected a string');
    return 0;
  }

  /**
   * Writes the UTF-8 bytes of escaped string `v` into `esc` and returns their count.
   * A lone UTF-16 surrogate (`"\ud800"`) cannot be UTF-8: InvalidInputError.
   */
  unescape(v: number, field: string): number {
    const src = this.src;
    let p = this.tape[v + 1]!;
    const end = this.tape[v + 2]!;
    // Unescaped text is never longer than its escaped form.
    if (this.esc.length < end - p) {
      this.esc = new Uint8Array(2 * (end - p));
      this.escView = new DataView(this.esc.buffer);
    }
    const out = this.esc;
    let n = 0;
    while (p < end) {
      const c = src[p]!;
      if (c !== 92) {
        out[n++] = c;
        p++;
        continue;
      }
      const e = src[p + 1]!;
      p += 2;
      switch (e) {
        case 98:
          out[n++] = 8;
          continue;
        case 102:
          out[n++] = 12;
          continue;
        case 110:
          out[n++] = 10;
          continue;
        case 114:
          out[n++] = 13;
          continue;
        case 116:
          out[n++] = 9;
          continue;
        case 117:
          break;
        default:
          out[n++] = e; // " \ /
          continue;
      }
      let cp = hex4(src, p);
      p += 4;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const low = cp <= 0xdbff && src[p] === 92 && src[p + 1] === 117 ? hex4(src, p + 2) : -1;
        if (low < 0xdc00 || low > 0xdfff) this.fail(field, 'lone UTF-16 surrogate in a string');
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        p += 6;
      }
      if (cp < 0x80) out[n++] = cp;
      else if (cp < 0x800) {
        out[n++] = 0xc0 | (cp >>> 6);
        out[n++] = 0x80 | (cp & 63);
      } else if (cp < 0x10000) {
        out[n++] = 0xe0 | (cp >>> 12);
        out[n++] = 0x80 | ((cp >>> 6) & 63);
        out[n++] = 0x80 | (cp & 63);
      } else {
        out[n++] = 0xf0 | (cp >>> 18);
        out[n++] = 0x80 | ((cp >>> 12) & 63);
        out[n++] = 0x80 | ((cp >>> 6) & 63);
        out[n++] = 0x80 | (cp & 63);
      }
    }
    return n;
  }

  /** Appends string `v` (absent or null: '') to `col`. */
  appendString(col: Utf8Column, v: number, field: string): void {
    const form = this.stringForm(v, field);
    if (form === 1) col.appendBytes(this.src, this.view, this.tape[v + 1]!, this.tape[v + 2]!);
    else if (form === 2) col.appendBytes(this.esc, this.escView, 0, this.unescape(v, field));
    else col.appendBytes(this.src, this.view, 0, 0);
  }

  /** Dictionary index of string `v` (absent or null: ''). */
  dictString(dict: DictColumn, v: number, field: string): number {
    const form = this.stringForm(v, field);
    if (form === 1) return dict.lookupBytes(this.src, this.tape[v + 1]!, this.tape[v + 2]!);
    if (form === 2) return dict.lookupBytes(this.esc, 0, this.unescape(v, field));
    return dict.lookupBytes(this.src, 0, 0);
  }

  bool(v: number, field: string): boolean {
    const k = this.kind(v);
    if (k === T_TRUE) return true;
    if (k !== T_FALSE && k !== T_NULL && k !== 0) this.fail(field, 'expected true or false');
    return false;
  }

  // ---- numbers --------------------------------------------------------------------

  /** The double value of number `v`, exactly as JSON.parse reads it. */
  numberValue(v: number): number {
    const src = this.src;
    const start = this.tape[v + 1]!;
    const end = this.tape[v + 2]!;
    let p = start;
    const negative = src[p] === 45;
    if (negative) p++;
    // Up to 15 significant digits and a power of ten within 10^±22: one correctly
    // rounded multiplication or division of exact values (the classic fast path).
    let m = 0;
    let digits = 0;
    let scale = 0;
    let c = src[p]!;
    while (p < end && c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      c = src[++p]!;
    }
    if (p < end && c === 46) {
      c = src[++p]!;
      while (p < end && c >= 48 && c <= 57) {
        m = m * 10 + (c - 48);
        digits++;
        scale--;
        c = src[++p]!;
      }
    }
    if (p < end) {
      // Exponent.
      c = src[++p]!;
      let expNegative = false;
      if (c === 43 || c === 45) {
        expNegative = c === 45;
        c = src[++p]!;
      }
      let exp = 0;
      while (p < end && exp < 10000) {
        exp = exp * 10 + (src[p]! - 48);
        p++;
      }
      if (p < end) return Number(this.buf.toString('latin1', start, end));
      scale += expNegative ? -exp : exp;
    }
    if (digits > 15 || scale < -22 || scale > 22) {
      return Number(this.buf.toString('latin1', start, end));
    }
    const r = scale === 0 ? m : scale < 0 ? m / POW10[-scale]! : m * POW10[scale]!;
    return negative ? -r : r;
  }

  /**
   * The value of a plain non-negative integer token of at most `maxDigits` digits,
   * or -1 when `v` is not one.
   */
  private smallUint(v: number, maxDigits: number): number {
    const w = this.tape[v]!;
    if ((w & (KIND_MASK | F_INTEGER)) !== (T_NUMBER | F_INTEGER)) return -1;
    const src = this.src;
    const start = this.tape[v + 1]!;
    const end = this.tape[v + 2]!;
    if (end - start > maxDigits || src[start] === 45) return -1;
    let m = 0;
    for (let p = start; p < end; p++) m = m * 10 + (src[p]! - 48);
    return m;
  }

  /** uint32 / fixed32 (number or decimal string). */
  uint32(v: number, field: string): number {
    return this.int32In(v, field, UINT_RE, 0, 0xffffffff, 'expected an unsigned 32-bit integer');
  }

  /** int32 / sint32 (number or decimal string). */
  int32(v: number, field: string): number {
    return this.int32In(v, field, INT_RE, -0x80000000, 0x7fffffff, 'expected a 32-bit integer');
  }

  /** A 32-bit integer in [min, max]: a number, or a string matching `digits`. */
  private int32In(
    v: number,
    field: string,
    digits: RegExp,
    min: number,
    max: number,
    problem: string,
  ): number {
    if (v < 0) return 0;
    const fast = this.smallUint(v, 9);
    if (fast >= 0) return fast;
    const k = this.tape[v]! & KIND_MASK;
    if (k === T_NULL) return 0;
    let n = Number.NaN;
    if (k === T_NUMBER) n = this.numberValue(v);
    else if (k === T_STRING) {
      const s = this.jsString(v);
      if (digits.test(s)) n = Number(s);
    }
    if (!Number.isInteger(n) || n < min || n > max) this.fail(field, problem);
    return n;
  }

  /** An enum: its number, or its name in `names`. */
  enumValue(v: number, names: Readonly<Record<string, number>>, field: string): number {
    if (v >= 0 && (this.tape[v]! & KIND_MASK) === T_STRING) {
      const s = this.jsString(v);
      const n = names[s];
      if (n !== undefined && Object.hasOwn(names, s)) return n;
      if (INT_RE.test(s)) return this.int32(v, field);
      this.fail(field, `unknown enum value ${JSON.stringify(s)}`);
    }
    return this.int32(v, field);
  }

  /** fixed64 / uint64 into `lo` / `hi`. */
  u64(v: number, field: string): void {
    // lo and hi are only ever stored as int32 (a field that flips between small ints
    // and doubles costs V8 representation changes).
    if (v < 0) {
      this.lo = 0;
      this.hi = 0;
      return;
    }
    const k = this.tape[v]! & KIND_MASK;
    if (k === T_STRING) {
      const hi = this.decimalString(v, false, field);
      if (hi >= TWO_32) this.fail(field, 'exceeds the unsigned 64-bit range');
      this.hi = hi | 0;
      return;
    }
    if (k === T_NULL) {
      this.lo = 0;
      this.hi = 0;
      return;
    }
    const fast = this.smallUint(v, 15);
    const d = fast >= 0 ? fast : k === T_NUMBER ? this.numberValue(v) : Number.NaN;
    if (!Number.isInteger(d) || d < 0 || d >= TWO_32 * TWO_32) {
      this.fail(field, 'expected an unsigned 64-bit integer');
    }
    const hi = Math.floor(d / TWO_32);
    this.lo = (d - hi * TWO_32) | 0;
    this.hi = hi | 0;
  }

  /** int64 / sfixed64 into `lo` / `hi` (two's complement). */
  i64(v: number, field: string): void {
    if (v < 0) {
      this.lo = 0;
      this.hi = 0;
      return;
    }
    const k = this.tape[v]! & KIND_MASK;
    let negative = false;
    // Magnitude: hi as an unsigned double, low 32 bits in this.lo.
    let hi: number;
    if (k === T_STRING) {
      hi = this.decimalString(v, true, field);
      negative = this.negative;
    } else if (k === T_NULL) {
      this.lo = 0;
      this.hi = 0;
      return;
    } else {
      const fast = this.smallUint(v, 15);
      const d = fast >= 0 ? fast : k === T_NUMBER ? this.numberValue(v) : Number.NaN;
      if (!Number.isInteger(d)) this.fail(field, 'expected an integer');
      negative = d < 0;
      const m = negative ? -d : d;
      hi = Math.floor(m / TWO_32);
      this.lo = (m - hi * TWO_32) | 0;
    }
    // At most 2^63 - 1, or 2^63 when negative.
    const limit = negative ? 0x80000000 : 0x7fffffff;
    if (hi > limit || (hi === 0x80000000 && (this.lo !== 0 || !negative))) {
      this.fail(field, 'exceeds the signed 64-bit range');
    }
    if (negative) {
      const lo = (~this.lo + 1) | 0;
      this.hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
      this.lo = lo;
    } else {
      this.hi = hi | 0;
    }
  }

  /** Set by `decimalString`: whether the digits followed a '-'. */
  private negative = false;

  /**
   * The decimal digits of string `v` (after a '-' when `signed`, see `negative`):
   * stores the low 32 bits in `lo`, returns the high part as an unsigned double (it
   * may exceed 2^32).
   */
  private decimalString(v: number, signed: boolean, field: string): number {
    let src = this.src;
    let start = this.tape[v + 1]!;
    let end = this.tape[v + 2]!;
    if ((this.tape[v]! & F_ESCAPED) !== 0) {
      // Digits spelled with escapes: their value is what counts.
      const s = this.jsString(v);
      src = this.esc.length >= s.length ? this.esc : new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        src[i] = c < 128 ? c : 0; // not a digit either way
      }
      start = 0;
      end = s.length;
    }
    const negative = signed && src[start] === 45;
    this.negative = negative;
    return parseDecimal(this, src, negative ? start + 1 : start, end, field);
  }

  /** double: a number, or "NaN" / "Infinity" / "-Infinity" / a numeric string. */
  double(v: number, field: string): number {
    if (v < 0) return 0;
    const k = this.tape[v]! & KIND_MASK;
    if (k === T_NUMBER) return this.numberValue(v);
    if (k === T_NULL) return 0;
    if (k === T_STRING) {
      const s = this.jsString(v);
      if (s === 'NaN') return Number.NaN;
      if (s === 'Infinity') return Number.POSITIVE_INFINITY;
      if (s === '-Infinity') return Number.NEGATIVE_INFINITY;
      const d = Number(s);
      if (s.trim() !== '' && !Number.isNaN(d)) return d;
    }
    this.fail(field, 'expected a number');
  }

  // ---- ids and bytes --------------------------------------------------------------

  /**
   * A hex id (trace_id, span_id): returns its length in bytes (absent or empty: 0).
   * The digits themselves are checked when the id is written (appendHexLower).
   */
  hexIdLength(v: number, field: string): number {
    if (v < 0) return 0;
    const w = this.tape[v]!;
    const k = w & KIND_MASK;
    if (k === T_NULL) return 0;
    if (k !== T_STRING) this.fail(field, 'expected a hex string');
    const start = this.tape[v + 1]!;
    const end = this.tape[v + 2]!;
    let n = end - start;
    if ((w & (F_ESCAPED | F_HEX)) === 0) {
      // Plain hex digits: mark the entry, so appendHexLower copies it unchecked.
      const src = this.src;
      let flags = 0;
      for (let i = start; i < end; i++) flags |= HEX_LOWER[src[i]!]!;
      if ((flags & 0x80) === 0) this.tape[v] = w | F_HEX;
    }
    // The length that counts is in UTF-16 units: bytes unless escaped or non-ASCII.
    if ((this.tape[v]! & F_HEX) === 0 && !this.isAsciiString(v)) n = this.jsString(v).length;
    if (n % 2 !== 0) this.fail(field, 'hex id has an odd number of digits');
    return n >>> 1;
  }

  /** True when string `v` has no escapes and only ASCII bytes. */
  private isAsciiString(v: number): boolean {
    if ((this.tape[v]! & F_ESCAPED) !== 0) return false;
    const src = this.src;
    const end = this.tape[v + 2]!;
    for (let i = this.tape[v + 1]!; i < end; i++) if (src[i]! >= 0x80) return false;
    return true;
  }

  /** True when string `v` holds only '0' digits. */
  isZeroHex(v: number): boolean {
    if ((this.tape[v]! & F_ESCAPED) !== 0) {
      const s = this.jsString(v);
      for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 48) return false;
      return true;
    }
    const src = this.src;
    const end = this.tape[v + 2]!;
    for (let i = this.tape[v + 1]!; i < end; i++) if (src[i] !== 48) return false;
    return true;
  }

  /** Appends hex id `v` in lowercase; digits other than 0-9a-fA-F are InvalidInputError. */
  appendHexLower(col: Utf8Column, v: number, field: string): void {
    const w = this.tape[v]!;
    if ((w & F_HEX) !== 0) {
      // Known hex digits: OR 0x20 lowercases each of them, four at a time.
      const start = this.tape[v + 1]!;
      const n = this.tape[v + 2]! - start;
      const pos = col.reserve(n);
      const dv = col.view;
      const sv = this.view;
      let i = 0;
      for (; i + 4 <= n; i += 4)
        dv.setInt32(pos + i, sv.getInt32(start + i, true) | 0x20202020, true);
      for (; i < n; i++) col.bytes[pos + i] = this.src[start + i]! | 0x20;
      col.commit(pos + n);
      return;
    }
    if ((w & F_ESCAPED) !== 0) {
      const s = this.jsString(v);
      let pos = col.reserve(s.length);
      const dst = col.bytes;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i) | 0x20;
        if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102)))
          this.fail(field, 'expected hex digits');
        dst[pos++] = c;
      }
      col.commit(pos);
      return;
    }
    const src = this.src;
    const start = this.tape[v + 1]!;
    const end = this.tape[v + 2]!;
    let pos = col.reserve(end - start);
    const dst = col.bytes;
    let bad = 0;
    for (let i = start; i < end; i++) {
      const c = HEX_LOWER[src[i]!]!;
      bad |= c;
      dst[pos++] = c;
    }
    if ((bad & 0x80) !== 0) this.fail(field, 'expected hex digits');
    col.commit(pos);
  }

  /** Bytes of a base64 string (standard or URL-safe alphabet, padding optional). */
  base64(v: number, field: string): Buffer {
    const k = this.kind(v);
    if (k === 0 || k === T_NULL) return Buffer.alloc(0);
    const s = k === T_STRING ? this.jsString(v) : '';
    if (k !== T_STRING || !B64_RE.test(s) || s.replace(/=+$/, '').length % 4 === 1) {
      this.fail(field, 'expected base64');
    }
    return Buffer.from(s, 'base64');
  }
}

/** Each byte's lowercase hex digit, or 0x80 (flagged) when it is not a hex digit. */
const HEX_LOWER = new Uint8Array(256).fill(0x80);
for (const c of '0123456789abcdef') HEX_LOWER[c.charCodeAt(0)] = c.charCodeAt(0);
for (const c of 'ABCDEF') HEX_LOWER[c.charCodeAt(0)] = c.charCodeAt(0) | 0x20;

/** Value of four hex digits at `p` (validated by the scanner). */
function hex4(src: Uint8Array, p: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const c = src[p + i]!;
    v = (v << 4) | (c <= 57 ? c - 48 : (c | 0x20) - 87);
  }
  return v;
}

/**
 * Decimal digits `src[start, end)`: stores the low 32 bits in `r.lo` (int32) and
 * returns the high part as an unsigned double (it may exceed 2^32). Up to 15 digits
 * are exact in a double; longer numbers are split into a high part (at most 11
 * digits) and 9 low digits, recombined in 32-bit limbs.
 */
function parseDecimal(
  r: JsonReader,
  src: Uint8Array,
  start: number,
  end: number,
  field: string,
): number {
  const n = end - start;
  if (n === 0 || n > 20) r.fail(field, 'expected a decimal integer');
  const split = n > 15 ? end - 9 : end;
  let a = 0;
  for (let i = start; i < split; i++) {
    const d = src[i]! - 48;
    if (d < 0 || d > 9) r.fail(field, 'expected a decimal integer');
    a = a * 10 + d;
  }
  if (split === end) {
    const hi = Math.floor(a / TWO_32);
    r.lo = (a - hi * TWO_32) | 0;
    return hi;
  }
  let b = 0;
  for (let i = split; i < end; i++) {
    const d = src[i]! - 48;
    if (d < 0 || d > 9) r.fail(field, 'expected a decimal integer');
    b = b * 10 + d;
  }
  // a * 10^9 + b, with a < 10^11: a = ah * 2^16 + al. (Floors, not %: a double
  // modulo is a library call.)
  const ah = Math.floor(a / 65536);
  const al = a - ah * 65536;
  const y = ah * 1e9; // < 2^53, to be scaled by 2^16
  const yh = Math.floor(y / 65536);
  const yl = y - yh * 65536;
  const t = yl * 65536 + al * 1e9 + b; // < 2^53
  const th = Math.floor(t / TWO_32);
  r.lo = (t - th * TWO_32) | 0;
  return yh + th;
}

let pooled: JsonReader | null = null;

/** The shared reader, attached to a freshly scanned tape (one decode at a time). */
export function jsonReader(t: JsonTape): JsonReader {
  pooled ??= new JsonReader();
  pooled.attach(t);
  return pooled;
}
