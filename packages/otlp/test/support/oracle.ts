/**
 * The test oracle: decodes OTLP protobuf with protobufjs (loading the repository's
 * proto/ files) and maps the objects to the rows the tables must hold, with plain,
 * obviously-correct code (BigInt, Buffer, JSON.stringify). Independent of the
 * decoders under test: it shares no code with src/.
 *
 * Canonical cell values: 64-bit integers and timestamps as signed decimal strings,
 * strings as strings, maps as [key, value|null][] pairs, lists as arrays.
 */
import { Buffer } from 'node:buffer';
import { LogsRequest, MetricsRequest, TraceRequest, toPlain } from './proto.js';

// biome-ignore lint/suspicious/noExplicitAny: protobufjs plain objects, read field by field
type Obj = Record<string, any>;
export type Row = Record<string, unknown>;
export type Entries = Array<[string, string | null]>;

export interface OracleResult {
  tables: Record<string, Row[]>;
  rejected: number;
}

const SPAN_KINDS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
const STATUS_CODES = ['Unset', 'Ok', 'Error'];

const i64 = (s: string | number): string => BigInt.asIntN(64, BigInt(s)).toString();
const hex = (b: number[] | Uint8Array | null | undefined): string =>
  Buffer.from(b ?? []).toString('hex');
const allZero = (b: number[] | Uint8Array | null | undefined) => (b ?? []).every((x) => x === 0);
const optId = (b: number[] | null | undefined): string | null =>
  !b || b.length === 0 || allZero(b) ? null : hex(b);
const ts = (s: string | number | null | undefined) => i64(s ?? 0);

/** The JSON text of an AnyValue nested in an array or map. */
function jsonValue(v: Obj | null | undefined): string {
  if (!v?.value) return 'null';
  switch (v.value) {
    case 'stringValue':
      return JSON.stringify(v.stringValue);
    case 'boolValue':
      return v.boolValue ? 'true' : 'false';
    case 'intValue':
      return i64(v.intValue);
    case 'doubleValue': {
      const d = v.doubleValue as number;
      return Number.isFinite(d) ? JSON.stringify(d) : JSON.stringify(String(d));
    }
    case 'bytesValue':
      return JSON.stringify(Buffer.from(v.bytesValue).toString('base64'));
    case 'arrayValue':
      return `[${(v.arrayValue.values as Obj[]).map(jsonValue).join(',')}]`;
    case 'kvlistValue':
      return `{${dedup(v.kvlistValue.values as Obj[])
        .map((kv) => `${JSON.stringify(kv.key)}:${jsonValue(kv.value)}`)
        .join(',')}}`;
    default:
      throw new Error(`oracle: unknown AnyValue member ${v.value}`);
  }
}

/** The text an AnyValue renders to at the top level (attribute value, log body). */
export function anyText(v: Obj | null | undefined): string | null {
  if (!v?.value) return null;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'doubleValue':
      return String(v.doubleValue);
    case 'bytesValue':
      return Buffer.from(v.bytesValue).toString('base64');
    default:
      return jsonValue(v);
  }
}

/** Keeps the last occurrence of every key, at its own position. */
function dedup(kvs: Obj[]): Obj[] {
  return kvs.filter((kv, i) => !kvs.slice(i + 1).some((later) => later.key === kv.key));
}

export function entries(kvs: Obj[] | null | undefined): Entries {
  const list = kvs ?? [];
  // Quadratic dedup is fine for the oracle except for huge lists: use a map there.
  if (list.length > 200) {
    const lastIndex = new Map<string, number>();
    for (const [i, kv] of list.entries()) lastIndex.set(kv.key, i);
    return list
      .filter((kv, i) => lastIndex.get(kv.key) === i)
      .map((kv) => [kv.key, anyText(kv.value)]);
  }
  return dedup(list).map((kv) => [kv.key as string, anyText(kv.value)]);
}

function block(resource: Obj | null, resourceUrl: string, scope: Obj | null, scopeUrl: string) {
  const resourceAttributes = entries(resource?.attributes);
  const service = resourceAttributes.find(([k]) => k === 'service.name');
  return {
    resource_attributes: resourceAttributes,
    resource_schema_url: resourceUrl,
    service_name: service ? service[1] : null,
    scope_name: scope?.name ?? '',
    scope_version: scope?.version ?? '',
    scope_attributes: entries(scope?.attributes),
    scope_schema_url: scopeUrl,
  };
}

