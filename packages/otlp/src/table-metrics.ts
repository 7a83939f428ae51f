import type {
  Bool,
  Data,
  Dictionary,
  Float64,
  Int32,
  Int64,
  List,
  Map_,
  RecordBatch,
  Schema,
  Struct,
  Timestamp,
  Uint32,
  Utf8,
} from 'apache-arrow';
import { structData } from './arrow-data.js';
import { makeBatch } from './batch.js';
import { BlockColumns, type BlockContext } from './block.js';
import type { Budget } from './budget.js';
import { DictColumn } from './col-dict.js';
import { BoolColumn, Float64Column, Int32Column, Int64Column, Uint32Column } from './col-fixed.js';
import { ListOffsets } from './col-list.js';
import { MapColumn } from './col-map.js';
import { Utf8Column } from './col-utf8.js';
import {
  columnType,
  METRICS_EXPONENTIAL_HISTOGRAM_SCHEMA,
  METRICS_GAUGE_SCHEMA,
  METRICS_HISTOGRAM_SCHEMA,
  METRICS_SUM_SCHEMA,
  METRICS_SUMMARY_SCHEMA,
  type TableName,
} from './schemas.js';

/** Exemplars of one data point: List<Struct<...>>. */
export class ExemplarColumns {
  readonly list: ListOffsets;
  readonly timestamp: Int64Column;
  readonly value: Float64Column;
  readonly valueInt: Int64Column;
  readonly spanId: Utf8Column;
  readonly traceId: Utf8Column;
  readonly attributes: MapColumn;

  constructor(budget: Budget, rows: number) {
    this.list = new ListOffsets(budget, rows);
    this.timestamp = new Int64Column(budget, 16);
    this.value = new Float64Column(budget, 16);
    this.valueInt = new Int64Column(budget, 16);
    this.spanId = new Utf8Column(budget, 'exemplars.span_id', 16, 256);
    this.traceId = new Utf8Column(budget, 'exemplars.trace_id', 16, 512);
    this.attributes = new MapColumn(budget, 'exemplars.filtered_attributes', 16, 32);
    this.spanId.trusted = true; // hex we render ourselves
    this.traceId.trusted = true;
  }

  reset(budget: Budget, rows: number): void {
    this.list.reset(budget, rows);
    this.timestamp.reset(budget, 16);
    this.value.reset(budget, 16);
    this.valueInt.reset(budget, 16);
    this.spanId.reset(budget, 16, 256);
    this.traceId.reset(budget, 16, 512);
    this.attributes.reset(budget, 16, 32);
  }

  /** Drops exemplars of the unfinished row. */
  rollback(): void {
    const n = this.list.truncate(this.list.length);
    this.timestamp.truncate(n);
    this.value.truncate(n);
    this.valueInt.truncate(n);
    this.spanId.truncate(n);
    this.traceId.truncate(n);
    this.attributes.truncate(n);
  }

  endRow(): void {
    this.list.push(this.timestamp.length);
  }

  finish(type: List<Struct>): Data {
    const f = type.valueType.children;
    const child = structData(type.valueType, this.timestamp.length, [
      this.timestamp.finish(f[0]!.type as Timestamp),
      this.value.finish(f[1]!.type as Float64),
      this.valueInt.finish(f[2]!.type as Int64),
      this.spanId.finish(f[3]!.type as Utf8),
      this.traceId.finish(f[4]!.type as Utf8),
      this.attributes.finish(f[5]!.type as Map_<Utf8, Utf8>),
    ]);
    return this.list.finish(type, child);
  }
}

const TWO_32 = 4294967296;

/**
 * Appends the value of a NumberDataPoint or an Exemplar: `kind` 1 = as_double `d`
 * (value_int null), 2 = as_int `lo`/`hi` (exact in value_int, nearest double in
 * value), 0 = neither (both null).
 */
