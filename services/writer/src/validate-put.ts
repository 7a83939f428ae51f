import { FlightInvalidArgumentError } from '@sediment/flight';
import { RecordBatchReader } from 'apache-arrow';

/** Schema metadata key naming an entry's table (written by the OTLP decoder). */
export const TABLE_METADATA_KEY = 'sediment.table';
const TABLE_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export interface ValidatedPut {
  readonly table: string;
  readonly rows: number;
  readonly batches: number;
}

/**
 * Checks a DoPut before it is made durable, so that nothing the collector cannot read
 * is ever acked: the descriptor path names one table with a safe name (it becomes part
 * of object keys), the IPC stream decodes completely, and the schema's `sediment.table`
 * metadata (when present) agrees with the path.
 * @throws FlightInvalidArgumentError (→ INVALID_ARGUMENT; the client must not retry).
 */
export function validatePut(path: readonly string[], ipc: Uint8Array): ValidatedPut {
  if (path.length !== 1 || !TABLE_NAME.test(path[0]!)) {
    throw new FlightInvalidArgumentError(
      `descriptor path must be one table name matching ${TABLE_NAME.source}, got ${JSON.stringify(path).slice(0, 200)}`,
    );
  }
  const table = path[0]!;
  let rows = 0;
  let batches = 0;
  try {
    const reader = RecordBatchReader.from(ipc);
    reader.open();
    const named = reader.schema.metadata.get(TABLE_METADATA_KEY);
    if (named !== undefined && named !== table) {
      throw new FlightInvalidArgumentError(
        `schema metadata ${TABLE_METADATA_KEY}=${JSON.stringify(named)} disagrees with descriptor path ${JSON.stringify(table)}`,
      );
    }
    for (const batch of reader) {
      batches++;
      rows += batch.numRows;
      // Touch every column so truncated bodies and bad offsets fail here, not in the collector.
      for (const child of batch.data.children) {
        if (child.length !== batch.numRows) throw new Error('column length differs from row count');
      }
    }
  } catch (err) {
    if (err instanceof FlightInvalidArgumentError) throw err;
    throw new FlightInvalidArgumentError(
      `undecodable Arrow IPC stream: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return { table, rows, batches };
}
