import { estimateRows } from './batch.js';
import { ProtoRequestDecoder } from './proto-request.js';
import { readKeyValue } from './proto-values.js';
import { type DecodeOptions, type DecodeResult, tableResult } from './result.js';
import { acquireSpansColumns, type SpansColumns } from './table-spans.js';
import { isZero } from './text.js';

const SPAN_KNOWN = 0x1fffe; // fields 1..16
const EVENT_KNOWN = 0b11110;
const LINK_KNOWN = 0b1111110;
const STATUS_KNOWN = 0b1100;

/**
 * Decodes an OTLP ExportTraceServiceRequest (protobuf) into the `spans` table.
 * Throws InvalidInputError when the bytes are not a valid request; drops and counts
 * spans with invalid ids (see the package README for the rules).
 */
export function decodeTraces(bytes: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const d = new TracesDecoder(bytes, options);
  d.run();
  return tableResult('spans', d.cols, d.rejections);
}

class TracesDecoder extends ProtoRequestDecoder {
  readonly cols: SpansColumns;

  constructor(bytes: Uint8Array, options: DecodeOptions) {
    super(bytes, options, 'spans');
    this.cols = acquireSpansColumns(this.budget, estimateRows(bytes.length, 400));
  }

  protected endScope(): void {
    this.cols.block.fillTo(this.cols.rows, this.ctx);
  }

  private reject(reason: string, ki: number): void {
    const { ri, si } = this;
    this.rejections.add(reason, () => `resource_spans[${ri}].scope_spans[${si}].spans[${ki}]`);
    this.cols.rollbackRow();
  }

