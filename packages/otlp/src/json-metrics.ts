import { estimateRows } from './batch.js';
import type { Float64Column, Int32Column, Int64Column } from './col-fixed.js';
import { readAttributes } from './json-any.js';
import {
  K_AS_DOUBLE,
  K_AS_DOUBLE_,
  K_AS_INT,
  K_AS_INT_,
  K_ATTRIBUTES,
  K_BUCKET_COUNTS,
  K_BUCKET_COUNTS_,
  K_COUNT,
  K_DATA_POINTS,
  K_DATA_POINTS_,
  K_DESCRIPTION,
  K_EXEMPLARS,
  K_EXP_HISTOGRAM,
  K_EXP_HISTOGRAM_,
  K_EXPLICIT_BOUNDS,
  K_EXPLICIT_BOUNDS_,
  K_FILTERED_ATTRIBUTES,
  K_FILTERED_ATTRIBUTES_,
  K_FLAGS,
  K_GAUGE,
  K_HISTOGRAM,
  K_MAX,
  K_METADATA,
  K_METRICS,
  K_MIN,
  K_MONOTONIC,
  K_MONOTONIC_,
  K_NAME,
  K_NEGATIVE,
  K_OFFSET,
  K_POSITIVE,
  K_QUANTILE,
  K_QUANTILE_VALUES,
  K_QUANTILE_VALUES_,
  K_RESOURCE_METRICS,
  K_RESOURCE_METRICS_,
  K_SCALE,
  K_SCOPE_METRICS,
  K_SCOPE_METRICS_,
  K_SPAN_ID,
  K_SPAN_ID_,
  K_START_TIME,
  K_START_TIME_,
  K_SUM,
  K_SUMMARY,
  K_TEMPORALITY,
  K_TEMPORALITY_,
  K_TIME,
  K_TIME_,
  K_TRACE_ID,
  K_TRACE_ID_,
  K_UNIT,
  K_VALUE,
  K_ZERO_COUNT,
  K_ZERO_COUNT_,
  K_ZERO_THRESHOLD,
  K_ZERO_THRESHOLD_,
  KEY_IDS,
} from './json-keys.js';
import { JsonRequestDecoder, type JsonRequestShape } from './json-request.js';
import { KIND_MASK, T_NUMBER } from './json-tape.js';
import { type DecodeOptions, type DecodeResult, metricsResult } from './result.js';
import {
  appendNumberValue,
  type ExemplarColumns,
  type ExpHistogramColumns,
  type HistogramBaseColumns,
  type HistogramColumns,
  type Int64ListColumn,
  KIND_EXP_HISTOGRAM,
  KIND_FIELDS,
  KIND_GAUGE,
  KIND_HISTOGRAM,
  KIND_SUM,
  type MetricColumns,
  MetricsTables,
  type NumberColumns,
  type SummaryColumns,
} from './table-metrics.js';

const TEMPORALITIES: Readonly<Record<string, number>> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

/** Paths of an exponential histogram's Buckets fields. */
interface BucketsFields {
  readonly name: string;
  readonly offset: string;
  readonly counts: string;
}
const POSITIVE: BucketsFields = {
  name: 'positive',
  offset: 'positive.offset',
  counts: 'positive.bucket_counts',
};
const NEGATIVE: BucketsFields = {
  name: 'negative',
  offset: 'negative.offset',
  counts: 'negative.bucket_counts',
};

/**
 * Decodes an OTLP/JSON ExportMetricsServiceRequest (UTF-8 bytes, or a string) into the
 * metrics tables, with the same rows, rendering and validation as the protobuf decoder.
 */
export function decodeMetricsJson(
  input: Uint8Array | string,
  options: DecodeOptions = {},
): DecodeResult {
  const d = new MetricsJsonDecoder(input, options);
  d.run();
  return metricsResult(d.tables, d.rejections);
}

const METRICS_REQUEST: JsonRequestShape = {
  resources: K_RESOURCE_METRICS,
  resources_: K_RESOURCE_METRICS_,
  resourcesField: 'resource_metrics',
  scopes: K_SCOPE_METRICS,
  scopes_: K_SCOPE_METRICS_,
  scopesField: 'scope_metrics',
  items: K_METRICS,
  items_: -1,
  itemsField: 'metrics',
};

class MetricsJsonDecoder extends JsonRequestDecoder {
  readonly tables: MetricsTables;
  /** start lo/hi, time lo/hi of the current point. */
  private readonly ts = new Int32Array(4);
  /** Members by key id (JsonReader.members) of the current metric, point and exemplar. */
  private readonly metricMembers = new Int32Array(KEY_IDS);
  private readonly pointMembers = new Int32Array(KEY_IDS);
  private readonly exemplarMembers = new Int32Array(KEY_IDS);

