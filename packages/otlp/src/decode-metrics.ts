import { estimateRows } from './batch.js';
import type { Int64Column } from './col-fixed.js';
import type { ProtoReader } from './proto-reader.js';
import { ProtoRequestDecoder } from './proto-request.js';
import { readKeyValue } from './proto-values.js';
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
import { isZero } from './text.js';

const METRIC_KNOWN = 0b1111011101110; // 1,2,3,5,7,9,10,11,12 (4, 6, 8 reserved)
const NUMBER_KNOWN = 0b111111100; // 2..8
const HISTOGRAM_KNOWN = 0b1111111111100; // 2..12
const EXP_KNOWN = 0b111111111111110; // 1..14
const SUMMARY_KNOWN = 0b111111100; // 2..8
const EXEMPLAR_KNOWN = 0b11111100; // 2..7
const BUCKETS_KNOWN = 0b110;
const QUANTILE_KNOWN = 0b110;
const TWO_32 = 4294967296;

const DATA_NAMES: Record<number, string> = {
  42: 'gauge',
  58: 'sum',
  74: 'histogram',
  82: 'exponential_histogram',
  90: 'summary',
};

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
    this.dataName = DATA_NAMES[dataTag]!;
    if (ne === ns) {
      const n = this.countPoints(dataS, dataE);
      if (n > 0) this.rejections.add('metric name must not be empty', this.path(0), n);
      return;
    }
    const t = this.tables;
    const table: MetricColumns =
      dataTag === 42
        ? t.gauge
        : dataTag === 58
          ? t.sum
          : dataTag === 74
            ? t.histogram
            : dataTag === 82
              ? t.exponentialHistogram
              : t.summary;
    table.setMetric(buf, ns, ne, ds, de, us, ue);
    // First pass: aggregation_temporality (2) and is_monotonic (3) may follow the points.
    let temporality = 0;
    let monotonic = false;
    r.pos = dataS;
    while (r.pos < dataE) {
      const tag = r.varint();
      if (tag === 10) r.pos = r.lenEnd(dataE);
      else if (tag === 16 && dataTag !== 42 && dataTag !== 90) temporality = r.varint() | 0;
      else if (tag === 24 && dataTag === 58) monotonic = readBool(r);
      else
        r.skip(
          tag,
          dataE,
          dataTag === 58 ? 0b1110 : dataTag === 74 || dataTag === 82 ? 0b110 : 0b10,
        );
    }
    r.checkEnd(dataE);
    let pi = 0;
    r.pos = dataS;
    while (r.pos < dataE) {
      const tag = r.varint();
      if (tag !== 10) {
        r.skip(tag, dataE, 0);
        continue;
      }
      const e = r.lenEnd(dataE);
      switch (dataTag) {
        case 42:
        case 58:
          this.numberPoint(table as NumberColumns, r.pos, e, temporality, monotonic);
          break;
        case 74:
          this.histogramPoint(table as HistogramColumns, r.pos, e, temporality, pi);
          break;
        case 82:
          this.expPoint(table as ExpHistogramColumns, r.pos, e, temporality);
          break;
        default:
          this.summaryPoint(table as SummaryColumns, r.pos, e);
      }
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

  private numberPoint(
    t: NumberColumns,
    start: number,
    end: number,
    temporality: number,
    monotonic: boolean,
  ): void {
    const r = this.r;
    let sLo = 0;
    let sHi = 0;
    let tLo = 0;
    let tHi = 0;
    let kind = 0;
    let d = 0;
    let iLo = 0;
    let iHi = 0;
    let flags = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 58: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, t.attributes);
          break;
        }
        case 17:
          r.fixed64(end);
          sLo = r.lo;
          sHi = r.hi;
          break;
        case 25:
          r.fixed64(end);
          tLo = r.lo;
          tHi = r.hi;
          break;
        case 33:
          d = r.double(end);
          kind = 1;
          break;
        case 49:
          r.fixed64(end);
          iLo = r.lo;
          iHi = r.hi;
          kind = 2;
          break;
        case 42: {
          const e = r.lenEnd(end);
          this.exemplar(t.exemplars, r.pos, e);
          r.pos = e;
          break;
        }
        case 64:
          flags = r.varint();
          break;
        default:
          r.skip(tag, end, NUMBER_KNOWN);
      }
    }
    r.checkEnd(end);
    t.appendPoint(sLo, sHi, tLo, tHi, flags);
    if (kind === 1) {
      t.value.append(d);
      t.valueInt.appendNull();
    } else if (kind === 2) {
      t.value.append(iHi * TWO_32 + (iLo >>> 0));
      t.valueInt.append(iLo, iHi);
    } else {
      t.value.appendNull();
      t.valueInt.appendNull();
    }
    t.exemplars.endRow();
    if (t.table === 'metrics_sum') {
      t.temporality.append(temporality);
      t.monotonic.append(monotonic);
    }
  }

  private histogramPoint(
    t: HistogramColumns,
    start: number,
    end: number,
    temporality: number,
    pi: number,
  ): void {
    const r = this.r;
    let sLo = 0;
    let sHi = 0;
    let tLo = 0;
    let tHi = 0;
    let cLo = 0;
    let cHi = 0;
    let sum = 0;
    let hasSum = false;
    let min = 0;
    let hasMin = false;
    let max = 0;
    let hasMax = false;
    let flags = 0;
    const counts = t.bucketCounts.values;
    const bounds = t.explicitBounds.values;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 74: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, t.attributes);
          break;
        }
        case 17:
          r.fixed64(end);
          sLo = r.lo;
          sHi = r.hi;
          break;
        case 25:
          r.fixed64(end);
          tLo = r.lo;
          tHi = r.hi;
          break;
        case 33:
          r.fixed64(end);
          cLo = r.lo;
          cHi = r.hi;
          break;
        case 41:
          sum = r.double(end);
          hasSum = true;
          break;
        case 50: {
          const e = r.lenEnd(end);
          if ((e - r.pos) % 8 !== 0) r.fail('packed fixed64 length is not a multiple of 8');
          while (r.pos < e) {
            r.fixed64(e);
            counts.append(r.lo, r.hi);
          }
          break;
        }
        case 49:
          r.fixed64(end);
          counts.append(r.lo, r.hi);
          break;
        case 58: {
          const e = r.lenEnd(end);
          if ((e - r.pos) % 8 !== 0) r.fail('packed double length is not a multiple of 8');
          while (r.pos < e) bounds.append(r.double(e));
          break;
        }
        case 57:
          bounds.append(r.double(end));
          break;
        case 66: {
          const e = r.lenEnd(end);
          this.exemplar(t.exemplars, r.pos, e);
          r.pos = e;
          break;
        }
        case 80:
          flags = r.varint();
          break;
        case 89:
          min = r.double(end);
          hasMin = true;
          break;
        case 97:
          max = r.double(end);
          hasMax = true;
          break;
        default:
          r.skip(tag, end, HISTOGRAM_KNOWN);
      }
    }
    r.checkEnd(end);
    const nCounts = counts.length - t.bucketCounts.list.rowStart;
    const nBounds = bounds.length - t.explicitBounds.list.rowStart;
    if (nCounts !== 0 && nCounts !== nBounds + 1) {
      this.rejections.add(
        'bucket_counts must have one more entry than explicit_bounds',
        this.path(pi),
      );
      t.rollbackRow();
      return;
    }
    t.appendPoint(sLo, sHi, tLo, tHi, flags);
    t.count.append(cLo, cHi);
    if (hasSum) t.sum.append(sum);
    else t.sum.appendNull();
    if (hasMin) t.min.append(min);
    else t.min.appendNull();
    if (hasMax) t.max.append(max);
    else t.max.appendNull();
    t.bucketCounts.endRow();
    t.explicitBounds.endRow();
    t.temporality.append(temporality);
    t.exemplars.endRow();
  }

  private expPoint(t: ExpHistogramColumns, start: number, end: number, temporality: number): void {
    const r = this.r;
    let sLo = 0;
    let sHi = 0;
    let tLo = 0;
    let tHi = 0;
    let cLo = 0;
    let cHi = 0;
    let zLo = 0;
    let zHi = 0;
    let sum = 0;
    let hasSum = false;
    let min = 0;
    let hasMin = false;
    let max = 0;
    let hasMax = false;
    let scale = 0;
    let flags = 0;
    let zeroThreshold = 0;
    let posOffset = 0;
    let negOffset = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 10: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, t.attributes);
          break;
        }
        case 17:
          r.fixed64(end);
          sLo = r.lo;
          sHi = r.hi;
          break;
        case 25:
          r.fixed64(end);
          tLo = r.lo;
          tHi = r.hi;
          break;
        case 33:
          r.fixed64(end);
          cLo = r.lo;
          cHi = r.hi;
          break;
        case 41:
          sum = r.double(end);
          hasSum = true;
          break;
        case 48:
          scale = zigzag32(r.varint());
          break;
        case 57:
          r.fixed64(end);
          zLo = r.lo;
          zHi = r.hi;
          break;
        case 66: {
          const e = r.lenEnd(end);
          posOffset = this.buckets(
            t.positiveCounts.values,
            t.positiveCounts.list.rowStart,
            r.pos,
            e,
          );
          break;
        }
        case 74: {
          const e = r.lenEnd(end);
          negOffset = this.buckets(
            t.negativeCounts.values,
            t.negativeCounts.list.rowStart,
            r.pos,
            e,
          );
          break;
        }
        case 80:
          flags = r.varint();
          break;
        case 90: {
          const e = r.lenEnd(end);
          this.exemplar(t.exemplars, r.pos, e);
          r.pos = e;
          break;
        }
        case 97:
          min = r.double(end);
          hasMin = true;
          break;
        case 105:
          max = r.double(end);
          hasMax = true;
          break;
        case 113:
          zeroThreshold = r.double(end);
          break;
        default:
          r.skip(tag, end, EXP_KNOWN);
      }
    }
    r.checkEnd(end);
    t.appendPoint(sLo, sHi, tLo, tHi, flags);
    t.count.append(cLo, cHi);
    if (hasSum) t.sum.append(sum);
    else t.sum.appendNull();
    if (hasMin) t.min.append(min);
    else t.min.appendNull();
    if (hasMax) t.max.append(max);
    else t.max.appendNull();
    t.scale.append(scale);
    t.zeroCount.append(zLo, zHi);
    t.zeroThreshold.append(zeroThreshold);
    t.positiveOffset.append(posOffset);
    t.positiveCounts.endRow();
    t.negativeOffset.append(negOffset);
    t.negativeCounts.endRow();
    t.temporality.append(temporality);
    t.exemplars.endRow();
  }

  /**
   * Reads a Buckets message into `counts` (replacing what an earlier occurrence of
   * the same field wrote for this row: a repeated message field, last wins) and
   * returns its offset.
   */
  private buckets(counts: Int64Column, rowStart: number, start: number, end: number): number {
    const r = this.r;
    counts.truncate(rowStart);
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
          counts.append(r.lo, r.hi);
        }
        r.checkEnd(e);
      } else if (tag === 16) {
        r.varint64();
        counts.append(r.lo, r.hi);
      } else {
        r.skip(tag, end, BUCKETS_KNOWN);
      }
    }
    r.checkEnd(end);
    return offset;
  }

  private summaryPoint(t: SummaryColumns, start: number, end: number): void {
    const r = this.r;
    let sLo = 0;
    let sHi = 0;
    let tLo = 0;
    let tHi = 0;
    let cLo = 0;
    let cHi = 0;
    let sum = 0;
    let flags = 0;
    r.pos = start;
    while (r.pos < end) {
      const tag = r.varint();
      switch (tag) {
        case 58: {
          const e = r.lenEnd(end);
          readKeyValue(r, e, t.attributes);
          break;
        }
        case 17:
          r.fixed64(end);
          sLo = r.lo;
          sHi = r.hi;
          break;
        case 25:
          r.fixed64(end);
          tLo = r.lo;
          tHi = r.hi;
          break;
        case 33:
          r.fixed64(end);
          cLo = r.lo;
          cHi = r.hi;
          break;
        case 41:
          sum = r.double(end);
          break;
        case 50: {
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
          t.quantile.append(q);
          t.quantileValue.append(v);
          break;
        }
        case 64:
          flags = r.varint();
          break;
        default:
          r.skip(tag, end, SUMMARY_KNOWN);
      }
    }
    r.checkEnd(end);
    t.appendPoint(sLo, sHi, tLo, tHi, flags);
    t.count.append(cLo, cHi);
    t.sum.append(sum);
    t.quantiles.push(t.quantile.length);
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
    if (kind === 1) {
      x.value.append(d);
      x.valueInt.appendNull();
    } else if (kind === 2) {
      x.value.append(iHi * TWO_32 + (iLo >>> 0));
      x.valueInt.append(iLo, iHi);
    } else {
      x.value.appendNull();
      x.valueInt.appendNull();
    }
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
