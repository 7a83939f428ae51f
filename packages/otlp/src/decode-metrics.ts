import { estimateRows } from './batch.js';
import type { ProtoReader } from './proto-reader.js';
import { ProtoRequestDecoder } from './proto-request.js';
import { readKeyValue } from './proto-values.js';
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
  KIND_SUMMARY,
  type MetricColumns,
  MetricsTables,
  type NumberColumns,
  type SummaryColumns,
} from './table-metrics.js';
import { isZero } from './text.js';

const METRIC_KNOWN = 0b1111011101110; // 1,2,3,5,7,9,10,11,12 (4, 6, 8 reserved)
const NUMBER_KNOWN = 0b111111100; // 2..8
const HISTOGRAM_KNOWN = 0b1111111111100; // 2..12
const EXP_KNOWN = 0b111111111111110; // 1..14
const SUMMARY_KNOWN = 0b111111100; // 2..8
const EXEMPLAR_KNOWN = 0b11111100; // 2..7
const BUCKETS_KNOWN = 0b110;
const QUANTILE_KNOWN = 0b110;

/** Metric field tag of each data kind → KIND_*. */
const DATA_KINDS: Record<number, number> = {
  42: KIND_GAUGE,
  58: KIND_SUM,
  74: KIND_HISTOGRAM,
  82: KIND_EXP_HISTOGRAM,
  90: KIND_SUMMARY,
};

// The fields of the data point messages (NumberDataPoint for gauge and sum,
// HistogramDataPoint, ExponentialHistogramDataPoint, SummaryDataPoint), numbered for
// one reader: a field the kinds share has different field numbers in different
// messages, so each kind maps its tags to these (POINT_TAGS).
const F_ATTRIBUTES = 1;
const F_START = 2;
const F_TIME = 3;
const F_FLAGS = 4;
const F_EXEMPLAR = 5;
const F_AS_DOUBLE = 6;
const F_AS_INT = 7;
const F_COUNT = 8;
const F_SUM = 9;
const F_MIN = 10;
const F_MAX = 11;
const F_BUCKET_COUNTS = 12; // packed
const F_BUCKET_COUNT = 13; // one, unpacked
const F_BOUNDS = 14; // packed
const F_BOUND = 15; // one, unpacked
const F_SCALE = 16;
const F_ZERO_COUNT = 17;
const F_ZERO_THRESHOLD = 18;
const F_POSITIVE = 19;
const F_NEGATIVE = 20;
const F_QUANTILE = 21;

/** tag → F_* (0: not a field of the message). Point fields are 1..15: one-byte tags. */
function tagTable(tags: Record<number, number>): Uint8Array {
  const table = new Uint8Array(128);
  for (const [tag, field] of Object.entries(tags)) table[Number(tag)] = field;
  return table;
}

const NUMBER_TAGS = tagTable({
  17: F_START,
  25: F_TIME,
  33: F_AS_DOUBLE,
  42: F_EXEMPLAR,
  49: F_AS_INT,
  58: F_ATTRIBUTES,
  64: F_FLAGS,
});
/** Per KIND_*: the point message's tags and its known-fields mask. */
const POINT_TAGS: readonly Uint8Array[] = [
  NUMBER_TAGS,
  NUMBER_TAGS,
  tagTable({
    17: F_START,
    25: F_TIME,
    33: F_COUNT,
    41: F_SUM,
    49: F_BUCKET_COUNT,
    50: F_BUCKET_COUNTS,
    57: F_BOUND,
    58: F_BOUNDS,
    66: F_EXEMPLAR,
    74: F_ATTRIBUTES,
    80: F_FLAGS,
    89: F_MIN,
    97: F_MAX,
  }),
  tagTable({
    10: F_ATTRIBUTES,
    17: F_START,
    25: F_TIME,
    33: F_COUNT,
    41: F_SUM,
    48: F_SCALE,
    57: F_ZERO_COUNT,
    66: F_POSITIVE,
    74: F_NEGATIVE,
    80: F_FLAGS,
    90: F_EXEMPLAR,
    97: F_MIN,
    105: F_MAX,
    113: F_ZERO_THRESHOLD,
  }),
  tagTable({
    17: F_START,
    25: F_TIME,
    33: F_COUNT,
    41: F_SUM,
    50: F_QUANTILE,
    58: F_ATTRIBUTES,
    64: F_FLAGS,
  }),
];
const POINT_KNOWN: readonly number[] = [
  NUMBER_KNOWN,
  NUMBER_KNOWN,
  HISTOGRAM_KNOWN,
  EXP_KNOWN,
  SUMMARY_KNOWN,
];

