import { estimateRows } from './batch.js';
import { acquireBlockContext, type BlockContext } from './block.js';
import { Budget, defaultOutputLimit } from './budget.js';
import { readAttributes } from './json-any.js';
import { readJsonResource, readJsonScope } from './json-block.js';
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
  K_RESOURCE,
  K_RESOURCE_SPANS,
  K_RESOURCE_SPANS_,
  K_SCHEMA_URL,
  K_SCHEMA_URL_,
  K_SCOPE,
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
import { jsonReader, type JsonReader } from './json-reader.js';
import { KEY_SHIFT, KIND_MASK, scanJson, T_ARRAY } from './json-tape.js';
import { Rejections } from './rejections.js';
import type { DecodeOptions, DecodeResult } from './result.js';
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
  const r = jsonReader(scanJson(input));
  const size = input.length;
  const budget = new Budget(options.maxOutputBytes ?? defaultOutputLimit(size));
  const d = new TracesJsonDecoder(r, budget, estimateRows(size, 1200));
  d.run();
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
  readonly rejections = new Rejections('spans');

  constructor(
    private readonly r: JsonReader,
    budget: Budget,
    rows: number,
  ) {
    this.cols = acquireSpansColumns(budget, rows);
    this.ctx = acquireBlockContext(budget);
  }

  run(): void {
    const r = this.r;
    const tape = r.tape;
    const rss = r.or(r.member(0, K_RESOURCE_SPANS), r.member(0, K_RESOURCE_SPANS_));
    const nr = r.array(rss, 'resource_spans');
    r.enter('resource_spans');
    for (let ri = 0, e = rss + 3; ri < nr; ri++, e = r.next(e)) {
      r.at(ri);
      r.item(e, '');
      let resource = -1;
      let urlC = -1;
      let urlS = -1;
      let scopesC = -1;
      let scopesS = -1;
      for (let i = 0, n = tape[e + 1]!, x = e + 3; i < n; i++) {
        switch (tape[x]! >>> KEY_SHIFT) {
          case K_RESOURCE:
            resource = x;
            break;
          case K_SCHEMA_URL:
            urlC = x;
            break;
          case K_SCHEMA_URL_:
            urlS = x;
            break;
          case K_SCOPE_SPANS:
            scopesC = x;
            break;
          case K_SCOPE_SPANS_:
            scopesS = x;
            break;
        }
        x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
      }
      readJsonResource(r, this.ctx, resource, r.or(urlC, urlS));
      const sss = r.or(scopesC, scopesS);
      const ns = r.array(sss, 'scope_spans');
      r.enter('scope_spans');
      for (let si = 0, f = sss + 3; si < ns; si++, f = r.next(f)) {
        r.at(si);
        r.item(f, '');
        this.scopeSpans(f);
      }
      r.leave();
    }
    r.leave();
  }

  private scopeSpans(f: number): void {
    const r = this.r;
    const tape = r.tape;
    let scope = -1;
    let urlC = -1;
    let urlS = -1;
    let spans = -1;
    for (let i = 0, n = tape[f + 1]!, x = f + 3; i < n; i++) {
      switch (tape[x]! >>> KEY_SHIFT) {
        case K_SCOPE:
          scope = x;
          break;
        case K_SCHEMA_URL:
          urlC = x;
          break;
        case K_SCHEMA_URL_:
          urlS = x;
          break;
        case K_SPANS:
          spans = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    readJsonScope(r, this.ctx, scope, r.or(urlC, urlS));
    const n = r.array(spans, 'spans');
    const first = this.cols.rows;
    r.enter('spans');
    for (let ki = 0, s = spans + 3; ki < n; ki++, s = tape[s + 2]!) {
      r.at(ki);
      r.item(s, '');
      this.span(s);
    }
    r.leave();
    this.cols.block.fill(this.cols.rows - first, this.ctx);
  }

  private span(s: number): void {
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