export function oracleTraces(bytes: Uint8Array): OracleResult {
  const req = toPlain(TraceRequest, bytes);
  const rows: Row[] = [];
  let rejected = 0;
  for (const rs of req.resourceSpans as Obj[]) {
    for (const ss of rs.scopeSpans as Obj[]) {
      const b = block(rs.resource, rs.schemaUrl, ss.scope, ss.schemaUrl);
      for (const s of ss.spans as Obj[]) {
        const tid = s.traceId as number[];
        const sid = s.spanId as number[];
        const pid = s.parentSpanId as number[];
        if (tid.length !== 16 || allZero(tid) || sid.length !== 8 || allZero(sid)) {
          rejected++;
          continue;
        }
        if (pid.length !== 0 && pid.length !== 8) {
          rejected++;
          continue;
        }
        const start = BigInt(s.startTimeUnixNano);
        const end = BigInt(s.endTimeUnixNano);
        rows.push({
          ...b,
          timestamp: i64(s.startTimeUnixNano),
          end_timestamp: i64(s.endTimeUnixNano),
          duration_ns: BigInt.asIntN(64, end - start).toString(),
          trace_id: hex(tid),
          span_id: hex(sid),
          parent_span_id: optId(pid),
          trace_state: s.traceState,
          span_name: s.name,
          span_kind: SPAN_KINDS[s.kind] ?? String(s.kind),
          status_code: STATUS_CODES[s.status?.code ?? 0] ?? String(s.status.code),
          status_message: s.status?.message ?? '',
          span_attributes: entries(s.attributes),
          flags: s.flags,
          dropped_attributes_count: s.droppedAttributesCount,
          dropped_events_count: s.droppedEventsCount,
          dropped_links_count: s.droppedLinksCount,
          events: (s.events as Obj[]).map((e) => ({
            timestamp: ts(e.timeUnixNano),
            name: e.name,
            attributes: entries(e.attributes),
            dropped_attributes_count: e.droppedAttributesCount,
          })),
          links: (s.links as Obj[]).map((l) => ({
            trace_id: l.traceId.length === 0 ? null : hex(l.traceId),
            span_id: l.spanId.length === 0 ? null : hex(l.spanId),
            trace_state: l.traceState,
            attributes: entries(l.attributes),
            flags: l.flags,
            dropped_attributes_count: l.droppedAttributesCount,
          })),
        });
      }
    }
  }
  return { tables: rows.length ? { spans: rows } : {}, rejected };
}

export function oracleLogs(bytes: Uint8Array): OracleResult {
  const req = toPlain(LogsRequest, bytes);
  const rows: Row[] = [];
  let rejected = 0;
  for (const rl of req.resourceLogs as Obj[]) {
    for (const sl of rl.scopeLogs as Obj[]) {
      const b = block(rl.resource, rl.schemaUrl, sl.scope, sl.schemaUrl);
      for (const l of sl.logRecords as Obj[]) {
        const tid = l.traceId as number[];
        const sid = l.spanId as number[];
        if ((tid.length !== 0 && tid.length !== 16) || (sid.length !== 0 && sid.length !== 8)) {
          rejected++;
          continue;
        }
        const time = BigInt(l.timeUnixNano);
        rows.push({
          ...b,
          timestamp: time === 0n ? ts(l.observedTimeUnixNano) : ts(l.timeUnixNano),
          observed_timestamp: ts(l.observedTimeUnixNano),
          trace_id: optId(tid),
          span_id: optId(sid),
          flags: l.flags,
          severity_text: l.severityText,
          severity_number: l.severityNumber,
          body: anyText(l.body),
          log_attributes: entries(l.attributes),
          event_name: l.eventName,
          dropped_attributes_count: l.droppedAttributesCount,
        });
      }
    }
  }
  return { tables: rows.length ? { logs: rows } : {}, rejected };
}

