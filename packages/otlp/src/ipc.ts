import { type RecordBatch, RecordBatchReader, type Schema, util } from 'apache-arrow';
import { InvalidInputError } from './errors.js';
import { type IpcWriteOptions, writeIpcStream } from './ipc-writer.js';
import {
  SCHEMA_VERSION,
  SCHEMA_VERSION_METADATA_KEY,
  TABLE_METADATA_KEY,
  TABLE_NAMES,
  TABLE_SCHEMAS,
  type TableName,
} from './schemas.js';

/**
 * One record batch as a self-describing Arrow IPC stream (schema message, dictionary
 * batches, one record batch, end-of-stream marker). The schema metadata carries
 * `sediment.table` = `table` and `sediment.schema_version`, so a queue entry holding
 * these bytes decodes on its own. See docs/003-otlp-arrow.md. With `options.compression`
 * `zstd` the batch bodies are compressed (Arrow body compression); writers check the
 * decompressed form and queue the stream as it is (docs/004-flight.md).
 */
export function toIpcStream(
  table: TableName,
  batch: RecordBatch,
  options?: IpcWriteOptions,
): Uint8Array {
  const metadata = new Map(batch.schema.metadata);
  metadata.set(TABLE_METADATA_KEY, table);
  metadata.set(SCHEMA_VERSION_METADATA_KEY, SCHEMA_VERSION);
  return writeIpcStream(batch, table, metadata, options);
}

/**
 * Reads a stream written by `toIpcStream`. Throws InvalidInputError when the bytes
 * are not an Arrow IPC stream of exactly one record batch of a known table whose
 * schema matches the table's current schema.
 */
export function fromIpcStream(bytes: Uint8Array): { table: TableName; batch: RecordBatch } {
  let batches: RecordBatch[];
  let schema: Schema;
  try {
    const reader = RecordBatchReader.from(bytes);
    reader.open();
    schema = reader.schema;
    batches = [...reader];
  } catch (cause) {
    throw new InvalidInputError(`not an Arrow IPC stream: ${(cause as Error).message}`, { cause });
  }
  const table = schema?.metadata.get(TABLE_METADATA_KEY);
  if (table === undefined || !(TABLE_NAMES as readonly string[]).includes(table)) {
    throw new InvalidInputError(
      `Arrow IPC stream without a known ${TABLE_METADATA_KEY} schema metadata (got ${String(table)})`,
    );
  }
  const expected = TABLE_SCHEMAS[table as TableName];
  const fields = schema.fields;
  const same =
    fields.length === expected.fields.length &&
    fields.every((f, i) => {
      const e = expected.fields[i]!;
      return f.name === e.name && f.nullable === e.nullable && util.compareTypes(f.type, e.type);
    });
  if (!same) {
    throw new InvalidInputError(`Arrow IPC stream schema does not match table ${table}`);
  }
  if (batches.length !== 1) {
    throw new InvalidInputError(`expected one record batch in the stream, got ${batches.length}`);
  }
  return { table: table as TableName, batch: batches[0]! };
}
