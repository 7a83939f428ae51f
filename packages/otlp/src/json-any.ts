import { Buffer } from 'node:buffer';
import type { MapColumn } from './col-map.js';
import type { Utf8Column } from './col-utf8.js';
import {
  K_ARRAY_VALUE,
  K_ARRAY_VALUE_,
  K_BOOL_VALUE,
  K_BOOL_VALUE_,
  K_BYTES_VALUE,
  K_BYTES_VALUE_,
  K_DOUBLE_VALUE,
  K_DOUBLE_VALUE_,
  K_INT_VALUE,
  K_INT_VALUE_,
  K_KEY,
  K_KVLIST_VALUE,
  K_KVLIST_VALUE_,
  K_STRING_VALUE,
  K_STRING_VALUE_,
  K_VALUE,
  K_VALUES,
} from './json-keys.js';
import type { JsonReader } from './json-reader.js';
import {
  F_ESCAPED,
  F_INTEGER,
  KEY_SHIFT,
  KIND_MASK,
  T_ARRAY,
  T_FALSE,
  T_NUMBER,
  T_OBJECT,
  T_STRING,
  T_TRUE,
} from './json-tape.js';
import { MAX_DEPTH } from './proto-reader.js';
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
 * OTLP/JSON KeyValue / AnyValue read from the tape and rendered as text, exactly like
 * the protobuf path renders them (proto-values.ts): strings as-is, bools, ints in
 * decimal, doubles as JS shortest text, bytes as base64, arrays and key/value lists
 * as JSON text.
 */

// AnyValue members, in the order that decides when several are set (0 = none).
const M_NONE = 0;
const M_STRING = 1;
const M_BOOL = 2;
const M_INT = 3;
const M_DOUBLE = 4;
const M_ARRAY = 5;
const M_KVLIST = 6;
const M_BYTES = 7;

/** The tape index of the member chosen by the last `anyMember` call. */
let member = -1;

/**
 * The member set in AnyValue `v` (sets `member`), M_NONE when none is. When several
 * are set (invalid, but harmless), the first of string, bool, int, double, array,
 * kvlist, bytes wins; for each, the lowerCamelCase key before the snake_case one.
 */
function anyMember(r: JsonReader, v: number, field: string): number {
  if (!r.isSet(v)) {
    member = -1;
    return M_NONE;
  }
  const tape = r.tape;
  if ((tape[v]! & KIND_MASK) !== T_OBJECT) r.fail(field, 'expected an AnyValue object');
  const n = tape[v + 1]!;
  // The usual AnyValue has one member: settle it without the full precedence pass.
  if (n === 1) {
    const x = v + 3;
    member = x;
    switch (tape[x]! >>> KEY_SHIFT) {
      case K_STRING_VALUE:
      case K_STRING_VALUE_:
        return r.isSet(x) ? M_STRING : M_NONE;
      case K_INT_VALUE:
      case K_INT_VALUE_:
        return r.isSet(x) ? M_INT : M_NONE;
      case K_BOOL_VALUE:
      case K_BOOL_VALUE_:
        return r.isSet(x) ? M_BOOL : M_NONE;
      case K_DOUBLE_VALUE:
      case K_DOUBLE_VALUE_:
        return r.isSet(x) ? M_DOUBLE : M_NONE;
      case K_ARRAY_VALUE:
      case K_ARRAY_VALUE_:
        return r.isSet(x) ? M_ARRAY : M_NONE;
      case K_KVLIST_VALUE:
      case K_KVLIST_VALUE_:
        return r.isSet(x) ? M_KVLIST : M_NONE;
      case K_BYTES_VALUE:
      case K_BYTES_VALUE_:
        return r.isSet(x) ? M_BYTES : M_NONE;
      default:
        member = -1;
        return M_NONE;
    }
  }
  // Last occurrence of each key, as JSON.parse keeps it.
  const slots = memberSlots;
  slots.fill(-1);
  for (let i = 0, x = v + 3; i < n; i++) {
    const id = tape[x]! >>> KEY_SHIFT;
    if (id >= K_STRING_VALUE && id <= K_BYTES_VALUE_) slots[id - K_STRING_VALUE] = x;
    x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
  }
  for (let m = 0; m < 7; m++) {
    const x = r.or(slots[2 * m]!, slots[2 * m + 1]!);
    if (r.isSet(x)) {
      member = x;
      return m + 1;
    }
  }
  member = -1;
  return M_NONE;
}
/** Camel and snake slot of each member, in precedence order (ids are consecutive). */
const memberSlots = new Int32Array(14);

