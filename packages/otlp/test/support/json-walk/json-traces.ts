import { estimateRows } from '../../../src/batch.js';
import { acquireBlockContext, type BlockContext } from '../../../src/block.js';
import { Budget, defaultOutputLimit } from '../../../src/budget.js';
import { readJsonResource, readJsonScope } from './json-block.js';
import {
  isZeroHex,
  type JsonObject,
  JsonReader,
  parseJsonBody,
  readJsonAttributes,
} from './json-reader.js';
import { Rejections } from '../../../src/rejections.js';
import type { DecodeOptions, DecodeResult } from '../../../src/result.js';
import { acquireSpansColumns, type SpansColumns } from '../../../src/table-spans.js';

const SPAN_KINDS: Readonly<Record<string, number>> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODES: Readonly<Record<string, number>> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest into the `spans` table, with the
 * same rows, rendering and validation as the protobuf decoder.
 */
export function walkTracesJson(
  input: Uint8Array | string,
  options: DecodeOptions = {},
): DecodeResult {
  const doc = parseJsonBody(input);
  const size = input.length;
  const budget = new Budget(options.maxOutputBytes ?? defaultOutputLimit(size));
  const d = new TracesJsonDecoder(budget, estimateRows(size, 1200));
  d.run(doc);
  const rows = d.cols.rows;
  const message = d.rejections.message();
  return {
    tables: rows > 0 ? [{ table: 'spans', batch: d.cols.finish() }] : [],
    rows,
    rejected: d.rejections.count,
    ...(message === undefined ? {} : { rejectedMessage: message }),
  };
}

class TracesJsonDecoder {
  readonly cols: SpansColumns;
  readonly ctx: BlockContext;
  readonly jr = new JsonReader();
  readonly rejections = new Rejections('spans');

  constructor(budget: Budget, rows: number) {
    this.cols = acquireSpansColumns(budget, rows);
    this.ctx = acquireBlockContext(budget);
  }

  run(doc: JsonObject): void {
    const jr = this.jr;
    const rss = jr.array(doc.resourceSpans ?? doc.resource_spans, 'resource_spans');
    jr.enter('resource_spans');
    for (let ri = 0; ri < rss.length; ri++) {
      jr.at(ri);
      const rs = jr.item(rss[ri], '');
      readJsonResource(jr, this.ctx, rs.resource, rs.schemaUrl ?? rs.schema_url);
      const sss = jr.array(rs.scopeSpans ?? rs.scope_spans, 'scope_spans');
      jr.enter('scope_spans');
      for (let si = 0; si < sss.length; si++) {
        jr.at(si);
        const ss = jr.item(sss[si], '');
        readJsonScope(jr, this.ctx, ss.scope, ss.schemaUrl ?? ss.schema_url);
        const spans = jr.array(ss.spans, 'spans');
        const first = this.cols.rows;
        jr.enter('spans');
        for (let ki = 0; ki < spans.length; ki++) {
          jr.at(ki);
          this.span(jr.item(spans[ki], ''));
        }
        jr.leave();
        this.cols.block.fill(this.cols.rows - first, this.ctx);
      }
      jr.leave();
    }
    jr.leave();
  }

