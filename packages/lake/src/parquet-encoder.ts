/**
 * Parquet encoding: one joined IPC stream in, one Parquet file out.
 *
 * Two writers:
 * - `sediment` (default): this package's TypeScript writer (parquet-writer.ts), working
 *   on the Arrow JS buffers directly, zstd through zstd-napi. About 2–3× the throughput
 *   of parquet-wasm on the OTLP tables (bench/compact-encode-explore.ts), same values
 *   for every reader. Types it does not handle, and any failure of it, fall back to
 *   parquet-wasm for that file (`fallback` says why).
 * - `parquet-wasm` (arrow-rs compiled to WebAssembly): zstd; Parquet dictionary
 *   encoding only for the columns the producer dictionary-encoded (low-cardinality by
 *   contract) — for the high-cardinality rest it costs ~30% of the encode time and makes
 *   files larger than plain+zstd; page-level statistics.
 *
 * Input is a list of IPC messages that all follow one schema message; they are joined
 * into one IPC stream (one memcpy). Queue entries carry their own dictionaries: each
 * entry's dictionary batches are *replacements* for the previous ones, which both
 * readers (Arrow JS, arrow-rs) accept; both writers re-encode values, so no dictionary
 * unification is needed upstream. Nanosecond timestamps are written as
 * TIMESTAMP(NANOS, UTC). Row groups hold at most `rowGroupRows` rows.
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
import { decompressIpcStream, IpcDecompressError } from './ipc-decompress.js';
import { type ParquetEncoding, ParquetWriter } from './parquet-writer.js';

export type ParquetWriterKind = 'sediment' | 'parquet-wasm';

/** An Arrow IPC stream: joined, or its messages in order (schema first, no end marker). */
export type IpcInput = Uint8Array | readonly Uint8Array[];

export interface ParquetEncodeOptions {
  /** Maximum rows per row group. */
  readonly rowGroupRows: number;
  /** Top-level columns to keep dictionary-encoded in Parquet (parquet-wasm only; the
   *  sediment writer keeps every dictionary-encoded column dictionary-encoded). */
  readonly dictionaryColumns: readonly string[];
  /** Extra key-value metadata in the Parquet footer. */
  readonly keyValueMetadata?: ReadonlyMap<string, string>;
  /** Which writer; default `sediment` (falls back to parquet-wasm per file). */
  readonly writer?: ParquetWriterKind;
  /** zstd level of the sediment writer (default 1; parquet-wasm always uses 1). */
  readonly zstdLevel?: number;
  /** Value encodings of the sediment writer (default `delta`). */
  readonly parquetEncoding?: ParquetEncoding;
}

/** One encoded file and the writer that produced it. */
export interface EncodedParquet {
  readonly bytes: Uint8Array;
  readonly writer: ParquetWriterKind;
  /** Why the sediment writer handed this file to parquet-wasm, if it did. */
  readonly fallback?: string;
}

export const PARQUET_CREATED_BY = 'sediment-lake (parquet-wasm 0.8, arrow-rs)';
/** `created_by` of the sediment writer ("<app> version <v> (build <b>)", parquet-mr's form). */
export const SEDIMENT_CREATED_BY = 'sediment-lake version 0.1.0 (build ts-writer-1)';

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

/** One writer per thread: its scratch buffers and zstd context are reused. */
let writer: ParquetWriter | undefined;

/**
 * Writes one Parquet file from the joined stream with the configured writer.
 * @throws ParquetEncodeError when neither writer can write the stream.
 */
export function encodeParquetFile(
  compressedInput: IpcInput,
  options: ParquetEncodeOptions,
): EncodedParquet {
  const input = plainInput(compressedInput);
  if ((options.writer ?? 'sediment') === 'parquet-wasm') {
    return { bytes: encodeWithParquetWasm(joined(input), options), writer: 'parquet-wasm' };
  }
  let fallback: string;
  try {
    writer ??= new ParquetWriter();
    const bytes = writer.writeStream(input, {
      rowGroupRows: options.rowGroupRows,
      createdBy: SEDIMENT_CREATED_BY,
      ...(options.keyValueMetadata ? { keyValueMetadata: options.keyValueMetadata } : {}),
      ...(options.zstdLevel !== undefined ? { zstdLevel: options.zstdLevel } : {}),
      ...(options.parquetEncoding !== undefined
        ? { parquetEncoding: options.parquetEncoding }
        : {}),
    });
    return { bytes, writer: 'sediment' };
  } catch (err) {
    // Unsupported types, undecodable streams and bugs alike: parquet-wasm decides.
    fallback = describe(err);
  }
  return {
    bytes: encodeWithParquetWasm(joined(input), options),
    writer: 'parquet-wasm',
    fallback,
  };
}

/**
 * Largest decompressed input one file encode builds. Files are cut at
 * SEDIMENT_TARGET_FILE_SIZE (decompressed bytes) plus at most one entry, well below this.
 */
const MAX_PLAIN_INPUT_BYTES = 2 ** 31 - 1;

/**
 * One buffer per thread for decompressed file inputs, reused from file to file: a fresh
 * allocation of a hundred megabytes per file costs as many page faults as it has pages.
 * The plain stream only lives while its file is encoded (encodeParquetFile is synchronous
 * and both writers copy what they keep).
 */
let scratch = new Uint8Array(0);
function plainScratch(size: number): Uint8Array {
  if (scratch.length < size) scratch = new Uint8Array(size + (size >> 3));
  return scratch;
}

/**
 * The input with plain bodies: queue entries usually keep the zstd bodies acceptors sent
 * (Arrow body compression), and both writers read plain ones. Decompressed here, in the
 * encoder's thread, so the writer's event loop and heap never hold the plain copy.
 * @throws ParquetEncodeError when a frame does not inflate (the compactor then isolates
 *   the entry and quarantines it).
 */
function plainInput(input: IpcInput): IpcInput {
  try {
    if (input instanceof Uint8Array) {
      return decompressIpcStream(input, MAX_PLAIN_INPUT_BYTES, plainScratch);
    }
    let budget = MAX_PLAIN_INPUT_BYTES;
    return input.map((m) => {
      const plain = decompressIpcStream(m, budget);
      budget -= plain.length;
      return plain;
    });
  } catch (err) {
    const what = err instanceof IpcDecompressError ? 'undecodable compressed' : 'unreadable';
    throw new ParquetEncodeError(`${what} Arrow IPC: ${(err as Error).message}`, { cause: err });
  }
}

function joined(input: IpcInput): Uint8Array {
  return input instanceof Uint8Array ? input : joinIpcStream(input[0]!, input.slice(1));
}

/**
 * Writes one Parquet file from the joined stream (bytes only; see `encodeParquetFile`).
 * @throws ParquetEncodeError when neither writer can write the stream.
 */
export function encodeParquet(stream: IpcInput, options: ParquetEncodeOptions): Uint8Array {
  return encodeParquetFile(stream, options).bytes;
}

function encodeWithParquetWasm(stream: Uint8Array, options: ParquetEncodeOptions): Uint8Array {
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