const KEY_STRING = T_STRING | (K_KEY << KEY_SHIFT);
const VALUE_OBJECT = T_OBJECT | (K_VALUE << KEY_SHIFT);
const STRING_MEMBER = T_STRING | (K_STRING_VALUE << KEY_SHIFT);
const INT_MEMBER = T_NUMBER | F_INTEGER | (K_INT_VALUE << KEY_SHIFT);
const TRUE_MEMBER = T_TRUE | (K_BOOL_VALUE << KEY_SHIFT);
const FALSE_MEMBER = T_FALSE | (K_BOOL_VALUE << KEY_SHIFT);

/**
 * Reads a JSON array of KeyValue objects into the current row of `map`. Positions for
 * error messages go through the reader's path (no string building per attribute).
 */
export function readAttributes(r: JsonReader, map: MapColumn, v: number, field: string): void {
  const n = r.array(v, field);
  if (n === 0) return;
  r.enter(field);
  const tape = r.tape;
  const src = r.src;
  const view = r.view;
  const keys = map.keys;
  const values = map.values;
  let e = v + 3;
  for (let i = 0; i < n; i++) {
    // The shape SDKs write, {"key": "…", "value": {"<one member>": …}}, with no
    // escapes in the key, is read here directly.
    if (
      tape[e] === T_OBJECT &&
      tape[e + 1] === 2 &&
      tape[e + 3] === KEY_STRING &&
      tape[e + 6] === VALUE_OBJECT &&
      tape[e + 7] === 1
    ) {
      keys.appendBytes(src, view, tape[e + 4]!, tape[e + 5]!);
      const w = tape[e + 9]!;
      const s = tape[e + 10]!;
      const end = tape[e + 11]!;
      if (w === STRING_MEMBER) values.appendBytes(src, view, s, end);
      else if (w === INT_MEMBER && end - s <= 15 && !(end - s === 2 && src[s] === 45)) {
        // A plain JSON integer of up to 15 characters is exact and already canonical.
        values.appendBytes(src, view, s, end);
      } else if (w === TRUE_MEMBER) values.appendAscii('true');
      else if (w === FALSE_MEMBER) values.appendAscii('false');
      else {
        r.at(i);
        appendAnyValue(r, values, e + 6, 'value');
      }
      e = tape[e + 2]!;
      continue;
    }
    r.at(i);
    if ((tape[e]! & KIND_MASK) !== T_OBJECT) r.fail('', 'expected a KeyValue object');
    let key = -1;
    let value = -1;
    for (let j = 0, m = tape[e + 1]!, x = e + 3; j < m; j++) {
      const id = tape[x]! >>> KEY_SHIFT;
      if (id === K_KEY) key = x;
      else if (id === K_VALUE) value = x;
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    r.appendString(keys, key, 'key');
    appendAnyValue(r, values, value, 'value');
    e = tape[e + 2]!;
  }
  r.leave();
}

/** Appends the text of AnyValue `v` to `out` (null when absent or empty). */
export function appendAnyValue(r: JsonReader, out: Utf8Column, v: number, field: string): void {
  const kind = anyMember(r, v, field);
  const x = member;
  switch (kind) {
    case M_NONE:
      out.appendNull();
      return;
    case M_STRING:
      if ((r.tape[x]! & KIND_MASK) !== T_STRING) r.fail(field, 'expected a string');
      r.appendString(out, x, field);
      return;
    case M_BOOL:
      out.appendAscii(r.bool(x, field) ? 'true' : 'false');
      return;
    case M_INT: {
      const at = out.reserve(MAX_INT64_DECIMAL);
      out.commit(writeInt(r, x, field, out.bytes, at));
      return;
    }
    case M_DOUBLE: {
      const d = r.double(x, field);
      const at = out.reserve(MAX_DOUBLE_TEXT);
      out.commit(writeDouble(d, out.bytes, at));
      return;
    }
    case M_BYTES:
      out.appendAscii(r.base64(x, field).toString('base64'));
      return;
    default: {
      // Both scratch stacks start empty (a decode that failed may have left entries).
      const w = text;
      w.n = 0;
      keyStack.top = 0;
      keyStack.byteTop = 0;
      writeJsonValue(r, kind, x, field, 1);
      out.appendBytes(w.bytes, w.view, 0, w.n);
      if (w.bytes.length > RETAIN_SCRATCH) text = new TextBuffer();
      if (keyStack.bytes.length > RETAIN_SCRATCH) keyStack = new KeyStack();
    }
  }
}

/**
 * Writes the canonical decimal text of int64 value `x` (a JSON number or a decimal
 * string) at `pos`; returns the end.
 */
function writeInt(r: JsonReader, x: number, field: string, dst: Uint8Array, pos: number): number {
  const tape = r.tape;
  const w = tape[x]!;
  if ((w & (KIND_MASK | F_INTEGER)) === (T_NUMBER | F_INTEGER)) {
    const start = tape[x + 1]!;
    const end = tape[x + 2]!;
    const src = r.src;
    // A plain JSON integer of up to 15 characters is exact and already canonical (no
    // leading zeros), except "-0".
    if (end - start <= 15 && !(end - start === 2 && src[start] === 45 && src[start + 1] === 48)) {
      for (let i = start; i < end; i++) dst[pos++] = src[i]!;
      return pos;
    }
  }
  if ((w & KIND_MASK) === T_NUMBER) {
    const d = r.numberValue(x);
    if (Number.isSafeInteger(d)) return writeDouble(d, dst, pos);
  }
  r.i64(x, field);
  return writeInt64Decimal(r.lo, r.hi, dst, pos);
}

/** Scratch buffers larger than this are dropped after use (one huge value does not pin them). */
const RETAIN_SCRATCH = 1024 * 1024;

/** Growable scratch for JSON text of arrays and key/value lists. */
class TextBuffer {
  bytes = new Uint8Array(1024);
  view = new DataView(this.bytes.buffer);
  n = 0;
  /** Makes room for `k` more bytes; returns the (possibly new) buffer. */
  ensure(k: number): Uint8Array {
    if (this.n + k > this.bytes.length) {
      const b = new Uint8Array(Math.max(2 * this.bytes.length, this.n + k));
      b.set(this.bytes.subarray(0, this.n));
      this.bytes = b;
      this.view = new DataView(b.buffer);
    }
    return this.bytes;
  }
  byte(c: number): void {
    this.ensure(1)[this.n++] = c;
  }
  ascii(s: string): void {
    const b = this.ensure(s.length);
    for (let i = 0; i < s.length; i++) b[this.n++] = s.charCodeAt(i);
  }
}
let text = new TextBuffer();

/** Key bytes of the key/value lists being rendered (a stack: lists nest). */
class KeyStack {
  bytes = new Uint8Array(256);
  /** Per key: start and end in `bytes`, and the tape index of its value (or -1). */
  entries = new Int32Array(48);
  top = 0;
  byteTop = 0;
  push(src: Uint8Array, start: number, end: number, value: number): void {
    const n = end - start;
    if (this.byteTop + n > this.bytes.length) {
      const b = new Uint8Array(Math.max(2 * this.bytes.length, this.byteTop + n));
      b.set(this.bytes.subarray(0, this.byteTop));
      this.bytes = b;
    }
    this.bytes.set(src.subarray(start, end), this.byteTop);
    if (this.top + 3 > this.entries.length) {
      const e = new Int32Array(2 * this.entries.length);
      e.set(this.entries);
      this.entries = e;
    }
    this.entries[this.top] = this.byteTop;
    this.entries[this.top + 1] = this.byteTop + n;
    this.entries[this.top + 2] = value;
    this.top += 3;
    this.byteTop += n;
  }
}
let keyStack = new KeyStack();

/** A non-scalar or nested AnyValue member as JSON text, appended to `text`. */
function writeJsonValue(
  r: JsonReader,
  kind: number,
  x: number,
  field: string,
  depth: number,
): void {
  if (depth > MAX_DEPTH) r.fail(field, 'attribute values nested too deeply');
  const w = text;
  switch (kind) {
    case M_NONE:
      w.ascii('null');
      return;
    case M_STRING: {
      const tape = r.tape;
      if ((tape[x]! & KIND_MASK) !== T_STRING) r.fail(field, 'expected a string');
      if ((tape[x]! & F_ESCAPED) === 0) {
        const s = tape[x + 1]!;
        const e = tape[x + 2]!;
        const b = w.ensure(maxJsonString(e - s));
        w.n = writeJsonString(r.src, s, e, b, w.n);
      } else {
        const n = r.unescape(x, field);
        const b = w.ensure(maxJsonString(n));
        w.n = writeJsonString(r.esc, 0, n, b, w.n);
      }
      return;
    }
    case M_BOOL:
      w.ascii(r.bool(x, field) ? 'true' : 'false');
      return;
    case M_INT: {
      const b = w.ensure(MAX_INT64_DECIMAL);
      w.n = writeInt(r, x, field, b, w.n);
      return;
    }
    case M_DOUBLE: {
      const d = r.double(x, field);
      const b = w.ensure(MAX_DOUBLE_TEXT + 2);
      w.n = writeJsonDouble(d, b, w.n);
      return;
    }
    case M_BYTES: {
      const bytes = r.base64(x, field);
      const b = w.ensure(maxBase64(bytes.length) + 2);
      b[w.n++] = 34;
      w.n = writeBase64(bytes, 0, bytes.length, b, w.n);
      b[w.n++] = 34;
      return;
    }
    case M_ARRAY: {
      const name = field === '' ? 'arrayValue' : `${field}.arrayValue`;
      const o = r.object(x, name);
      const values = o < 0 ? -1 : valuesOf(r, o);
      const n = r.array(values, `${name}.values`);
      w.byte(91);
      if (n > 0) {
        r.enter(`${name}.values`);
        let e = values + 3;
        for (let i = 0; i < n; i++) {
          r.at(i);
          if (i > 0) w.byte(44);
          const k = anyMember(r, e, '');
          writeJsonValue(r, k, member, '', depth + 1);
          e = r.next(e);
        }
        r.leave();
      }
      w.byte(93);
      return;
    }
    default:
      writeKvlist(r, x, field, depth);
  }
}

/** Tape index of the `values` member of object `o`, -1 when absent. */
function valuesOf(r: JsonReader, o: number): number {
  return r.member(o, K_VALUES);
}

/**
 * A key/value list as a JSON object. Duplicate keys: the last occurrence wins, at its
 * own position (like attributes); values of the earlier occurrences are not read.
 */
function writeKvlist(r: JsonReader, x: number, field: string, depth: number): void {
  const name = field === '' ? 'kvlistValue' : `${field}.kvlistValue`;
  const o = r.object(x, name);
  const values = o < 0 ? -1 : valuesOf(r, o);
  const n = r.array(values, `${name}.values`);
  const w = text;
  w.byte(123);
  if (n === 0) {
    w.byte(125);
    return;
  }
  const ks = keyStack;
  const base = ks.top;
  const byteBase = ks.byteTop;
  const tape = r.tape;
  r.enter(`${name}.values`);
  // Every key first (they decide which entries count), then the values.
  let e = values + 3;
  for (let i = 0; i < n; i++) {
    r.at(i);
    const kv = r.object(e, '');
    let key = -1;
    let value = -1;
    if (kv >= 0) {
      for (let j = 0, m = tape[kv + 1]!, y = kv + 3; j < m; j++) {
        const id = tape[y]! >>> KEY_SHIFT;
        if (id === K_KEY) key = y;
        else if (id === K_VALUE) value = y;
        y = (tape[y]! & KIND_MASK) <= T_ARRAY ? tape[y + 2]! : y + 3;
      }
    }
    const form = r.stringForm(key, 'key');
    if (form === 1) ks.push(r.src, tape[key + 1]!, tape[key + 2]!, value);
    else if (form === 2) ks.push(r.esc, 0, r.unescape(key, 'key'), value);
    else ks.push(r.src, 0, 0, value);
    e = r.next(e);
  }
  const last = lastOccurrences(ks, base, n);
  let first = true;
  for (let i = 0; i < n; i++) {
    if (last[i] === 0) continue;
    r.at(i);
    const at = base + 3 * i;
    const s = ks.entries[at]!;
    const end = ks.entries[at + 1]!;
    if (!first) w.byte(44);
    first = false;
    const b = w.ensure(maxJsonString(end - s) + 1);
    w.n = writeJsonString(ks.bytes, s, end, b, w.n);
    w.bytes[w.n++] = 58;
    const k = anyMember(r, ks.entries[at + 2]!, 'value');
    writeJsonValue(r, k, member, 'value', depth + 1);
  }
  r.leave();
  ks.top = base;
  ks.byteTop = byteBase;
  w.byte(125);
}

/** Flags (1 = keep) the entries whose key does not occur again later in the list. */
function lastOccurrences(ks: KeyStack, base: number, n: number): Uint8Array {
  const keep = new Uint8Array(n).fill(1);
  const e = ks.entries;
  const b = ks.bytes;
  if (n <= 32) {
    for (let i = 0; i < n; i++) {
      const is = e[base + 3 * i]!;
      const ie = e[base + 3 * i + 1]!;
      for (let j = i + 1; j < n; j++) {
        const js = e[base + 3 * j]!;
        if (e[base + 3 * j + 1]! - js !== ie - is) continue;
        let k = 0;
        while (k < ie - is && b[is + k] === b[js + k]) k++;
        if (k === ie - is) {
          keep[i] = 0;
          break;
        }
      }
    }
    return keep;
  }
  const seen = new Set<string>();
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let i = n - 1; i >= 0; i--) {
    const key = buf.toString('latin1', e[base + 3 * i]!, e[base + 3 * i + 1]!);
    if (seen.has(key)) keep[i] = 0;
    else seen.add(key);
  }
  return keep;
}
