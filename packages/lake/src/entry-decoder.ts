/**
 * Turns one queue entry (an Arrow IPC stream of one table's record batches) into
 * hour-partitioned pieces ready to be appended to a Parquet file's input stream.
 *
 * Fast path (the common case): every row's event time falls in one UTC hour. The entry's
 * dictionary and record-batch messages are passed on as they are (zero-copy
 * subarrays); only the message headers and the `timestamp` buffer are read. Entries with
 * compressed bodies (Arrow body compression, ZSTD: what writers queue by default) stay
 * compressed: only the timestamp's frames are decompressed here, the Parquet encoder
 * decompresses the rest (in its worker thread, off the writer's event loop and heap). A
 * frame that turns out not to inflate there fails that file's encode, which isolates and
 * quarantines the entry (reason `parquet`).
 * Slow path: the entry is decompressed, decoded with Arrow JS, rows are selected per
 * hour with `takeData`, and each hour's rows are re-encoded as plain IPC messages.
 *
 * An entry that cannot be written (undecodable IPC, missing/invalid/unknown table name,
 * no `timestamp: Timestamp(ns)` column, a type the slow path cannot split) comes back
 * as `{ ok: false }` for the compactor to quarantine.
 */
import {
  type Data,
  type DataType,
  MessageHeader,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  type Schema,
  Table,
  TimeUnit,
  Type,
} from 'apache-arrow';
import { InvalidEntryError, isLakeError } from './errors.js';
import {
  dictionaryIds,
  fieldLayout,
  type IpcMessage,
  type Message,
  schemaFingerprint,
  splitIpcStream,
} from './ipc.js';
import { batchBuffer, decompressIpcStream, plainMessageSize } from './ipc-decompress.js';
import { readBatchHeader } from './ipc-flatbuffers.js';
import { hourOfNs, isValidTableName } from './layout.js';
import { takeData } from './take.js';
import { TsRange } from './ts-range.js';

/** Schema metadata key naming the table of an entry (set by the OTLP decoder). */
export const TABLE_METADATA_KEY = 'sediment.table';
/** Top-level column holding the event time, `Timestamp(ns, tz)`. */
export const TIMESTAMP_COLUMN = 'timestamp';

export interface SchemaInfo {
  /** Same id ⇔ same fingerprint ⇔ batches can share one stream. */
  readonly id: number;
  readonly table: string;
  readonly schema: Schema;
  /** The first schema message seen with this fingerprint (a private copy). */
  readonly schemaMessage: Uint8Array;
  readonly tsIndex: number;
  /** Node/buffer positions of the timestamp column in a batch body; -1 = use the slow path. */
  readonly tsNode: number;
  readonly tsBuffer: number;
  readonly dictionaryIds: ReadonlySet<number>;
  /** Top-level dictionary-encoded columns (kept dictionary-encoded in Parquet). */
  readonly dictionaryColumns: readonly string[];
}

export interface Piece {
  readonly hour: number;
  readonly rows: number;
  /** Bytes of `messages` once decompressed (what the Parquet encoder will hold). */
  readonly bytes: number;
  /**
   * Dictionary and record-batch messages, in stream order, without the schema; with
   * compressed bodies when the entry had them (the Parquet encoder decompresses).
   */
  readonly messages: readonly Uint8Array[];
  /** Min/max of the non-null event times. */
  readonly range: TsRange;
}

export type DecodedEntry =
  | {
      readonly ok: true;
      readonly schema: SchemaInfo;
      readonly pieces: readonly Piece[];
      readonly rows: number;
      /** True when the entry needed decoding and re-encoding (spans hours, odd layout). */
      readonly slow: boolean;
    }
  | { readonly ok: false; readonly error: InvalidEntryError; readonly table: string | undefined };

export interface EntryDecoderOptions {
  /** Accepted table names; `null` accepts every valid name. */
  readonly allowedTables: ReadonlySet<string> | null;
}

const MAX_CACHED_SCHEMAS = 256;
/**
 * Largest plain (decompressed) entry the decoder builds. Writers only queue puts whose
 * plain form fits `SEDIMENT_MAX_PUT_BYTES`; this bound keeps a foreign or damaged entry
 * whose length prefixes claim gigabytes from being allocated (it is quarantined).
 */