  constructor(input: Uint8Array | string, options: DecodeOptions) {
    super(input, options, METRICS_REQUEST, 'data points');
    this.tables = new MetricsTables(this.budget, estimateRows(input.length, 800));
  }

  protected endScope(): void {
    this.tables.fillScope(this.ctx);
  }

  /** Decodes the Metric at tape index `mo` (all its data points). */
  protected item(mo: number): void {
    const r = this.r;
    const tape = r.tape;
    const m = r.members(mo, this.metricMembers);
    const name = m[K_NAME]!;
    const description = m[K_DESCRIPTION]!;
    const unit = m[K_UNIT]!;
    const kinds = [
      m[K_GAUGE]!,
      m[K_SUM]!,
      m[K_HISTOGRAM]!,
      r.or(m[K_EXP_HISTOGRAM]!, m[K_EXP_HISTOGRAM_]!),
      m[K_SUMMARY]!,
    ];
    let kind = -1;
    let data = -1;
    for (let k = 0; k < kinds.length; k++) {
      const o = r.object(kinds[k]!, KIND_FIELDS[k]!);
      if (o < 0) continue;
      if (kind >= 0) r.fail('', 'Metric has more than one data field set');
      kind = k;
      data = o;
    }
    const nameForm = r.stringForm(name, 'name');
    r.stringForm(description, 'description');
    r.stringForm(unit, 'unit');
    r.array(m[K_METADATA]!, 'metadata'); // not stored; type-checked only
    if (data < 0) return;
    const dataField = KIND_FIELDS[kind]!;
    const points = r.or(r.member(data, K_DATA_POINTS), r.member(data, K_DATA_POINTS_));
    const np = r.array(points, `${dataField}.data_points`);
    r.enter(dataField);
    r.enter('data_points');
    // An escaped string is never empty.
    if (nameForm === 0 || (nameForm === 1 && tape[name + 1] === tape[name + 2])) {
      if (np > 0) {
        r.at(0);
        this.rejections.add('metric name must not be empty', () => r.location(''), np);
      }
      r.leave();
      r.leave();
      return;
    }
    const temporality =
      kind === KIND_SUM || kind === KIND_HISTOGRAM || kind === KIND_EXP_HISTOGRAM
        ? r.enumValue(
            r.or(r.member(data, K_TEMPORALITY), r.member(data, K_TEMPORALITY_)),
            TEMPORALITIES,
            'aggregation_temporality',
          )
        : 0;
    const monotonic =
      kind === KIND_SUM
        ? r.bool(r.or(r.member(data, K_MONOTONIC), r.member(data, K_MONOTONIC_)), 'is_monotonic')
        : false;
    const table = this.tables.ofKind(kind);
    table.nameIdx = r.dictString(table.metricName, name, 'name');
    table.descIdx = r.dictString(table.metricDescription, description, 'description');
    table.unitIdx = r.dictString(table.metricUnit, unit, 'unit');
    const pm = this.pointMembers;
    for (let pi = 0, p = points + 3; pi < np; pi++, p = r.next(p)) {
      r.at(pi);
      r.item(p, '');
      r.members(p, pm);
      if (kind === KIND_GAUGE || kind === KIND_SUM) {
        this.numberPoint(table as NumberColumns, pm, temporality, monotonic);
      } else if (kind === KIND_HISTOGRAM) {
        this.histogramPoint(table as HistogramColumns, pm, temporality);
      } else if (kind === KIND_EXP_HISTOGRAM) {
        this.expPoint(table as ExpHistogramColumns, pm, temporality);
      } else {
        this.summaryPoint(table as SummaryColumns, pm);
      }
    }
    r.leave();
    r.leave();
  }

  // Data points: `m` holds the point's members by key id. What the kinds share is read
  // by `times` + `appendPoint` (all), `stats` (histograms), `value` and `exemplars`
  // (numbers, exemplars); the order of the reads is the order of the error checks.

  /** Reads start/time into `ts` ([sLo, sHi, tLo, tHi]). */
  private times(m: Int32Array): void {
    const r = this.r;
    const ts = this.ts;
    r.u64(r.or(m[K_START_TIME]!, m[K_START_TIME_]!), 'start_time_unix_nano');
    ts[0] = r.lo;
    ts[1] = r.hi;
    r.u64(r.or(m[K_TIME]!, m[K_TIME_]!), 'time_unix_nano');
    ts[2] = r.lo;
    ts[3] = r.hi;
  }

