/**
 * Thrift compact protocol, write side only, for Parquet's page headers and footer
 * (parquet.thrift). Fields must be written in increasing id order within a struct;
 * `structBegin`/`structEnd` nest.
 */
import { ByteSink } from './byte-sink.js';

export const TType = {
  BoolTrue: 1,
  BoolFalse: 2,
  Byte: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  Double: 7,
  Binary: 8,
  List: 9,
  Set: 10,
  Map: 11,
  Struct: 12,
} as const;
export type TType = (typeof TType)[keyof typeof TType];

const utf8 = new TextEncoder();

export class ThriftWriter {
  readonly out: ByteSink;
  #last = 0;
  readonly #stack: number[] = [];

  constructor(out: ByteSink = new ByteSink(1024)) {
    this.out = out;
  }

  #header(id: number, type: TType): void {
    const delta = id - this.#last;
    if (delta > 0 && delta <= 15) this.out.u8((delta << 4) | type);
    else {
      this.out.u8(type);
      this.#zigzag32(id);
    }
    this.#last = id;
  }

  #zigzag32(v: number): void {
    this.out.varint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Zigzag varint of a safe integer (|v| < 2^53). */
  #zigzag64(v: number): void {
    this.out.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  i32(id: number, v: number): void {
    this.#header(id, TType.I32);
    this.#zigzag32(v | 0);
  }

  i16(id: number, v: number): void {
    this.#header(id, TType.I16);
    this.#zigzag32(v | 0);
  }

  i64(id: number, v: number): void {
    this.#header(id, TType.I64);
    this.#zigzag64(v);
  }

  byte(id: number, v: number): void {
    this.#header(id, TType.Byte);
    this.out.u8(v & 0xff);
  }

  bool(id: number, v: boolean): void {
    this.#header(id, v ? TType.BoolTrue : TType.BoolFalse);
  }

  binary(id: number, v: Uint8Array): void {
    this.#header(id, TType.Binary);
    this.out.varint(v.length);
    this.out.bytes(v);
  }

  string(id: number, v: string): void {
    this.binary(id, utf8.encode(v));
  }

  /** Begins a struct-typed field; end it with `structEnd()`. */
  structBegin(id: number): void {
    this.#header(id, TType.Struct);
    this.#stack.push(this.#last);
    this.#last = 0;
  }

  structEnd(): void {
    this.out.u8(0);
    this.#last = this.#stack.pop() ?? 0;
  }

  /** Begins a list field; then write `size` elements (`listStructBegin` / `listString`). */
  listBegin(id: number, elementType: TType, size: number): void {
    this.#header(id, TType.List);
    if (size < 15) this.out.u8((size << 4) | elementType);
    else {
      this.out.u8(0xf0 | elementType);
      this.out.varint(size);
    }
  }

  /** A struct element of a list; end it with `structEnd()`. */
  listStructBegin(): void {
    this.#stack.push(this.#last);
    this.#last = 0;
  }

  listString(v: string): void {
    const b = utf8.encode(v);
    this.out.varint(b.length);
    this.out.bytes(b);
  }

  /** Ends the top-level struct being written (the stop byte). */
  end(): void {
    this.out.u8(0);
    this.#last = 0;
  }
}
