import type {
  Data,
  Dictionary,
  Int64,
  List,
  Map_,
  RecordBatch,
  Struct,
  Timestamp,
  Uint32,
  Utf8,
} from 'apache-arrow';
import { structData } from './arrow-data.js';
import { makeBatch } from './batch.js';
import { BlockColumns } from './block.js';
import type { Budget } from './budget.js';
import { DictColumn } from './col-dict.js';
import { Int64Column, Uint32Column } from './col-fixed.js';
import { ListOffsets } from './col-list.js';
import { MapColumn } from './col-map.js';
import { Utf8Column } from './col-utf8.js';
import { columnType, SPAN_KIND_NAMES, SPANS_SCHEMA, STATUS_CODE_NAMES } from './schemas.js';

/** Column writers of the `spans` table, shared by the protobuf and JSON decoders. */
export class SpansColumns {
  readonly block: BlockColumns;
  readonly timestamp: Int64Column;
  readonly endTimestamp: Int64Column;
  readonly duration: Int64Column;
  readonly traceId: Utf8Column;
  readonly spanId: Utf8Column;
  readonly parentSpanId: Utf8Column;
  readonly traceState: Utf8Column;
  readonly spanName: DictColumn;
  readonly spanKind: DictColumn;
  readonly statusCode: DictColumn;
  readonly statusMessage: Utf8Column;
  readonly attributes: MapColumn;
  readonly flags: Uint32Column;
  readonly droppedAttributes: Uint32Column;
  readonly droppedEvents: Uint32Column;
  readonly droppedLinks: Uint32Column;
  readonly events: ListOffsets;
  readonly eventTimestamp: Int64Column;
  readonly eventName: Utf8Column;
  readonly eventAttributes: MapColumn;
  readonly eventDropped: Uint32Column;
  readonly links: ListOffsets;
  readonly linkTraceId: Utf8Column;
  readonly linkSpanId: Utf8Column;
  readonly linkTraceState: Utf8Column;
  readonly linkAttributes: MapColumn;
  readonly linkFlags: Uint32Column;
  readonly linkDropped: Uint32Column;

  constructor(budget: Budget, rows: number) {
    this.block = new BlockColumns(budget, rows);
    this.timestamp = new Int64Column(budget, rows);
    this.endTimestamp = new Int64Column(budget, rows);
    this.duration = new Int64Column(budget, rows);
    this.traceId = new Utf8Column(budget, 'trace_id', rows, rows * 32);
    this.spanId = new Utf8Column(budget, 'span_id', rows, rows * 16);
    this.parentSpanId = new Utf8Column(budget, 'parent_span_id', rows, rows * 16);
    this.traceState = new Utf8Column(budget, 'trace_state', rows, 64);
    this.spanName = new DictColumn(budget, 'span_name', [], rows);
    this.spanKind = new DictColumn(budget, 'span_kind', SPAN_KIND_NAMES, rows);
    this.statusCode = new DictColumn(budget, 'status_code', STATUS_CODE_NAMES, rows);
    this.statusMessage = new Utf8Column(budget, 'status_message', rows, 64);
    this.attributes = new MapColumn(budget, 'span_attributes', rows, rows * 12);
    this.flags = new Uint32Column(budget, rows);
    this.droppedAttributes = new Uint32Column(budget, rows);
    this.droppedEvents = new Uint32Column(budget, rows);
    this.droppedLinks = new Uint32Column(budget, rows);
    this.events = new ListOffsets(budget, rows);
    this.eventTimestamp = new Int64Column(budget, rows);
    this.eventName = new Utf8Column(budget, 'events.name', rows, rows * 16);
    this.eventAttributes = new MapColumn(budget, 'events.attributes', rows, rows * 2);
    this.eventDropped = new Uint32Column(budget, rows);
    this.links = new ListOffsets(budget, rows);
    this.linkTraceId = new Utf8Column(budget, 'links.trace_id', 16, 512);
    this.linkSpanId = new Utf8Column(budget, 'links.span_id', 16, 256);
    this.linkTraceState = new Utf8Column(budget, 'links.trace_state', 16, 64);
    this.linkAttributes = new MapColumn(budget, 'links.attributes', 16, 32);
    this.linkFlags = new Uint32Column(budget, 16);
    this.linkDropped = new Uint32Column(budget, 16);
    // Hex we render ourselves.
    for (const c of [
      this.traceId,
      this.spanId,
      this.parentSpanId,
      this.linkTraceId,
      this.linkSpanId,
    ]) {
      c.trusted = true;
    }
  }

