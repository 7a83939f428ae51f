import { estimateRows } from './batch.js';
import { acquireBlockContext, type BlockContext } from './block.js';
import { Budget, defaultOutputLimit } from './budget.js';
import { appendAnyValue, readAttributes } from './json-any.js';
import { readJsonResource, readJsonScope } from './json-block.js';
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
  K_RESOURCE,
  K_RESOURCE_LOGS,
  K_RESOURCE_LOGS_,
  K_SCHEMA_URL,
  K_SCHEMA_URL_,
  K_SCOPE,
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
import { jsonReader, type JsonReader } from './json-reader.js';
import { KEY_SHIFT, KIND_MASK, scanJson, T_ARRAY } from './json-tape.js';
import { Rejections } from './rejections.js';
import type { DecodeOptions, DecodeResult } from './result.js';
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
  const r = jsonReader(scanJson(input));
  const size = input.length;
  const budget = new Budget(options.maxOutputBytes ?? defaultOutputLimit(size));
  const d = new LogsJsonDecoder(r, budget, estimateRows(size, 600));
  d.run();
  const rows = d.cols.rows;
  const message = d.rejections.message();
  return {
    tables: rows > 0 ? [{ table: 'logs', batch: d.cols.finish() }] : [],
    rows,
    rejected: d.rejections.count,
    ...(message === undefined ? {} : { rejectedMessage: message }),
  };
}

class LogsJsonDecoder {
  readonly cols: LogsColumns;
  readonly ctx: BlockContext;
  readonly rejections = new Rejections('log records');

  constructor(
    private readonly r: JsonReader,
    budget: Budget,
    rows: number,
  ) {
    this.cols = acquireLogsColumns(budget, rows);
    this.ctx = acquireBlockContext(budget);
  }

  run(): void {
    const r = this.r;
    const tape = r.tape;
    const rls = r.or(r.member(0, K_RESOURCE_LOGS), r.member(0, K_RESOURCE_LOGS_));
    const nr = r.array(rls, 'resource_logs');
    r.enter('resource_logs');
    for (let ri = 0, e = rls + 3; ri < nr; ri++, e = r.next(e)) {
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
          case K_SCOPE_LOGS:
            scopesC = x;
            break;
          case K_SCOPE_LOGS_:
            scopesS = x;
            break;
        }
        x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
      }
      readJsonResource(r, this.ctx, resource, r.or(urlC, urlS));
      const sls = r.or(scopesC, scopesS);
      const ns = r.array(sls, 'scope_logs');
      r.enter('scope_logs');
      for (let si = 0, f = sls + 3; si < ns; si++, f = r.next(f)) {
        r.at(si);
        r.item(f, '');
        this.scopeLogs(f);
      }
      r.leave();
    }
    r.leave();
  }

  private scopeLogs(f: number): void {
    const r = this.r;
    const tape = r.tape;
    let scope = -1;
    let urlC = -1;
    let urlS = -1;
    let recordsC = -1;
    let recordsS = -1;
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
        case K_LOG_RECORDS:
          recordsC = x;
          break;
        case K_LOG_RECORDS_:
          recordsS = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    readJsonScope(r, this.ctx, scope, r.or(urlC, urlS));
    const records = r.or(recordsC, recordsS);
    const n = r.array(records, 'log_records');
    const first = this.cols.rows;
    r.enter('log_records');
    for (let ki = 0, l = records + 3; ki < n; ki++, l = tape[l + 2]!) {
      r.at(ki);
      r.item(l, '');
      this.record(l);
    }
    r.leave();
    this.cols.block.fill(this.cols.rows - first, this.ctx);
  }

  private record(l: number): void {
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
