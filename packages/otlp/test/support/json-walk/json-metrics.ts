import { estimateRows } from '../../../src/batch.js';
import { acquireBlockContext, type BlockContext } from '../../../src/block.js';
import { Budget, defaultOutputLimit } from '../../../src/budget.js';
import type { Int64Column } from '../../../src/col-fixed.js';
import { metricsResult } from '../../../src/result.js';
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
import {
  type ExemplarColumns,
  type ExpHistogramColumns,
  type HistogramColumns,
  MetricsTables,
  type NumberColumns,
  type SummaryColumns,
} from '../../../src/table-metrics.js';

const TEMPORALITIES: Readonly<Record<string, number>> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};
const TWO_32 = 4294967296;

/**
 * Decodes an OTLP/JSON ExportMetricsServiceRequest into the metrics tables, with the
 * same rows, rendering and validation as the protobuf decoder.
 */
export function walkMetricsJson(
  input: Uint8Array | string,
  options: DecodeOptions = {},
): DecodeResult {
  const doc = parseJsonBody(input);
  const size = input.length;
  const budget = new Budget(options.maxOutputBytes ?? defaultOutputLimit(size));
  const d = new MetricsJsonDecoder(budget, estimateRows(size, 800));
  d.run(doc);
  return metricsResult(d.tables, d.rejections);
}

const DATA_KINDS: ReadonlyArray<readonly [string, string, string]> = [
  ['gauge', 'gauge', 'gauge'],
  ['sum', 'sum', 'sum'],
  ['histogram', 'histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram', 'exponential_histogram'],
  ['summary', 'summary', 'summary'],
];

class MetricsJsonDecoder {
  readonly tables: MetricsTables;
  readonly ctx: BlockContext;
  readonly jr = new JsonReader();
  readonly rejections = new Rejections('data points');

  constructor(budget: Budget, rows: number) {
    this.tables = new MetricsTables(budget, rows);
    this.ctx = acquireBlockContext(budget);
  }

  run(doc: JsonObject): void {
    const jr = this.jr;
    const rms = jr.array(doc.resourceMetrics ?? doc.resource_metrics, 'resource_metrics');
    jr.enter('resource_metrics');
    for (let ri = 0; ri < rms.length; ri++) {
      jr.at(ri);
      const rm = jr.item(rms[ri], '');
      readJsonResource(jr, this.ctx, rm.resource, rm.schemaUrl ?? rm.schema_url);
      const sms = jr.array(rm.scopeMetrics ?? rm.scope_metrics, 'scope_metrics');
      jr.enter('scope_metrics');
      for (let si = 0; si < sms.length; si++) {
        jr.at(si);
        const sm = jr.item(sms[si], '');
        readJsonScope(jr, this.ctx, sm.scope, sm.schemaUrl ?? sm.schema_url);
        const metrics = jr.array(sm.metrics, 'metrics');
        jr.enter('metrics');
        for (let mi = 0; mi < metrics.length; mi++) {
          jr.at(mi);
          this.metric(jr.item(metrics[mi], ''));
        }
        jr.leave();
        this.tables.fillScope(this.ctx);
      }
      jr.leave();
    }
    jr.leave();
  }

  private metric(m: JsonObject): void {
    const jr = this.jr;
    let kind = -1;
    let data: JsonObject | null = null;
    for (let k = 0; k < DATA_KINDS.length; k++) {
      const [camel, snake, field] = DATA_KINDS[k]!;
      const o = jr.object(m[camel] ?? m[snake], field);
      if (o === null) continue;
      if (kind >= 0) jr.fail('', 'Metric has more than one data field set');
      kind = k;
      data = o;
    }
    const name = jr.string(m.name, 'name');
    const description = jr.string(m.description, 'description');
    const unit = jr.string(m.unit, 'unit');
    jr.array(m.metadata, 'metadata'); // not stored; type-checked only
    if (data === null) return;
    const dataField = DATA_KINDS[kind]![2];
    const points = jr.array(data.dataPoints ?? data.data_points, `${dataField}.data_points`);
    jr.enter(dataField);
    jr.enter('data_points');
    if (name === '') {
      if (points.length > 0) {
        jr.at(0);
        this.rejections.add('metric name must not be empty', () => jr.location(''), points.length);
      }
      jr.leave();
      jr.leave();
      return;
    }
    const temporality =
      kind >= 1 && kind <= 3
        ? jr.enumValue(
            data.aggregationTemporality ?? data.aggregation_temporality,
            TEMPORALITIES,
            'aggregation_temporality',
          )
        : 0;
    const monotonic =
      kind === 1 ? jr.bool(data.isMonotonic ?? data.is_monotonic, 'is_monotonic') : false;
    const t = this.tables;
    const table =
      kind === 0
        ? t.gauge
        : kind === 1
          ? t.sum
          : kind === 2
            ? t.histogram
            : kind === 3
              ? t.exponentialHistogram
              : t.summary;
    table.setMetricStrings(name, description, unit);
    for (let pi = 0; pi < points.length; pi++) {
      jr.at(pi);
      const p = jr.item(points[pi], '');
      if (kind <= 1) this.numberPoint(table as NumberColumns, p, temporality, monotonic);
      else if (kind === 2) this.histogramPoint(table as HistogramColumns, p, temporality);
      else if (kind === 3) this.expPoint(table as ExpHistogramColumns, p, temporality);
      else this.summaryPoint(table as SummaryColumns, p);
    }
    jr.leave();
    jr.leave();
  }

