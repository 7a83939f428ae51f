import { type Data, type DataType, type List, makeData } from 'apache-arrow';
import { type Budget, nextCapacity } from './budget.js';

/**
 * Offsets of a List column. Child values (a fixed column or the columns of a struct)
 * are appended by the caller; `push(childLength)` closes one row.
 */
export class ListOffsets {
  offsets: Int32Array;
  length = 0;
  private rowCap: number;

  constructor(
    private readonly budget: Budget,
    rows = 64,
  ) {
    this.rowCap = rows;
    budget.charge(rows * 4 + 4);
    this.offsets = new Int32Array(rows + 1);
  }

  /** Child length at the start of the row being built. */
  get rowStart(): number {
    return this.offsets[this.length]!;
  }

  push(childLength: number): void {
    const i = this.length;
    if (i === this.rowCap) {
      const cap = nextCapacity(this.rowCap, i + 1);
      this.budget.charge(cap * 4 + 4);
      const o = new Int32Array(cap + 1);
      o.set(this.offsets.subarray(0, i + 1));
      this.offsets = o;
      this.rowCap = cap;
    }
    this.offsets[i + 1] = childLength;
    this.length = i + 1;
  }

  /** Drops rows from `n` on; returns the child length to truncate the children to. */
  truncate(n: number): number {
    if (n < this.length) this.length = n;
    return this.offsets[this.length]!;
  }

  finish<T extends DataType>(type: List<T>, child: Data<T>): Data<List<T>> {
    return makeData({
      type,
      length: this.length,
      nullCount: 0,
      valueOffsets: this.offsets.subarray(0, this.length + 1),
      child,
    });
  }
}
