import { isUtf8 } from 'node:buffer';
import { type Data, makeData, type Utf8 } from 'apache-arrow';
import { type Budget, nextCapacity } from './budget.js';
import { packBits } from './col-fixed.js';
import { InvalidInputError } from './errors.js';
import { writeHex } from './text.js';

const encoder = new TextEncoder();

/**
 * A Utf8 column as Arrow lays it out: Int32 offsets plus one byte buffer, both grown
 * geometrically. Strings from protobuf input are copied as raw bytes.
 *
 * UTF-8 validity is checked cheaply and completely: every copied piece must not
 * start with a continuation byte (checked on append), and the whole byte buffer must
 * be valid UTF-8 (checked once, natively, by `validate()`). A valid concatenation
 * whose pieces all start on a character boundary means every piece is valid.
 */
export class Utf8Column {
  offsets: Int32Array;
  bytes: Uint8Array;
  byteLength = 0;
  length = 0;
  valid: Uint8Array | null = null;
  nullCount = 0;
  private rowCap: number;

  constructor(
    private readonly budget: Budget,
    /** Column name used in error messages. */
    readonly label: string,
    rows = 64,
    bytes = 1024,
  ) {
    budget.charge(rows * 4 + 4 + bytes);
    this.rowCap = rows;
    this.offsets = new Int32Array(rows + 1);
    this.bytes = new Uint8Array(bytes);
  }

  private growRows(): void {
    this.growRowsTo(this.length + 1);
  }

  private growRowsTo(needed: number): void {
    const cap = nextCapacity(this.rowCap, needed);
    this.budget.charge(cap * 4 + 4);
    const o = new Int32Array(cap + 1);
    o.set(this.offsets.subarray(0, this.length + 1));
    this.offsets = o;
    if (this.valid !== null) {
      const v = new Uint8Array(cap).fill(1);
      v.set(this.valid.subarray(0, this.length));
      this.valid = v;
    }
    this.rowCap = cap;
  }

  /**
   * Makes room for `n` more bytes and returns the write position. The caller writes
   * into `this.bytes` (re-read after this call) and then calls `commit`.
   */
  reserve(n: number): number {
    if (this.byteLength + n > this.bytes.length) this.ensureAt(this.byteLength, n);
    return this.byteLength;
  }

  /**
   * Makes room for `n` bytes at `pos` (incremental writers that have written up to
   * `pos` without committing) and returns the possibly new byte buffer.
   */
  ensureAt(pos: number, n: number): Uint8Array {
    const need = pos + n;
    if (need > this.bytes.length) {
      const cap = nextCapacity(this.bytes.length, need);
      this.budget.charge(cap);
      const b = new Uint8Array(cap);
      b.set(this.bytes.subarray(0, pos));
      this.bytes = b;
    }
    return this.bytes;
  }

  /** Appends the lowercase hex of `src[start, end)` (trace and span ids). */
  appendHex(src: Uint8Array, start: number, end: number): void {
    const pos = this.reserve(2 * (end - start));
    this.commit(writeHex(src, start, end, this.bytes, pos));
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

  /** Copies `src[start, end)`, raw UTF-8 from the input. */
  appendBytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    let pos = this.byteLength;
    if (pos + n > this.bytes.length) pos = this.reserve(n);
    if (n > 0) {
      if ((src[start]! & 0xc0) === 0x80) this.invalid();
      const dst = this.bytes;
      if (n <= 32) for (let i = 0; i < n; i++) dst[pos + i] = src[start + i]!;
      else dst.set(src.subarray(start, end), pos);
    }
    this.commit(pos + n);
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
      if (this.valid === null) {
        this.budget.charge(this.rowCap);
        this.valid = new Uint8Array(this.rowCap).fill(1);
      }
      const sv = src.valid;
      for (let c = 0, r = this.length; c < count; c++, r += n) {
        if (sv === null) this.valid.fill(1, r, r + n);
        else this.valid.set(sv.subarray(0, n), r);
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
    const dst = this.bytes;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) {
          throw new InvalidInputError(`invalid string in ${this.label}: lone UTF-16 surrogate`);
        }
        return pos + encoder.encodeInto(s.substring(i), dst.subarray(pos)).written;
      }
      dst[pos++] = c;
    }
    return pos;
  }

  appendNull(): void {
    const i = this.length;
    if (i === this.rowCap) this.growRows();
    if (this.valid === null) {
      this.budget.charge(this.rowCap);
      this.valid = new Uint8Array(this.rowCap).fill(1);
    }
    this.valid[i] = 0;
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

  /** Empties the column, keeping its buffers (scratch reuse). */
  reset(): void {
    this.truncate(0);
  }

  /** Throws InvalidInputError unless the byte buffer is valid UTF-8. */
  validate(): void {
    if (this.byteLength > 0 && !isUtf8(this.bytes.subarray(0, this.byteLength))) this.invalid();
  }

  private invalid(): never {
    throw new InvalidInputError(`invalid UTF-8 in a string field (${this.label})`);
  }

  finish(type: Utf8): Data<Utf8> {
    this.validate();
    const nulls =
      this.nullCount === 0 || this.valid === null
        ? { nullCount: 0 }
        : { nullCount: this.nullCount, nullBitmap: packBits(this.valid, this.length) };
    return makeData({
      type,
      length: this.length,
      valueOffsets: this.offsets.subarray(0, this.length + 1),
      data: this.bytes.subarray(0, this.byteLength),
      ...nulls,
    });
  }
}