export function appendNumberValue(
  value: Float64Column,
  valueInt: Int64Column,
  kind: number,
  d: number,
  lo: number,
  hi: number,
): void {
  if (kind === 1) {
    value.append(d);
    valueInt.appendNull();
  } else if (kind === 2) {
    value.append(hi * TWO_32 + (lo >>> 0));
    valueInt.append(lo, hi);
  } else {
    value.appendNull();
    valueInt.appendNull();
  }
}

/** A List<Int64> or List<Float64> column. */
export class Int64ListColumn {
  readonly list: ListOffsets;
  readonly values: Int64Column;
  constructor(budget: Budget, rows: number) {
    this.list = new ListOffsets(budget, rows);
    this.values = new Int64Column(budget, rows * 4);
  }
  reset(budget: Budget, rows: number): void {
    this.list.reset(budget, rows);
    this.values.reset(budget, rows * 4);
  }
  rollback(): void {
    this.values.truncate(this.list.truncate(this.list.length));
  }
  endRow(): void {
    this.list.push(this.values.length);
  }
  finish(type: List<Int64>): Data {
    return this.list.finish(type, this.values.finish(type.valueType) as Data<Int64>);
  }
}

export class Float64ListColumn {
  readonly list: ListOffsets;
  readonly values: Float64Column;
  constructor(budget: Budget, rows: number) {
    this.list = new ListOffsets(budget, rows);
    this.values = new Float64Column(budget, rows * 4);
  }
  reset(budget: Budget, rows: number): void {
    this.list.reset(budget, rows);
    this.values.reset(budget, rows * 4);
  }
  rollback(): void {
    this.values.truncate(this.list.truncate(this.list.length));
  }
  endRow(): void {
    this.list.push(this.values.length);
  }
  finish(type: List<Float64>): Data {
    return this.list.finish(type, this.values.finish(type.valueType));
  }
}

/**
 * The columns every metrics table shares: resource/scope block, metric identity,
 * data point attributes and timestamps.
 */
export abstract class MetricColumns {
  readonly block: BlockColumns;
  readonly metricName: DictColumn;
  readonly metricDescription: DictColumn;
  readonly metricUnit: DictColumn;
  readonly attributes: MapColumn;
  readonly startTimestamp: Int64Column;
  readonly timestamp: Int64Column;
  readonly flags: Uint32Column;
  abstract readonly table: TableName;
  protected abstract readonly schema: Schema;
  /** Indices of the current metric's name / description / unit in this table's dictionaries. */
  nameIdx = 0;
  descIdx = 0;
  unitIdx = 0;

  constructor(budget: Budget, rows: number) {
    this.block = new BlockColumns(budget, rows);
    this.metricName = new DictColumn(budget, 'metric_name', [], rows);
    this.metricDescription = new DictColumn(budget, 'metric_description', [], rows);
    this.metricUnit = new DictColumn(budget, 'metric_unit', [], rows);
    this.attributes = new MapColumn(budget, 'attributes', rows, rows * 4);
    this.startTimestamp = new Int64Column(budget, rows);
    this.timestamp = new Int64Column(budget, rows);
    this.flags = new Uint32Column(budget, rows);
  }

  /** Empties every column for a new decode (buffers are reused). */
  reset(budget: Budget, rows: number): void {
    this.block.reset(budget, rows);
    this.metricName.reset(budget, rows);
    this.metricDescription.reset(budget, rows);
    this.metricUnit.reset(budget, rows);
    this.attributes.reset(budget, rows, rows * 4);
    this.startTimestamp.reset(budget, rows);
    this.timestamp.reset(budget, rows);
    this.flags.reset(budget, rows);
  }

  get rows(): number {
    return this.timestamp.length;
  }

  /** Sets the metric identity written on the following rows (UTF-8 byte ranges). */
  setMetric(
    text: Uint8Array,
    ns: number,
    ne: number,
    ds: number,
    de: number,
    us: number,
    ue: number,
  ): void {
    this.nameIdx = this.metricName.lookupBytes(text, ns, ne);
    this.descIdx = this.metricDescription.lookupBytes(text, ds, de);
    this.unitIdx = this.metricUnit.lookupBytes(text, us, ue);
  }

