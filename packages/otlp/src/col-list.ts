import type { Data, DataType, List } from 'apache-arrow';
import { listData } from './arrow-data.js';
import { type Budget, nextCapacity, RETAIN_BYTES } from './budget.js';

/**
 * Offsets of a List column. Child values (a fixed column or the columns of a struct)
 * are appended by the caller; `push(childLength)` closes one row.
 */
export class ListOffsets {
  offsets = new Int32Array(1);
  length = 0;
  private rowCap = 0;
  private budget: Budget;

  constructor(budget: Budget, rows = 64) {
    this.budget = budget;
    this.reset(budget, rows);
  }

  /** Empties the column for a new decode (the buffer is reused). */
  reset(budget: Budget, rows: number): void {
    this.budget = budget;
    this.length = 0;
    if (this.offsets.byteLength > RETAIN_BYTES) this.offsets = new Int32Array(1);
    this.rowCap = 0;
    this.grow(rows);
  }

  private grow(needed: number): void {
    const cap = nextCapacity(this.rowCap, needed);
    this.budget.charge((cap - this.rowCap) * 4);
    if (cap + 1 > this.offsets.length) {
      const o = new Int32Array(cap + 1);
      o.set(this.offsets.subarray(0, this.length + 1));
      this.offsets = o;
    }
    this.rowCap = cap;
  }

  /** Child length at the start of the row being built. */
  get rowStart(): number {
    return this.offsets[this.length]!;
  }

  push(childLength: number): void {
    const i = this.length;
    if (i === this.rowCap) this.grow(i + 1);
    this.offsets[i + 1] = childLength;
    this.length = i + 1;
  }

  /** Drops rows from `n` on; returns the child length to truncate the children to. */
  truncate(n: number): number {
    if (n < this.length) this.length = n;
    return this.offsets[this.length]!;
  }

  finish<T extends DataType>(type: List<T>, child: Data<T>): Data<List<T>> {
    return listData(type, this.length, this.budget.take(this.offsets, this.length + 1), child);
  }
}
