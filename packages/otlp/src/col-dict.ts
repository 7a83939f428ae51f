import { type Data, type Dictionary, makeVector, type Utf8 } from 'apache-arrow';
import { dictData } from './arrow-data.js';
import { type Budget, nextCapacity, RETAIN_BYTES } from './budget.js';
import { packBits } from './col-fixed.js';
import { Utf8Column } from './col-utf8.js';
import { InvalidInputError } from './errors.js';
import { bytesEqual, hashBytes } from './text.js';

const encoder = new TextEncoder();
const MAX_STRING_CACHE = 4096;

/**
 * A dictionary-encoded Utf8 column (Int32 indices). Values are de-duplicated through
 * an open-addressing hash table over their UTF-8 bytes, so protobuf input is looked
 * up without decoding a JS string. The JSON path looks strings up through a small
 * Map first and falls back to the same byte table, so one batch never holds the
 * same value twice. Buffers are reused from one decode to the next (`reset`).
 */
export class DictColumn {
  indices = new Int32Array(0);
  length = 0;
  valid: Uint8Array | null = null;
  nullCount = 0;
  /** The dictionary's values, in index order. */
  readonly values: Utf8Column;
  private hashes = new Int32Array(64);
  private slots = new Int32Array(64);
  private mask = 63;
  private rowCap = 0;
  private budget: Budget;
  private readonly strings = new Map<string, number>();
  private scratch = new Uint8Array(256);

  constructor(
    budget: Budget,
    label: string,
    private readonly presets: readonly string[] = [],
    rows = 64,
  ) {
    this.budget = budget;
    this.values = new Utf8Column(budget, label, 16, 256);
    this.reset(budget, rows);
  }

  reset(budget: Budget, rows: number): void {
    this.budget = budget;
    this.length = 0;
    this.nullCount = 0;
    this.valid = null;
    if (this.indices.byteLength > RETAIN_BYTES) this.indices = new Int32Array(0);
    this.rowCap = 0;
    this.growRows(rows);
    this.values.reset(budget, 16, 256);
    if (this.slots.length > 4096) {
      this.slots = new Int32Array(64);
      this.hashes = new Int32Array(64);
      this.mask = 63;
    } else {
      this.slots.fill(0);
    }
    this.strings.clear();
    for (const p of this.presets) this.lookupString(p);
  }

  /** Number of distinct values so far. */
  get size(): number {
    return this.values.length;
  }

  /** Index of the value `src[start, end)`, added to the dictionary if new. */
  lookupBytes(src: Uint8Array, start: number, end: number): number {
    const h = hashBytes(src, start, end);
    const slots = this.slots;
    const mask = this.mask;
    const vals = this.values;
    let s = h & mask;
    for (;;) {
      const e = slots[s]!;
      if (e === 0) break;
      const idx = e - 1;
      if (
        this.hashes[idx] === h &&
        bytesEqual(vals.bytes, vals.offsets[idx]!, vals.offsets[idx + 1]!, src, start, end)
      ) {
        return idx;
      }
      s = (s + 1) & mask;
    }
    const idx = vals.length;
    vals.appendRaw(src, start, end);
    if (idx === this.hashes.length) {
      this.budget.charge(idx * 4);
      const hs = new Int32Array(idx * 2);
      hs.set(this.hashes);
      this.hashes = hs;
    }
    this.hashes[idx] = h;
    slots[s] = idx + 1;
    if ((idx + 1) * 2 > slots.length) this.rehash();
    return idx;
  }

  /** Index of the JavaScript string `s`, added to the dictionary if new. */
  lookupString(s: string): number {
    const map = this.strings;
    const hit = map.get(s);
    if (hit !== undefined) return hit;
    if (this.scratch.length < s.length * 3) this.scratch = new Uint8Array(s.length * 3);
    const scratch = this.scratch;
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) {
          throw new InvalidInputError(
            `invalid string in ${this.values.label}: lone UTF-16 surrogate`,
          );
        }
        n += encoder.encodeInto(s.substring(i), scratch.subarray(n)).written;
        break;
      }
      scratch[n++] = c;
    }
    const idx = this.lookupBytes(scratch, 0, n);
    if (map.size < MAX_STRING_CACHE) map.set(s, idx);
    return idx;
  }

  private rehash(): void {
    const size = this.slots.length * 2;
    this.budget.charge(size * 4);
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let idx = 0; idx < this.values.length; idx++) {
      let s = this.hashes[idx]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = idx + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }

  private growRows(needed: number): void {
    const cap = nextCapacity(this.rowCap, needed);
    this.budget.charge((cap - this.rowCap) * 4);
    if (cap > this.indices.length) {
      const v = new Int32Array(cap);
      v.set(this.indices.subarray(0, this.length));
      this.indices = v;
      if (this.valid !== null) {
        const b = new Uint8Array(cap).fill(1);
        b.set(this.valid.subarray(0, this.length));
        this.valid = b;
      }
    }
    this.rowCap = cap;
  }

  append(index: number): void {
    const i = this.length;
    if (i === this.rowCap) this.growRows(i + 1);
    this.indices[i] = index;
    if (this.valid !== null) this.valid[i] = 1;
    this.length = i + 1;
  }

  /** Appends `index` `count` times (resource/scope values repeated on every row). */
  appendRepeated(index: number, count: number): void {
    const n = this.length + count;
    if (n > this.rowCap) this.growRows(n);
    this.indices.fill(index, this.length, n);
    if (this.valid !== null) this.valid.fill(1, this.length, n);
    this.length = n;
  }

  appendNullRepeated(count: number): void {
    const n = this.length + count;
    if (n > this.rowCap) this.growRows(n);
    this.valid ??= new Uint8Array(this.indices.length).fill(1);
    this.indices.fill(0, this.length, n);
    this.valid.fill(0, this.length, n);
    this.nullCount += count;
    this.length = n;
  }

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

  finish(type: Dictionary<Utf8>): Data<Dictionary<Utf8>> {
    const dictionary = makeVector(this.values.finish(type.dictionary));
    const indices = this.budget.take(this.indices, this.length);
    if (this.nullCount === 0 || this.valid === null) {
      return dictData(type, this.length, indices, dictionary);
    }
    const bitmap = packBits(this.valid, this.length);
    return dictData(type, this.length, indices, dictionary, this.nullCount, bitmap);
  }
}