  /** Sets the metric identity from JavaScript strings (JSON path). */
  setMetricStrings(name: string, description: string, unit: string): void {
    this.nameIdx = this.metricName.lookupString(name);
    this.descIdx = this.metricDescription.lookupString(description);
    this.unitIdx = this.metricUnit.lookupString(unit);
  }

  /**
   * Appends the shared scalar columns of one data point (its attributes were already
   * appended to `attributes`). A zero start time is stored as null.
   */
  appendPoint(sLo: number, sHi: number, tLo: number, tHi: number, flags: number): void {
    this.metricName.append(this.nameIdx);
    this.metricDescription.append(this.descIdx);
    this.metricUnit.append(this.unitIdx);
    this.attributes.endRow();
    if (sLo === 0 && sHi === 0) this.startTimestamp.appendNull();
    else this.startTimestamp.append(sLo, sHi);
    this.timestamp.append(tLo, tHi);
    this.flags.append(flags);
  }

  /** Discards what the current, unfinished data point appended. */
  rollbackRow(): void {
    this.attributes.truncate(this.attributes.length);
  }

  protected sharedData(): Data[] {
    const S = this.schema;
    return [
      ...this.block.finish(S.fields),
      this.metricName.finish(columnType<Dictionary<Utf8>>(S, 'metric_name')),
      this.metricDescription.finish(columnType<Dictionary<Utf8>>(S, 'metric_description')),
      this.metricUnit.finish(columnType<Dictionary<Utf8>>(S, 'metric_unit')),
      this.attributes.finish(columnType<Map_<Utf8, Utf8>>(S, 'attributes')),
      this.startTimestamp.finish(columnType<Timestamp>(S, 'start_timestamp')),
      this.timestamp.finish(columnType<Timestamp>(S, 'timestamp')),
    ];
  }

  protected flagsData(): Data {
    return this.flags.finish(columnType<Uint32>(this.schema, 'flags'));
  }

  abstract finish(): RecordBatch;
}

/** `metrics_gauge` and `metrics_sum` (the sum adds temporality and monotonicity). */
export class NumberColumns extends MetricColumns {
  readonly table: 'metrics_gauge' | 'metrics_sum';
  protected readonly schema: Schema;
  readonly value: Float64Column;
  readonly valueInt: Int64Column;
  readonly exemplars: ExemplarColumns;
  readonly temporality: Int32Column;
  readonly monotonic: BoolColumn;

  constructor(budget: Budget, rows: number, table: 'metrics_gauge' | 'metrics_sum') {
    super(budget, rows);
    this.table = table;
    this.schema = table === 'metrics_sum' ? METRICS_SUM_SCHEMA : METRICS_GAUGE_SCHEMA;
    this.value = new Float64Column(budget, rows);
    this.valueInt = new Int64Column(budget, rows);
    this.exemplars = new ExemplarColumns(budget, rows);
    this.temporality = new Int32Column(budget, table === 'metrics_sum' ? rows : 0);
    this.monotonic = new BoolColumn(budget, table === 'metrics_sum' ? rows : 0);
  }

  override reset(budget: Budget, rows: number): void {
    super.reset(budget, rows);
    this.value.reset(budget, rows);
    this.valueInt.reset(budget, rows);
    this.exemplars.reset(budget, rows);
    this.temporality.reset(budget, this.table === 'metrics_sum' ? rows : 0);
    this.monotonic.reset(budget, this.table === 'metrics_sum' ? rows : 0);
  }

  override rollbackRow(): void {
    super.rollbackRow();
    this.exemplars.rollback();
  }

