import { type Data, RecordBatch, type Schema, Struct } from 'apache-arrow';
import { structData } from './arrow-data.js';

/** A RecordBatch of `schema` from its columns' Arrow data, in schema order. */
export function makeBatch(schema: Schema, length: number, children: Data[]): RecordBatch {
  if (children.length !== schema.fields.length) {
    throw new Error(`internal: ${children.length} columns for ${schema.fields.length} fields`);
  }
  for (let i = 0; i < children.length; i++) {
    if (children[i]!.length !== length) {
      throw new Error(
        `internal: column ${schema.fields[i]!.name} has ${children[i]!.length} rows, expected ${length}`,
      );
    }
  }
  const data = structData(new Struct(schema.fields), length, children);
  return new RecordBatch(schema, data);
}

/** Initial row capacity for a request of `bytes` bytes (grown as needed). */
export function estimateRows(bytes: number, bytesPerRow: number): number {
  const n = Math.ceil(bytes / bytesPerRow);
  return Math.min(65536, Math.max(16, n));
}
