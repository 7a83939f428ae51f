/**
 * Reads a RecordBatch back into the oracle's canonical rows by walking the Arrow
 * buffers directly: 64-bit integers and timestamps from the raw BigInt64Array
 * (Arrow's own getters turn nanosecond timestamps into lossy milliseconds).
 */
import { type Data, DataType, type RecordBatch, type Struct } from 'apache-arrow';
import type { Row } from './oracle.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function valid(data: Data, i: number): boolean {
  return data.getValid(i);
}

export function cell(data: Data, i: number): unknown {
  if (!valid(data, i)) return null;
  const t = data.type;
  const j = data.offset + i;
  if (DataType.isDictionary(t)) {
    const index = (data.values as Int32Array)[j]!;
    const dict = data.dictionary!;
    return cell(dict.data[0]!, index);
  }
  if (DataType.isTimestamp(t) || (DataType.isInt(t) && t.bitWidth === 64)) {
    return (data.values as unknown as BigInt64Array)[j]!.toString();
  }
  if (DataType.isInt(t) || DataType.isFloat(t)) return (data.values as Int32Array)[j]!;
  if (DataType.isBool(t)) {
    const byte = (data.values as Uint8Array)[j >> 3]!;
    return (byte & (1 << (j & 7))) !== 0;
  }
  if (DataType.isUtf8(t)) {
    const o = data.valueOffsets as Int32Array;
    return utf8.decode((data.values as Uint8Array).subarray(o[j]!, o[j + 1]!));
  }
  if (DataType.isMap(t)) {
    const o = data.valueOffsets as Int32Array;
    const entries = data.children[0]!;
    const out: Array<[unknown, unknown]> = [];
    for (let k = o[j]!; k < o[j + 1]!; k++) {
      out.push([cell(entries.children[0]!, k), cell(entries.children[1]!, k)]);
    }
    return out;
  }
  if (DataType.isList(t)) {
    const o = data.valueOffsets as Int32Array;
    const child = data.children[0]!;
    const out: unknown[] = [];
    for (let k = o[j]!; k < o[j + 1]!; k++) out.push(cell(child, k));
    return out;
  }
  if (DataType.isStruct(t)) {
    const out: Row = {};
    (t as Struct).children.forEach((f, c) => {
      out[f.name] = cell(data.children[c]!, j);
    });
    return out;
  }
  throw new Error(`arrow-rows: unsupported type ${String(t)}`);
}

export function batchRows(batch: RecordBatch): Row[] {
  const rows: Row[] = [];
  const fields = batch.schema.fields;
  const cols = fields.map((_, c) => batch.data.children[c]!);
  for (let i = 0; i < batch.numRows; i++) {
    const row: Row = {};
    fields.forEach((f, c) => {
      row[f.name] = cell(cols[c]!, i);
    });
    rows.push(row);
  }
  return rows;
}

/** Rows of every table of a decode result, keyed by table name. */
export function resultRows(result: {
  tables: Array<{ table: string; batch: RecordBatch }>;
}): Record<string, Row[]> {
  const out: Record<string, Row[]> = {};
  for (const t of result.tables) out[t.table] = batchRows(t.batch);
  return out;
}

/**
 * Field-by-field comparison: returns the first difference as a readable path
 * ("spans[3].span_attributes[2][1]: expected … got …"), or null. NaN equals NaN;
 * -0 and 0 differ.
 */
export function firstDifference(expected: unknown, actual: unknown, path = ''): string | null {
  if (typeof expected === 'number' && typeof actual === 'number') {
    return Object.is(expected, actual) ? null : `${path}: expected ${expected}, got ${actual}`;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) {
      return `${path}: expected ${expected.length} items, got ${actual.length}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const d = firstDifference(expected[i], actual[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (
    expected !== null &&
    actual !== null &&
    typeof expected === 'object' &&
    typeof actual === 'object'
  ) {
    const ek = Object.keys(expected as object);
    const ak = Object.keys(actual as object);
    if (ek.join(',') !== ak.join(',')) return `${path}: columns differ: [${ek}] vs [${ak}]`;
    for (const k of ek) {
      const d = firstDifference(
        (expected as Record<string, unknown>)[k],
        (actual as Record<string, unknown>)[k],
        `${path}.${k}`,
      );
      if (d) return d;
    }
    return null;
  }
  return expected === actual
    ? null
    : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}