  finish(): RecordBatch {
    const S = this.schema;
    const children = [
      ...this.sharedData(),
      this.value.finish(columnType<Float64>(S, 'value')),
      this.valueInt.finish(columnType<Int64>(S, 'value_int')),
      this.flagsData(),
      this.exemplars.finish(columnType<List<Struct>>(S, 'exemplars')),
    ];
    if (this.table === 'metrics_sum') {
      children.push(
        this.temporality.finish(columnType<Int32>(S, 'aggregation_temporality')),
        this.monotonic.finish(columnType<Bool>(S, 'is_monotonic')),
      );
    }
    return makeBatch(S, this.rows, children);
  }
}

/**
 * What `metrics_histogram` and `metrics_exponential_histogram` share: count, the
 * optional sum / min / max, temporality and exemplars.
 */
export abstract class HistogramBaseColumns extends MetricColumns {
  readonly count: Int64Column;
  readonly sum: Float64Column;
  readonly min: Float64Column;
  readonly max: Float64Column;
  readonly temporality: Int32Column;
  readonly exemplars: ExemplarColumns;

  constructor(budget: Budget, rows: number) {
    super(budget, rows);
    this.count = new Int64Column(budget, rows);
    this.sum = new Float64Column(budget, rows);
    this.min = new Float64Column(budget, rows);
    this.max = new Float64Column(budget, rows);
    this.temporality = new Int32Column(budget, rows);
    this.exemplars = new ExemplarColumns(budget, rows);
  }

  override reset(budget: Budget, rows: number): void {
    super.reset(budget, rows);
    this.count.reset(budget, rows);
    this.sum.reset(budget, rows);
    this.min.reset(budget, rows);
    this.max.reset(budget, rows);
    this.temporality.reset(budget, rows);
    this.exemplars.reset(budget, rows);
  }

  override rollbackRow(): void {
    super.rollbackRow();
    this.exemplars.rollback();
  }

  /** The batch: shared columns, count, sum, min, max, then `buckets`, then the rest. */
  protected histogramBatch(buckets: Data[]): RecordBatch {
    const S = this.schema;
    return makeBatch(S, this.rows, [
      ...this.sharedData(),
      this.count.finish(columnType<Int64>(S, 'count')),
      this.sum.finish(columnType<Float64>(S, 'sum')),
      this.min.finish(columnType<Float64>(S, 'min')),
      this.max.finish(columnType<Float64>(S, 'max')),
      ...buckets,
      this.temporality.finish(columnType<Int32>(S, 'aggregation_temporality')),
      this.flagsData(),
      this.exemplars.finish(columnType<List<Struct>>(S, 'exemplars')),
    ]);
  }
}

export class HistogramColumns extends HistogramBaseColumns {
  readonly table = 'metrics_histogram' as const;
  protected readonly schema = METRICS_HISTOGRAM_SCHEMA;
  readonly bucketCounts: Int64ListColumn;
  readonly explicitBounds: Float64ListColumn;

  constructor(budget: Budget, rows: number) {
    super(budget, rows);
    this.bucketCounts = new Int64ListColumn(budget, rows);
    this.explicitBounds = new Float64ListColumn(budget, rows);
  }

  override reset(budget: Budget, rows: number): void {
    super.reset(budget, rows);
    this.bucketCounts.reset(budget, rows);
    this.explicitBounds.reset(budget, rows);
  }

  override rollbackRow(): void {
    super.rollbackRow();
    this.bucketCounts.rollback();
    this.explicitBounds.rollback();
  }

  finish(): RecordBatch {
    const S = this.schema;
    return this.histogramBatch([
      this.bucketCounts.finish(columnType<List<Int64>>(S, 'bucket_counts')),
      this.explicitBounds.finish(columnType<List<Float64>>(S, 'explicit_bounds')),
    ]);
  }
}

