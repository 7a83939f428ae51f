import type { RecordBatch } from 'apache-arrow';
import type { Rejections } from './rejections.js';
import { TABLE_NAMES, type TableName } from './schemas.js';
import type { MetricsTables } from './table-metrics.js';

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
  /**
   * The result's column buffers may be views of the decoder's own buffers, which it
   * reuses: valid only until the next decode on this thread (of any signal that shares
   * the table). For callers that consume the batch at once, e.g. encode it as Arrow IPC
   * before decoding anything else; it saves a copy and an allocation of every column.
   * Default false: the result owns its buffers.
   */
  readonly transient?: boolean;
}

/** The result of a decode into one table (`spans` or `logs`). */
export function tableResult(
  table: TableName,
  cols: { readonly rows: number; finish(): RecordBatch },
  rejections: Rejections,
): DecodeResult {
  const rows = cols.rows;
  const message = rejections.message();
  return {
    tables: rows > 0 ? [{ table, batch: cols.finish() }] : [],
    rows,
    rejected: rejections.count,
    ...(message === undefined ? {} : { rejectedMessage: message }),
  };
}

/** The result of a metrics decode: the tables with rows, in TABLE_NAMES order. */
export function metricsResult(tables: MetricsTables, rejections: Rejections): DecodeResult {
  const out: DecodedTable[] = [];
  for (const name of TABLE_NAMES) {
    const t = tables.all.find((x) => x.table === name);
    if (t !== undefined && t.rows > 0) out.push({ table: name, batch: t.finish() });
  }
  const message = rejections.message();
  return {
    tables: out,
    rows: tables.totalRows,
    rejected: rejections.count,
    ...(message === undefined ? {} : { rejectedMessage: message }),
  };
}
