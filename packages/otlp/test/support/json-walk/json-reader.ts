/**
 * The OTLP/JSON decoder as it was before the byte-level decoder (src/json-*.ts):
 * JSON.parse, then a walk over the objects into the same column writers. Kept, with
 * its sibling files, as the reference the byte decoder is checked against
 * (test/json-differential.test.ts): both must agree on every input, in output and
 * in accept/reject. One fix since: the intValue fast path of appendJsonAnyValue now
 * yields to a string or bool member set alongside (the documented precedence).
 */
import { Buffer, isAscii, isUtf8 } from 'node:buffer';
import type { MapColumn } from '../../../src/col-map.js';
import type { Utf8Column } from '../../../src/col-utf8.js';
import { InvalidInputError } from '../../../src/errors.js';
import { MAX_DEPTH } from '../../../src/proto-reader.js';

const TWO_32 = 4294967296;
const B64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** JSON.parse of an OTLP/JSON body (bytes must be UTF-8); any failure is InvalidInputError. */
export function parseJsonBody(input: Uint8Array | string): Record<string, unknown> {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    // Pure ASCII (the usual case: non-ASCII text tends to arrive \u-escaped) decodes
    // fastest as latin1; anything else must be valid UTF-8.
    if (isAscii(b)) text = b.toString('latin1');
    else if (isUtf8(b)) text = b.toString('utf8');
    else throw new InvalidInputError('invalid UTF-8 in the JSON body');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(`invalid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InvalidInputError('invalid OTLP/JSON: the body must be a JSON object');
  }
  return doc as Record<string, unknown>;
}

export type JsonObject = Record<string, unknown>;

/**
 * Typed access to the values of a parsed OTLP/JSON document, following the proto3
 * JSON mapping as OTLP uses it: null or absent means the default; 64-bit integers
 * as decimal strings or numbers; enums as numbers or names; ids as hex; bytes as
 * base64. A value of the wrong JSON type is InvalidInputError naming its path.
 *
 * The path of the item being read lives in `path` (name/index pairs) so messages can
 * point at it without building strings on the hot path.
 */
export class JsonReader {
  /** Result of the last u64 / i64 read. */
  lo = 0;
  hi = 0;
  private readonly path: Array<string | number> = [];
  private depth = 0;

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

  array(v: unknown, field: string): unknown[] {
    if (v === undefined || v === null) return EMPTY;
    if (!Array.isArray(v)) this.fail(field, 'expected an array');
    return v;
  }

  object(v: unknown, field: string): JsonObject | null {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(field, 'expected an object');
    return v as JsonObject;
  }

  /** An element of a repeated message field: must be an object. */
  item(v: unknown, field: string): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.fail(field, 'expected an object');
    }
    return v as JsonObject;
  }

  string(v: unknown, field: string): string {
    if (typeof v === 'string') return v;
    if (v === undefined || v === null) return '';
    this.fail(field, 'expected a string');
  }

  bool(v: unknown, field: string): boolean {
    if (typeof v === 'boolean') return v;
    if (v === undefined || v === null) return false;
    this.fail(field, 'expected true or false');
  }

  /** uint32 / fixed32 (number or decimal string). */
  uint32(v: unknown, field: string): number {
    if (v === undefined || v === null) return 0;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      this.fail(field, 'expected an unsigned 32-bit integer');
    }
    return n;
  }

  /** int32 / sint32 (number or decimal string). */
  int32(v: unknown, field: string): number {
    if (v === undefined || v === null) return 0;
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
      this.fail(field, 'expected a 32-bit integer');
    }
    return n;
  }

  /** An enum: its number, or its name in `names`. */
  enumValue(v: unknown, names: Readonly<Record<string, number>>, field: string): number {
    if (typeof v === 'string') {
      const n = names[v];
      if (n !== undefined && Object.hasOwn(names, v)) return n;
      if (/^-?\d+$/.test(v)) return this.int32(v, field);
      this.fail(field, `unknown enum value ${JSON.stringify(v)}`);
    }
    return this.int32(v, field);
  }

  /** fixed64 / uint64 into `lo` / `hi`. */
  u64(v: unknown, field: string): void {
    if (typeof v === 'string') {
      this.parseDecimal(v, 0, field);
      if (this.hi >= TWO_32) this.fail(field, 'exceeds the unsigned 64-bit range');
      this.lo |= 0;
      this.hi |= 0;
      return;
    }
    if (v === undefined || v === null) {
      this.lo = 0;
      this.hi = 0;
      return;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= TWO_32 * TWO_32) {
      this.fail(field, 'expected an unsigned 64-bit integer');
    }
    const hi = Math.floor(v / TWO_32);
    this.lo = (v - hi * TWO_32) | 0;
    this.hi = hi | 0;
  }

  /** int64 / sfixed64 into `lo` / `hi` (two's complement). */
  i64(v: unknown, field: string): void {
    let negative = false;
    if (typeof v === 'string') {
      negative = v.charCodeAt(0) === 45;
      this.parseDecimal(v, negative ? 1 : 0, field);
    } else if (v === undefined || v === null) {
      this.lo = 0;
      this.hi = 0;
      return;
    } else {
      if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(field, 'expected an integer');
      negative = v < 0;
      const m = negative ? -v : v;
      const hi = Math.floor(m / TWO_32);
      this.hi = hi;
      this.lo = m - hi * TWO_32;
    }
    // Magnitude in lo/hi (unsigned doubles): at most 2^63 - 1, or 2^63 when negative.
    const limit = negative ? 0x80000000 : 0x7fffffff;
    if (this.hi > limit || (this.hi === 0x80000000 && (this.lo !== 0 || !negative))) {
      this.fail(field, 'exceeds the signed 64-bit range');
    }
    if (negative) {
      const lo = (~this.lo + 1) | 0;
      this.hi = (~this.hi + (lo === 0 ? 1 : 0)) | 0;
      this.lo = lo;
    } else {
      this.lo |= 0;
      this.hi |= 0;
    }
  }

  /** Decimal digits of `s` from `start` into lo/hi as unsigned doubles (hi may exceed 2^32). */
  private parseDecimal(s: string, start: number, field: string): void {
    const n = s.length - start;
    if (n === 0 || n > 20) this.fail(field, 'expected a decimal integer');
    // Up to 15 digits are exact in a double; longer numbers are split into a high part
    // (at most 11 digits) and 9 low digits, recombined in 32-bit limbs.
    const split = n > 15 ? s.length - 9 : s.length;
    let a = 0;
    for (let i = start; i < split; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) this.fail(field, 'expected a decimal integer');
      a = a * 10 + d;
    }
    if (split === s.length) {
      const hi = Math.floor(a / TWO_32);
      this.hi = hi;
      this.lo = a - hi * TWO_32;
      return;
    }
    let b = 0;
    for (let i = split; i < s.length; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) this.fail(field, 'expected a decimal integer');
      b = b * 10 + d;
    }
    // a * 10^9 + b, with a < 10^11: a = ah * 2^16 + al.
    const al = a % 65536;
    const ah = (a - al) / 65536;
    const y = ah * 1e9; // < 2^53, to be scaled by 2^16
    const yl = y % 65536;
    const yh = (y - yl) / 65536;
    const t = yl * 65536 + al * 1e9 + b; // < 2^53
    const tl = t % TWO_32;
    this.lo = tl;
    this.hi = yh + (t - tl) / TWO_32;
  }

  /** double: a number, or "NaN" / "Infinity" / "-Infinity" / a numeric string. */
  double(v: unknown, field: string): number {
    if (typeof v === 'number') return v;
    if (v === undefined || v === null) return 0;
    if (typeof v === 'string') {
      if (v === 'NaN') return Number.NaN;
      if (v === 'Infinity') return Number.POSITIVE_INFINITY;
      if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
      const d = Number(v);
      if (v.trim() !== '' && !Number.isNaN(d)) return d;
    }
    this.fail(field, 'expected a number');
  }

  /**
   * A hex id (trace_id, span_id): returns its length in bytes (absent or empty: 0).
   * The digits themselves are checked when the id is written (appendHexLower).
   */
  hexIdLength(v: unknown, field: string): number {
    if (v === undefined || v === null) return 0;
    if (typeof v !== 'string') this.fail(field, 'expected a hex string');
    if (v.length % 2 !== 0) this.fail(field, 'hex id has an odd number of digits');
    return v.length >>> 1;
  }

  /** Appends a hex id in lowercase; digits other than 0-9a-fA-F are InvalidInputError. */
  appendHexLower(col: Utf8Column, s: string, field: string): void {
    let pos = col.reserve(s.length);
    const dst = col.bytes;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i) | 0x20;
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) this.fail(field, 'expected hex digits');
      dst[pos++] = c;
    }
    col.commit(pos);
  }

  /** Bytes of a base64 string (standard or URL-safe alphabet, padding optional). */
  base64(v: unknown, field: string): Buffer {
    if (v === undefined || v === null) return Buffer.alloc(0);
    if (typeof v !== 'string' || !B64_RE.test(v) || v.replace(/=+$/, '').length % 4 === 1) {
      this.fail(field, 'expected base64');
    }
    return Buffer.from(v, 'base64');
  }
}

const EMPTY: unknown[] = [];
Object.freeze(EMPTY);

/** True when the hex string holds only zeros. */
export function isZeroHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}

// ---- AnyValue / KeyValue ----------------------------------------------------------

/**
 * Reads a JSON array of KeyValue objects into the current row of `map`. Positions for
 * error messages go through the reader's path (no string building per attribute).
 */
export function readJsonAttributes(
  jr: JsonReader,
  map: MapColumn,
  v: unknown,
  field: string,
): void {
  const list = jr.array(v, field);
  const n = list.length;
  if (n === 0) return;
  jr.enter(field);
  for (let i = 0; i < n; i++) {
    jr.at(i);
    const kv = list[i];
    if (typeof kv !== 'object' || kv === null || Array.isArray(kv)) {
      jr.fail('', 'expected a KeyValue object');
    }
    const o = kv as JsonObject;
    const key = o.key;
    if (typeof key === 'string') map.keys.appendString(key);
    else if (key === undefined || key === null) map.keys.appendString('');
    else jr.fail('key', 'expected a string');
    appendJsonAnyValue(jr, map.values, o.value, 'value');
  }
  jr.leave();
}

/**
 * The member set in an AnyValue object: [kind, value], kind 0 when none is set. When
 * several are set (invalid, but harmless), the first of string, bool, int, double,
 * array, kvlist, bytes wins.
 */
function anyMember(jr: JsonReader, v: unknown, field: string): [number, unknown] {
  if (v === undefined || v === null) return [0, null];
  if (typeof v !== 'object' || Array.isArray(v)) jr.fail(field, 'expected an AnyValue object');
  const o = v as JsonObject;
  const members = [
    o.stringValue ?? o.string_value,
    o.boolValue ?? o.bool_value,
    o.intValue ?? o.int_value,
    o.doubleValue ?? o.double_value,
    o.arrayValue ?? o.array_value,
    o.kvlistValue ?? o.kvlist_value,
    o.bytesValue ?? o.bytes_value,
  ];
  for (let k = 0; k < members.length; k++) {
    const x = members[k];
    if (x !== undefined && x !== null) return [k + 1, x];
  }
  return [0, null];
}

/** Appends the text of a JSON AnyValue to `out` (same rendering as the protobuf path). */
export function appendJsonAnyValue(
  jr: JsonReader,
  out: Utf8Column,
  v: unknown,
  field: string,
): void {
  // Fast paths for the common members, lowerCamelCase.
  if (typeof v === 'object' && v !== null) {
    const o = v as JsonObject;
    const s = o.stringValue;
    if (typeof s === 'string') {
      out.appendString(s);
      return;
    }
    const i = o.intValue;
    if (
      typeof i === 'number' &&
      Number.isSafeInteger(i) &&
      s == null &&
      o.string_value == null &&
      o.boolValue == null &&
      o.bool_value == null
    ) {
      out.appendAscii(String(i));
      return;
    }
  }
  const [kind, x] = anyMember(jr, v, field);
  switch (kind) {
    case 0:
      out.appendNull();
      return;
    case 1:
      out.appendString(jr.string(x, field));
      return;
    case 2:
      out.appendAscii(jr.bool(x, field) ? 'true' : 'false');
      return;
    case 3:
      out.appendAscii(intText(jr, x, field));
      return;
    case 4:
      out.appendAscii(String(jr.double(x, field)));
      return;
    case 7:
      out.appendAscii(jr.base64(x, field).toString('base64'));
      return;
    default:
      out.appendString(jsonText(jr, kind, x, field, 1));
  }
}

/** Canonical decimal text of an int64 given as a JSON number or string. */
function intText(jr: JsonReader, x: unknown, field: string): string {
  if (typeof x === 'number' && Number.isSafeInteger(x)) return String(x);
  jr.i64(x, field);
  const { lo, hi } = jr;
  if (hi >= 0 ? hi < 0x200000 : hi >= -0x200000) return String(hi * TWO_32 + (lo >>> 0));
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString();
}

/** A non-scalar or nested AnyValue as JSON text. */
function jsonText(jr: JsonReader, kind: number, x: unknown, field: string, depth: number): string {
  if (depth > MAX_DEPTH) jr.fail(field, 'attribute values nested too deeply');
  switch (kind) {
    case 0:
      return 'null';
    case 1: {
      const s = jr.string(x, field);
      if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) {
        jr.fail(field, 'lone UTF-16 surrogate in a string');
      }
      return JSON.stringify(s);
    }
    case 2:
      return jr.bool(x, field) ? 'true' : 'false';
    case 3:
      return intText(jr, x, field);
    case 4: {
      const d = jr.double(x, field);
      return Number.isFinite(d) ? String(d) : `"${String(d)}"`;
    }
    case 7:
      return `"${jr.base64(x, field).toString('base64')}"`;
    case 5: {
      const o = jr.object(x, `${field}.arrayValue`);
      const values = jr.array(o === null ? null : (o.values ?? null), `${field}.arrayValue.values`);
      let s = '[';
      for (let i = 0; i < values.length; i++) {
        const f = `${field}.arrayValue.values[${i}]`;
        const [k, v] = anyMember(jr, values[i], f);
        if (i > 0) s += ',';
        s += jsonText(jr, k, v, f, depth + 1);
      }
      return `${s}]`;
    }
    default: {
      const o = jr.object(x, `${field}.kvlistValue`);
      const values = jr.array(
        o === null ? null : (o.values ?? null),
        `${field}.kvlistValue.values`,
      );
      const keys: string[] = [];
      for (let i = 0; i < values.length; i++) {
        const kv = jr.object(values[i], `${field}.kvlistValue.values[${i}]`);
        const key = kv === null ? '' : jr.string(kv.key, `${field}.kvlistValue.values[${i}].key`);
        if (!(key as unknown as { isWellFormed(): boolean }).isWellFormed()) {
          jr.fail(field, 'lone UTF-16 surrogate in a key');
        }
        keys.push(key);
      }
      // Last occurrence of a key wins, at its own position.
      const last = new Map<string, number>();
      for (let i = 0; i < keys.length; i++) last.set(keys[i]!, i);
      let s = '{';
      let first = true;
      for (let i = 0; i < values.length; i++) {
        if (last.get(keys[i]!) !== i) continue;
        const f = `${field}.kvlistValue.values[${i}].value`;
        const kv = values[i] as JsonObject | null;
        const [k, v] = anyMember(jr, kv === null ? null : kv.value, f);
        if (!first) s += ',';
        first = false;
        s += `${JSON.stringify(keys[i])}:${jsonText(jr, k, v, f, depth + 1)}`;
      }
      return `${s}}`;
    }
  }
}