/**
 * Decodes an OTLP ExportMetricsServiceRequest (protobuf) into the five metrics
 * tables (only those with rows are returned). Throws InvalidInputError when the
 * bytes are not a valid request; drops and counts data points that are invalid on
 * their own (metric without a name, histogram bucket count mismatch).
 */
export function decodeMetrics(bytes: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const d = new MetricsDecoder(bytes, options);
  d.run();
  return metricsResult(d.tables, d.rejections);
}

class MetricsDecoder extends ProtoRequestDecoder {
  readonly tables: MetricsTables;
  private mi = 0;
  private dataName = '';

  constructor(bytes: Uint8Array, options: DecodeOptions) {
    super(bytes, options, 'data points');
    this.tables = new MetricsTables(this.budget, estimateRows(bytes.length, 300));
  }

  protected endScope(): void {
    this.tables.fillScope(this.ctx);
  }

  private path(pi: number): () => string {
    const { ri, si, mi, dataName } = this;
    return () =>
      `resource_metrics[${ri}].scope_metrics[${si}].metrics[${mi}].${dataName}.data_points[${pi}]`;
  }

  /** Decodes Metric `mi` of the current scope (all its data points). */
  protected item(start: number, end: number, mi: number): void {
    const r = this.r;
    const buf = r.buf;
    let ns = 0;
    let ne = 0;
    let ds = 0;
    let de = 0;
    let us = 0;
    let ue = 0;
    let dataTag = 0;
    let dataS = 0;
    let dataE = 0;
    this.mi = mi;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 10:
          ne = r.lenEnd(end);
          ns = r.pos;
          r.pos = ne;
          break;
        case 18:
          de = r.lenEnd(end);
          ds = r.pos;
          r.pos = de;
          break;
        case 26:
          ue = r.lenEnd(end);
          us = r.pos;
          r.pos = ue;
          break;
        case 42:
        case 58:
        case 74:
        case 82:
        case 90:
          dataE = r.lenEnd(end);
          dataS = r.pos;
          dataTag = tag;
          r.pos = dataE;
          break;
        case 98:
          r.pos = r.lenEnd(end); // metadata: not stored
          break;
        default:
          r.skip(tag, end, METRIC_KNOWN);
      }
    }
    r.checkEnd(end);
    if (dataTag === 0) return;
    const kind = DATA_KINDS[dataTag]!;
    this.dataName = KIND_FIELDS[kind]!;
    if (ne === ns) {
      const n = this.countPoints(dataS, dataE);
      if (n > 0) this.rejections.add('metric name must not be empty', this.path(0), n);
      return;
    }
    const table = this.tables.ofKind(kind);
    table.setMetric(buf, ns, ne, ds, de, us, ue);
    // First pass: aggregation_temporality (2) and is_monotonic (3) may follow the points.
    let temporality = 0;
    let monotonic = false;
    r.pos = dataS;
    while (r.pos < dataE) {
      const tag = r.varint();
      if (tag === 10) r.pos = r.lenEnd(dataE);
      else if (tag === 16 && kind !== KIND_GAUGE && kind !== KIND_SUMMARY)
        temporality = r.varint() | 0;
      else if (tag === 24 && kind === KIND_SUM) monotonic = readBool(r);
      else
        r.skip(
          tag,
          dataE,
          kind === KIND_SUM
            ? 0b1110
            : kind === KIND_HISTOGRAM || kind === KIND_EXP_HISTOGRAM
              ? 0b110
              : 0b10,
        );
    }
    r.checkEnd(dataE);
    const tags = POINT_TAGS[kind]!;
    const known = POINT_KNOWN[kind]!;
    let pi = 0;
    r.pos = dataS;
    while (r.pos < dataE) {
      const tag = r.varint();
      if (tag !== 10) {
        r.skip(tag, dataE, 0);
        continue;
      }
      const e = r.lenEnd(dataE);
      this.point(kind, tags, known, table, r.pos, e, temporality, monotonic, pi);
      r.pos = e;
      pi++;
    }
  }

  private countPoints(start: number, end: number): number {
    const r = this.r;
    let n = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      if (tag === 10) {
        r.pos = r.lenEnd(end);
        n++;
      } else {
        r.skip(tag, end, 0);
      }
    }
    r.checkEnd(end);
    return n;
  }

  /**
   * Decodes data point `pi` of kind `kind`, the message `[start, end)`, into `t` (the
   * kind's table): one loop over the fields of every kind (`tags` maps the kind's tags
   * to F_*; fields not in `known` are skipped as unknown), then the row. Repeated
   * fields go to their child columns as they come; scalars are kept until the end, so
   * the last occurrence wins.
   */
  private point(
    kind: number,
    tags: Uint8Array,
    known: number,
    t: MetricColumns,
    start: number,
    end: number,
    temporality: number,
    monotonic: boolean,
    pi: number,
  ): void {
    const r = this.r;
    let sLo = 0;
    let sHi = 0;
    let tLo = 0;
    let tHi = 0;
    let flags = 0;
    let valueKind = 0;
    let d = 0;
    let iLo = 0;
    let iHi = 0;
    let cLo = 0;
    let cHi = 0;
    let sum = 0;
    let hasSum = false;
    let min = 0;
    let hasMin = false;
    let max = 0;
    let hasMax = false;
    let scale = 0;
    let zLo = 0;
    let zHi = 0;
    let zeroThreshold = 0;
    let posOffset = 0;
    let negOffset = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag < 128 ? tags[tag]! : 0) {
        case F_ATTRIBUTES: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, t.attributes);
          break;
        }
        case F_START:
          r.fixed64(end);
          sLo = r.lo;
          sHi = r.hi;
          break;
        case F_TIME:
          r.fixed64(end);
          tLo = r.lo;
          tHi = r.hi;
          break;
        case F_FLAGS:
          flags = r.varint();
          break;
        case F_EXEMPLAR: {
          const e = r.lenEnd(end);
          this.exemplar((t as NumberColumns | HistogramBaseColumns).exemplars, r.pos, e);
          r.pos = e;
          break;
        }
        case F_AS_DOUBLE:
          d = r.double(end);
          valueKind = 1;
          break;
        case F_AS_INT:
          r.fixed64(end);
          iLo = r.lo;
          iHi = r.hi;
          valueKind = 2;
          break;
        case F_COUNT:
          r.fixed64(end);
          cLo = r.lo;
          cHi = r.hi;
          break;
        case F_SUM:
          sum = r.double(end);
          hasSum = true;
          break;
        case F_MIN:
          min = r.double(end);
          hasMin = true;
          break;
        case F_MAX:
          max = r.double(end);
          hasMax = true;
          break;
        case F_BUCKET_COUNTS: {
          const e = r.lenEnd(end);
          if ((e - r.pos) % 8 !== 0) r.fail('packed fixed64 length is not a multiple of 8');
          const counts = (t as HistogramColumns).bucketCounts.values;
          while (r.pos < e) {
            r.fixed64(e);
            counts.append(r.lo, r.hi);
          }
          break;
        }
        case F_BUCKET_COUNT:
          r.fixed64(end);
          (t as HistogramColumns).bucketCounts.values.append(r.lo, r.hi);
          break;
        case F_BOUNDS: {
          const e = r.lenEnd(end);
          if ((e - r.pos) % 8 !== 0) r.fail('packed double length is not a multiple of 8');
          const bounds = (t as HistogramColumns).explicitBounds.values;
          while (r.pos < e) bounds.append(r.double(e));
          break;
        }
        case F_BOUND:
          (t as HistogramColumns).explicitBounds.values.append(r.double(end));
          break;
        case F_SCALE:
          scale = zigzag32(r.varint());
          break;
        case F_ZERO_COUNT:
          r.fixed64(end);
          zLo = r.lo;
          zHi = r.hi;
          break;
        case F_ZERO_THRESHOLD:
          zeroThreshold = r.double(end);
          break;
        case F_POSITIVE: {
          const e = r.lenEnd(end);
          posOffset = this.buckets((t as ExpHistogramColumns).positiveCounts, r.pos, e);
          break;
        }
        case F_NEGATIVE: {
          const e = r.lenEnd(end);
          negOffset = this.buckets((t as ExpHistogramColumns).negativeCounts, r.pos, e);
          break;
        }
        case F_QUANTILE: {
          const e = r.lenEnd(end);
          let q = 0;
          let v = 0;
          while (r.pos < e) {
            const tg = r.varint();
            if (tg === 9) q = r.double(e);
            else if (tg === 17) v = r.double(e);
            else r.skip(tg, e, QUANTILE_KNOWN);
          }
          r.checkEnd(e);
          const s = t as SummaryColumns;
          s.quantile.append(q);
          s.quantileValue.append(v);
          break;
        }
        default:
          r.skip(tag, end, known);
      }
    }
    r.checkEnd(end);

    if (kind === KIND_GAUGE || kind === KIND_SUM) {
      const n = t as NumberColumns;
      n.appendPoint(sLo, sHi, tLo, tHi, flags);
      appendNumberValue(n.value, n.valueInt, valueKind, d, iLo, iHi);
      n.exemplars.endRow();
      if (kind === KIND_SUM) {
        n.temporality.append(temporality);
        n.monotonic.append(monotonic);
      }
      return;
    }
    if (kind === KIND_SUMMARY) {
      const s = t as SummaryColumns;
      s.appendPoint(sLo, sHi, tLo, tHi, flags);
      s.count.append(cLo, cHi);
      s.sum.append(sum);
      s.quantiles.push(s.quantile.length);
      return;
    }
    const h = t as HistogramBaseColumns;
    if (kind === KIND_HISTOGRAM) {
      const { bucketCounts, explicitBounds } = t as HistogramColumns;
      const nCounts = bucketCounts.values.length - bucketCounts.list.rowStart;
      const nBounds = explicitBounds.values.length - explicitBounds.list.rowStart;
      if (nCounts !== 0 && nCounts !== nBounds + 1) {
        this.rejections.add(
          'bucket_counts must have one more entry than explicit_bounds',
          this.path(pi),
        );
        h.rollbackRow();
        return;
      }
    }
    h.appendPoint(sLo, sHi, tLo, tHi, flags);
    h.count.append(cLo, cHi);
    if (hasSum) h.sum.append(sum);
    else h.sum.appendNull();
    if (hasMin) h.min.append(min);
    else h.min.appendNull();
    if (hasMax) h.max.append(max);
    else h.max.appendNull();
    if (kind === KIND_HISTOGRAM) {
      const x = t as HistogramColumns;
      x.bucketCounts.endRow();
      x.explicitBounds.endRow();
    } else {
      const x = t as ExpHistogramColumns;
      x.scale.append(scale);
      x.zeroCount.append(zLo, zHi);
      x.zeroThreshold.append(zeroThreshold);
      x.positiveOffset.append(posOffset);
      x.positiveCounts.endRow();
      x.negativeOffset.append(negOffset);
      x.negativeCounts.endRow();
    }
    h.temporality.append(temporality);
    h.exemplars.endRow();
  }

  /**
   * Reads a Buckets message into `counts` (replacing what an earlier occurrence of
   * the same field wrote for this row: a repeated message field, last wins) and
   * returns its offset.
   */
  private buckets(counts: Int64ListColumn, start: number, end: number): number {
    const r = this.r;
    const values = counts.values;
    values.truncate(counts.list.rowStart);
    let offset = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      if (tag === 8) {
        offset = zigzag32(r.varint());
      } else if (tag === 18) {
        const e = r.lenEnd(end);
        while (r.pos < e) {
          r.varint64();
          values.append(r.lo, r.hi);
        }
        r.checkEnd(e);
      } else if (tag === 16) {
        r.varint64();
        values.append(r.lo, r.hi);
      } else {
        r.skip(tag, end, BUCKETS_KNOWN);
      }
    }
    r.checkEnd(end);
    return offset;
  }

  private exemplar(x: ExemplarColumns, start: number, end: number): void {
    const r = this.r;
    const buf = r.buf;
    let tLo = 0;
    let tHi = 0;
    let kind = 0;
    let d = 0;
    let iLo = 0;
    let iHi = 0;
    let sidS = 0;
    let sidE = 0;
    let tidS = 0;
    let tidE = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 58: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, x.attributes);
          break;
        }
        case 17:
          r.fixed64(end);
          tLo = r.lo;
          tHi = r.hi;
          break;
        case 25:
          d = r.double(end);
          kind = 1;
          break;
        case 49:
          r.fixed64(end);
          iLo = r.lo;
          iHi = r.hi;
          kind = 2;
          break;
        case 34:
          sidE = r.lenEnd(end);
          sidS = r.pos;
          r.pos = sidE;
          break;
        case 42:
          tidE = r.lenEnd(end);
          tidS = r.pos;
          r.pos = tidE;
          break;
        default:
          r.skip(tag, end, EXEMPLAR_KNOWN);
      }
    }
    r.checkEnd(end);
    x.timestamp.append(tLo, tHi);
    appendNumberValue(x.value, x.valueInt, kind, d, iLo, iHi);
    if (sidE === sidS || isZero(buf, sidS, sidE)) x.spanId.appendNull();
    else x.spanId.appendHex(buf, sidS, sidE);
    if (tidE === tidS || isZero(buf, tidS, tidE)) x.traceId.appendNull();
    else x.traceId.appendHex(buf, tidS, tidE);
    x.attributes.endRow();
  }
}

function zigzag32(v: number): number {
  return (v >>> 1) ^ -(v & 1);
}

function readBool(r: ProtoReader): boolean {
  r.varint64();
  return (r.lo | r.hi) !== 0;
}