export const MAX_ENTRY_PLAIN_BYTES = 1024 * 1024 * 1024;

export class EntryDecoder {
  readonly #allowed: ReadonlySet<string> | null;
  /** Schema message bytes (latin1) → analysis; the common case is one hit per entry. */
  readonly #bySchemaBytes = new Map<string, SchemaInfo | InvalidEntryError>();
  readonly #byFingerprint = new Map<string, SchemaInfo>();
  readonly #byId: SchemaInfo[] = [];

  constructor(options: EntryDecoderOptions) {
    this.#allowed = options.allowedTables;
  }

  schemaById(id: number): SchemaInfo | undefined {
    return this.#byId[id];
  }

  /**
   * @param fallbackHour hour used for rows whose `timestamp` is null (the entry's
   *   ingestion hour).
   */
  decode(bytes: Uint8Array, fallbackHour: number): DecodedEntry {
    let messages: IpcMessage[];
    try {
      messages = splitIpcStream(bytes);
    } catch (err) {
      return invalid(new InvalidEntryError('ipc', (err as Error).message, { cause: err }));
    }
    const head = messages[0];
    if (!head || head.headerType !== MessageHeader.Schema) {
      return invalid(new InvalidEntryError('ipc', 'stream does not start with a schema message'));
    }
    const info = this.#schemaInfo(bytes.subarray(head.start, head.end), head.message);
    if (info instanceof InvalidEntryError) return { ok: false, error: info, table: info.table };
    try {
      const fast = this.#fast(bytes, messages, info, fallbackHour);
      if (fast) return fast;
      return this.#slow(plainEntry(bytes), info, fallbackHour);
    } catch (err) {
      if (err instanceof InvalidEntryError) return { ok: false, error: err, table: info.table };
      const reason =
        isLakeError(err) && err.code === 'LAKE_UNSUPPORTED_ARROW_TYPE' ? 'unsupported-type' : 'ipc';
      return {
        ok: false,
        error: new InvalidEntryError(reason, (err as Error).message, { cause: err }),
        table: info.table,
      };
    }
  }

  #schemaInfo(messageBytes: Uint8Array, message: Message): SchemaInfo | InvalidEntryError {
    const cacheKey = Buffer.from(
      messageBytes.buffer,
      messageBytes.byteOffset,
      messageBytes.byteLength,
    ).toString('latin1');
    const cached = this.#bySchemaBytes.get(cacheKey);
    if (cached) return cached;
    const result = this.#analyze(messageBytes, message);
    if (this.#bySchemaBytes.size >= MAX_CACHED_SCHEMAS) this.#bySchemaBytes.clear();
    this.#bySchemaBytes.set(cacheKey, result);
    return result;
  }

