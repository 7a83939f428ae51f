import { Buffer, isUtf8 } from 'node:buffer';
import type { Data, Utf8 } from 'apache-arrow';
import { utf8Data } from './arrow-data.js';
import { type Budget, nextCapacity, RETAIN_BYTES } from './budget.js';
import { packBits } from './col-fixed.js';
import { InvalidInputError } from './errors.js';
import { HEX_PAIRS } from './text.js';

const encoder = new TextEncoder();

/** Buffer's native UTF-8 writer (present on every Node Buffer, not in its typings). */
interface Utf8Writer {
  utf8Write(s: string, offset: number, length: number): number;
}

/**
 * A Utf8 column as Arrow lays it out: Int32 offsets plus one byte buffer, both grown
 * geometrically and reused from one decode to the next (`reset`); `finish` copies
 * the used part out. Strings from protobuf input are copied as raw bytes.
 *
 * UTF-8 validity is checked cheaply and completely: every copied piece must not
 * start with a continuation byte (checked on append), and the whole byte buffer must
 * be valid UTF-8 (checked once, natively, by `validate()`). A valid concatenation
 * whose pieces all start on a character boundary means every piece is valid.
 */
export class Utf8Column {
  offsets = new Int32Array(1);
  bytes: Uint8Array = new Uint8Array(0);
  /** DataView over `bytes` (word-at-a-time copies). */
  view: DataView = new DataView(this.bytes.buffer);
  /** Buffer over `bytes` (native UTF-8 encoding of long JS strings). */
  private buf: Buffer = Buffer.from(this.bytes.buffer, 0, 0);
  byteLength = 0;
  length = 0;
  valid: Uint8Array | null = null;
  nullCount = 0;
  /**
   * Set for columns whose bytes are valid UTF-8 by construction (hex ids we render,
   * copies of already validated resource/scope attributes): `finish` skips the check.
   */
  trusted = false;
  /** This decode's capacities (charged to the budget): rows and bytes. */
  private rowCap = 0;
  private byteCap = 0;
  private budget: Budget;
  private spareValid: Uint8Array | null = null;

  constructor(
    budget: Budget,
    /** Column name used in error messages. */
    readonly label: string,
    rows = 64,
    bytes = 1024,
  ) {
    this.budget = budget;
    this.reset(budget, rows, bytes);
  }

  /** Empties the column for a new decode (keeps buffers up to RETAIN_BYTES). */
  reset(budget: Budget, rows: number, bytes: number): void {
    this.budget = budget;
    this.length = 0;
    this.byteLength = 0;
    this.nullCount = 0;
    if (this.valid !== null) {
      this.spareValid = this.valid;
      this.valid = null;
    }
    if (this.offsets.byteLength > RETAIN_BYTES) {
      this.offsets = new Int32Array(1);
      this.spareValid = null;
    }
    if (this.bytes.byteLength > RETAIN_BYTES) this.setBytes(new Uint8Array(0));
    this.rowCap = 0;
    this.byteCap = 0;
    this.growRowsTo(rows);
    this.ensureAt(0, bytes);
  }

  /** Empties the column within the same decode (scratch reuse). */
  clear(): void {
    this.truncate(0);
  }

  private growRows(): void {
    this.growRowsTo(this.length + 1);
  }

  private growRowsTo(needed: number): void {
    const cap = nextCapacity(this.rowCap, needed);
    this.budget.charge((cap - this.rowCap) * 4);
    if (cap + 1 > this.offsets.length) {
      const o = new Int32Array(cap + 1);
      o.set(this.offsets.subarray(0, this.length + 1));
      this.offsets = o;
      if (this.valid !== null) {
        const v = new Uint8Array(cap).fill(1);
        v.set(this.valid.subarray(0, this.length));
        this.valid = v;
      }
    }
    this.rowCap = cap;
  }

  /**
   * Makes room for `n` more bytes and returns the write position. The caller writes
   * into `this.bytes` (re-read after this call) and then calls `commit`.
   */
  reserve(n: number): number {
    if (this.byteLength + n > this.byteCap) this.ensureAt(this.byteLength, n);
    return this.byteLength;
  }