  /** Reads start/time into [sLo, sHi, tLo, tHi]. */
  private times(p: JsonObject, out: Int32Array): void {
    const jr = this.jr;
    jr.u64(p.startTimeUnixNano ?? p.start_time_unix_nano, 'start_time_unix_nano');
    out[0] = jr.lo;
    out[1] = jr.hi;
    jr.u64(p.timeUnixNano ?? p.time_unix_nano, 'time_unix_nano');
    out[2] = jr.lo;
    out[3] = jr.hi;
  }

  private readonly ts = new Int32Array(4);

  private numberPoint(
    t: NumberColumns,
    p: JsonObject,
    temporality: number,
    monotonic: boolean,
  ): void {
    const jr = this.jr;
    const ts = this.ts;
    this.times(p, ts);
    const asDouble = p.asDouble ?? p.as_double;
    const asInt = p.asInt ?? p.as_int;
    if (asDouble != null && asInt != null) jr.fail('', 'both as_double and as_int are set');
    const flags = jr.uint32(p.flags, 'flags');
    readJsonAttributes(jr, t.attributes, p.attributes, 'attributes');
    t.appendPoint(ts[0]!, ts[1]!, ts[2]!, ts[3]!, flags);
    if (asDouble != null) {
      t.value.append(jr.double(asDouble, 'as_double'));
      t.valueInt.appendNull();
    } else if (asInt != null) {
      jr.i64(asInt, 'as_int');
      t.value.append(jr.hi * TWO_32 + (jr.lo >>> 0));
      t.valueInt.append(jr.lo, jr.hi);
    } else {
      t.value.appendNull();
      t.valueInt.appendNull();
    }
    this.exemplars(t.exemplars, p.exemplars);
    if (t.table === 'metrics_sum') {
      t.temporality.append(temporality);
      t.monotonic.append(monotonic);
    }
  }

  private histogramPoint(t: HistogramColumns, p: JsonObject, temporality: number): void {
    const jr = this.jr;
    const ts = this.ts;
    const counts = jr.array(p.bucketCounts ?? p.bucket_counts, 'bucket_counts');
    const bounds = jr.array(p.explicitBounds ?? p.explicit_bounds, 'explicit_bounds');
    if (counts.length !== 0 && counts.length !== bounds.length + 1) {
      this.rejections.add('bucket_counts must have one more entry than explicit_bounds', () =>
        jr.location(''),
      );
      return;
    }
    this.times(p, ts);
    const flags = jr.uint32(p.flags, 'flags');
    readJsonAttributes(jr, t.attributes, p.attributes, 'attributes');
    t.appendPoint(ts[0]!, ts[1]!, ts[2]!, ts[3]!, flags);
    jr.u64(p.count, 'count');
    t.count.append(jr.lo, jr.hi);
    this.optionalDouble(t.sum, p.sum, 'sum');
    this.optionalDouble(t.min, p.min, 'min');
    this.optionalDouble(t.max, p.max, 'max');
    this.u64List(t.bucketCounts.values, counts, 'bucket_counts');
    t.bucketCounts.endRow();
    for (let i = 0; i < bounds.length; i++) {
      const d = bounds[i];
      t.explicitBounds.values.append(
        typeof d === 'number' ? d : jr.double(d, `explicit_bounds[${i}]`),
      );
    }
    t.explicitBounds.endRow();
    t.temporality.append(temporality);
    this.exemplars(t.exemplars, p.exemplars);
  }