  #analyze(messageBytes: Uint8Array, message: Message): SchemaInfo | InvalidEntryError {
    let schema: Schema;
    try {
      schema = message.header() as Schema;
    } catch (err) {
      return new InvalidEntryError('ipc', `undecodable schema: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const table = schema.metadata.get(TABLE_METADATA_KEY);
    if (table === undefined) {
      return new InvalidEntryError('table-name', `schema has no "${TABLE_METADATA_KEY}" metadata`);
    }
    if (!isValidTableName(table)) {
      return new InvalidEntryError(
        'table-name',
        `table name ${JSON.stringify(table.slice(0, 80))} does not match ^[a-z][a-z0-9_]{0,62}$`,
      );
    }
    if (this.#allowed && !this.#allowed.has(table)) {
      return new InvalidEntryError(
        'unknown-table',
        `table "${table}" is not one of the accepted tables`,
        { table },
      );
    }
    const tsIndex = schema.fields.findIndex((f) => f.name === TIMESTAMP_COLUMN);
    const tsField = schema.fields[tsIndex];
    if (!tsField) {
      return new InvalidEntryError(
        'timestamp',
        `table "${table}" has no "${TIMESTAMP_COLUMN}" column`,
        { table },
      );
    }
    const tsType = tsField.type as DataType & { unit?: TimeUnit };
    if (tsType.typeId !== Type.Timestamp || tsType.unit !== TimeUnit.NANOSECOND) {
      return new InvalidEntryError(
        'timestamp',
        `"${TIMESTAMP_COLUMN}" is ${String(tsType)}, expected Timestamp(ns)`,
        { table },
      );
    }
    const fingerprint = schemaFingerprint(schema);
    const known = this.#byFingerprint.get(fingerprint);
    if (known) return known;
    const layout = fieldLayout(schema, tsIndex);
    const info: SchemaInfo = Object.freeze({
      id: this.#byId.length,
      table,
      schema,
      schemaMessage: messageBytes.slice(),
      tsIndex,
      tsNode: layout.node,
      tsBuffer: layout.buffer,
      dictionaryIds: dictionaryIds(schema),
      dictionaryColumns: Object.freeze(
        schema.fields
          .filter((f) => (f.type as DataType).typeId === Type.Dictionary)
          .map((f) => f.name),
      ),
    });
    this.#byId.push(info);
    this.#byFingerprint.set(fingerprint, info);
    return info;
  }

  /** Whole entry in one hour with a plain layout → zero-copy piece; otherwise undefined. */
  #fast(
    bytes: Uint8Array,
    messages: IpcMessage[],
    info: SchemaInfo,
    fallbackHour: number,
  ): DecodedEntry | undefined {
    if (info.tsBuffer < 0) return undefined;
    const needDicts = info.dictionaryIds;
    const seen = needDicts.size > 0 ? new Set<number>() : undefined;
    const range = new TsRange();
    let hour = 0;
    let haveHour = false;
    let rows = 0;
    const out: Uint8Array[] = [];
    let plainBytes = 0;
    for (let m = 1; m < messages.length; m++) {
      const msg = messages[m]!;
      if (msg.headerType === MessageHeader.DictionaryBatch) {
        // Headers read in place (ipc-flatbuffers.ts), not through Arrow JS's objects.
        const header = readBatchHeader(bytes.subarray(msg.metaStart, msg.metaEnd));
        const size = plainMessageSize(
          header,
          msg.bodyStart - msg.start,
          bytes.subarray(msg.bodyStart, msg.end),
        );
        if (size === undefined) return undefined;
        plainBytes += size;
        const id = header.dictionaryId;
        // A delta before a base dictionary would extend the previous entry's dictionary
        // once streams are concatenated: only the slow path can judge such an entry.
        if (header.isDelta && !seen?.has(id)) return undefined;
        seen?.add(id);
      } else if (msg.headerType === MessageHeader.RecordBatch) {
        if (seen && seen.size < needDicts.size) {
          for (const id of needDicts) if (!seen.has(id)) return undefined;
        }
        const header = readBatchHeader(bytes.subarray(msg.metaStart, msg.metaEnd));
        const n = header.length;
        if (n === 0) continue;
        if (info.tsNode >= header.nodeCount || info.tsBuffer + 1 >= header.bufferCount)
          return undefined;
        if (header.nodeLength(info.tsNode) !== n) return undefined;
        // Only the timestamp column is read; of a compressed batch, only its frames are
        // decompressed (the rest goes to the Parquet encoder as it is).
        const body = bytes.subarray(msg.bodyStart, msg.end);
        const size = plainMessageSize(header, msg.bodyStart - msg.start, body);
        if (size === undefined) return undefined;
        plainBytes += size;
        const data = batchBuffer(header, body, info.tsBuffer + 1, n * 8);
        if (data === undefined || data.length < n * 8) return undefined;
        const words = int32View(data, 0, n * 2);
        let validity: Uint8Array | undefined;
        if (header.nodeNullCount(info.tsNode) > 0) {
          validity = batchBuffer(header, body, info.tsBuffer, (n + 7) >> 3);
          if (validity === undefined || validity.length < (n + 7) >> 3) return undefined;
        }
        for (let i = 0; i < n; i++) {
          let h: number;
          if (validity && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) {
            h = fallbackHour;
          } else {
            const lo = words[2 * i]!;
            const hi = words[2 * i + 1]!;
            range.add(lo, hi);
            h = hourOfNs(lo, hi);
          }
          if (h !== hour || !haveHour) {
            if (haveHour) return undefined; // a second hour: split on the slow path
            hour = h;
            haveHour = true;
          }
        }
        rows += n;
      } else {
        throw new InvalidEntryError('ipc', `unexpected ${MessageHeader[msg.headerType]} message`);
      }
      out.push(bytes.subarray(msg.start, msg.end));
    }
    if (rows === 0) return { ok: true, schema: info, pieces: [], rows: 0, slow: false };
    return {
      ok: true,
      schema: info,
      pieces: [{ hour, rows, bytes: plainBytes, messages: out, range }],
      rows,
      slow: false,
    };
  }

  #slow(bytes: Uint8Array, info: SchemaInfo, fallbackHour: number): DecodedEntry {
    const reader = RecordBatchReader.from(bytes);
    const perHour = new Map<number, { batches: RecordBatch[]; rows: number; range: TsRange }>();
    let rows = 0;
    for (const batch of reader) {
      if (schemaFingerprint(batch.schema) !== schemaFingerprint(info.schema)) {
        throw new InvalidEntryError('ipc', 'record batch schema differs from the stream schema');
      }
      const n = batch.numRows;
      if (n === 0) continue;
      rows += n;
      const ts = batch.data.children[info.tsIndex] as Data;
      const values = ts.values as BigInt64Array;
      const words = new Int32Array(values.buffer, values.byteOffset, n * 2);
      const bitmap = ts.nullCount > 0 ? ts.nullBitmap : undefined;
      const hours = new Int32Array(n);
      const ranges = new Map<number, TsRange>();
      for (let i = 0; i < n; i++) {
        const p = ts.offset + i;
        let h: number;
        if (bitmap && ((bitmap[p >> 3]! >> (p & 7)) & 1) === 0) {
          h = fallbackHour;
          if (!ranges.has(h)) ranges.set(h, new TsRange());
        } else {
          const lo = words[2 * i]!;
          const hi = words[2 * i + 1]!;
          h = hourOfNs(lo, hi);
          let r = ranges.get(h);
          if (!r) {
            r = new TsRange();
            ranges.set(h, r);
          }
          r.add(lo, hi);
        }
        hours[i] = h;
      }
      for (const [h, r] of ranges) {
        let selected: RecordBatch;
        let count: number;
        if (ranges.size === 1) {
          selected = batch;
          count = n;
        } else {
          count = 0;
          for (let i = 0; i < n; i++) if (hours[i] === h) count++;
          const idx = new Int32Array(count);
          for (let i = 0, k = 0; i < n; i++) if (hours[i] === h) idx[k++] = i;
          selected = new RecordBatch(batch.schema, takeData(batch.data as Data, idx) as never);
        }
        let slot = perHour.get(h);
        if (!slot) {
          slot = { batches: [], rows: 0, range: new TsRange() };
          perHour.set(h, slot);
        }
        slot.batches.push(selected);
        slot.rows += count;
        slot.range.merge(r);
      }
    }
    const pieces: Piece[] = [];
    for (const [hour, slot] of perHour) {
      const stream = RecordBatchStreamWriter.writeAll(new Table(slot.batches)).toUint8Array(true);
      const msgs = splitIpcStream(stream);
      const parts: Uint8Array[] = [];
      let byteCount = 0;
      for (const m of msgs) {
        if (m.headerType === MessageHeader.Schema) continue;
        const part = stream.subarray(m.start, m.end);
        parts.push(part);
        byteCount += part.length;
      }
      pieces.push({ hour, rows: slot.rows, bytes: byteCount, messages: parts, range: slot.range });
    }
    pieces.sort((a, b) => a.hour - b.hour);
    return { ok: true, schema: info, pieces, rows, slow: true };
  }
}

function invalid(error: InvalidEntryError): DecodedEntry {
  return { ok: false, error, table: undefined };
}

/** Int32 view of `count` words at `start`, copying only when the offset is unaligned. */
function int32View(bytes: Uint8Array, start: number, count: number): Int32Array {
  const abs = bytes.byteOffset + start;
  if (abs % 4 === 0) return new Int32Array(bytes.buffer, abs, count);
  return new Int32Array(bytes.slice(start, start + count * 4).buffer);
}

/** The entry with plain bodies (itself when none is compressed). */
function plainEntry(bytes: Uint8Array): Uint8Array {
  try {
    return decompressIpcStream(bytes, MAX_ENTRY_PLAIN_BYTES);
  } catch (err) {
    throw new InvalidEntryError('ipc', (err as Error).message, { cause: err });
  }
}