function exemplars(list: Obj[]) {
  return list.map((e) => ({
    timestamp: ts(e.timeUnixNano),
    value:
      e.value === 'asDouble' ? e.asDouble : e.value === 'asInt' ? Number(BigInt(e.asInt)) : null,
    value_int: e.value === 'asInt' ? i64(e.asInt) : null,
    span_id: optId(e.spanId),
    trace_id: optId(e.traceId),
    filtered_attributes: entries(e.filteredAttributes),
  }));
}

export function oracleMetrics(bytes: Uint8Array): OracleResult {
  const req = toPlain(MetricsRequest, bytes);
  const tables: Record<string, Row[]> = {};
  let rejected = 0;
  const push = (t: string, r: Row) => {
    const rows = tables[t] ?? [];
    rows.push(r);
    tables[t] = rows;
  };
  for (const rm of req.resourceMetrics as Obj[]) {
    for (const sm of rm.scopeMetrics as Obj[]) {
      const b = block(rm.resource, rm.schemaUrl, sm.scope, sm.schemaUrl);
      for (const m of sm.metrics as Obj[]) {
        const kind = m.data as string | undefined;
        if (!kind) continue;
        const data = m[kind] as Obj;
        const points = data.dataPoints as Obj[];
        if (m.name === '') {
          rejected += points.length;
          continue;
        }
        const shared = (p: Obj) => ({
          ...b,
          metric_name: m.name,
          metric_description: m.description,
          metric_unit: m.unit,
          attributes: entries(p.attributes),
          start_timestamp: BigInt(p.startTimeUnixNano) === 0n ? null : ts(p.startTimeUnixNano),
          timestamp: ts(p.timeUnixNano),
        });
        for (const p of points) {
          if (kind === 'gauge' || kind === 'sum') {
            const row: Row = {
              ...shared(p),
              value:
                p.value === 'asDouble'
                  ? p.asDouble
                  : p.value === 'asInt'
                    ? Number(BigInt(p.asInt))
                    : null,
              value_int: p.value === 'asInt' ? i64(p.asInt) : null,
              flags: p.flags,
              exemplars: exemplars(p.exemplars),
            };
            if (kind === 'sum') {
              row.aggregation_temporality = data.aggregationTemporality;
              row.is_monotonic = data.isMonotonic;
            }
            push(kind === 'sum' ? 'metrics_sum' : 'metrics_gauge', row);
          } else if (kind === 'histogram') {
            const counts = p.bucketCounts as string[];
            const bounds = p.explicitBounds as number[];
            if (counts.length !== 0 && counts.length !== bounds.length + 1) {
              rejected++;
              continue;
            }
            push('metrics_histogram', {
              ...shared(p),
              count: i64(p.count),
              sum: p.sum === undefined ? null : p.sum,
              min: p.min === undefined ? null : p.min,
              max: p.max === undefined ? null : p.max,
              bucket_counts: counts.map(i64),
              explicit_bounds: bounds,
              aggregation_temporality: data.aggregationTemporality,
              flags: p.flags,
              exemplars: exemplars(p.exemplars),
            });
          } else if (kind === 'exponentialHistogram') {
            push('metrics_exponential_histogram', {
              ...shared(p),
              count: i64(p.count),
              sum: p.sum === undefined ? null : p.sum,
              min: p.min === undefined ? null : p.min,
              max: p.max === undefined ? null : p.max,
              scale: p.scale,
              zero_count: i64(p.zeroCount),
              zero_threshold: p.zeroThreshold,
              positive_offset: p.positive?.offset ?? 0,
              positive_bucket_counts: ((p.positive?.bucketCounts ?? []) as string[]).map(i64),
              negative_offset: p.negative?.offset ?? 0,
              negative_bucket_counts: ((p.negative?.bucketCounts ?? []) as string[]).map(i64),
              aggregation_temporality: data.aggregationTemporality,
              flags: p.flags,
              exemplars: exemplars(p.exemplars),
            });
          } else if (kind === 'summary') {
            push('metrics_summary', {
              ...shared(p),
              count: i64(p.count),
              sum: p.sum,
              quantile_values: (p.quantileValues as Obj[]).map((q) => ({
                quantile: q.quantile,
                value: q.value,
              })),
              flags: p.flags,
            });
          }
        }
      }
    }
  }
  return { tables, rejected };
}