  /** Empties every column for a new decode (buffers are reused). */
  reset(budget: Budget, rows: number): void {
    this.block.reset(budget, rows);
    this.timestamp.reset(budget, rows);
    this.endTimestamp.reset(budget, rows);
    this.duration.reset(budget, rows);
    this.traceId.reset(budget, rows, rows * 32);
    this.spanId.reset(budget, rows, rows * 16);
    this.parentSpanId.reset(budget, rows, rows * 16);
    this.traceState.reset(budget, rows, 64);
    this.spanName.reset(budget, rows);
    this.spanKind.reset(budget, rows);
    this.statusCode.reset(budget, rows);
    this.statusMessage.reset(budget, rows, 64);
    this.attributes.reset(budget, rows, rows * 12);
    this.flags.reset(budget, rows);
    this.droppedAttributes.reset(budget, rows);
    this.droppedEvents.reset(budget, rows);
    this.droppedLinks.reset(budget, rows);
    this.events.reset(budget, rows);
    this.eventTimestamp.reset(budget, rows);
    this.eventName.reset(budget, rows, rows * 16);
    this.eventAttributes.reset(budget, rows, rows * 2);
    this.eventDropped.reset(budget, rows);
    this.links.reset(budget, rows);
    this.linkTraceId.reset(budget, 16, 512);
    this.linkSpanId.reset(budget, 16, 256);
    this.linkTraceState.reset(budget, 16, 64);
    this.linkAttributes.reset(budget, 16, 32);
    this.linkFlags.reset(budget, 16);
    this.linkDropped.reset(budget, 16);
  }

  /** Rows completed so far. */
  get rows(): number {
    return this.timestamp.length;
  }

  /** Closes the current event (its attributes were appended to eventAttributes). */
  endEvent(lo: number, hi: number, dropped: number): void {
    this.eventTimestamp.append(lo, hi);
    this.eventAttributes.endRow();
    this.eventDropped.append(dropped);
  }

  /** Discards what the current, unfinished span appended (it was rejected). */
  rollbackRow(): void {
    this.attributes.truncate(this.attributes.length);
    const e = this.events.truncate(this.events.length);
    this.eventTimestamp.truncate(e);
    this.eventName.truncate(e);
    this.eventAttributes.truncate(e);
    this.eventDropped.truncate(e);
    const l = this.links.truncate(this.links.length);
    this.linkTraceId.truncate(l);
    this.linkSpanId.truncate(l);
    this.linkTraceState.truncate(l);
    this.linkAttributes.truncate(l);
    this.linkFlags.truncate(l);
    this.linkDropped.truncate(l);
  }

  /** Closes the row's lists and map (the caller appended every scalar column). */
  endRow(): void {
    this.attributes.endRow();
    this.events.push(this.eventTimestamp.length);
    this.links.push(this.linkFlags.length);
  }

  finish(): RecordBatch {
    const S = SPANS_SCHEMA;
    const eventsType = columnType<List<Struct>>(S, 'events');
    const linksType = columnType<List<Struct>>(S, 'links');
    const ef = eventsType.valueType.children;
    const lf = linksType.valueType.children;
    const events = structData(eventsType.valueType, this.eventTimestamp.length, [
      this.eventTimestamp.finish(ef[0]!.type as Timestamp),
      this.eventName.finish(ef[1]!.type as Utf8),
      this.eventAttributes.finish(ef[2]!.type as Map_<Utf8, Utf8>),
      this.eventDropped.finish(ef[3]!.type as Uint32),
    ]);
    const links = structData(linksType.valueType, this.linkFlags.length, [
      this.linkTraceId.finish(lf[0]!.type as Utf8),
      this.linkSpanId.finish(lf[1]!.type as Utf8),
      this.linkTraceState.finish(lf[2]!.type as Utf8),
      this.linkAttributes.finish(lf[3]!.type as Map_<Utf8, Utf8>),
      this.linkFlags.finish(lf[4]!.type as Uint32),
      this.linkDropped.finish(lf[5]!.type as Uint32),
    ]);
    const children: Data[] = [
      ...this.block.finish(S.fields),
      this.timestamp.finish(columnType<Timestamp>(S, 'timestamp')),
      this.endTimestamp.finish(columnType<Timestamp>(S, 'end_timestamp')),
      this.duration.finish(columnType<Int64>(S, 'duration_ns')),
      this.traceId.finish(columnType<Utf8>(S, 'trace_id')),
      this.spanId.finish(columnType<Utf8>(S, 'span_id')),
      this.parentSpanId.finish(columnType<Utf8>(S, 'parent_span_id')),
      this.traceState.finish(columnType<Utf8>(S, 'trace_state')),
      this.spanName.finish(columnType<Dictionary<Utf8>>(S, 'span_name')),
      this.spanKind.finish(columnType<Dictionary<Utf8>>(S, 'span_kind')),
      this.statusCode.finish(columnType<Dictionary<Utf8>>(S, 'status_code')),
      this.statusMessage.finish(columnType<Utf8>(S, 'status_message')),
      this.attributes.finish(columnType<Map_<Utf8, Utf8>>(S, 'span_attributes')),
      this.flags.finish(columnType<Uint32>(S, 'flags')),
      this.droppedAttributes.finish(columnType<Uint32>(S, 'dropped_attributes_count')),
      this.droppedEvents.finish(columnType<Uint32>(S, 'dropped_events_count')),
      this.droppedLinks.finish(columnType<Uint32>(S, 'dropped_links_count')),
      this.events.finish(eventsType, events),
      this.links.finish(linksType, links),
    ];
    return makeBatch(S, this.rows, children);
  }
}

let pooled: SpansColumns | null = null;

/** The spans column writers for a new decode (reused: decoders are synchronous). */
export function acquireSpansColumns(budget: Budget, rows: number): SpansColumns {
  if (pooled === null) pooled = new SpansColumns(budget, rows);
  else pooled.reset(budget, rows);
  return pooled;
}
