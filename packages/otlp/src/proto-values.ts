import { Buffer } from 'node:buffer';
import type { MapColumn } from './col-map.js';
import type { Utf8Column } from './col-utf8.js';
import { MAX_DEPTH, type ProtoReader } from './proto-reader.js';
import {
  MAX_DOUBLE_TEXT,
  MAX_INT64_DECIMAL,
  maxBase64,
  maxJsonString,
  writeBase64,
  writeDouble,
  writeInt64Decimal,
  writeJsonDouble,
  writeJsonString,
} from './text.js';

/**
 * KeyValue / AnyValue (opentelemetry.proto.common.v1) rendered as text straight from
 * the wire: strings as-is, bools `true`/`false`, ints in decimal, doubles as JS
 * shortest text, bytes as base64, arrays and key/value lists as JSON.
 */

const KV_KNOWN = (1 << 1) | (1 << 2);
const ANY_KNOWN = 0b11111110;
const LIST_KNOWN = 1 << 1;

/** [keyStart, keyEnd, valueStart (-1: none), valueEnd] of the last `scanKeyValue`. */
const KV = new Int32Array(4);

/**
 * Reads the fields of a KeyValue from `r.pos` to `end` into KV (the last occurrence
 * of each wins) and checks the message ends at `end`.
 */
function scanKeyValue(r: ProtoReader, end: number): void {
  let ks = 0;
  let ke = 0;
  let vs = -1;
  let ve = 0;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 10) {
      ke = r.lenEnd(end);
      ks = r.pos;
      r.pos = ke;
    } else if (tag === 18) {
      ve = r.lenEnd(end);
      vs = r.pos;
      r.pos = ve;
    } else {
      r.skip(tag, end, KV_KNOWN);
    }
  }
  r.checkEnd(end);
  KV[0] = ks;
  KV[1] = ke;
  KV[2] = vs;
  KV[3] = ve;
}

// AnyValue oneof members (0 = none set).
const K_NONE = 0;
const K_STRING = 1;
const K_BOOL = 2;
const K_INT = 3;
const K_DOUBLE = 4;
const K_ARRAY = 5;
const K_KVLIST = 6;
const K_BYTES = 7;

/** Reads one KeyValue message `[r.pos, end)` as a new entry of `map`'s current row. */
export function readKeyValue(r: ProtoReader, end: number, map: MapColumn): void {
  // Fast path for the shape every SDK writes: key (short), then a value holding only
  // a short string_value / int_value / bool_value, ending exactly at `end`.
  const buf = r.buf;
  const p = r.pos;
  if (p + 4 <= end && buf[p] === 10) {
    const kl = buf[p + 1]!;
    const ke = p + 2 + kl;
    if (kl < 128 && ke + 2 <= end && buf[ke] === 18) {
      const vl = buf[ke + 1]!;
      const vs = ke + 2;
      if (vl < 128 && vs + vl === end) {
        map.keys.appendBytes(buf, r.view, p + 2, ke);
        const t = buf[vs];
        if (t === 10 && vl >= 2 && buf[vs + 1]! + 2 === vl) {
          map.values.appendBytes(buf, r.view, vs + 2, end);
        } else if (t === 24 && vl >= 2) {
          r.pos = vs + 1;
          r.varint64();
          if (r.pos !== end) appendAnyValue(r, vs, end, map.values);
          else {
            const out = map.values;
            const at = out.reserve(MAX_INT64_DECIMAL);
            out.commit(writeInt64Decimal(r.lo, r.hi, out.bytes, at));
          }
        } else if (t === 16 && vl === 2 && buf[vs + 1]! < 0x80) {
          map.values.appendAscii(buf[vs + 1] !== 0 ? 'true' : 'false');
        } else {
          appendAnyValue(r, vs, end, map.values);
        }
        r.pos = end;
        return;
      }
    }
  }
  scanKeyValue(r, end);
  map.keys.appendBytes(r.buf, r.view, KV[0]!, KV[1]!);
  if (KV[2]! < 0) map.values.appendNull();
  else appendAnyValue(r, KV[2]!, KV[3]!, map.values);
  r.pos = end;
}

/**
 * Appends the text of the AnyValue message `[start, end)` to `out` (null when no
 * member of the oneof is set). When several members are present, the last wins.
 */