  /**
   * Makes room for `n` bytes at `pos` (incremental writers that have written up to
   * `pos` without committing) and returns the possibly new byte buffer.
   */
  ensureAt(pos: number, n: number): Uint8Array {
    const need = pos + n;
    if (need > this.byteCap) {
      const cap = nextCapacity(this.byteCap, need);
      this.budget.charge(cap - this.byteCap);
      if (cap > this.bytes.length) {
        const b = new Uint8Array(cap);
        b.set(this.bytes.subarray(0, pos));
        this.setBytes(b);
      }
      this.byteCap = cap;
    }
    return this.bytes;
  }

  private setBytes(b: Uint8Array): void {
    this.bytes = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Ends the current value at byte position `end` (after `reserve` + writes). */
  commit(end: number): void {
    const i = this.length;
    if (i === this.rowCap) this.growRows();
    this.byteLength = end;
    this.offsets[i + 1] = end;
    if (this.valid !== null) this.valid[i] = 1;
    this.length = i + 1;
  }

  /**
   * Copies `src[start, end)`, raw UTF-8 from the input; `srcView` is a DataView over
   * `src` (same byte indexing) for word-at-a-time copies.
   */
  appendBytes(src: Uint8Array, srcView: DataView, start: number, end: number): void {
    const n = end - start;
    const pos = this.byteLength;
    const i = this.length;
    if (n > 48 || pos + n > this.byteCap || i === this.rowCap) {
      this.appendBytesSlow(src, srcView, start, end);
      return;
    }
    if (n > 0) {
      if ((src[start]! & 0xc0) === 0x80) this.invalid();
      const dv = this.view;
      let k = 0;
      for (; k + 4 <= n; k += 4) dv.setUint32(pos + k, srcView.getUint32(start + k, true), true);
      if (k < n) {
        const dst = this.bytes;
        for (; k < n; k++) dst[pos + k] = src[start + k]!;
      }
    }
    const e = pos + n;
    this.byteLength = e;
    this.offsets[i + 1] = e;
    if (this.valid !== null) this.valid[i] = 1;
    this.length = i + 1;
  }

  private appendBytesSlow(src: Uint8Array, srcView: DataView, start: number, end: number): void {
    const n = end - start;
    const pos = this.reserve(n);
    if (n > 0) {
      if ((src[start]! & 0xc0) === 0x80) this.invalid();
      copyBytes(src, srcView, start, n, this.bytes, this.view, pos);
    }
    this.commit(pos + n);
  }

  /** Copies `src[start, end)` without a DataView (rare paths: new dictionary values). */
  appendRaw(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    const pos = this.reserve(n);
    if (n > 0) {
      if ((src[start]! & 0xc0) === 0x80) this.invalid();
      this.bytes.set(src.subarray(start, end), pos);
    }
    this.commit(pos + n);
  }

  /** Appends the lowercase hex of `src[start, end)` (trace and span ids). */
  appendHex(src: Uint8Array, start: number, end: number): void {
    const pos = this.reserve(2 * (end - start));
    const dv = this.view;
    let p = pos;
    let i = start;
    // One byte → two hex digits per step through a 512-byte table that stays in L1
    // (a 64K-entry table for two bytes at a time measured faster alone, slower in
    // the decoder, where it competes for cache with everything else).
    for (; i < end; i++, p += 2) dv.setUint16(p, HEX_PAIRS[src[i]!]!, true);
    this.commit(p);
  }

  /** Appends every value of `src`, `count` times over (repeated resource/scope blocks). */
  appendBlock(src: Utf8Column, count: number): void {
    const n = src.length;
    const bytes = src.byteLength;
    const rows = this.length + n * count;
    if (rows > this.rowCap) this.growRowsTo(rows);
    let pos = this.reserve(bytes * count);
    const dst = this.bytes;
    const srcBytes = src.bytes.subarray(0, bytes);
    const so = src.offsets;
    const offsets = this.offsets;
    let i = this.length;
    for (let c = 0; c < count; c++) {
      if (bytes > 0) dst.set(srcBytes, pos);
      for (let k = 1; k <= n; k++) offsets[i + k] = pos + so[k]!;
      pos += bytes;
      i += n;
    }
    if (src.nullCount > 0 || this.valid !== null) {
      const valid = this.activateValid();
      const sv = src.valid;
      for (let c = 0, r = this.length; c < count; c++, r += n) {
        if (sv === null) valid.fill(1, r, r + n);
        else valid.set(sv.subarray(0, n), r);
      }
      this.nullCount += src.nullCount * count;
    }
    this.byteLength = pos;
    this.length = rows;
  }

  /** Appends an ASCII-only string. */
  appendAscii(s: string): void {
    let pos = this.reserve(s.length);
    const dst = this.bytes;
    for (let i = 0; i < s.length; i++) dst[pos++] = s.charCodeAt(i);
    this.commit(pos);
  }

  /**
   * Appends a JavaScript string (OTLP/JSON path) as UTF-8. A lone surrogate cannot
   * be UTF-8 and is rejected like invalid UTF-8 in protobuf.
   */
  appendString(s: string): void {
    this.commit(this.writeString(s, this.reserve(s.length * 3)));
  }

  /** Writes `s` as UTF-8 at `pos` (room reserved by the caller: 3 bytes per unit). */
  writeString(s: string, pos: number): number {
    const n = s.length;
    if (n >= 24) {
      // Native encoding wins for longer strings. ASCII writes exactly one byte per
      // code unit; anything else must be well-formed (no lone surrogate).
      const written = (this.buf as unknown as Utf8Writer).utf8Write(
        s,
        pos,
        this.bytes.length - pos,
      );
      if (written !== n && !(s as unknown as { isWellFormed(): boolean }).isWellFormed()) {
        this.loneSurrogate();
      }
      return pos + written;
    }
    const dst = this.bytes;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) this.loneSurrogate();
        return pos + encoder.encodeInto(s.substring(i), dst.subarray(pos)).written;
      }
      dst[pos++] = c;
    }
    return pos;
  }

  private loneSurrogate(): never {
    throw new InvalidInputError(`invalid string in ${this.label}: lone UTF-16 surrogate`);
  }

  private activateValid(): Uint8Array {
    if (this.valid === null) {
      const n = this.offsets.length - 1;
      const spare = this.spareValid;
      this.valid = spare !== null && spare.length >= n ? spare.fill(1) : new Uint8Array(n).fill(1);
      this.spareValid = null;
    }
    return this.valid;
  }

  appendNull(): void {
    const i = this.length;
    if (i === this.rowCap) this.growRows();
    this.activateValid()[i] = 0;
    this.nullCount++;
    this.offsets[i + 1] = this.byteLength;
    this.length = i + 1;
  }

  /** True when row `i` is null. */
  isNull(i: number): boolean {
    return this.valid !== null && this.valid[i] === 0;
  }

  /** Drops rows from `n` on. */
  truncate(n: number): void {
    if (n >= this.length) return;
    const valid = this.valid;
    if (valid !== null) {
      for (let i = n; i < this.length; i++) {
        if (valid[i] === 0) {
          valid[i] = 1;
          this.nullCount--;
        }
      }
    }
    this.length = n;
    this.byteLength = this.offsets[n]!;
  }

  /** Throws InvalidInputError unless the byte buffer is valid UTF-8. */
  validate(): void {
    if (this.byteLength > 0 && !isUtf8(this.bytes.subarray(0, this.byteLength))) this.invalid();
  }

  private invalid(): never {
    throw new InvalidInputError(`invalid UTF-8 in a string field (${this.label})`);
  }

  finish(type: Utf8): Data<Utf8> {
    if (!this.trusted) this.validate();
    const offsets = this.budget.take(this.offsets, this.length + 1);
    const bytes = this.budget.take(this.bytes, this.byteLength);
    if (this.nullCount === 0 || this.valid === null) {
      return utf8Data(type, this.length, offsets, bytes);
    }
    return utf8Data(
      type,
      this.length,
      offsets,
      bytes,
      this.nullCount,
      packBits(this.valid, this.length),
    );
  }
}

/**
 * Copies `n` bytes from `src` at `start` to `dst` at `pos`. Strings up to a few
 * hundred bytes (nearly all keys and values) go four bytes at a time through
 * DataViews, which beats both a byte loop and `set(subarray())`, whose view
 * allocation (and the garbage it leaves) dominates below that.
 */
export function copyBytes(
  src: Uint8Array,
  sv: DataView,
  start: number,
  n: number,
  dst: Uint8Array,
  dv: DataView,
  pos: number,
): void {
  if (n > 256) {
    dst.set(src.subarray(start, start + n), pos);
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) dv.setUint32(pos + i, sv.getUint32(start + i, true), true);
  for (; i < n; i++) dst[pos + i] = src[start + i]!;
}
