import {
  Bool,
  type DataType,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  Map_,
  Schema,
  Struct,
  TimestampNanosecond,
  Uint32,
  Utf8,
} from 'apache-arrow';

/** The seven tables OTLP requests decode into (SPEC §4). */
export type TableName =
  | 'spans'
  | 'logs'
  | 'metrics_gauge'
  | 'metrics_sum'
  | 'metrics_histogram'
  | 'metrics_exponential_histogram'
  | 'metrics_summary';

export const TABLE_NAMES: readonly TableName[] = [
  'spans',
  'logs',
  'metrics_gauge',
  'metrics_sum',
  'metrics_histogram',
  'metrics_exponential_histogram',
  'metrics_summary',
];

/** Schema metadata key naming the table of a record batch / IPC stream. */
export const TABLE_METADATA_KEY = 'sediment.table';
/** Schema metadata key carrying the schema version of the Sediment tables. */
export const SCHEMA_VERSION_METADATA_KEY = 'sediment.schema_version';
export const SCHEMA_VERSION = '1';

const ts = () => new TimestampNanosecond('UTC');
const utf8 = () => new Utf8();
const field = <T extends DataType>(name: string, type: T, nullable = false): Field<T> =>
  new Field(name, type, nullable);

/** Map<Utf8, Utf8> with nullable values (an attribute may have no value). */
export const attributesType = (): Map_<Utf8, Utf8> =>
  new Map_(
    new Field(
      'entries',
      new Struct([field('key', utf8()), field('value', utf8(), true)]),
      false,
    ) as Field<Struct<{ key: Utf8; value: Utf8 }>>,
    false,
  );

const listOf = (item: DataType) => new List(new Field('item', item, false));

/**
 * Dictionary<Int32, Utf8>. Ids are unique within a schema (each table numbers its
 * dictionaries from 0); IPC writers emit one dictionary batch per id.
 */
const dict = (id: number) => new Dictionary(new Utf8(), new Int32(), id, false);

function blockFields(): Field[] {
  return [
    field('resource_attributes', attributesType()),
    field('resource_schema_url', dict(0)),
    field('service_name', dict(1), true),
    field('scope_name', dict(2)),
    field('scope_version', dict(3)),
    field('scope_attributes', attributesType()),
    field('scope_schema_url', dict(4)),
  ];
}

export const eventType = (): Struct =>
  new Struct([
    field('timestamp', ts()),
    field('name', utf8()),
    field('attributes', attributesType()),
    field('dropped_attributes_count', new Uint32()),
  ]);

export const linkType = (): Struct =>
  new Struct([
    field('trace_id', utf8(), true),
    field('span_id', utf8(), true),
    field('trace_state', utf8()),
    field('attributes', attributesType()),
    field('flags', new Uint32()),
    field('dropped_attributes_count', new Uint32()),
  ]);

export const exemplarType = (): Struct =>
  new Struct([
    field('timestamp', ts()),
    field('value', new Float64(), true),
    field('value_int', new Int64(), true),
    field('span_id', utf8(), true),
    field('trace_id', utf8(), true),
    field('filtered_attributes', attributesType()),
  ]);

export const quantileType = (): Struct =>
  new Struct([field('quantile', new Float64()), field('value', new Float64())]);

function withMeta(table: TableName, fields: Field[]): Schema {
  return new Schema(
    fields,
    new Map([
      [TABLE_METADATA_KEY, table],
      [SCHEMA_VERSION_METADATA_KEY, SCHEMA_VERSION],
    ]),
  );
}

export const SPANS_SCHEMA = withMeta('spans', [
  ...blockFields(),
  field('timestamp', ts()),
  field('end_timestamp', ts()),
  field('duration_ns', new Int64()),
  field('trace_id', utf8()),
  field('span_id', utf8()),
  field('parent_span_id', utf8(), true),
  field('trace_state', utf8()),
  field('span_name', dict(5)),
  field('span_kind', dict(6)),
  field('status_code', dict(7)),
  field('status_message', utf8()),
  field('span_attributes', attributesType()),
  field('flags', new Uint32()),
  field('dropped_attributes_count', new Uint32()),
  field('dropped_events_count', new Uint32()),
  field('dropped_links_count', new Uint32()),
  field('events', listOf(eventType())),
  field('links', listOf(linkType())),
]);