  /** Reads flags and attributes and appends the shared columns of the point (after `times`). */
  private appendPoint(t: MetricColumns, m: Int32Array): void {
    const r = this.r;
    const ts = this.ts;
    const flags = r.uint32(m[K_FLAGS]!, 'flags');
    readAttributes(r, t.attributes, m[K_ATTRIBUTES]!, 'attributes');
    t.appendPoint(ts[0]!, ts[1]!, ts[2]!, ts[3]!, flags);
  }

  /** count, then the optional sum, min and max of a histogram point. */
  private stats(t: HistogramBaseColumns, m: Int32Array): void {
    this.u64(t.count, m[K_COUNT]!, 'count');
    this.optionalDouble(t.sum, m[K_SUM]!, 'sum');
    this.optionalDouble(t.min, m[K_MIN]!, 'min');
    this.optionalDouble(t.max, m[K_MAX]!, 'max');
  }

  /** Fails when both members of the value oneof are set. */
  private oneValue(asDouble: number, asInt: number): void {
    const r = this.r;
    if (r.isSet(asDouble) && r.isSet(asInt)) r.fail('', 'both as_double and as_int are set');
  }

  /** Appends the value of a number point or an exemplar (after `oneValue`). */
  private value(
    value: Float64Column,
    valueInt: Int64Column,
    asDouble: number,
    asInt: number,
  ): void {
    const r = this.r;
    if (r.isSet(asDouble)) {
      appendNumberValue(value, valueInt, 1, r.double(asDouble, 'as_double'), 0, 0);
    } else if (r.isSet(asInt)) {
      r.i64(asInt, 'as_int');
      appendNumberValue(value, valueInt, 2, 0, r.lo, r.hi);
    } else {
      appendNumberValue(value, valueInt, 0, 0, 0, 0);
    }
  }

  private numberPoint(
    t: NumberColumns,
    m: Int32Array,
    temporality: number,
    monotonic: boolean,
  ): void {
    const r = this.r;
    this.times(m);
    const asDouble = r.or(m[K_AS_DOUBLE]!, m[K_AS_DOUBLE_]!);
    const asInt = r.or(m[K_AS_INT]!, m[K_AS_INT_]!);
    this.oneValue(asDouble, asInt);
    this.appendPoint(t, m);
    this.value(t.value, t.valueInt, asDouble, asInt);
    this.exemplars(t.exemplars, m[K_EXEMPLARS]!);
    if (t.table === 'metrics_sum') {
      t.temporality.append(temporality);
      t.monotonic.append(monotonic);
    }
  }

  private histogramPoint(t: HistogramColumns, m: Int32Array, temporality: number): void {
    const r = this.r;
    const tape = r.tape;
    const counts = r.or(m[K_BUCKET_COUNTS]!, m[K_BUCKET_COUNTS_]!);
    const bounds = r.or(m[K_EXPLICIT_BOUNDS]!, m[K_EXPLICIT_BOUNDS_]!);
    const nc = r.array(counts, 'bucket_counts');
    const nb = r.array(bounds, 'explicit_bounds');
    if (nc !== 0 && nc !== nb + 1) {
      this.rejections.add('bucket_counts must have one more entry than explicit_bounds', () =>
        r.location(''),
      );
      return;
    }
    this.times(m);
    this.appendPoint(t, m);
    this.stats(t, m);
    this.u64List(t.bucketCounts.values, counts, nc, 'bucket_counts');
    t.bucketCounts.endRow();
    if (nb > 0) {
      r.enter('explicit_bounds');
      const values = t.explicitBounds.values;
      for (let i = 0, e = bounds + 3; i < nb; i++, e = r.next(e)) {
        r.at(i);
        values.append((tape[e]! & KIND_MASK) === T_NUMBER ? r.numberValue(e) : r.double(e, ''));
      }
      r.leave();
    }
    t.explicitBounds.endRow();
    t.temporality.append(temporality);
    this.exemplars(t.exemplars, m[K_EXEMPLARS]!);
  }

  private expPoint(t: ExpHistogramColumns, m: Int32Array, temporality: number): void {
    const r = this.r;
    this.times(m);
    this.appendPoint(t, m);
    this.stats(t, m);
    t.scale.append(r.int32(m[K_SCALE]!, 'scale'));
    this.u64(t.zeroCount, r.or(m[K_ZERO_COUNT]!, m[K_ZERO_COUNT_]!), 'zero_count');
    t.zeroThreshold.append(
      r.double(r.or(m[K_ZERO_THRESHOLD]!, m[K_ZERO_THRESHOLD_]!), 'zero_threshold'),
    );
    this.buckets(t.positiveOffset, t.positiveCounts, m[K_POSITIVE]!, POSITIVE);
    this.buckets(t.negativeOffset, t.negativeCounts, m[K_NEGATIVE]!, NEGATIVE);
    t.temporality.append(temporality);
    this.exemplars(t.exemplars, m[K_EXEMPLARS]!);
  }

