import type { Bool, Data, DataType, Float64, Int32, Int64, Timestamp, Uint32 } from 'apache-arrow';
import { fixedData } from './arrow-data.js';
import { type Budget, nextCapacity, RETAIN_BYTES } from './budget.js';

type Typed = Int32Array | Uint32Array | Float64Array | Uint8Array;

/**
 * Fixed-width columns: one typed array grown geometrically, plus an optional
 * byte-per-row validity array activated on the first null. Buffers are reused from
 * one decode to the next (`reset`); `finish` copies the used part out for Arrow.
 * `append*` methods are defined on each class (not the base) so every hot call
 * site stays monomorphic.
 */
abstract class FixedColumn<A extends Typed> {
  length = 0;
  /** 1 = valid, 0 = null; null until the first null of this decode. */
  valid: Uint8Array | null = null;
  nullCount = 0;
  /** This decode's capacity, in elements (charged to the budget). */
  protected cap = 0;
  protected budget: Budget;
  private spareValid: Uint8Array | null = null;
  abstract values: A;

  constructor(
    budget: Budget,
    /** Typed-array elements per value (2 for 64-bit integers held as Int32 pairs). */
    protected readonly width: number,
    protected readonly bytesPerElement: number,
  ) {
    this.budget = budget;
  }

  protected abstract alloc(elements: number): A;

  reset(budget: Budget, cap: number): void {
    this.budget = budget;
    this.length = 0;
    this.nullCount = 0;
    if (this.valid !== null) {
      this.spareValid = this.valid;
      this.valid = null;
    }
    if (this.values.byteLength > RETAIN_BYTES) {
      this.values = this.alloc(0);
      this.spareValid = null;
    }
    this.cap = 0;
    this.grow(cap);
  }

  protected grow(needed: number): void {
    const cap = nextCapacity(this.cap, needed);
    this.budget.charge((cap - this.cap) * this.width * this.bytesPerElement);
    if (cap * this.width > this.values.length) {
      const v = this.alloc(cap * this.width);
      v.set(this.values.subarray(0, this.length * this.width));
      this.values = v;
      if (this.valid !== null) {
        const b = new Uint8Array(cap).fill(1);
        b.set(this.valid.subarray(0, this.length));
        this.valid = b;
      }
    }
    this.cap = cap;
  }

  protected markNull(i: number): void {
    if (this.valid === null) {
      const n = this.values.length / this.width;
      const spare = this.spareValid;
      this.valid = spare !== null && spare.length >= n ? spare.fill(1) : new Uint8Array(n).fill(1);
      this.spareValid = null;
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

  /** Arrow data of the first `length` values (`values`: a copy of them). */
  protected data<T extends DataType>(type: T, values: ArrayBufferView): Data<T> {
    if (this.nullCount === 0 || this.valid === null) return fixedData(type, this.length, values);
    return fixedData(type, this.length, values, this.nullCount, packBits(this.valid, this.length));
  }
}

/** Packs a byte-per-row 0/1 array into an Arrow (LSB-first) bitmap. */
export function packBits(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array((length + 7) >>> 3);
  for (let i = 0; i < length; i++) if (bytes[i] !== 0) out[i >>> 3]! |= 1 << (i & 7);
  return out;
}

export class Int32Column extends FixedColumn<Int32Array> {
  values = new Int32Array(0);
  constructor(budget: Budget, cap = 64) {
    super(budget, 1, 4);
    this.reset(budget, cap);
  }
  protected alloc(n: number): Int32Array {
    return new Int32Array(n);
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
    return this.data(type, this.budget.take(this.values, this.length));
  }
}

export class Uint32Column extends FixedColumn<Uint32Array> {
  values = new Uint32Array(0);
  constructor(budget: Budget, cap = 64) {
    super(budget, 1, 4);
    this.reset(budget, cap);
  }
  protected alloc(n: number): Uint32Array {
    return new Uint32Array(n);
  }
  append(v: number): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.values[i] = v;
    this.length = i + 1;
  }
  finish(type: Uint32): Data<Uint32> {
    return this.data(type, this.budget.take(this.values, this.length));
  }
}

export class Float64Column extends FixedColumn<Float64Array> {
  values = new Float64Array(0);
  constructor(budget: Budget, cap = 64) {
    super(budget, 1, 8);
    this.reset(budget, cap);
  }
  protected alloc(n: number): Float64Array {
    return new Float64Array(n);
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
    return this.data(type, this.budget.take(this.values, this.length));
  }
}

/**
 * 64-bit integers (Int64 and Timestamp) written as two 32-bit halves into an
 * Int32Array, handed to Arrow as a BigInt64Array over the same bytes: no BigInt per
 * value, full precision. (Arrow's own builders go through JS numbers and lose
 * nanoseconds.)
 */
export class Int64Column extends FixedColumn<Int32Array> {
  values = new Int32Array(0);
  constructor(budget: Budget, cap = 64) {
    super(budget, 2, 4);
    this.reset(budget, cap);
  }
  protected alloc(n: number): Int32Array {
    return new Int32Array(n);
  }
  /** Appends the value whose low and high 32 bits are `lo` and `hi`. */
  append(lo: number, hi: number): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    const w = this.values;
    w[2 * i] = lo;
    w[2 * i + 1] = hi;
    if (this.valid !== null) this.valid[i] = 1;
    this.length = i + 1;
  }
  appendNull(): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.values[2 * i] = 0;
    this.values[2 * i + 1] = 0;
    this.markNull(i);
    this.length = i + 1;
  }
  finish(type: Int64 | Timestamp): Data<Int64 | Timestamp> {
    const words = this.budget.take(this.values, this.length * 2);
    const data = new BigInt64Array(words.buffer, words.byteOffset, this.length);
    return this.data(type, data);
  }
}

export class BoolColumn extends FixedColumn<Uint8Array> {
  values = new Uint8Array(0);
  constructor(budget: Budget, cap = 64) {
    super(budget, 1, 1);
    this.reset(budget, cap);
  }
  protected alloc(n: number): Uint8Array {
    return new Uint8Array(n);
  }
  append(v: boolean): void {
    const i = this.length;
    if (i === this.cap) this.grow(i + 1);
    this.values[i] = v ? 1 : 0;
    this.length = i + 1;
  }
  finish(type: Bool): Data<Bool> {
    return this.data(type, packBits(this.values, this.length));
  }
}
