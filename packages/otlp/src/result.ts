import type { RecordBatch } from 'apache-arrow';
import type { TableName } from './schemas.js';

/** One non-empty table of a decoded request. */
export interface DecodedTable {
  readonly table: TableName;
  /** Its rows; the schema metadata carries `sediment.table` = `table`. */
  readonly batch: RecordBatch;
}

/** What a decoder returns for one OTLP export request. */
export interface DecodeResult {
  /** Non-empty tables only, in the order of TABLE_NAMES. */
  readonly tables: DecodedTable[];
  /** Rows over all tables (spans, log records or data points kept). */
  readonly rows: number;
  /** Items dropped as individually invalid (report them in partial_success). */
  readonly rejected: number;
  /** One message describing the rejected items, when `rejected > 0`. */
  readonly rejectedMessage?: string;
}

export interface DecodeOptions {
  /**
   * Cap on the column memory one request may expand into (OTLP repeats resource and
   * scope attributes on every row). Exceeding it throws OutputTooLargeError.
   * Default: 128 MiB + 32 × the input size.
   */
  readonly maxOutputBytes?: number;
}
