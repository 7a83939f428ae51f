import { FlightInvalidArgumentError } from '@sediment/flight';
import { RecordBatchReader, type Schema } from 'apache-arrow';
import { IpcCheckError, IpcChecker } from './ipc-check.js';

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
 * of object keys), the IPC stream is well formed (ipc-check.ts: every batch matches its
 * schema's layout, every buffer lies inside its body and is long enough; streams with
 * types ipc-check has no layout for are decoded in full with Arrow JS instead), and the
 * schema's `sediment.table` metadata (when present) agrees with the path.
 *
 * One validator keeps a small cache of compiled schemas; create one per writer.
 * @throws FlightInvalidArgumentError (→ INVALID_ARGUMENT; the client must not retry).
 */
export function createPutValidator(): (path: readonly string[], ipc: Uint8Array) => ValidatedPut {
  const checker = new IpcChecker();
  return (path, ipc) => {
    if (path.length !== 1 || !TABLE_NAME.test(path[0]!)) {
      throw new FlightInvalidArgumentError(
        `descriptor path must be one table name matching ${TABLE_NAME.source}, got ${JSON.stringify(path).slice(0, 200)}`,
      );
    }
    const table = path[0]!;
    let checked: ReturnType<IpcChecker['check']>;
    try {
      checked = checker.check(ipc);
    } catch (err) {
      if (!(err instanceof IpcCheckError)) throw err;
      throw new FlightInvalidArgumentError(`undecodable Arrow IPC stream: ${err.message}`, {
        cause: err,
      });
    }
    const result = checked ?? decodeFully(ipc);
    checkTableName(result.schema, table);
    return { table, rows: result.rows, batches: result.batches };
  };
}

/** {@link createPutValidator} with a validator of its own (tests, one-off checks). */
export function validatePut(path: readonly string[], ipc: Uint8Array): ValidatedPut {
  return createPutValidator()(path, ipc);
}

function checkTableName(schema: Schema, table: string): void {
  const named = schema.metadata.get(TABLE_METADATA_KEY);
  if (named !== undefined && named !== table) {
    throw new FlightInvalidArgumentError(
      `schema metadata ${TABLE_METADATA_KEY}=${JSON.stringify(named)} disagrees with descriptor path ${JSON.stringify(table)}`,
    );
  }
}

/** The slow path: decode every batch with Arrow JS. */
function decodeFully(ipc: Uint8Array): { schema: Schema; rows: number; batches: number } {
  let rows = 0;
  let batches = 0;
  try {
    const reader = RecordBatchReader.from(ipc);
    reader.open();
    const schema = reader.schema;
    for (const batch of reader) {
      batches++;
      rows += batch.numRows;
      // Touch every column so truncated bodies and bad offsets fail here, not in the collector.
      for (const child of batch.data.children) {
        if (child.length !== batch.numRows) throw new Error('column length differs from row count');
      }
    }
    return { schema, rows, batches };
  } catch (err) {
    throw new FlightInvalidArgumentError(
      `undecodable Arrow IPC stream: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