  private summaryPoint(t: SummaryColumns, m: Int32Array): void {
    const r = this.r;
    this.times(m);
    this.appendPoint(t, m);
    this.u64(t.count, m[K_COUNT]!, 'count');
    t.sum.append(r.double(m[K_SUM]!, 'sum'));
    const qs = r.or(m[K_QUANTILE_VALUES]!, m[K_QUANTILE_VALUES_]!);
    const n = r.array(qs, 'quantile_values');
    if (n > 0) {
      r.enter('quantile_values');
      for (let i = 0, q = qs + 3; i < n; i++, q = r.next(q)) {
        r.at(i);
        r.item(q, '');
        t.quantile.append(r.double(r.member(q, K_QUANTILE), 'quantile'));
        t.quantileValue.append(r.double(r.member(q, K_VALUE), 'value'));
      }
      r.leave();
    }
    t.quantiles.push(t.quantile.length);
  }

  /** An exponential histogram's Buckets (`v`, -1 when absent): offset and counts. */
  private buckets(offset: Int32Column, counts: Int64ListColumn, v: number, f: BucketsFields): void {
    const r = this.r;
    const o = r.object(v, f.name);
    offset.append(o < 0 ? 0 : r.int32(r.member(o, K_OFFSET), f.offset));
    if (o >= 0) {
      const list = r.or(r.member(o, K_BUCKET_COUNTS), r.member(o, K_BUCKET_COUNTS_));
      const n = r.array(list, f.counts);
      this.u64List(counts.values, list, n, f.counts);
    }
    counts.endRow();
  }

  private u64(col: Int64Column, v: number, field: string): void {
    const r = this.r;
    r.u64(v, field);
    col.append(r.lo, r.hi);
  }

  private optionalDouble(col: Float64Column, v: number, field: string): void {
    if (this.r.isSet(v)) col.append(this.r.double(v, field));
    else col.appendNull();
  }

  /** Appends the `n` uint64 elements of array `list` to `col`. */
  private u64List(col: Int64Column, list: number, n: number, field: string): void {
    if (n === 0) return;
    const r = this.r;
    r.enter(field);
    for (let i = 0, e = list + 3; i < n; i++, e = r.next(e)) {
      r.at(i);
      r.u64(e, '');
      col.append(r.lo, r.hi);
    }
    r.leave();
  }

  private exemplars(x: ExemplarColumns, v: number): void {
    const r = this.r;
    const n = r.array(v, 'exemplars');
    if (n > 0) r.enter('exemplars');
    for (let i = 0, e = v + 3; i < n; i++, e = r.next(e)) {
      r.at(i);
      r.item(e, '');
      const m = r.members(e, this.exemplarMembers);
      const spanId = r.or(m[K_SPAN_ID]!, m[K_SPAN_ID_]!);
      const traceId = r.or(m[K_TRACE_ID]!, m[K_TRACE_ID_]!);
      const sidLen = r.hexIdLength(spanId, 'span_id');
      const tidLen = r.hexIdLength(traceId, 'trace_id');
      const asDouble = r.or(m[K_AS_DOUBLE]!, m[K_AS_DOUBLE_]!);
      const asInt = r.or(m[K_AS_INT]!, m[K_AS_INT_]!);
      this.oneValue(asDouble, asInt);
      this.u64(x.timestamp, r.or(m[K_TIME]!, m[K_TIME_]!), 'time_unix_nano');
      this.value(x.value, x.valueInt, asDouble, asInt);
      if (sidLen === 0 || r.isZeroHex(spanId)) x.spanId.appendNull();
      else r.appendHexLower(x.spanId, spanId, 'span_id');
      if (tidLen === 0 || r.isZeroHex(traceId)) x.traceId.appendNull();
      else r.appendHexLower(x.traceId, traceId, 'trace_id');
      const filtered = r.or(m[K_FILTERED_ATTRIBUTES]!, m[K_FILTERED_ATTRIBUTES_]!);
      readAttributes(r, x.attributes, filtered, 'filtered_attributes');
      x.attributes.endRow();
    }
    if (n > 0) r.leave();
    x.endRow();
  }
}
