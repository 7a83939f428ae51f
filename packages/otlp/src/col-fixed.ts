import {
  type Bool,
  type Data,
  type Float64,
  type Int32,
  type Int64,
  makeData,
  type Timestamp,
  type Uint32,
} from 'apache-arrow';
import { type Budget, nextCapacity } from './budget.js';

/**
 * Fixed-width columns: one typed array grown geometrically, plus an optional
 * byte-per-row validity array allocated on the first null. `append*` methods are
 * defined on each class (not the base) so every hot call site stays monomorphic.
 */
abstract class FixedColumn {
  length = 0;
  /** 1 = valid, 0 = null; null until the first null is appended. */
  valid: Uint8Array | null = null;
  nullCount = 0;
  protected cap: number;

  constructor(
    protected readonly budget: Budget,
    cap: number,
    protected readonly bytesPerValue: number,
  ) {
    this.cap = cap;
    budget.charge(cap * bytesPerValue);
  }

  protected abstract resize(cap: number): void;

  protected grow(needed: number): void {
    const cap = nextCapacity(this.cap, needed);
    this.budget.charge(cap * this.bytesPerValue);
    this.resize(cap);
    if (this.valid !== null) {
      const v = new Uint8Array(cap).fill(1);
      v.set(this.valid.subarray(0, this.length));
      this.valid = v;
    }
    this.cap = cap;
  }

  protected markNull(i: number): void {
    if (this.valid === null) {
      this.budget.charge(this.cap);
      this.valid = new Uint8Array(this.cap).fill(1);
    }
    this.valid[i] = 0;
    this.nullCount++;
  }

  /** Drops rows from `n` on (rollback of a rejected item). */
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
  }

  protected nullProps(): { nullCount: number; nullBitmap?: Uint8Array } {
    if (this.nullCount === 0 || this.valid === null) return { nullCount: 0 };
    return { nullCount: this.nullCount, nullBitmap: packBits(this.valid, this.length) };
  }
}

/** Packs a byte-per-row 0/1 array into an Arrow (LSB-first) bitmap. */
export function packBits(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array((length + 7) >>> 3);
  for (let i = 0; i < length; i++) if (bytes[i] !== 0) out[i >>> 3]! |= 1 << (i & 7);
  return out;
}

export class Int32Column extends FixedColumn {
  values: Int32Array;
  constructor(budget: Budget, cap = 64) {
    super(budget, cap, 4);
    this.values = new Int32Array(cap);
  }
  protected resize(cap: number): void {
    const v = new Int32Array(cap);
    v.set(this.values.subarray(0, this.length));
    this.values = v;
  }
  append(v: number): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.values[i] = v;
    if (this.valid !== null) this.valid[i] = 1;
    this.length = i + 1;
  }
  appendNull(): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.values[i] = 0;
    this.markNull(i);
    this.length = i + 1;
  }
  finish(type: Int32): Data<Int32> {
    return makeData({
      type,
      length: this.length,
      data: this.values.subarray(0, this.length),
      ...this.nullProps(),
    });
  }
}

export class Uint32Column extends FixedColumn {
  values: Uint32Array;
  constructor(budget: Budget, cap = 64) {
    super(budget, cap, 4);
    this.values = new Uint32Array(cap);
  }
  protected resize(cap: number): void {
    const v = new Uint32Array(cap);
    v.set(this.values.subarray(0, this.length));
    this.values = v;
  }
  append(v: number): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.values[i] = v;
    this.length = i + 1;
  }
  finish(type: Uint32): Data<Uint32> {
    return makeData({ type, length: this.length, data: this.values.subarray(0, this.length) });
  }
}

export class Float64Column extends FixedColumn {
  values: Float64Array;
  constructor(budget: Budget, cap = 64) {
    super(budget, cap, 8);
    this.values = new Float64Array(cap);
  }
  protected resize(cap: number): void {
    const v = new Float64Array(cap);
    v.set(this.values.subarray(0, this.length));
    this.values = v;
  }
  append(v: number): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.values[i] = v;
    if (this.valid !== null) this.valid[i] = 1;
    this.length = i + 1;
  }
  appendNull(): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.values[i] = 0;
    this.markNull(i);
    this.length = i + 1;
  }
  finish(type: Float64): Data<Float64> {
    return makeData({
      type,
      length: this.length,
      data: this.values.subarray(0, this.length),
      ...this.nullProps(),
    });
  }
}

/**
 * 64-bit integers (Int64 and Timestamp) written as two 32-bit halves into an
 * Int32Array view of the BigInt64Array buffer: no BigInt per value, full precision.
 * (Arrow's own builders go through JS numbers and lose nanoseconds.)
 */
export class Int64Column extends FixedColumn {
  words: Int32Array;
  constructor(budget: Budget, cap = 64) {
    super(budget, cap, 8);
    this.words = new Int32Array(cap * 2);
  }
  protected resize(cap: number): void {
    const v = new Int32Array(cap * 2);
    v.set(this.words.subarray(0, this.length * 2));
    this.words = v;
  }
  /** Appends the value whose low and high 32 bits are `lo` and `hi`. */
  append(lo: number, hi: number): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    const w = this.words;
    w[2 * i] = lo;
    w[2 * i + 1] = hi;
    if (this.valid !== null) this.valid[i] = 1;
    this.length = i + 1;
  }
  appendNull(): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.words[2 * i] = 0;
    this.words[2 * i + 1] = 0;
    this.markNull(i);
    this.length = i + 1;
  }
  /** Low word of row `i` (signed 32-bit view). */
  lo(i: number): number {
    return this.words[2 * i]!;
  }
  hi(i: number): number {
    return this.words[2 * i + 1]!;
  }
  finish(type: Int64 | Timestamp): Data<Int64 | Timestamp> {
    const data = new BigInt64Array(this.words.buffer, 0, this.length);
    return makeData({ type: type as Int64, length: this.length, data, ...this.nullProps() });
  }
}

export class BoolColumn extends FixedColumn {
  values: Uint8Array;
  constructor(budget: Budget, cap = 64) {
    super(budget, cap, 1);
    this.values = new Uint8Array(cap);
  }
  protected resize(cap: number): void {
    const v = new Uint8Array(cap);
    v.set(this.values.subarray(0, this.length));
    this.values = v;
  }
  append(v: boolean): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.values[i] = v ? 1 : 0;
    this.length = i + 1;
  }
  finish(type: Bool): Data<Bool> {
    return makeData({ type, length: this.length, data: packBits(this.values, this.length) });
  }
}
