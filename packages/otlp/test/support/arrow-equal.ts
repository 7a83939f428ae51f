/**
 * Byte-exact comparison of decode results: the same tables, and in every column the
 * same type, length, null count and buffers (offsets, values, validity), children and
 * dictionaries. Stricter than comparing rows: dictionary order, null bitmaps and
 * NaN bit patterns count too.
 */
import type { Data } from 'apache-arrow';
import type { DecodeResult } from '../../src/result.js';

function bytesOf(b: ArrayBufferView | undefined | null): Uint8Array {
  if (b === undefined || b === null) return new Uint8Array(0);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function sameBytes(a: ArrayBufferView | undefined, b: ArrayBufferView | undefined): boolean {
  const x = bytesOf(a);
  const y = bytesOf(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** The first difference between two Arrow Data trees, or null. */
export function dataDifference(a: Data, b: Data, path: string): string | null {
  if (String(a.type) !== String(b.type)) return `${path}: type ${a.type} vs ${b.type}`;
  if (a.length !== b.length) return `${path}: length ${a.length} vs ${b.length}`;
  if (a.offset !== b.offset) return `${path}: offset ${a.offset} vs ${b.offset}`;
  if (a.nullCount !== b.nullCount) return `${path}: nullCount ${a.nullCount} vs ${b.nullCount}`;
  if (a.nullCount > 0 && !sameBytes(a.nullBitmap, b.nullBitmap)) return `${path}: validity`;
  if (!sameBytes(a.valueOffsets, b.valueOffsets)) return `${path}: offsets`;
  if (!sameBytes(a.values, b.values)) return `${path}: values`;
  if (a.children.length !== b.children.length) return `${path}: children`;
  for (let i = 0; i < a.children.length; i++) {
    const d = dataDifference(a.children[i]!, b.children[i]!, `${path}.${i}`);
    if (d) return d;
  }
  if ((a.dictionary === undefined) !== (b.dictionary === undefined)) return `${path}: dictionary`;
  if (a.dictionary && b.dictionary) {
    const x = a.dictionary.data;
    const y = b.dictionary.data;
    if (x.length !== y.length) return `${path}: dictionary chunks`;
    for (let i = 0; i < x.length; i++) {
      const d = dataDifference(x[i]!, y[i]!, `${path}.dictionary`);
      if (d) return d;
    }
  }
  return null;
}

/** The first difference between two decode results, or null. */
export function resultDifference(a: DecodeResult, b: DecodeResult): string | null {
  if (a.rows !== b.rows) return `rows ${a.rows} vs ${b.rows}`;
  if (a.rejected !== b.rejected) return `rejected ${a.rejected} vs ${b.rejected}`;
  if (a.rejectedMessage !== b.rejectedMessage) {
    return `rejectedMessage ${JSON.stringify(a.rejectedMessage)} vs ${JSON.stringify(b.rejectedMessage)}`;
  }
  if (a.tables.length !== b.tables.length) return 'number of tables';
  for (let t = 0; t < a.tables.length; t++) {
    const x = a.tables[t]!;
    const y = b.tables[t]!;
    if (x.table !== y.table) return `table ${x.table} vs ${y.table}`;
    const fields = x.batch.schema.fields;
    for (let c = 0; c < fields.length; c++) {
      const d = dataDifference(
        x.batch.data.children[c]!,
        y.batch.data.children[c]!,
        `${x.table}.${fields[c]!.name}`,
      );
      if (d) return d;
    }
  }
  return null;
}
