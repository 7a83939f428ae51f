import { Buffer } from 'node:buffer';
import type { Data, Map_, Struct, Utf8 } from 'apache-arrow';
import { listData, structData } from './arrow-data.js';
import { type Budget, nextCapacity, RETAIN_BYTES } from './budget.js';
import { Utf8Column } from './col-utf8.js';
import { bytesEqual, hashBytes } from './text.js';

/**
 * A Map<Utf8, Utf8> column (attributes). Entries of the current row are appended to
 * `keys` and `values` (values are nullable: an attribute without a value), then
 * `endRow()` removes duplicate keys, keeping the last occurrence (DuckDB rejects maps
 * with duplicate keys), and closes the row.
 */
export class MapColumn {
  offsets = new Int32Array(1);
  length = 0;
  readonly keys: Utf8Column;
  readonly values: Utf8Column;
  private rowCap = 0;
  private budget: Budget;
  private sig = new Int32Array(64);
  /** Signatures of the last row checked whose signatures were all distinct (-1: none). */
  private prevSig = new Int32Array(64);
  private prevN = -1;

  constructor(budget: Budget, label: string, rows = 64, entries = 256) {
    this.budget = budget;
    this.keys = new Utf8Column(budget, `${label} keys`, entries, entries * 16);
    this.values = new Utf8Column(budget, `${label} values`, entries, entries * 16);
    this.reset(budget, rows, entries);
  }

  /** Marks both children as valid UTF-8 by construction (see Utf8Column.trusted). */
  trust(): this {
    this.keys.trusted = true;
    this.values.trusted = true;
    return this;
  }

  /** Empties the column for a new decode (buffers are reused). */
  reset(budget: Budget, rows: number, entries: number): void {
    this.budget = budget;
    this.length = 0;
    if (this.offsets.byteLength > RETAIN_BYTES) this.offsets = new Int32Array(1);
    this.rowCap = 0;
    this.growRows(rows);
    this.keys.reset(budget, entries, entries * 16);
    this.values.reset(budget, entries, entries * 16);
  }

  private growRows(needed: number): void {
    const cap = nextCapacity(this.rowCap, needed);
    this.budget.charge((cap - this.rowCap) * 4);
    if (cap + 1 > this.offsets.length) {
      const o = new Int32Array(cap + 1);
      o.set(this.offsets.subarray(0, this.length + 1));
      this.offsets = o;
    }
    this.rowCap = cap;
  }

  /** Entries of the row being built so far. */
  get pendingEntries(): number {
    return this.keys.length - this.offsets[this.length]!;
  }

  /** Closes the current row: removes duplicate keys (last wins) and records its end. */
  endRow(): void {
    const start = this.offsets[this.length]!;
    const end = this.keys.length;
    if (end - start > 1 && this.hasDuplicates(start, end)) this.dedup(start, end);
    const i = this.length;
    if (i === this.rowCap) this.growRows(i + 1);
    this.offsets[i + 1] = this.keys.length;
    this.length = i + 1;
  }

  private hasDuplicates(start: number, end: number): boolean {
    const n = end - start;
    const ko = this.keys.offsets;
    const kb = this.keys.bytes;
    if (n > 48) return this.hasDuplicatesHashed(start, end);
    if (this.sig.length < n) {
      this.sig = new Int32Array(nextCapacity(this.sig.length, n));
      this.prevSig = new Int32Array(this.sig.length);
      this.prevN = -1;
    }
    const sig = this.sig;
    // A cheap signature (length, first, middle and last byte) rules out almost every pair.
    for (let i = 0; i < n; i++) {
      const s = ko[start + i]!;
      const e = ko[start + i + 1]!;
      const len = e - s;
      sig[i] =
        len === 0
          ? 0
          : (len & 0xff) | (kb[s]! << 8) | (kb[s + (len >>> 1)]! << 16) | (kb[e - 1]! << 24);
    }
    // Rows of one instrumentation usually repeat the same keys: if the signatures are
    // exactly those of an earlier row whose signatures were all distinct, so are these.
    if (n === this.prevN) {
      const prev = this.prevSig;
      let same = true;
      for (let i = 0; i < n; i++) {
        if (sig[i] !== prev[i]) {
          same = false;
          break;
        }
      }
      if (same) return false;
    }
    let clash = false;
    for (let i = 0; i < n; i++) {
      const si = sig[i]!;
      for (let j = i + 1; j < n; j++) {
        if (sig[j] === si) {
          clash = true;
          const a = start + i;
          const b = start + j;
          if (bytesEqual(kb, ko[a]!, ko[a + 1]!, kb, ko[b]!, ko[b + 1]!)) {
            this.prevN = -1;
            return true;
          }
        }
      }
    }
    if (clash) this.prevN = -1;
    else {
      this.sig = this.prevSig;
      this.prevSig = sig;
      this.prevN = n;
    }
    return false;
  }

