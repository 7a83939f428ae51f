import { estimateRows } from '../../../src/batch.js';
import { acquireBlockContext, type BlockContext } from '../../../src/block.js';
import { Budget, defaultOutputLimit } from '../../../src/budget.js';
import { readJsonResource, readJsonScope } from './json-block.js';
import {
  appendJsonAnyValue,
  isZeroHex,
  type JsonObject,
  JsonReader,
  parseJsonBody,
  readJsonAttributes,
} from './json-reader.js';
import { Rejections } from '../../../src/rejections.js';
import type { DecodeOptions, DecodeResult } from '../../../src/result.js';
import { acquireLogsColumns, type LogsColumns } from '../../../src/table-logs.js';

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
 * Decodes an OTLP/JSON ExportLogsServiceRequest into the `logs` table, with the same
 * rows, rendering and validation as the protobuf decoder.
 */
export function walkLogsJson(
  input: Uint8Array | string,
  options: DecodeOptions = {},
): DecodeResult {
  const doc = parseJsonBody(input);
  const size = input.length;
  const budget = new Budget(options.maxOutputBytes ?? defaultOutputLimit(size));
  const d = new LogsJsonDecoder(budget, estimateRows(size, 600));
  d.run(doc);
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
  readonly jr = new JsonReader();
  readonly rejections = new Rejections('log records');

  constructor(budget: Budget, rows: number) {
    this.cols = acquireLogsColumns(budget, rows);
    this.ctx = acquireBlockContext(budget);
  }

  run(doc: JsonObject): void {
    const jr = this.jr;
    const rls = jr.array(doc.resourceLogs ?? doc.resource_logs, 'resource_logs');
    jr.enter('resource_logs');
    for (let ri = 0; ri < rls.length; ri++) {
      jr.at(ri);
      const rl = jr.item(rls[ri], '');
      readJsonResource(jr, this.ctx, rl.resource, rl.schemaUrl ?? rl.schema_url);
      const sls = jr.array(rl.scopeLogs ?? rl.scope_logs, 'scope_logs');
      jr.enter('scope_logs');
      for (let si = 0; si < sls.length; si++) {
        jr.at(si);
        const sl = jr.item(sls[si], '');
        readJsonScope(jr, this.ctx, sl.scope, sl.schemaUrl ?? sl.schema_url);
        const records = jr.array(sl.logRecords ?? sl.log_records, 'log_records');
        const first = this.cols.rows;
        jr.enter('log_records');
        for (let ki = 0; ki < records.length; ki++) {
          jr.at(ki);
          this.record(jr.item(records[ki], ''));
        }
        jr.leave();
        this.cols.block.fill(this.cols.rows - first, this.ctx);
      }
      jr.leave();
    }
    jr.leave();
  }

  private record(l: JsonObject): void {
    const jr = this.jr;
    const c = this.cols;
    const traceId = l.traceId ?? l.trace_id;
    const spanId = l.spanId ?? l.span_id;
    const tidLen = jr.hexIdLength(traceId, 'trace_id');
    const sidLen = jr.hexIdLength(spanId, 'span_id');
    const problem =
      tidLen !== 0 && tidLen !== 16
        ? 'trace_id must be empty or 16 bytes'
        : sidLen !== 0 && sidLen !== 8
          ? 'span_id must be empty or 8 bytes'
          : null;
    if (problem !== null) {
      this.rejections.add(problem, () => jr.location(''));
      return;
    }
    jr.u64(l.timeUnixNano ?? l.time_unix_nano, 'time_unix_nano');
    const tLo = jr.lo;
    const tHi = jr.hi;
    jr.u64(l.observedTimeUnixNano ?? l.observed_time_unix_nano, 'observed_time_unix_nano');
    const oLo = jr.lo;
    const oHi = jr.hi;
    if (tLo === 0 && tHi === 0) c.timestamp.append(oLo, oHi);
    else c.timestamp.append(tLo, tHi);
    c.observedTimestamp.append(oLo, oHi);
    if (tidLen === 0 || isZeroHex(traceId as string)) c.traceId.appendNull();
    else jr.appendHexLower(c.traceId, traceId as string, 'trace_id');
    if (sidLen === 0 || isZeroHex(spanId as string)) c.spanId.appendNull();
    else jr.appendHexLower(c.spanId, spanId as string, 'span_id');
    c.flags.append(jr.uint32(l.flags, 'flags'));
    c.severityText.append(
      c.severityText.lookupString(jr.string(l.severityText ?? l.severity_text, 'severity_text')),
    );
    c.severityNumber.append(
      jr.enumValue(l.severityNumber ?? l.severity_number, SEVERITIES, 'severity_number'),
    );
    appendJsonAnyValue(jr, c.body, l.body, 'body');
    readJsonAttributes(jr, c.attributes, l.attributes, 'attributes');
    c.attributes.endRow();
    c.eventName.append(
      c.eventName.lookupString(jr.string(l.eventName ?? l.event_name, 'event_name')),
    );
    c.droppedAttributes.append(
      jr.uint32(l.droppedAttributesCount ?? l.dropped_attributes_count, 'dropped_attributes_count'),
    );
  }
}