export function appendAnyValue(r: ProtoReader, start: number, end: number, out: Utf8Column): void {
  r.pos = start;
  let kind = K_NONE;
  let s = 0;
  let e = 0;
  let lo = 0;
  let hi = 0;
  let d = 0;
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag) {
      case 10:
        e = r.lenEnd(end);
        s = r.pos;
        r.pos = e;
        kind = K_STRING;
        break;
      case 16:
        r.varint64();
        lo = r.lo | r.hi;
        kind = K_BOOL;
        break;
      case 24:
        r.varint64();
        lo = r.lo;
        hi = r.hi;
        kind = K_INT;
        break;
      case 33:
        d = r.double(end);
        kind = K_DOUBLE;
        break;
      case 42:
        e = r.lenEnd(end);
        s = r.pos;
        r.pos = e;
        kind = K_ARRAY;
        break;
      case 50:
        e = r.lenEnd(end);
        s = r.pos;
        r.pos = e;
        kind = K_KVLIST;
        break;
      case 58:
        e = r.lenEnd(end);
        s = r.pos;
        r.pos = e;
        kind = K_BYTES;
        break;
      default:
        r.skip(tag, end, ANY_KNOWN);
    }
  }
  r.checkEnd(end);
  switch (kind) {
    case K_NONE:
      out.appendNull();
      break;
    case K_STRING:
      out.appendBytes(r.buf, r.view, s, e);
      break;
    case K_BOOL:
      out.appendAscii(lo !== 0 ? 'true' : 'false');
      break;
    case K_INT: {
      const p = out.reserve(MAX_INT64_DECIMAL);
      out.commit(writeInt64Decimal(lo, hi, out.bytes, p));
      break;
    }
    case K_DOUBLE: {
      const p = out.reserve(MAX_DOUBLE_TEXT);
      out.commit(writeDouble(d, out.bytes, p));
      break;
    }
    case K_BYTES: {
      const p = out.reserve(maxBase64(e - s));
      out.commit(writeBase64(r.buf, s, e, out.bytes, p));
      break;
    }
    default: {
      const p =
        kind === K_ARRAY
          ? writeJsonArray(r, s, e, out, out.byteLength, 1)
          : writeJsonKvlist(r, s, e, out, out.byteLength, 1);
      out.commit(p);
    }
  }
  r.pos = end;
}

/** Writes the AnyValue `[start, end)` as a JSON value at `pos`; returns the new position. */
function writeJsonAnyValue(
  r: ProtoReader,
  start: number,
  end: number,
  out: Utf8Column,
  pos: number,
  depth: number,
): number {
  if (depth > MAX_DEPTH) r.fail('attribute values nested too deeply');
  r.pos = start;
  let kind = K_NONE;
  let s = 0;
  let e = 0;
  let lo = 0;
  let hi = 0;
  let d = 0;
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag) {
      case 10:
      case 42:
      case 50:
      case 58:
        e = r.lenEnd(end);
        s = r.pos;
        r.pos = e;
        kind = tag === 10 ? K_STRING : tag === 42 ? K_ARRAY : tag === 50 ? K_KVLIST : K_BYTES;
        break;
      case 16:
        r.varint64();
        lo = r.lo | r.hi;
        kind = K_BOOL;
        break;
      case 24:
        r.varint64();
        lo = r.lo;
        hi = r.hi;
        kind = K_INT;
        break;
      case 33:
        d = r.double(end);
        kind = K_DOUBLE;
        break;
      default:
        r.skip(tag, end, ANY_KNOWN);
    }
  }
  r.checkEnd(end);
  let dst: Uint8Array;
  switch (kind) {
    case K_NONE:
      dst = out.ensureAt(pos, 4);
      dst[pos] = 110; // null
      dst[pos + 1] = 117;
      dst[pos + 2] = 108;
      dst[pos + 3] = 108;
      return pos + 4;
    case K_STRING:
      dst = out.ensureAt(pos, maxJsonString(e - s));
      return writeJsonString(r.buf, s, e, dst, pos);
    case K_BOOL:
      dst = out.ensureAt(pos, 5);
      if (lo !== 0) {
        dst.set(TRUE, pos);
        return pos + 4;
      }
      dst.set(FALSE, pos);
      return pos + 5;
    case K_INT:
      dst = out.ensureAt(pos, MAX_INT64_DECIMAL);
      return writeInt64Decimal(lo, hi, dst, pos);
    case K_DOUBLE:
      dst = out.ensureAt(pos, MAX_DOUBLE_TEXT + 2);
      return writeJsonDouble(d, dst, pos);
    case K_BYTES:
      dst = out.ensureAt(pos, maxBase64(e - s) + 2);
      dst[pos] = 34;
      pos = writeBase64(r.buf, s, e, dst, pos + 1);
      dst[pos] = 34;
      return pos + 1;
    case K_ARRAY:
      return writeJsonArray(r, s, e, out, pos, depth + 1);
    default:
      return writeJsonKvlist(r, s, e, out, pos, depth + 1);
  }
}