  private hasDuplicatesHashed(start: number, end: number): boolean {
    const n = end - start;
    const ko = this.keys.offsets;
    const kb = this.keys.bytes;
    const size = nextCapacity(16, n * 2);
    const mask = size - 1;
    const slots = new Int32Array(size);
    const hashes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const a = start + i;
      const h = hashBytes(kb, ko[a]!, ko[a + 1]!);
      hashes[i] = h;
      let s = h & mask;
      for (;;) {
        const e = slots[s]!;
        if (e === 0) {
          slots[s] = i + 1;
          break;
        }
        const b = start + e - 1;
        if (hashes[e - 1] === h && bytesEqual(kb, ko[a]!, ko[a + 1]!, kb, ko[b]!, ko[b + 1]!)) {
          return true;
        }
        s = (s + 1) & mask;
      }
    }
    return false;
  }

  /** Slow path: keeps the last occurrence of each key, compacting in place. */
  private dedup(start: number, end: number): void {
    const keys = this.keys;
    const values = this.values;
    const ko = keys.offsets;
    const kb = keys.bytes;
    const seen = new Map<string, number>();
    const keep = new Uint8Array(end - start);
    for (let a = end - 1; a >= start; a--) {
      const k = Buffer.from(kb.buffer, kb.byteOffset + ko[a]!, ko[a + 1]! - ko[a]!).toString(
        'latin1',
      );
      if (!seen.has(k)) {
        seen.set(k, a);
        keep[a - start] = 1;
      }
    }
    let removedNulls = 0;
    const vValid = values.valid;
    if (vValid !== null) {
      for (let a = start; a < end; a++)
        if (keep[a - start] === 0 && vValid[a] === 0) removedNulls++;
    }
    // Compact entries [start, end) keeping those with keep = 1.
    let w = start;
    let kPos = ko[start]!;
    const vo = values.offsets;
    let vPos = vo[start]!;
    for (let a = start; a < end; a++) {
      if (keep[a - start] === 0) continue;
      const ks = ko[a]!;
      const ke = ko[a + 1]!;
      const vs = vo[a]!;
      const ve = vo[a + 1]!;
      const isNull = vValid !== null && vValid[a] === 0;
      kb.copyWithin(kPos, ks, ke);
      kPos += ke - ks;
      values.bytes.copyWithin(vPos, vs, ve);
      vPos += ve - vs;
      ko[w + 1] = kPos;
      vo[w + 1] = vPos;
      if (vValid !== null) vValid[w] = isNull ? 0 : 1;
      w++;
    }
    keys.length = w;
    keys.byteLength = kPos;
    values.length = w;
    values.byteLength = vPos;
    values.nullCount -= removedNulls;
    if (vValid !== null) vValid.fill(1, w, end);
  }

  /**
   * Appends `count` rows, each a copy of the single row held by `block` (resource
   * and scope attributes, repeated on every row of their resource or scope).
   */
  appendRepeated(block: MapColumn, count: number): void {
    if (count === 0) return;
    const rows = this.length + count;
    if (rows > this.rowCap) this.growRows(rows);
    const bk = block.keys;
    const bv = block.values;
    const n = bk.length;
    const offsets = this.offsets;
    let e = offsets[this.length]!;
    if (n === 0) {
      for (let r = this.length; r < rows; r++) offsets[r + 1] = e;
      this.length = rows;
      return;
    }
    this.keys.appendBlock(bk, count);
    this.values.appendBlock(bv, count);
    for (let r = this.length; r < rows; r++) {
      e += n;
      offsets[r + 1] = e;
    }
    this.length = rows;
  }

  /** Drops rows from `n` on, with their entries. */
  truncate(n: number): void {
    if (n >= this.length) {
      // Also drop entries of an unfinished row.
      const e = this.offsets[this.length]!;
      this.keys.truncate(e);
      this.values.truncate(e);
      return;
    }
    const e = this.offsets[n]!;
    this.length = n;
    this.keys.truncate(e);
    this.values.truncate(e);
  }

  /** Empties the column within the same decode (scratch reuse). */
  clear(): void {
    this.length = 0;
    this.keys.clear();
    this.values.clear();
  }

  finish(type: Map_<Utf8, Utf8>): Data<Map_<Utf8, Utf8>> {
    const entriesType = type.children[0]!.type as Struct<{ key: Utf8; value: Utf8 }>;
    const [keyField, valueField] = entriesType.children;
    const entries = this.keys.length;
    const child = structData(entriesType, entries, [
      this.keys.finish(keyField!.type as Utf8),
      this.values.finish(valueField!.type as Utf8),
    ]);
    return listData(type, this.length, this.budget.take(this.offsets, this.length + 1), child);
  }
}