export const LOGS_SCHEMA = withMeta('logs', [
  ...blockFields(),
  field('timestamp', ts()),
  field('observed_timestamp', ts()),
  field('trace_id', utf8(), true),
  field('span_id', utf8(), true),
  field('flags', new Uint32()),
  field('severity_text', dict(5)),
  field('severity_number', new Int32()),
  field('body', utf8(), true),
  field('log_attributes', attributesType()),
  field('event_name', dict(6)),
  field('dropped_attributes_count', new Uint32()),
]);

function metricFields(): Field[] {
  return [
    ...blockFields(),
    field('metric_name', dict(5)),
    field('metric_description', dict(6)),
    field('metric_unit', dict(7)),
    field('attributes', attributesType()),
    field('start_timestamp', ts(), true),
    field('timestamp', ts()),
  ];
}

export const METRICS_GAUGE_SCHEMA = withMeta('metrics_gauge', [
  ...metricFields(),
  field('value', new Float64(), true),
  field('value_int', new Int64(), true),
  field('flags', new Uint32()),
  field('exemplars', listOf(exemplarType())),
]);

export const METRICS_SUM_SCHEMA = withMeta('metrics_sum', [
  ...metricFields(),
  field('value', new Float64(), true),
  field('value_int', new Int64(), true),
  field('flags', new Uint32()),
  field('exemplars', listOf(exemplarType())),
  field('aggregation_temporality', new Int32()),
  field('is_monotonic', new Bool()),
]);

export const METRICS_HISTOGRAM_SCHEMA = withMeta('metrics_histogram', [
  ...metricFields(),
  field('count', new Int64()),
  field('sum', new Float64(), true),
  field('min', new Float64(), true),
  field('max', new Float64(), true),
  field('bucket_counts', listOf(new Int64())),
  field('explicit_bounds', listOf(new Float64())),
  field('aggregation_temporality', new Int32()),
  field('flags', new Uint32()),
  field('exemplars', listOf(exemplarType())),
]);

export const METRICS_EXPONENTIAL_HISTOGRAM_SCHEMA = withMeta('metrics_exponential_histogram', [
  ...metricFields(),
  field('count', new Int64()),
  field('sum', new Float64(), true),
  field('min', new Float64(), true),
  field('max', new Float64(), true),
  field('scale', new Int32()),
  field('zero_count', new Int64()),
  field('zero_threshold', new Float64()),
  field('positive_offset', new Int32()),
  field('positive_bucket_counts', listOf(new Int64())),
  field('negative_offset', new Int32()),
  field('negative_bucket_counts', listOf(new Int64())),
  field('aggregation_temporality', new Int32()),
  field('flags', new Uint32()),
  field('exemplars', listOf(exemplarType())),
]);

export const METRICS_SUMMARY_SCHEMA = withMeta('metrics_summary', [
  ...metricFields(),
  field('count', new Int64()),
  field('sum', new Float64()),
  field('quantile_values', listOf(quantileType())),
  field('flags', new Uint32()),
]);

/** Every table's schema, by name. */
export const TABLE_SCHEMAS: Readonly<Record<TableName, Schema>> = {
  spans: SPANS_SCHEMA,
  logs: LOGS_SCHEMA,
  metrics_gauge: METRICS_GAUGE_SCHEMA,
  metrics_sum: METRICS_SUM_SCHEMA,
  metrics_histogram: METRICS_HISTOGRAM_SCHEMA,
  metrics_exponential_histogram: METRICS_EXPONENTIAL_HISTOGRAM_SCHEMA,
  metrics_summary: METRICS_SUMMARY_SCHEMA,
};

/** The type of the column `name` of `schema` (throws on a typo: internal use). */
export function columnType<T extends DataType>(schema: Schema, name: string): T {
  const f = schema.fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`internal: no column ${name}`);
  return f.type as T;
}

/** Values of the dictionary-encoded enum columns, indexed by the OTLP enum number. */
export const SPAN_KIND_NAMES = [
  'Unspecified',
  'Internal',
  'Server',
  'Client',
  'Producer',
  'Consumer',
];
export const STATUS_CODE_NAMES = ['Unset', 'Ok', 'Error'];