  private expPoint(t: ExpHistogramColumns, p: JsonObject, temporality: number): void {
    const jr = this.jr;
    const ts = this.ts;
    this.times(p, ts);
    const flags = jr.uint32(p.flags, 'flags');
    readJsonAttributes(jr, t.attributes, p.attributes, 'attributes');
    t.appendPoint(ts[0]!, ts[1]!, ts[2]!, ts[3]!, flags);
    jr.u64(p.count, 'count');
    t.count.append(jr.lo, jr.hi);
    this.optionalDouble(t.sum, p.sum, 'sum');
    this.optionalDouble(t.min, p.min, 'min');
    this.optionalDouble(t.max, p.max, 'max');
    t.scale.append(jr.int32(p.scale, 'scale'));
    jr.u64(p.zeroCount ?? p.zero_count, 'zero_count');
    t.zeroCount.append(jr.lo, jr.hi);
    t.zeroThreshold.append(jr.double(p.zeroThreshold ?? p.zero_threshold, 'zero_threshold'));
    const pos = jr.object(p.positive, 'positive');
    t.positiveOffset.append(pos === null ? 0 : jr.int32(pos.offset, 'positive.offset'));
    if (pos !== null) {
      const list = jr.array(pos.bucketCounts ?? pos.bucket_counts, 'positive.bucket_counts');
      this.u64List(t.positiveCounts.values, list, 'positive.bucket_counts');
    }
    t.positiveCounts.endRow();
    const neg = jr.object(p.negative, 'negative');
    t.negativeOffset.append(neg === null ? 0 : jr.int32(neg.offset, 'negative.offset'));
    if (neg !== null) {
      const list = jr.array(neg.bucketCounts ?? neg.bucket_counts, 'negative.bucket_counts');
      this.u64List(t.negativeCounts.values, list, 'negative.bucket_counts');
    }
    t.negativeCounts.endRow();
    t.temporality.append(temporality);
    this.exemplars(t.exemplars, p.exemplars);
  }

  private summaryPoint(t: SummaryColumns, p: JsonObject): void {
    const jr = this.jr;
    const ts = this.ts;
    this.times(p, ts);
    const flags = jr.uint32(p.flags, 'flags');
    readJsonAttributes(jr, t.attributes, p.attributes, 'attributes');
    t.appendPoint(ts[0]!, ts[1]!, ts[2]!, ts[3]!, flags);
    jr.u64(p.count, 'count');
    t.count.append(jr.lo, jr.hi);
    t.sum.append(jr.double(p.sum, 'sum'));
    const qs = jr.array(p.quantileValues ?? p.quantile_values, 'quantile_values');
    for (let i = 0; i < qs.length; i++) {
      const q = jr.item(qs[i], `quantile_values[${i}]`);
      t.quantile.append(jr.double(q.quantile, `quantile_values[${i}].quantile`));
      t.quantileValue.append(jr.double(q.value, `quantile_values[${i}].value`));
    }
    t.quantiles.push(t.quantile.length);
  }

  private optionalDouble(
    col: { append(v: number): void; appendNull(): void },
    v: unknown,
    field: string,
  ): void {
    if (v === undefined || v === null) col.appendNull();
    else col.append(this.jr.double(v, field));
  }

  private u64List(col: Int64Column, list: unknown[], field: string): void {
    const jr = this.jr;
    for (let i = 0; i < list.length; i++) {
      const x = list[i];
      if (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) {
        const hi = Math.floor(x / TWO_32);
        col.append((x - hi * TWO_32) | 0, hi);
      } else {
        jr.u64(x, `${field}[${i}]`);
        col.append(jr.lo, jr.hi);
      }
    }
  }

  private exemplars(x: ExemplarColumns, v: unknown): void {
    const jr = this.jr;
    const list = jr.array(v, 'exemplars');
    if (list.length > 0) jr.enter('exemplars');
    for (let i = 0; i < list.length; i++) {
      jr.at(i);
      const e = jr.item(list[i], '');
      const spanId = e.spanId ?? e.span_id;
      const traceId = e.traceId ?? e.trace_id;
      const sidLen = jr.hexIdLength(spanId, 'span_id');
      const tidLen = jr.hexIdLength(traceId, 'trace_id');
      const asDouble = e.asDouble ?? e.as_double;
      const asInt = e.asInt ?? e.as_int;
      if (asDouble != null && asInt != null) jr.fail('', 'both as_double and as_int are set');
      jr.u64(e.timeUnixNano ?? e.time_unix_nano, 'time_unix_nano');
      x.timestamp.append(jr.lo, jr.hi);
      if (asDouble != null) {
        x.value.append(jr.double(asDouble, 'as_double'));
        x.valueInt.appendNull();
      } else if (asInt != null) {
        jr.i64(asInt, 'as_int');
        x.value.append(jr.hi * TWO_32 + (jr.lo >>> 0));
        x.valueInt.append(jr.lo, jr.hi);
      } else {
        x.value.appendNull();
        x.valueInt.appendNull();
      }
      if (sidLen === 0 || isZeroHex(spanId as string)) x.spanId.appendNull();
      else jr.appendHexLower(x.spanId, spanId as string, 'span_id');
      if (tidLen === 0 || isZeroHex(traceId as string)) x.traceId.appendNull();
      else jr.appendHexLower(x.traceId, traceId as string, 'trace_id');
      readJsonAttributes(
        jr,
        x.attributes,
        e.filteredAttributes ?? e.filtered_attributes,
        'filtered_attributes',
      );
      x.attributes.endRow();
    }
    if (list.length > 0) jr.leave();
    x.endRow();
  }
}
