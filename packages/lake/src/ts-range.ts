/**
 * Min/max of int64 nanosecond timestamps kept as 32-bit halves (hi signed, lo unsigned),
 * so hot loops never allocate a BigInt. Converted to decimal strings once per file.
 */
export class TsRange {
  minHi = 0;
  minLo = 0;
  maxHi = 0;
  maxLo = 0;
  empty = true;

  add(lo: number, hi: number): void {
    lo >>>= 0;
    if (this.empty) {
      this.minHi = this.maxHi = hi;
      this.minLo = this.maxLo = lo;
      this.empty = false;
      return;
    }
    if (hi < this.minHi || (hi === this.minHi && lo < this.minLo)) {
      this.minHi = hi;
      this.minLo = lo;
    }
    if (hi > this.maxHi || (hi === this.maxHi && lo > this.maxLo)) {
      this.maxHi = hi;
      this.maxLo = lo;
    }
  }

  merge(other: TsRange): void {
    if (other.empty) return;
    this.add(other.minLo, other.minHi);
    this.add(other.maxLo, other.maxHi);
  }

  get min(): bigint | undefined {
    return this.empty ? undefined : (BigInt(this.minHi) << 32n) | BigInt(this.minLo);
  }

  get max(): bigint | undefined {
    return this.empty ? undefined : (BigInt(this.maxHi) << 32n) | BigInt(this.maxLo);
  }
}
