import { InvalidInputError } from './errors.js';

/** Wire types of the protobuf encoding. */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_SGROUP = 3;
export const WIRE_EGROUP = 4;
export const WIRE_I32 = 5;

/** Deepest nesting accepted (messages, AnyValue arrays/maps, groups), like protobuf's default. */
export const MAX_DEPTH = 100;

/**
 * Protobuf wire-format primitives over one input buffer. Positions are explicit:
 * message decoders loop `while (r.pos < end)` and check `r.pos === end` after.
 * Every read is bounds-checked; a length prefix is checked against the enclosing
 * message before anything is done with it, and nothing is ever allocated from it.
 *
 * 64-bit values land in `lo` / `hi` (two's-complement 32-bit halves): no BigInt.
 */
export class ProtoReader {
  readonly buf: Uint8Array;
  readonly len: number;
  pos = 0;
  lo = 0;
  hi = 0;
  /** DataView over `buf` (same byte indexing). */
  readonly view: DataView;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.len = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(what: string): never {
    throw new InvalidInputError(`invalid protobuf at byte ${this.pos}: ${what}`);
  }

  /** Reads a varint and returns its low 32 bits as an unsigned number. */
  varint(): number {
    const buf = this.buf;
    const p = this.pos;
    if (p + 1 < this.len) {
      const b0 = buf[p]!;
      if (b0 < 0x80) {
        this.pos = p + 1;
        return b0;
      }
      const b1 = buf[p + 1]!;
      if (b1 < 0x80) {
        this.pos = p + 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
    }
    this.varint64();
    return this.lo >>> 0;
  }

  /** Reads a varint of up to 64 bits into `lo` / `hi`. */
  varint64(): void {
    const buf = this.buf;
    const len = this.len;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    // Bytes 0..3 carry bits 0..27.
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= len) this.truncated();
      b = buf[p++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = p;
        this.lo = lo;
        this.hi = 0;
        return;
      }
    }
    // Byte 4 carries bits 28..34.
    if (p >= len) this.truncated();
    b = buf[p++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b >= 0x80) {
      for (let shift = 3; shift < 32; shift += 7) {
        if (p >= len) this.truncated();
        b = buf[p++]!;
        if (shift === 31) {
          // Tenth byte: only its lowest bit is inside 64 bits.
          if (b > 1) {
            this.pos = p;
            this.fail('varint overflows 64 bits');
          }
          hi |= b << 31;
          break;
        }
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.pos = p;
    this.lo = lo;
    this.hi = hi;
  }

  /** Position after a length-delimited field's payload; the payload starts at `pos`. */
  lenEnd(end: number): number {
    const n = this.varint();
    if (n > end - this.pos) this.truncated();
    return this.pos + n;
  }

  fixed32(end: number): number {
    const p = this.pos;
    if (p + 4 > end) this.truncated();
    const b = this.buf;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** Reads 8 little-endian bytes into `lo` / `hi`. */
  fixed64(end: number): void {
    const p = this.pos;
    if (p + 8 > end) this.truncated();
    const b = this.buf;
    this.lo = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
    this.hi = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
    this.pos = p + 8;
  }

  double(end: number): number {
    const p = this.pos;
    if (p + 8 > end) this.truncated();
    this.pos = p + 8;
    return this.view.getFloat64(p, true);
  }

  /** Throws unless the message ended exactly at `end`. */
  checkEnd(end: number): void {
    if (this.pos !== end) this.fail('field runs past the end of its message');
  }

  truncated(): never {
    this.fail('truncated input');
  }

  /**
   * Skips the field whose tag was just read. `known` has bit N set for each field
   * number N (< 32) that the message defines: such a field with an unexpected wire
   * type is an error, not an unknown field.
   */
  skip(tag: number, end: number, known: number): void {
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) this.fail('field number 0');
    if (field < 32 && (known & (1 << field)) !== 0) {
      this.fail(`field ${field} has the wrong wire type ${wire}`);
    }
    this.skipValue(field, wire, end, 0);
  }

  private skipValue(field: number, wire: number, end: number, depth: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint64();
        if (this.pos > end) this.truncated();
        return;
      case WIRE_I64:
        if (this.pos + 8 > end) this.truncated();
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lenEnd(end);
        return;
      case WIRE_I32:
        if (this.pos + 4 > end) this.truncated();
        this.pos += 4;
        return;
      case WIRE_SGROUP:
        this.skipGroup(field, end, depth + 1);
        return;
      case WIRE_EGROUP:
        this.fail(`unexpected end-group tag for field ${field}`);
        break;
      default:
        this.fail(`invalid wire type ${wire}`);
    }
  }

  /** Skips a (deprecated) group up to its matching end-group tag. */
  private skipGroup(field: number, end: number, depth: number): void {
    if (depth > MAX_DEPTH) this.fail('groups nested too deeply');
    for (;;) {
      if (this.pos >= end) this.truncated();
      const tag = this.varint();
      const f = tag >>> 3;
      const w = tag & 7;
      if (f === 0) this.fail('field number 0');
      if (w === WIRE_EGROUP) {
        if (f !== field) this.fail(`end-group tag for field ${f} inside group ${field}`);
        return;
      }
      this.skipValue(f, w, end, depth);
    }
  }
}
