import { estimateRows } from './batch.js';
import { readAttributes } from './json-any.js';
import {
  K_ATTRIBUTES,
  K_CODE,
  K_DROPPED_ATTRIBUTES,
  K_DROPPED_ATTRIBUTES_,
  K_DROPPED_EVENTS,
  K_DROPPED_EVENTS_,
  K_DROPPED_LINKS,
  K_DROPPED_LINKS_,
  K_END_TIME,
  K_END_TIME_,
  K_EVENTS,
  K_FLAGS,
  K_KIND,
  K_LINKS,
  K_MESSAGE,
  K_NAME,
  K_PARENT_SPAN_ID,
  K_PARENT_SPAN_ID_,
  K_RESOURCE_SPANS,
  K_RESOURCE_SPANS_,
  K_SCOPE_SPANS,
  K_SCOPE_SPANS_,
  K_SPAN_ID,
  K_SPAN_ID_,
  K_SPANS,
  K_START_TIME,
  K_START_TIME_,
  K_STATUS,
  K_TIME,
  K_TIME_,
  K_TRACE_ID,
  K_TRACE_ID_,
  K_TRACE_STATE,
  K_TRACE_STATE_,
} from './json-keys.js';
import { JsonRequestDecoder, type JsonRequestShape } from './json-request.js';
import { KEY_SHIFT, KIND_MASK, T_ARRAY } from './json-tape.js';
import { type DecodeOptions, type DecodeResult, tableResult } from './result.js';
import { acquireSpansColumns, type SpansColumns } from './table-spans.js';

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
 * Decodes an OTLP/JSON ExportTraceServiceRequest (UTF-8 bytes, or a string) into the
 * `spans` table, with the same rows, rendering and validation as the protobuf decoder.
 */
export function decodeTracesJson(
  input: Uint8Array | string,
  options: DecodeOptions = {},
): DecodeResult {
  const d = new TracesJsonDecoder(input, options);
  d.run();
  return tableResult('spans', d.cols, d.rejections);
}

const TRACES_REQUEST: JsonRequestShape = {
  resources: K_RESOURCE_SPANS,
  resources_: K_RESOURCE_SPANS_,
  resourcesField: 'resource_spans',
  scopes: K_SCOPE_SPANS,
  scopes_: K_SCOPE_SPANS_,
  scopesField: 'scope_spans',
  items: K_SPANS,
  items_: -1,
  itemsField: 'spans',
};

class TracesJsonDecoder extends JsonRequestDecoder {
  readonly cols: SpansColumns;

  constructor(input: Uint8Array | string, options: DecodeOptions) {
    super(input, options, TRACES_REQUEST, 'spans');
    this.cols = acquireSpansColumns(this.budget, estimateRows(input.length, 1200));
  }

  protected endScope(): void {
    this.cols.block.fillTo(this.cols.rows, this.ctx);
  }

