import { estimateRows } from './batch.js';
import { ProtoRequestDecoder } from './proto-request.js';
import { appendAnyValue, readKeyValue } from './proto-values.js';
import { type DecodeOptions, type DecodeResult, tableResult } from './result.js';
import { acquireLogsColumns, type LogsColumns } from './table-logs.js';
import { isZero } from './text.js';

const LOG_KNOWN = 0b1111111101110; // fields 1..3, 5..12 (4 is reserved)

/**
 * Decodes an OTLP ExportLogsServiceRequest (protobuf) into the `logs` table.
 * Throws InvalidInputError when the bytes are not a valid request; drops and counts
 * log records with a trace_id / span_id of the wrong length.
 */
export function decodeLogs(bytes: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const d = new LogsDecoder(bytes, options);
  d.run();
  return tableResult('logs', d.cols, d.rejections);
}

class LogsDecoder extends ProtoRequestDecoder {
  readonly cols: LogsColumns;

  constructor(bytes: Uint8Array, options: DecodeOptions) {
    super(bytes, options, 'log records');
    this.cols = acquireLogsColumns(this.budget, estimateRows(bytes.length, 250));
  }

  protected endScope(): void {
    this.cols.block.fillTo(this.cols.rows, this.ctx);
  }

  /** Decodes LogRecord `ki` of the current scope. */
  protected item(start: number, end: number, ki: number): void {
    const r = this.r;
    const c = this.cols;
    const buf = r.buf;
    let tLo = 0;
    let tHi = 0;
    let oLo = 0;
    let oHi = 0;
    let sevNum = 0;
    let sevS = 0;
    let sevE = 0;
    let bodyS = -1;
    let bodyE = 0;
    let dropped = 0;
    let flags = 0;
    let tidS = 0;
    let tidE = 0;
    let sidS = 0;
    let sidE = 0;
    let evS = 0;
    let evE = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 9:
          r.fixed64(end);
          tLo = r.lo;
          tHi = r.hi;
          break;
        case 89:
          r.fixed64(end);
          oLo = r.lo;
          oHi = r.hi;
          break;
        case 16:
          sevNum = r.varint() | 0;
          break;
        case 26:
          sevE = r.lenEnd(end);
          sevS = r.pos;
          r.pos = sevE;
          break;
        case 42:
          bodyE = r.lenEnd(end);
          bodyS = r.pos;
          r.pos = bodyE;
          break;
        case 50: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, c.attributes);
          break;
        }
        case 56:
          dropped = r.varint();
          break;
        case 69:
          flags = r.fixed32(end);
          break;
        case 74:
          tidE = r.lenEnd(end);
          tidS = r.pos;
          r.pos = tidE;
          break;
        case 82:
          sidE = r.lenEnd(end);
          sidS = r.pos;
          r.pos = sidE;
          break;
        case 98:
          evE = r.lenEnd(end);
          evS = r.pos;
          r.pos = evE;
          break;
        default:
          r.skip(tag, end, LOG_KNOWN);
      }
    }
    r.checkEnd(end);

    const tidLen = tidE - tidS;
    const sidLen = sidE - sidS;
    if (tidLen !== 0 && tidLen !== 16) {
      this.reject('trace_id must be empty or 16 bytes', ki);
      return;
    }
    if (sidLen !== 0 && sidLen !== 8) {
      this.reject('span_id must be empty or 8 bytes', ki);
      return;
    }

    if (tLo === 0 && tHi === 0) c.timestamp.append(oLo, oHi);
    else c.timestamp.append(tLo, tHi);
    c.observedTimestamp.append(oLo, oHi);
    if (tidLen === 0 || isZero(buf, tidS, tidE)) c.traceId.appendNull();
    else c.traceId.appendHex(buf, tidS, tidE);
    if (sidLen === 0 || isZero(buf, sidS, sidE)) c.spanId.appendNull();
    else c.spanId.appendHex(buf, sidS, sidE);
    c.flags.append(flags);
    c.severityText.append(c.severityText.lookupBytes(buf, sevS, sevE));
    c.severityNumber.append(sevNum);
    if (bodyS < 0) c.body.appendNull();
    else appendAnyValue(r, bodyS, bodyE, c.body);
    c.attributes.endRow();
    c.eventName.append(c.eventName.lookupBytes(buf, evS, evE));
    c.droppedAttributes.append(dropped);
  }

  private reject(reason: string, ki: number): void {
    const { ri, si } = this;
    this.rejections.add(reason, () => `resource_logs[${ri}].scope_logs[${si}].log_records[${ki}]`);
    this.cols.rollbackRow();
  }
}