export class ExpHistogramColumns extends HistogramBaseColumns {
  readonly table = 'metrics_exponential_histogram' as const;
  protected readonly schema = METRICS_EXPONENTIAL_HISTOGRAM_SCHEMA;
  readonly scale: Int32Column;
  readonly zeroCount: Int64Column;
  readonly zeroThreshold: Float64Column;
  readonly positiveOffset: Int32Column;
  readonly positiveCounts: Int64ListColumn;
  readonly negativeOffset: Int32Column;
  readonly negativeCounts: Int64ListColumn;

  constructor(budget: Budget, rows: number) {
    super(budget, rows);
    this.scale = new Int32Column(budget, rows);
    this.zeroCount = new Int64Column(budget, rows);
    this.zeroThreshold = new Float64Column(budget, rows);
    this.positiveOffset = new Int32Column(budget, rows);
    this.positiveCounts = new Int64ListColumn(budget, rows);
    this.negativeOffset = new Int32Column(budget, rows);
    this.negativeCounts = new Int64ListColumn(budget, rows);
  }

  override reset(budget: Budget, rows: number): void {
    super.reset(budget, rows);
    this.scale.reset(budget, rows);
    this.zeroCount.reset(budget, rows);
    this.zeroThreshold.reset(budget, rows);
    this.positiveOffset.reset(budget, rows);
    this.positiveCounts.reset(budget, rows);
    this.negativeOffset.reset(budget, rows);
    this.negativeCounts.reset(budget, rows);
  }

  override rollbackRow(): void {
    super.rollbackRow();
    this.positiveCounts.rollback();
    this.negativeCounts.rollback();
  }

  finish(): RecordBatch {
    const S = this.schema;
    return this.histogramBatch([
      this.scale.finish(columnType<Int32>(S, 'scale')),
      this.zeroCount.finish(columnType<Int64>(S, 'zero_count')),
      this.zeroThreshold.finish(columnType<Float64>(S, 'zero_threshold')),
      this.positiveOffset.finish(columnType<Int32>(S, 'positive_offset')),
      this.positiveCounts.finish(columnType<List<Int64>>(S, 'positive_bucket_counts')),
      this.negativeOffset.finish(columnType<Int32>(S, 'negative_offset')),
      this.negativeCounts.finish(columnType<List<Int64>>(S, 'negative_bucket_counts')),
    ]);
  }
}

export class SummaryColumns extends MetricColumns {
  readonly table = 'metrics_summary' as const;
  protected readonly schema = METRICS_SUMMARY_SCHEMA;
  readonly count: Int64Column;
  readonly sum: Float64Column;
  readonly quantiles: ListOffsets;
  readonly quantile: Float64Column;
  readonly quantileValue: Float64Column;

  constructor(budget: Budget, rows: number) {
    super(budget, rows);
    this.count = new Int64Column(budget, rows);
    this.sum = new Float64Column(budget, rows);
    this.quantiles = new ListOffsets(budget, rows);
    this.quantile = new Float64Column(budget, rows * 4);
    this.quantileValue = new Float64Column(budget, rows * 4);
  }

  override reset(budget: Budget, rows: number): void {
    super.reset(budget, rows);
    this.count.reset(budget, rows);
    this.sum.reset(budget, rows);
    this.quantiles.reset(budget, rows);
    this.quantile.reset(budget, rows * 4);
    this.quantileValue.reset(budget, rows * 4);
  }

  override rollbackRow(): void {
    super.rollbackRow();
    const n = this.quantiles.truncate(this.quantiles.length);
    this.quantile.truncate(n);
    this.quantileValue.truncate(n);
  }

  finish(): RecordBatch {
    const S = this.schema;
    const qType = columnType<List<Struct>>(S, 'quantile_values');
    const qf = qType.valueType.children;
    const child = structData(qType.valueType, this.quantile.length, [
      this.quantile.finish(qf[0]!.type as Float64),
      this.quantileValue.finish(qf[1]!.type as Float64),
    ]);
    return makeBatch(S, this.rows, [
      ...this.sharedData(),
      this.count.finish(columnType<Int64>(S, 'count')),
      this.sum.finish(columnType<Float64>(S, 'sum')),
      this.quantiles.finish(qType, child),
      this.flagsData(),
    ]);
  }
}