  /** Decodes Span `ki` of the current scope. */
  protected item(start: number, end: number, ki: number): void {
    const r = this.r;
    const c = this.cols;
    const buf = r.buf;
    let tidS = 0;
    let tidE = 0;
    let sidS = 0;
    let sidE = 0;
    let tsS = 0;
    let tsE = 0;
    let pidS = 0;
    let pidE = 0;
    let nameS = 0;
    let nameE = 0;
    let msgS = 0;
    let msgE = 0;
    let flags = 0;
    let kind = 0;
    let code = 0;
    let startLo = 0;
    let startHi = 0;
    let endLo = 0;
    let endHi = 0;
    let droppedAttrs = 0;
    let droppedEvents = 0;
    let droppedLinks = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 10:
          tidE = r.lenEnd(end);
          tidS = r.pos;
          r.pos = tidE;
          break;
        case 18:
          sidE = r.lenEnd(end);
          sidS = r.pos;
          r.pos = sidE;
          break;
        case 26:
          tsE = r.lenEnd(end);
          tsS = r.pos;
          r.pos = tsE;
          break;
        case 34:
          pidE = r.lenEnd(end);
          pidS = r.pos;
          r.pos = pidE;
          break;
        case 42:
          nameE = r.lenEnd(end);
          nameS = r.pos;
          r.pos = nameE;
          break;
        case 48:
          kind = r.varint() | 0;
          break;
        case 57:
          r.fixed64(end);
          startLo = r.lo;
          startHi = r.hi;
          break;
        case 65:
          r.fixed64(end);
          endLo = r.lo;
          endHi = r.hi;
          break;
        case 74: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, c.attributes);
          break;
        }
        case 80:
          droppedAttrs = r.varint();
          break;
        case 90: {
          const e = r.lenEnd(end);
          this.event(e);
          r.pos = e;
          break;
        }
        case 96:
          droppedEvents = r.varint();
          break;
        case 106: {
          const e = r.lenEnd(end);
          this.link(e);
          r.pos = e;
          break;
        }
        case 112:
          droppedLinks = r.varint();
          break;
        case 122: {
          const e = r.lenEnd(end);
          // Status: a later occurrence replaces an earlier one.
          msgS = 0;
          msgE = 0;
          code = 0;
          while (r.pos < e) {
            const t = r.varint();
            if (t === 18) {
              msgE = r.lenEnd(e);
              msgS = r.pos;
              r.pos = msgE;
            } else if (t === 24) {
              code = r.varint() | 0;
            } else {
              r.skip(t, e, STATUS_KNOWN);
            }
          }
          r.checkEnd(e);
          break;
        }
        case 133:
          flags = r.fixed32(end);
          break;
        default:
          r.skip(tag, end, SPAN_KNOWN);
      }
    }
    r.checkEnd(end);

    // Item-level validation: a bad span is dropped, the rest of the request kept.
    const pidLen = pidE - pidS;
    const problem =
      tidE - tidS !== 16
        ? 'trace_id must be 16 bytes'
        : isZero(buf, tidS, tidE)
          ? 'trace_id must not be all zeros'
          : sidE - sidS !== 8
            ? 'span_id must be 8 bytes'
            : isZero(buf, sidS, sidE)
              ? 'span_id must not be all zeros'
              : pidLen !== 0 && pidLen !== 8
                ? 'parent_span_id must be empty or 8 bytes'
                : null;
    if (problem !== null) {
      this.reject(problem, ki);
      return;
    }

    c.timestamp.append(startLo, startHi);
    c.endTimestamp.append(endLo, endHi);
    // end - start over 64 bits, two's complement.
    const dLo = (endLo >>> 0) - (startLo >>> 0);
    c.duration.append(dLo | 0, (endHi - startHi - (dLo < 0 ? 1 : 0)) | 0);
    c.traceId.appendHex(buf, tidS, tidE);
    c.spanId.appendHex(buf, sidS, sidE);
    if (pidLen === 0 || isZero(buf, pidS, pidE)) c.parentSpanId.appendNull();
    else c.parentSpanId.appendHex(buf, pidS, pidE);
    c.traceState.appendBytes(buf, r.view, tsS, tsE);
    c.spanName.append(c.spanName.lookupBytes(buf, nameS, nameE));
    c.spanKind.append(kind >= 0 && kind <= 5 ? kind : c.spanKind.lookupString(String(kind)));
    c.statusCode.append(code >= 0 && code <= 2 ? code : c.statusCode.lookupString(String(code)));
    c.statusMessage.appendBytes(buf, r.view, msgS, msgE);
    c.flags.append(flags);
    c.droppedAttributes.append(droppedAttrs);
    c.droppedEvents.append(droppedEvents);
    c.droppedLinks.append(droppedLinks);
    c.endRow();
  }

  private event(end: number): void {
    const r = this.r;
    const c = this.cols;
    let lo = 0;
    let hi = 0;
    let nameS = 0;
    let nameE = 0;
    let dropped = 0;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 9:
          r.fixed64(end);
          lo = r.lo;
          hi = r.hi;
          break;
        case 18:
          nameE = r.lenEnd(end);
          nameS = r.pos;
          r.pos = nameE;
          break;
        case 26: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, c.eventAttributes);
          break;
        }
        case 32:
          dropped = r.varint();
          break;
        default:
          r.skip(tag, end, EVENT_KNOWN);
      }
    }
    r.checkEnd(end);
    c.eventName.appendBytes(r.buf, r.view, nameS, nameE);
    c.endEvent(lo, hi, dropped);
  }

  private link(end: number): void {
    const r = this.r;
    const c = this.cols;
    const buf = r.buf;
    let tidS = 0;
    let tidE = 0;
    let sidS = 0;
    let sidE = 0;
    let tsS = 0;
    let tsE = 0;
    let dropped = 0;
    let flags = 0;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 10:
          tidE = r.lenEnd(end);
          tidS = r.pos;
          r.pos = tidE;
          break;
        case 18:
          sidE = r.lenEnd(end);
          sidS = r.pos;
          r.pos = sidE;
          break;
        case 26:
          tsE = r.lenEnd(end);
          tsS = r.pos;
          r.pos = tsE;
          break;
        case 34: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, c.linkAttributes);
          break;
        }
        case 40:
          dropped = r.varint();
          break;
        case 53:
          flags = r.fixed32(end);
          break;
        default:
          r.skip(tag, end, LINK_KNOWN);
      }
    }
    r.checkEnd(end);
    if (tidE === tidS) c.linkTraceId.appendNull();
    else c.linkTraceId.appendHex(buf, tidS, tidE);
    if (sidE === sidS) c.linkSpanId.appendNull();
    else c.linkSpanId.appendHex(buf, sidS, sidE);
    c.linkTraceState.appendBytes(buf, r.view, tsS, tsE);
    c.linkAttributes.endRow();
    c.linkFlags.append(flags);
    c.linkDropped.append(dropped);
  }
}