  private span(s: JsonObject): void {
    const jr = this.jr;
    const c = this.cols;
    const traceId = s.traceId ?? s.trace_id;
    const spanId = s.spanId ?? s.span_id;
    const parentSpanId = s.parentSpanId ?? s.parent_span_id;
    const tidLen = jr.hexIdLength(traceId, 'trace_id');
    const sidLen = jr.hexIdLength(spanId, 'span_id');
    const pidLen = jr.hexIdLength(parentSpanId, 'parent_span_id');
    const problem =
      tidLen !== 16
        ? 'trace_id must be 16 bytes'
        : isZeroHex(traceId as string)
          ? 'trace_id must not be all zeros'
          : sidLen !== 8
            ? 'span_id must be 8 bytes'
            : isZeroHex(spanId as string)
              ? 'span_id must not be all zeros'
              : pidLen !== 0 && pidLen !== 8
                ? 'parent_span_id must be empty or 8 bytes'
                : null;
    if (problem !== null) {
      this.rejections.add(problem, () => jr.location(''));
      return;
    }
    jr.u64(s.startTimeUnixNano ?? s.start_time_unix_nano, 'start_time_unix_nano');
    const sLo = jr.lo;
    const sHi = jr.hi;
    jr.u64(s.endTimeUnixNano ?? s.end_time_unix_nano, 'end_time_unix_nano');
    const eLo = jr.lo;
    const eHi = jr.hi;
    const kind = jr.enumValue(s.kind, SPAN_KINDS, 'kind');
    const status = jr.object(s.status, 'status');
    const code = status === null ? 0 : jr.enumValue(status.code, STATUS_CODES, 'status.code');
    const statusMessage = status === null ? '' : jr.string(status.message, 'status.message');

    c.timestamp.append(sLo, sHi);
    c.endTimestamp.append(eLo, eHi);
    const dLo = (eLo >>> 0) - (sLo >>> 0);
    c.duration.append(dLo | 0, (eHi - sHi - (dLo < 0 ? 1 : 0)) | 0);
    jr.appendHexLower(c.traceId, traceId as string, 'trace_id');
    jr.appendHexLower(c.spanId, spanId as string, 'span_id');
    if (pidLen === 0 || isZeroHex(parentSpanId as string)) c.parentSpanId.appendNull();
    else jr.appendHexLower(c.parentSpanId, parentSpanId as string, 'parent_span_id');
    c.traceState.appendString(jr.string(s.traceState ?? s.trace_state, 'trace_state'));
    c.spanName.append(c.spanName.lookupString(jr.string(s.name, 'name')));
    c.spanKind.append(kind >= 0 && kind <= 5 ? kind : c.spanKind.lookupString(String(kind)));
    c.statusCode.append(code >= 0 && code <= 2 ? code : c.statusCode.lookupString(String(code)));
    c.statusMessage.appendString(statusMessage);
    readJsonAttributes(jr, c.attributes, s.attributes, 'attributes');
    c.flags.append(jr.uint32(s.flags, 'flags'));
    c.droppedAttributes.append(
      jr.uint32(s.droppedAttributesCount ?? s.dropped_attributes_count, 'dropped_attributes_count'),
    );
    c.droppedEvents.append(
      jr.uint32(s.droppedEventsCount ?? s.dropped_events_count, 'dropped_events_count'),
    );
    c.droppedLinks.append(
      jr.uint32(s.droppedLinksCount ?? s.dropped_links_count, 'dropped_links_count'),
    );
    const events = jr.array(s.events, 'events');
    if (events.length > 0) {
      jr.enter('events');
      for (let i = 0; i < events.length; i++) {
        jr.at(i);
        this.event(events[i]);
      }
      jr.leave();
    }
    const links = jr.array(s.links, 'links');
    if (links.length > 0) {
      jr.enter('links');
      for (let i = 0; i < links.length; i++) {
        jr.at(i);
        this.link(links[i]);
      }
      jr.leave();
    }
    c.endRow();
  }

  private event(v: unknown): void {
    const jr = this.jr;
    const c = this.cols;
    const e = jr.item(v, '');
    jr.u64(e.timeUnixNano ?? e.time_unix_nano, 'time_unix_nano');
    const lo = jr.lo;
    const hi = jr.hi;
    c.eventName.appendString(jr.string(e.name, 'name'));
    readJsonAttributes(jr, c.eventAttributes, e.attributes, 'attributes');
    c.endEvent(
      lo,
      hi,
      jr.uint32(e.droppedAttributesCount ?? e.dropped_attributes_count, 'dropped_attributes_count'),
    );
  }

  private link(v: unknown): void {
    const jr = this.jr;
    const c = this.cols;
    const l = jr.item(v, '');
    const traceId = l.traceId ?? l.trace_id;
    const spanId = l.spanId ?? l.span_id;
    if (jr.hexIdLength(traceId, 'trace_id') === 0) c.linkTraceId.appendNull();
    else jr.appendHexLower(c.linkTraceId, traceId as string, 'trace_id');
    if (jr.hexIdLength(spanId, 'span_id') === 0) c.linkSpanId.appendNull();
    else jr.appendHexLower(c.linkSpanId, spanId as string, 'span_id');
    c.linkTraceState.appendString(jr.string(l.traceState ?? l.trace_state, 'trace_state'));
    readJsonAttributes(jr, c.linkAttributes, l.attributes, 'attributes');
    c.linkAttributes.endRow();
    c.linkFlags.append(jr.uint32(l.flags, 'flags'));
    c.linkDropped.append(
      jr.uint32(l.droppedAttributesCount ?? l.dropped_attributes_count, 'dropped_attributes_count'),
    );
  }
}
