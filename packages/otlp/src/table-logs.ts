import type {
  Data,
  Dictionary,
  Int32,
  Map_,
  RecordBatch,
  Timestamp,
  Uint32,
  Utf8,
} from 'apache-arrow';
import { makeBatch } from './batch.js';
import { BlockColumns } from './block.js';
import type { Budget } from './budget.js';
import { DictColumn } from './col-dict.js';
import { Int32Column, Int64Column, Uint32Column } from './col-fixed.js';
import { MapColumn } from './col-map.js';
import { Utf8Column } from './col-utf8.js';
import { columnType, LOGS_SCHEMA } from './schemas.js';

/** Column writers of the `logs` table, shared by the protobuf and JSON decoders. */
export class LogsColumns {
  readonly block: BlockColumns;
  readonly timestamp: Int64Column;
  readonly observedTimestamp: Int64Column;
  readonly traceId: Utf8Column;
  readonly spanId: Utf8Column;
  readonly flags: Uint32Column;
  readonly severityText: DictColumn;
  readonly severityNumber: Int32Column;
  readonly body: Utf8Column;
  readonly attributes: MapColumn;
  readonly eventName: DictColumn;
  readonly droppedAttributes: Uint32Column;

  constructor(budget: Budget, rows: number) {
    this.block = new BlockColumns(budget, rows);
    this.timestamp = new Int64Column(budget, rows);
    this.observedTimestamp = new Int64Column(budget, rows);
    this.traceId = new Utf8Column(budget, 'trace_id', rows, rows * 32);
    this.spanId = new Utf8Column(budget, 'span_id', rows, rows * 16);
    this.flags = new Uint32Column(budget, rows);
    this.severityText = new DictColumn(budget, 'severity_text', [], rows);
    this.severityNumber = new Int32Column(budget, rows);
    this.body = new Utf8Column(budget, 'body', rows, rows * 64);
    this.attributes = new MapColumn(budget, 'log_attributes', rows, rows * 4);
    this.eventName = new DictColumn(budget, 'event_name', [], rows);
    this.droppedAttributes = new Uint32Column(budget, rows);
    this.traceId.trusted = true; // hex we render ourselves
    this.spanId.trusted = true;
  }

  /** Empties every column for a new decode (buffers are reused). */
  reset(budget: Budget, rows: number): void {
    this.block.reset(budget, rows);
    this.timestamp.reset(budget, rows);
    this.observedTimestamp.reset(budget, rows);
    this.traceId.reset(budget, rows, rows * 32);
    this.spanId.reset(budget, rows, rows * 16);
    this.flags.reset(budget, rows);
    this.severityText.reset(budget, rows);
    this.severityNumber.reset(budget, rows);
    this.body.reset(budget, rows, rows * 64);
    this.attributes.reset(budget, rows, rows * 4);
    this.eventName.reset(budget, rows);
    this.droppedAttributes.reset(budget, rows);
  }

  get rows(): number {
    return this.timestamp.length;
  }

  /** Discards the attributes the current, unfinished record appended (it was rejected). */
  rollbackRow(): void {
    this.attributes.truncate(this.attributes.length);
  }

  finish(): RecordBatch {
    const S = LOGS_SCHEMA;
    const children: Data[] = [
      ...this.block.finish(S.fields),
      this.timestamp.finish(columnType<Timestamp>(S, 'timestamp')),
      this.observedTimestamp.finish(columnType<Timestamp>(S, 'observed_timestamp')),
      this.traceId.finish(columnType<Utf8>(S, 'trace_id')),
      this.spanId.finish(columnType<Utf8>(S, 'span_id')),
      this.flags.finish(columnType<Uint32>(S, 'flags')),
      this.severityText.finish(columnType<Dictionary<Utf8>>(S, 'severity_text')),
      this.severityNumber.finish(columnType<Int32>(S, 'severity_number')),
      this.body.finish(columnType<Utf8>(S, 'body')),
      this.attributes.finish(columnType<Map_<Utf8, Utf8>>(S, 'log_attributes')),
      this.eventName.finish(columnType<Dictionary<Utf8>>(S, 'event_name')),
      this.droppedAttributes.finish(columnType<Uint32>(S, 'dropped_attributes_count')),
    ];
    return makeBatch(S, this.rows, children);
  }
}

let pooled: LogsColumns | null = null;

/** The logs column writers for a new decode (reused: decoders are synchronous). */
export function acquireLogsColumns(budget: Budget, rows: number): LogsColumns {
  if (pooled === null) pooled = new LogsColumns(budget, rows);
  else pooled.reset(budget, rows);
  return pooled;
}
