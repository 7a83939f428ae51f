/**
 * Parquet encoding with parquet-wasm (arrow-rs compiled to WebAssembly).
 *
 * Input is a list of IPC messages that all follow one schema message; they are joined
 * into one IPC stream (one memcpy), loaded into wasm memory and written as one Parquet
 * file. Queue entries carry their own dictionaries: each entry's dictionary batches are
 * *replacements* for the previous ones, which arrow-rs's stream reader accepts, and the
 * Parquet writer re-encodes values anyway, so no dictionary unification is needed.
 *
 * Writer settings (measured in bench/compact.ts): zstd; Parquet dictionary encoding only
 * for the columns the producer dictionary-encoded (low-cardinality by contract) — for
 * the high-cardinality rest (ids, attribute values) it costs ~30% of the encode time and
 * makes files larger than plain+zstd; page-level statistics; row groups of
 * `rowGroupRows`. Nanosecond timestamps are written as TIMESTAMP(NANOS, UTC).
 */
import {
  Compression,
  EnabledStatistics,
  Table as WasmTable,
  WriterPropertiesBuilder,
  writeParquet,
} from 'parquet-wasm';
import { ParquetEncodeError } from './errors.js';
import { END_OF_STREAM } from './ipc.js';

export interface ParquetEncodeOptions {
  /** Maximum rows per row group. */
  readonly rowGroupRows: number;
  /** Top-level columns to keep dictionary-encoded in Parquet. */
  readonly dictionaryColumns: readonly string[];
  /** Extra key-value metadata in the Parquet footer. */
  readonly keyValueMetadata?: ReadonlyMap<string, string>;
}

export const PARQUET_CREATED_BY = 'sediment-lake (parquet-wasm 0.8, arrow-rs)';

/** Joins a schema message and body messages into one IPC stream. */
export function joinIpcStream(
  schemaMessage: Uint8Array,
  messages: readonly Uint8Array[],
): Uint8Array {
  let total = schemaMessage.length + END_OF_STREAM.length;
  for (const m of messages) total += m.length;
  const out = new Uint8Array(total);
  out.set(schemaMessage, 0);
  let pos = schemaMessage.length;
  for (const m of messages) {
    out.set(m, pos);
    pos += m.length;
  }
  out.set(END_OF_STREAM, pos);
  return out;
}

/**
 * Writes one Parquet file from the joined stream.
 * @throws ParquetEncodeError when arrow-rs rejects the stream or the data.
 */
export function encodeParquet(stream: Uint8Array, options: ParquetEncodeOptions): Uint8Array {
  let table: WasmTable;
  try {
    table = WasmTable.fromIPCStream(stream);
  } catch (err) {
    throw new ParquetEncodeError(`arrow-rs could not read the IPC stream: ${describe(err)}`, {
      cause: err,
    });
  }
  let builder = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(EnabledStatistics.Page)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setCreatedBy(PARQUET_CREATED_BY);
  for (const column of options.dictionaryColumns)
    builder = builder.setColumnDictionaryEnabled(column, true);
  if (options.keyValueMetadata && options.keyValueMetadata.size > 0) {
    builder = builder.setKeyValueMetadata(new Map(options.keyValueMetadata));
  }
  try {
    return writeParquet(table, builder.build());
  } catch (err) {
    throw new ParquetEncodeError(describe(err), { cause: err });
  }
}

/** True when arrow-rs can load the stream (used to find the bad entry after a failure). */
export function canLoad(stream: Uint8Array): boolean {
  try {
    WasmTable.fromIPCStream(stream).free();
    return true;
  } catch {
    return false;
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
