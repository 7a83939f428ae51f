import { estimateRows } from './batch.js';
import type { Float64Column, Int64Column } from './col-fixed.js';
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
} from './json-keys.js';
import { JsonRequestDecoder, type JsonRequestShape } from './json-request.js';
import { KEY_SHIFT, KIND_MASK, T_ARRAY, T_NUMBER } from './json-tape.js';
import { type DecodeOptions, type DecodeResult, metricsResult } from './result.js';
import {
  type ExemplarColumns,
  type ExpHistogramColumns,
  type HistogramColumns,
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
const TWO_32 = 4294967296;

/** Field names of the Metric data kinds, in kind order (for paths). */
const DATA_FIELDS = ['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary'];

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

  constructor(input: Uint8Array | string, options: DecodeOptions) {
    super(input, options, METRICS_REQUEST, 'data points');
    this.tables = new MetricsTables(this.budget, estimateRows(input.length, 800));
  }

  protected endScope(): void {
    this.tables.fillScope(this.ctx);
  }

  /** Decodes the Metric at tape index `m` (all its data points). */
  protected item(m: number): void {
    const r = this.r;
    const tape = r.tape;
    let name = -1;
    let description = -1;
    let unit = -1;
    let metadata = -1;
    let gauge = -1;
    let sum = -1;
    let histogram = -1;
    let expC = -1;
    let expS = -1;
    let summary = -1;
    for (let i = 0, n = tape[m + 1]!, x = m + 3; i < n; i++) {
      switch (tape[x]! >>> KEY_SHIFT) {
        case K_NAME:
          name = x;
          break;
        case K_DESCRIPTION:
          description = x;
          break;
        case K_UNIT:
          unit = x;
          break;
        case K_METADATA:
          metadata = x;
          break;
        case K_GAUGE:
          gauge = x;
          break;
        case K_SUM:
          sum = x;
          break;
        case K_HISTOGRAM:
          histogram = x;
          break;
        case K_EXP_HISTOGRAM:
          expC = x;
          break;
        case K_EXP_HISTOGRAM_:
          expS = x;
          break;
        case K_SUMMARY:
          summary = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    const kinds = [gauge, sum, histogram, r.or(expC, expS), summary];
    let kind = -1;
    let data = -1;
    for (let k = 0; k < kinds.length; k++) {
      const o = r.object(kinds[k]!, DATA_FIELDS[k]!);
      if (o < 0) continue;
      if (kind >= 0) r.fail('', 'Metric has more than one data field set');
      kind = k;
      data = o;
    }
    const nameForm = r.stringForm(name, 'name');
    r.stringForm(description, 'description');
    r.stringForm(unit, 'unit');
    r.array(metadata, 'metadata'); // not stored; type-checked only
    if (data < 0) return;
    const dataField = DATA_FIELDS[kind]!;
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
      kind >= 1 && kind <= 3
        ? r.enumValue(
            r.or(r.member(data, K_TEMPORALITY), r.member(data, K_TEMPORALITY_)),
            TEMPORALITIES,
            'aggregation_temporality',
          )
        : 0;
    const monotonic =
      kind === 1
        ? r.bool(r.or(r.member(data, K_MONOTONIC), r.member(data, K_MONOTONIC_)), 'is_monotonic')
        : false;
    const t = this.tables;
    const table: MetricColumns =
      kind === 0
        ? t.gauge
        : kind === 1
          ? t.sum
          : kind === 2
            ? t.histogram
            : kind === 3
              ? t.exponentialHistogram
              : t.summary;
    table.nameIdx = r.dictString(table.metricName, name, 'name');
    table.descIdx = r.dictString(table.metricDescription, description, 'description');
    table.unitIdx = r.dictString(table.metricUnit, unit, 'unit');
    for (let pi = 0, p = points + 3; pi < np; pi++, p = r.next(p)) {
      r.at(pi);
      r.item(p, '');
      if (kind <= 1) this.numberPoint(table as NumberColumns, p, temporality, monotonic);
      else if (kind === 2) this.histogramPoint(table as HistogramColumns, p, temporality);
      else if (kind === 3) this.expPoint(table as ExpHistogramColumns, p, temporality);
      else this.summaryPoint(table as SummaryColumns, p);
    }
    r.leave();
    r.leave();
  }

  /** Reads start/time into `ts` ([sLo, sHi, tLo, tHi]). */
  private times(startC: number, startS: number, timeC: number, timeS: number): void {
    const r = this.r;
    const ts = this.ts;
    r.u64(r.or(startC, startS), 'start_time_unix_nano');
    ts[0] = r.lo;
    ts[1] = r.hi;
    r.u64(r.or(timeC, timeS), 'time_unix_nano');
    ts[2] = r.lo;
    ts[3] = r.hi;
  }

  private numberPoint(t: NumberColumns, p: number, temporality: number, monotonic: boolean): void {
    const r = this.r;
    const tape = r.tape;
    const ts = this.ts;
    let startC = -1;
    let startS = -1;
    let timeC = -1;
    let timeS = -1;
    let asDoubleC = -1;
    let asDoubleS = -1;
    let asIntC = -1;
    let asIntS = -1;
    let flags = -1;
    let attributes = -1;
    let exemplars = -1;
    for (let i = 0, n = tape[p + 1]!, x = p + 3; i < n; i++) {
      switch (tape[x]! >>> KEY_SHIFT) {
        case K_START_TIME:
          startC = x;
          break;
        case K_START_TIME_:
          startS = x;
          break;
        case K_TIME:
          timeC = x;
          break;
        case K_TIME_:
          timeS = x;
          break;
        case K_AS_DOUBLE:
          asDoubleC = x;
          break;
        case K_AS_DOUBLE_:
          asDoubleS = x;
          break;
        case K_AS_INT:
          asIntC = x;
          break;
        case K_AS_INT_:
          asIntS = x;
          break;
        case K_FLAGS:
          flags = x;
          break;
        case K_ATTRIBUTES:
          attributes = x;
          break;
        case K_EXEMPLARS:
          exemplars = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    this.times(startC, startS, timeC, timeS);
    const asDouble = r.or(asDoubleC, asDoubleS);
    const asInt = r.or(asIntC, asIntS);
    if (r.isSet(asDouble) && r.isSet(asInt)) r.fail('', 'both as_double and as_int are set');
    const f = r.uint32(flags, 'flags');
    readAttributes(r, t.attributes, attributes, 'attributes');
    t.appendPoint(ts[0]!, ts[1]!, ts[2]!, ts[3]!, f);
    if (r.isSet(asDouble)) {
      t.value.append(r.double(asDouble, 'as_double'));
      t.valueInt.appendNull();
    } else if (r.isSet(asInt)) {
      r.i64(asInt, 'as_int');
      t.value.append(r.hi * TWO_32 + (r.lo >>> 0));
      t.valueInt.append(r.lo, r.hi);
    } else {
      t.value.appendNull();
      t.valueInt.appendNull();
    }
    this.exemplars(t.exemplars, exemplars);
    if (t.table === 'metrics_sum') {
      t.temporality.append(temporality);
      t.monotonic.append(monotonic);
    }
  }

  private histogramPoint(t: HistogramColumns, p: number, temporality: number): void {
    const r = this.r;
    const tape = r.tape;
    const ts = this.ts;
    let startC = -1;
    let startS = -1;
    let timeC = -1;
    let timeS = -1;
    let flags = -1;
    let attributes = -1;
    let exemplars = -1;
    let count = -1;
    let sum = -1;
    let min = -1;
    let max = -1;
    let countsC = -1;
    let countsS = -1;
    let boundsC = -1;
    let boundsS = -1;
    for (let i = 0, n = tape[p + 1]!, x = p + 3; i < n; i++) {
      switch (tape[x]! >>> KEY_SHIFT) {
        case K_START_TIME:
          startC = x;
          break;
        case K_START_TIME_:
          startS = x;
          break;
        case K_TIME:
          timeC = x;
          break;
        case K_TIME_:
          timeS = x;
          break;
        case K_FLAGS:
          flags = x;
          break;
        case K_ATTRIBUTES:
          attributes = x;
          break;
        case K_EXEMPLARS:
          exemplars = x;
          break;
        case K_COUNT:
          count = x;
          break;
        case K_SUM:
          sum = x;
          break;
        case K_MIN:
          min = x;
          break;
        case K_MAX:
          max = x;
          break;
        case K_BUCKET_COUNTS:
          countsC = x;
          break;
        case K_BUCKET_COUNTS_:
          countsS = x;
          break;
        case K_EXPLICIT_BOUNDS:
          boundsC = x;
          break;
        case K_EXPLICIT_BOUNDS_:
          boundsS = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    const counts = r.or(countsC, countsS);
    const bounds = r.or(boundsC, boundsS);
    const nc = r.array(counts, 'bucket_counts');
    const nb = r.array(bounds, 'explicit_bounds');
    if (nc !== 0 && nc !== nb + 1) {
      this.rejections.add('bucket_counts must have one more entry than explicit_bounds', () =>
        r.location(''),
      );
      return;
    }
    this.times(startC, startS, timeC, timeS);
    const f = r.uint32(flags, 'flags');
    readAttributes(r, t.attributes, attributes, 'attributes');
    t.appendPoint(ts[0]!, ts[1]!, ts[2]!, ts[3]!, f);
    r.u64(count, 'count');
    t.count.append(r.lo, r.hi);
    this.optionalDouble(t.sum, sum, 'sum');
    this.optionalDouble(t.min, min, 'min');
    this.optionalDouble(t.max, max, 'max');
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
    this.exemplars(t.exemplars, exemplars);
  }

  private expPoint(t: ExpHistogramColumns, p: number, temporality: number): void {
    const r = this.r;
    const tape = r.tape;
    const ts = this.ts;
    let startC = -1;
    let startS = -1;
    let timeC = -1;
    let timeS = -1;
    let flags = -1;
    let attributes = -1;
    let exemplars = -1;
    let count = -1;
    let sum = -1;
    let min = -1;
    let max = -1;
    let scale = -1;
    let zeroCountC = -1;
    let zeroCountS = -1;
    let zeroThresholdC = -1;
    let zeroThresholdS = -1;
    let positive = -1;
    let negative = -1;
    for (let i = 0, n = tape[p + 1]!, x = p + 3; i < n; i++) {
      switch (tape[x]! >>> KEY_SHIFT) {
        case K_START_TIME:
          startC = x;
          break;
        case K_START_TIME_:
          startS = x;
          break;
        case K_TIME:
          timeC = x;
          break;
        case K_TIME_:
          timeS = x;
          break;
        case K_FLAGS:
          flags = x;
          break;
        case K_ATTRIBUTES:
          attributes = x;
          break;
        case K_EXEMPLARS:
          exemplars = x;
          break;
        case K_COUNT:
          count = x;
          break;
        case K_SUM:
          sum = x;
          break;
        case K_MIN:
          min = x;
          break;
        case K_MAX:
          max = x;
          break;
        case K_SCALE:
          scale = x;
          break;
        case K_ZERO_COUNT:
          zeroCountC = x;
          break;
        case K_ZERO_COUNT_:
          zeroCountS = x;
          break;
        case K_ZERO_THRESHOLD:
          zeroThresholdC = x;
          break;
        case K_ZERO_THRESHOLD_:
          zeroThresholdS = x;
          break;
        case K_POSITIVE:
          positive = x;
          break;
        case K_NEGATIVE:
          negative = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    this.times(startC, startS, timeC, timeS);
    const f = r.uint32(flags, 'flags');
    readAttributes(r, t.attributes, attributes, 'attributes');
    t.appendPoint(ts[0]!, ts[1]!, ts[2]!, ts[3]!, f);
    r.u64(count, 'count');
    t.count.append(r.lo, r.hi);
    this.optionalDouble(t.sum, sum, 'sum');
    this.optionalDouble(t.min, min, 'min');
    this.optionalDouble(t.max, max, 'max');
    t.scale.append(r.int32(scale, 'scale'));
    r.u64(r.or(zeroCountC, zeroCountS), 'zero_count');
    t.zeroCount.append(r.lo, r.hi);
    t.zeroThreshold.append(r.double(r.or(zeroThresholdC, zeroThresholdS), 'zero_threshold'));
    const pos = r.object(positive, 'positive');
    t.positiveOffset.append(pos < 0 ? 0 : r.int32(r.member(pos, K_OFFSET), 'positive.offset'));
    if (pos >= 0) {
      const list = r.or(r.member(pos, K_BUCKET_COUNTS), r.member(pos, K_BUCKET_COUNTS_));
      const n = r.array(list, 'positive.bucket_counts');
      this.u64List(t.positiveCounts.values, list, n, 'positive.bucket_counts');
    }
    t.positiveCounts.endRow();
    const neg = r.object(negative, 'negative');
    t.negativeOffset.append(neg < 0 ? 0 : r.int32(r.member(neg, K_OFFSET), 'negative.offset'));
    if (neg >= 0) {
      const list = r.or(r.member(neg, K_BUCKET_COUNTS), r.member(neg, K_BUCKET_COUNTS_));
      const n = r.array(list, 'negative.bucket_counts');
      this.u64List(t.negativeCounts.values, list, n, 'negative.bucket_counts');
    }
    t.negativeCounts.endRow();
    t.temporality.append(temporality);
    this.exemplars(t.exemplars, exemplars);
  }

  private summaryPoint(t: SummaryColumns, p: number): void {
    const r = this.r;
    const tape = r.tape;
    const ts = this.ts;
    let startC = -1;
    let startS = -1;
    let timeC = -1;
    let timeS = -1;
    let flags = -1;
    let attributes = -1;
    let count = -1;
    let sum = -1;
    let quantilesC = -1;
    let quantilesS = -1;
    for (let i = 0, n = tape[p + 1]!, x = p + 3; i < n; i++) {
      switch (tape[x]! >>> KEY_SHIFT) {
        case K_START_TIME:
          startC = x;
          break;
        case K_START_TIME_:
          startS = x;
          break;
        case K_TIME:
          timeC = x;
          break;
        case K_TIME_:
          timeS = x;
          break;
        case K_FLAGS:
          flags = x;
          break;
        case K_ATTRIBUTES:
          attributes = x;
          break;
        case K_COUNT:
          count = x;
          break;
        case K_SUM:
          sum = x;
          break;
        case K_QUANTILE_VALUES:
          quantilesC = x;
          break;
        case K_QUANTILE_VALUES_:
          quantilesS = x;
          break;
      }
      x = (tape[x]! & KIND_MASK) <= T_ARRAY ? tape[x + 2]! : x + 3;
    }
    this.times(startC, startS, timeC, timeS);
    const f = r.uint32(flags, 'flags');
    readAttributes(r, t.attributes, attributes, 'attributes');
    t.appendPoint(ts[0]!, ts[1]!, ts[2]!, ts[3]!, f);
    r.u64(count, 'count');
    t.count.append(r.lo, r.hi);
    t.sum.append(r.double(sum, 'sum'));
    const qs = r.or(quantilesC, quantilesS);
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
    const tape = r.tape;
    const n = r.array(v, 'exemplars');
    if (n > 0) r.enter('exemplars');
    for (let i = 0, e = v + 3; i < n; i++, e = r.next(e)) {
      r.at(i);
      r.item(e, '');
      let spanIdC = -1;
      let spanIdS = -1;
      let traceIdC = -1;
      let traceIdS = -1;
      let asDoubleC = -1;
      let asDoubleS = -1;
      let asIntC = -1;
      let asIntS = -1;
      let timeC = -1;
      let timeS = -1;
      let filteredC = -1;
      let filteredS = -1;
      for (let j = 0, m = tape[e + 1]!, y = e + 3; j < m; j++) {
        switch (tape[y]! >>> KEY_SHIFT) {
          case K_SPAN_ID:
            spanIdC = y;
            break;
          case K_SPAN_ID_:
            spanIdS = y;
            break;
          case K_TRACE_ID:
            traceIdC = y;
            break;
          case K_TRACE_ID_:
            traceIdS = y;
            break;
          case K_AS_DOUBLE:
            asDoubleC = y;
            break;
          case K_AS_DOUBLE_:
            asDoubleS = y;
            break;
          case K_AS_INT:
            asIntC = y;
            break;
          case K_AS_INT_:
            asIntS = y;
            break;
          case K_TIME:
            timeC = y;
            break;
          case K_TIME_:
            timeS = y;
            break;
          case K_FILTERED_ATTRIBUTES:
            filteredC = y;
            break;
          case K_FILTERED_ATTRIBUTES_:
            filteredS = y;
            break;
        }
        y = (tape[y]! & KIND_MASK) <= T_ARRAY ? tape[y + 2]! : y + 3;
      }
      const spanId = r.or(spanIdC, spanIdS);
      const traceId = r.or(traceIdC, traceIdS);
      const sidLen = r.hexIdLength(spanId, 'span_id');
      const tidLen = r.hexIdLength(traceId, 'trace_id');
      const asDouble = r.or(asDoubleC, asDoubleS);
      const asInt = r.or(asIntC, asIntS);
      if (r.isSet(asDouble) && r.isSet(asInt)) r.fail('', 'both as_double and as_int are set');
      r.u64(r.or(timeC, timeS), 'time_unix_nano');
      x.timestamp.append(r.lo, r.hi);
      if (r.isSet(asDouble)) {
        x.value.append(r.double(asDouble, 'as_double'));
        x.valueInt.appendNull();
      } else if (r.isSet(asInt)) {
        r.i64(asInt, 'as_int');
        x.value.append(r.hi * TWO_32 + (r.lo >>> 0));
        x.valueInt.append(r.lo, r.hi);
      } else {
        x.value.appendNull();
        x.valueInt.appendNull();
      }
      if (sidLen === 0 || r.isZeroHex(spanId)) x.spanId.appendNull();
      else r.appendHexLower(x.spanId, spanId, 'span_id');
      if (tidLen === 0 || r.isZeroHex(traceId)) x.traceId.appendNull();
      else r.appendHexLower(x.traceId, traceId, 'trace_id');
      readAttributes(r, x.attributes, r.or(filteredC, filteredS), 'filtered_attributes');
      x.attributes.endRow();
    }
    if (n > 0) r.leave();
    x.endRow();
  }
}