/** Metric data kinds, in the order of Metric's `data` fields. */
export const KIND_GAUGE = 0;
export const KIND_SUM = 1;
export const KIND_HISTOGRAM = 2;
export const KIND_EXP_HISTOGRAM = 3;
export const KIND_SUMMARY = 4;
/** Proto field names of the kinds (for paths). */
export const KIND_FIELDS: readonly string[] = [
  'gauge',
  'sum',
  'histogram',
  'exponential_histogram',
  'summary',
];

/** The five metrics tables of one request, created on first use. */
export class MetricsTables {
  private gaugeCols: NumberColumns | null = null;
  private sumCols: NumberColumns | null = null;
  private histogramCols: HistogramColumns | null = null;
  private expCols: ExpHistogramColumns | null = null;
  private summaryCols: SummaryColumns | null = null;
  /** Every table created so far. */
  readonly all: MetricColumns[] = [];

  constructor(
    private readonly budget: Budget,
    private readonly rows: number,
  ) {}

  private add<T extends MetricColumns>(t: T): T {
    this.all.push(t);
    return t;
  }

  get gauge(): NumberColumns {
    this.gaugeCols ??= this.add(
      pooled(
        pools.gauge,
        this.budget,
        this.rows,
        (b, r) => new NumberColumns(b, r, 'metrics_gauge'),
      ),
    );
    return this.gaugeCols;
  }
  get sum(): NumberColumns {
    this.sumCols ??= this.add(
      pooled(pools.sum, this.budget, this.rows, (b, r) => new NumberColumns(b, r, 'metrics_sum')),
    );
    return this.sumCols;
  }
  get histogram(): HistogramColumns {
    this.histogramCols ??= this.add(
      pooled(pools.histogram, this.budget, this.rows, (b, r) => new HistogramColumns(b, r)),
    );
    return this.histogramCols;
  }
  get exponentialHistogram(): ExpHistogramColumns {
    this.expCols ??= this.add(
      pooled(pools.exponential, this.budget, this.rows, (b, r) => new ExpHistogramColumns(b, r)),
    );
    return this.expCols;
  }
  get summary(): SummaryColumns {
    this.summaryCols ??= this.add(
      pooled(pools.summary, this.budget, this.rows, (b, r) => new SummaryColumns(b, r)),
    );
    return this.summaryCols;
  }

  /** The table of metric kind `kind` (KIND_*). */
  ofKind(kind: number): MetricColumns {
    return kind === KIND_GAUGE
      ? this.gauge
      : kind === KIND_SUM
        ? this.sum
        : kind === KIND_HISTOGRAM
          ? this.histogram
          : kind === KIND_EXP_HISTOGRAM
            ? this.exponentialHistogram
            : this.summary;
  }

  /** Ends a scope: copies the resource/scope block onto every table's new rows. */
  fillScope(ctx: BlockContext): void {
    for (const t of this.all) t.block.fillTo(t.rows, ctx);
  }

  /** Total rows over all tables. */
  get totalRows(): number {
    let n = 0;
    for (const t of this.all) n += t.rows;
    return n;
  }
}

/**
 * Column writers are reused from one decode to the next (decoders are synchronous),
 * one set per table type.
 */
const pools = {
  gauge: { cols: null as NumberColumns | null },
  sum: { cols: null as NumberColumns | null },
  histogram: { cols: null as HistogramColumns | null },
  exponential: { cols: null as ExpHistogramColumns | null },
  summary: { cols: null as SummaryColumns | null },
};

function pooled<T extends MetricColumns>(
  slot: { cols: T | null },
  budget: Budget,
  rows: number,
  create: (b: Budget, r: number) => T,
): T {
  if (slot.cols === null) slot.cols = create(budget, rows);
  else slot.cols.reset(budget, rows);
  return slot.cols;
}
