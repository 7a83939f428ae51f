import { estimateRows } from './batch.js';
import { appendAnyValue, readAttributes } from './json-any.js';
import {
  K_ATTRIBUTES,
  K_BODY,
  K_DROPPED_ATTRIBUTES,
  K_DROPPED_ATTRIBUTES_,
  K_EVENT_NAME,
  K_EVENT_NAME_,
  K_FLAGS,
  K_LOG_RECORDS,
  K_LOG_RECORDS_,
  K_OBSERVED_TIME,
  K_OBSERVED_TIME_,
  K_RESOURCE_LOGS,
  K_RESOURCE_LOGS_,
  K_SCOPE_LOGS,
  K_SCOPE_LOGS_,
  K_SEVERITY_NUMBER,
  K_SEVERITY_NUMBER_,
  K_SEVERITY_TEXT,
  K_SEVERITY_TEXT_,
  K_SPAN_ID,
  K_SPAN_ID_,
  K_TIME,
  K_TIME_,
  K_TRACE_ID,
  K_TRACE_ID_,
} from './json-keys.js';
import { JsonRequestDecoder, type JsonRequestShape } from './json-request.js';
import { KEY_SHIFT, KIND_MASK, T_ARRAY } from './json-tape.js';
import { type DecodeOptions, type DecodeResult, tableResult } from './result.js';
import { acquireLogsColumns, type LogsColumns } from './table-logs.js';

const SEVERITIES: Readonly<Record<string, number>> = Object.fromEntries(
  [
    'UNSPECIFIED',
    'TRACE',
    'TRACE2',
    'TRACE3',
    'TRACE4',
    'DEBUG',
    'DEBUG2',
    'DEBUG3',
    'DEBUG4',
    'INFO',
    'INFO2',
    'INFO3',
    'INFO4',
    'WARN',
    'WARN2',
    'WARN3',
    'WARN4',
    'ERROR',
    'ERROR2',
    'ERROR3',
    'ERROR4',
    'FATAL',
    'FATAL2',
    'FATAL3',
    'FATAL4',
  ].map((n, i) => [`SEVERITY_NUMBER_${n}`, i]),
);

/**
 * Decodes an OTLP/JSON ExportLogsServiceRequest (UTF-8 bytes, or a string) into the
 * `logs` table, with the same rows, rendering and validation as the protobuf decoder.
 */
export function decodeLogsJson(
  input: Uint8Array | string,
  options: DecodeOptions = {},
): DecodeResult {
  const d = new LogsJsonDecoder(input, options);
  d.run();
  return tableResult('logs', d.cols, d.rejections);
}

const LOGS_REQUEST: JsonRequestShape = {
  resources: K_RESOURCE_LOGS,
  resources_: K_RESOURCE_LOGS_,
  resourcesField: 'resource_logs',
  scopes: K_SCOPE_LOGS,
  scopes_: K_SCOPE_LOGS_,
  scopesField: 'scope_logs',
  items: K_LOG_RECORDS,
  items_: K_LOG_RECORDS_,
  itemsField: 'log_records',
};

class LogsJsonDecoder extends JsonRequestDecoder {
  readonly cols: LogsColumns;

  constructor(input: Uint8Array | string, options: DecodeOptions) {
    super(input, options, LOGS_REQUEST, 'log records');
    this.cols = acquireLogsColumns(this.budget, estimateRows(input.length, 600));
  }

  protected endScope(): void {
    this.cols.block.fillTo(this.cols.rows, this.ctx);
  }

  /** Decodes the LogRecord at tape index `l`. */
  protected item(l: number): void {
    const r = this.r;
    const c = this.cols;
    const tape = r.tape;
    let traceIdC = -1;
    let traceIdS = -1;
    let spanIdC = -1;
    let spanIdS = -1;
    let timeC = -1;
    let timeS = -1;
    let observedC = -1;
    let observedS = -1;
    let flags = -1;
    let severityTextC = -1;
    let severityTextS = -1;
    let severityNumberC = -1;
    let severityNumberS = -1;
    let body = -1;
    let attributes = -1;
    let eventNameC = -1;
    let eventNameS = -1;
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
        case K_TIME:
          timeC = x;
          break;
        case K_TIME_:
          timeS = x;
          break;
        case K_OBSERVED_TIME:
          observedC = x;
          break;
        case K_OBSERVED_TIME_:
          observedS = x;
          break;
        case K_FLAGS:
          flags = x;
          break;
        case K_SEVERITY_TEXT:
          severityTextC = x;
          break;
        case K_SEVERITY_TEXT_:
          severityTextS = x;
          break;
        case K_SEVERITY_NUMBER:
          severityNumberC = x;
          break;
        case K_SEVERITY_NUMBER_:
          severityNumberS = x;
          break;
        case K_BODY:
          body = x;
          break;
        case K_ATTRIBUTES:
          attributes = x;
          break;
        case K_EVENT_NAME:
          eventNameC = x;
          break;
        case K_EVENT_NAME_:
          eventNameS = x;
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
    const tidLen = r.hexIdLength(traceId, 'trace_id');
    const sidLen = r.hexIdLength(spanId, 'span_id');
    const problem =
      tidLen !== 0 && tidLen !== 16
        ? 'trace_id must be empty or 16 bytes'
        : sidLen !== 0 && sidLen !== 8
          ? 'span_id must be empty or 8 bytes'
          : null;
    if (problem !== null) {
      this.rejections.add(problem, () => r.location(''));
      return;
    }
    r.u64(r.or(timeC, timeS), 'time_unix_nano');
    const tLo = r.lo;
    const tHi = r.hi;
    r.u64(r.or(observedC, observedS), 'observed_time_unix_nano');
    const oLo = r.lo;
    const oHi = r.hi;
    if (tLo === 0 && tHi === 0) c.timestamp.append(oLo, oHi);
    else c.timestamp.append(tLo, tHi);
    c.observedTimestamp.append(oLo, oHi);
    if (tidLen === 0 || r.isZeroHex(traceId)) c.traceId.appendNull();
    else r.appendHexLower(c.traceId, traceId, 'trace_id');
    if (sidLen === 0 || r.isZeroHex(spanId)) c.spanId.appendNull();
    else r.appendHexLower(c.spanId, spanId, 'span_id');
    c.flags.append(r.uint32(flags, 'flags'));
    c.severityText.append(
      r.dictString(c.severityText, r.or(severityTextC, severityTextS), 'severity_text'),
    );
    c.severityNumber.append(
      r.enumValue(r.or(severityNumberC, severityNumberS), SEVERITIES, 'severity_number'),
    );
    appendAnyValue(r, c.body, body, 'body');
    readAttributes(r, c.attributes, attributes, 'attributes');
    c.attributes.endRow();
    c.eventName.append(r.dictString(c.eventName, r.or(eventNameC, eventNameS), 'event_name'));
    c.droppedAttributes.append(r.uint32(r.or(droppedC, droppedS), 'dropped_attributes_count'));
  }
}
