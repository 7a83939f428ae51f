/**
 * The encoder `toIpcStream` used before src/ipc-writer.ts: apache-arrow's
 * RecordBatchStreamWriter with the table's schema metadata. The differential test and
 * bench/ipc-encode.ts compare the hand-written writer against it.
 */
import {
  SCHEMA_VERSION,
  SCHEMA_VERSION_METADATA_KEY,
  TABLE_METADATA_KEY,
  type TableName,
} from '@sediment/otlp';
import { RecordBatch, RecordBatchStreamWriter, Schema } from 'apache-arrow';

export function arrowJsIpcStream(table: TableName, batch: RecordBatch): Uint8Array {
  const metadata = new Map(batch.schema.metadata);
  metadata.set(TABLE_METADATA_KEY, table);
  metadata.set(SCHEMA_VERSION_METADATA_KEY, SCHEMA_VERSION);
  const schema = new Schema(batch.schema.fields, metadata, batch.schema.dictionaries);
  const writer = new RecordBatchStreamWriter();
  writer.write(new RecordBatch(schema, batch.data));
  writer.finish();
  return writer.toUint8Array(true);
}