const TRUE = new Uint8Array([116, 114, 117, 101]);
const FALSE = new Uint8Array([102, 97, 108, 115, 101]);

/** ArrayValue `[start, end)` as a JSON array. */
function writeJsonArray(
  r: ProtoReader,
  start: number,
  end: number,
  out: Utf8Column,
  pos: number,
  depth: number,
): number {
  if (depth > MAX_DEPTH) r.fail('attribute values nested too deeply');
  out.ensureAt(pos, 1)[pos++] = 91; // [
  let first = true;
  r.pos = start;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 10) {
      const e = r.lenEnd(end);
      if (!first) out.ensureAt(pos, 1)[pos++] = 44; // ,
      first = false;
      pos = writeJsonAnyValue(r, r.pos, e, out, pos, depth);
      r.pos = e;
    } else {
      r.skip(tag, end, LIST_KNOWN);
    }
  }
  r.checkEnd(end);
  out.ensureAt(pos, 1)[pos++] = 93; // ]
  return pos;
}

/**
 * KeyValueList `[start, end)` as a JSON object. Duplicate keys keep the last value
 * (at the position of that last occurrence), as for top-level attributes.
 */
function writeJsonKvlist(
  r: ProtoReader,
  start: number,
  end: number,
  out: Utf8Column,
  pos: number,
  depth: number,
): number {
  if (depth > MAX_DEPTH) r.fail('attribute values nested too deeply');
  // [keyStart, keyEnd, valueStart (-1: none), valueEnd] per entry.
  const entries: number[] = [];
  r.pos = start;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 10) {
      scanKeyValue(r, r.lenEnd(end));
      entries.push(KV[0]!, KV[1]!, KV[2]!, KV[3]!);
    } else {
      r.skip(tag, end, LIST_KNOWN);
    }
  }
  r.checkEnd(end);
  const n = entries.length >>> 2;
  let keep: Uint8Array | null = null;
  if (n > 1) {
    const seen = new Set<string>();
    const buf = r.buf;
    for (let i = n - 1; i >= 0; i--) {
      const ks = entries[4 * i]!;
      const key = Buffer.from(buf.buffer, buf.byteOffset + ks, entries[4 * i + 1]! - ks).toString(
        'latin1',
      );
      if (seen.has(key)) {
        keep ??= new Uint8Array(n).fill(1);
        keep[i] = 0;
      } else {
        seen.add(key);
      }
    }
  }
  out.ensureAt(pos, 1)[pos++] = 123; // {
  let first = true;
  for (let i = 0; i < n; i++) {
    if (keep !== null && keep[i] === 0) continue;
    const ks = entries[4 * i]!;
    const ke = entries[4 * i + 1]!;
    const vs = entries[4 * i + 2]!;
    const dst = out.ensureAt(pos, maxJsonString(ke - ks) + 6);
    if (!first) dst[pos++] = 44;
    first = false;
    pos = writeJsonString(r.buf, ks, ke, dst, pos);
    dst[pos++] = 58; // :
    if (vs < 0) {
      dst[pos++] = 110;
      dst[pos++] = 117;
      dst[pos++] = 108;
      dst[pos++] = 108;
    } else {
      pos = writeJsonAnyValue(r, vs, entries[4 * i + 3]!, out, pos, depth);
    }
  }
  out.ensureAt(pos, 1)[pos++] = 125; // }
  r.pos = end;
  return pos;
}