  /** Decodes the Span at tape index `s`. */
  protected item(s: number): void {
    const r = this.r;
    const c = this.cols;
    const tape = r.tape;
    let traceIdC = -1;
    let traceIdS = -1;
    let spanIdC = -1;
    let spanIdS = -1;
    let parentC = -1;
    let parentS = -1;
    let traceStateC = -1;
    let traceStateS = -1;
    let name = -1;
    let kindV = -1;
    let startC = -1;
    let startS = -1;
    let endC = -1;
    let endS = -1;
    let attributes = -1;
    let droppedAttrsC = -1;
    let droppedAttrsS = -1;
    let events = -1;
    let droppedEventsC = -1;
    let droppedEventsS = -1;
    let links = -1;
    let droppedLinksC = -1;
    let droppedLinksS = -1;
    let statusV = -1;
    let flags = -1;
    for (let i = 0, n = tape[s + 1]!, x = s + 3; i < n; i++) {
      switch (tape[x]! >>> KEY_SHIFT) {
        case K_TRACE_ID:
          traceIdC = x;
          break;
        case K_TRACE_ID_:
          traceIdS = x;
          break;
        case K_SPAN_ID:
          spanIdC = x;
          break;
        case K_SPAN_ID_:
          spanIdS = x;
          break;
        case K_PARENT_SPAN_ID:
          parentC = x;
          break;
        case K_PARENT_SPAN_ID_:
          parentS = x;
          break;
        case K_TRACE_STATE:
          traceStateC = x;
          break;
        case K_TRACE_STATE_:
          traceStateS = x;
          break;
        case K_NAME:
          name = x;
          break;
        case K_KIND:
          kindV = x;
          break;
        case K_START_TIME:
          startC = x;
          break;
        case K_START_TIME_:
          startS = x;
          break;
        case K_END_TIME:
          endC = x;
          break;
        case K_END_TIME_:
          endS = x;
          break;
        case K_ATTRIBUTES:
          attributes = x;
          break;
        case K_DROPPED_ATTRIBUTES:
          droppedAttrsC = x;
          break;
        case K_DROPPED_ATTRIBUTES_:
          droppedAttrsS = x;
          break;
        case K_EVENTS:
          events = x;
          break;
        case K_DROPPED_EVENTS:
          droppedEventsC = x;
          break;
        case K_DROPPED_EVENTS_:
          droppedEventsS = x;
          break;
        case K_LINKS:
          links = x;
          break;
        case K_DROPPED_LINKS:
          droppedLinksC = x;
          break;
        case K_DROPPED_LINKS_:
          droppedLinksS = x;
          break;
        case K_STATUS:
          statusV = x;
          break;
        case K_FLAGS:
          flags = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    const traceId = r.or(traceIdC, traceIdS);
    const spanId = r.or(spanIdC, spanIdS);
    const parent = r.or(parentC, parentS);
    const tidLen = r.hexIdLength(traceId, 'trace_id');
    const sidLen = r.hexIdLength(spanId, 'span_id');
    const pidLen = r.hexIdLength(parent, 'parent_span_id');
    const problem =
      tidLen !== 16
        ? 'trace_id must be 16 bytes'
        : r.isZeroHex(traceId)
          ? 'trace_id must not be all zeros'
          : sidLen !== 8
            ? 'span_id must be 8 bytes'
            : r.isZeroHex(spanId)
              ? 'span_id must not be all zeros'
              : pidLen !== 0 && pidLen !== 8
                ? 'parent_span_id must be empty or 8 bytes'
                : null;
    if (problem !== null) {
      this.rejections.add(problem, () => r.location(''));
      return;
    }
    r.u64(r.or(startC, startS), 'start_time_unix_nano');
    const sLo = r.lo;
    const sHi = r.hi;
    r.u64(r.or(endC, endS), 'end_time_unix_nano');
    const eLo = r.lo;
    const eHi = r.hi;
    const kind = r.enumValue(kindV, SPAN_KINDS, 'kind');
    const status = r.object(statusV, 'status');
    let codeV = -1;
    let statusMessage = -1;
    if (status >= 0) {
      for (let i = 0, n = tape[status + 1]!, x = status + 3; i < n; i++) {
        const id = tape[x]! >>> KEY_SHIFT;
        if (id === K_CODE) codeV = x;
        else if (id === K_MESSAGE) statusMessage = x;
        x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
      }
    }
    const code = status < 0 ? 0 : r.enumValue(codeV, STATUS_CODES, 'status.code');
    r.stringForm(statusMessage, 'status.message');

    c.timestamp.append(sLo, sHi);
    c.endTimestamp.append(eLo, eHi);
    const dLo = (eLo >>> 0) - (sLo >>> 0);
    c.duration.append(dLo | 0, (eHi - sHi - (dLo < 0 ? 1 : 0)) | 0);
    r.appendHexLower(c.traceId, traceId, 'trace_id');
    r.appendHexLower(c.spanId, spanId, 'span_id');
    if (pidLen === 0 || r.isZeroHex(parent)) c.parentSpanId.appendNull();
    else r.appendHexLower(c.parentSpanId, parent, 'parent_span_id');
    r.appendString(c.traceState, r.or(traceStateC, traceStateS), 'trace_state');
    c.spanName.append(r.dictString(c.spanName, name, 'name'));
    c.spanKind.append(kind >= 0 && kind <= 5 ? kind : c.spanKind.lookupString(String(kind)));
    c.statusCode.append(code >= 0 && code <= 2 ? code : c.statusCode.lookupString(String(code)));
    r.appendString(c.statusMessage, statusMessage, 'status.message');
    readAttributes(r, c.attributes, attributes, 'attributes');
    c.flags.append(r.uint32(flags, 'flags'));
    c.droppedAttributes.append(
      r.uint32(r.or(droppedAttrsC, droppedAttrsS), 'dropped_attributes_count'),
    );
    c.droppedEvents.append(r.uint32(r.or(droppedEventsC, droppedEventsS), 'dropped_events_count'));
    c.droppedLinks.append(r.uint32(r.or(droppedLinksC, droppedLinksS), 'dropped_links_count'));
    const ne = r.array(events, 'events');
    if (ne > 0) {
      r.enter('events');
      for (let i = 0, e = events + 3; i < ne; i++, e = r.next(e)) {
        r.at(i);
        this.event(e);
      }
      r.leave();
    }
    const nl = r.array(links, 'links');
    if (nl > 0) {
      r.enter('links');
      for (let i = 0, l = links + 3; i < nl; i++, l = r.next(l)) {
        r.at(i);
        this.link(l);
      }
      r.leave();
    }
    c.endRow();
  }

  private event(e: number): void {
    const r = this.r;
    const c = this.cols;
    const tape = r.tape;
    r.item(e, '');
    let timeC = -1;
    let timeS = -1;
    let name = -1;
    let attributes = -1;
    let droppedC = -1;
    let droppedS = -1;
    for (let i = 0, n = tape[e + 1]!, x = e + 3; i < n; i++) {
      switch (tape[x]! >>> KEY_SHIFT) {
        case K_TIME:
          timeC = x;
          break;
        case K_TIME_:
          timeS = x;
          break;
        case K_NAME:
          name = x;
          break;
        case K_ATTRIBUTES:
          attributes = x;
          break;
        case K_DROPPED_ATTRIBUTES:
          droppedC = x;
          break;
        case K_DROPPED_ATTRIBUTES_:
          droppedS = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    r.u64(r.or(timeC, timeS), 'time_unix_nano');
    const lo = r.lo;
    const hi = r.hi;
    r.appendString(c.eventName, name, 'name');
    readAttributes(r, c.eventAttributes, attributes, 'attributes');
    c.endEvent(lo, hi, r.uint32(r.or(droppedC, droppedS), 'dropped_attributes_count'));
  }

  private link(l: number): void {
    const r = this.r;
    const c = this.cols;
    const tape = r.tape;
    r.item(l, '');
    let traceIdC = -1;
    let traceIdS = -1;
    let spanIdC = -1;
    let spanIdS = -1;
    let traceStateC = -1;
    let traceStateS = -1;
    let attributes = -1;
    let flags = -1;
    let droppedC = -1;
    let droppedS = -1;
    for (let i = 0, n = tape[l + 1]!, x = l + 3; i < n; i++) {
      switch (tape[x]! >>> KEY_SHIFT) {
        case K_TRACE_ID:
          traceIdC = x;
          break;
        case K_TRACE_ID_:
          traceIdS = x;
          break;
        case K_SPAN_ID:
          spanIdC = x;
          break;
        case K_SPAN_ID_:
          spanIdS = x;
          break;
        case K_TRACE_STATE:
          traceStateC = x;
          break;
        case K_TRACE_STATE_:
          traceStateS = x;
          break;
        case K_ATTRIBUTES:
          attributes = x;
          break;
        case K_FLAGS:
          flags = x;
          break;
        case K_DROPPED_ATTRIBUTES:
          droppedC = x;
          break;
        case K_DROPPED_ATTRIBUTES_:
          droppedS = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    const traceId = r.or(traceIdC, traceIdS);
    const spanId = r.or(spanIdC, spanIdS);
    if (r.hexIdLength(traceId, 'trace_id') === 0) c.linkTraceId.appendNull();
    else r.appendHexLower(c.linkTraceId, traceId, 'trace_id');
    if (r.hexIdLength(spanId, 'span_id') === 0) c.linkSpanId.appendNull();
    else r.appendHexLower(c.linkSpanId, spanId, 'span_id');
    r.appendString(c.linkTraceState, r.or(traceStateC, traceStateS), 'trace_state');
    readAttributes(r, c.linkAttributes, attributes, 'attributes');
    c.linkAttributes.endRow();
    c.linkFlags.append(r.uint32(flags, 'flags'));
    c.linkDropped.append(r.uint32(r.or(droppedC, droppedS), 'dropped_attributes_count'));
  }
}
