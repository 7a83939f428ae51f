/**
 * Arrow tables and IPC streams for the Flight tests: every kind of column the OTLP tables
 * use (dictionary strings, nested List<Struct<… Map …>>, Map<Utf8, Utf8>, Timestamp(ns),
 * Int64 extremes, NaN, unicode, nulls), multi-batch streams whose dictionaries change
 * between batches (dictionary batch messages), schema-only streams, and an oracle that
 * compares two tables down to their buffers (Timestamp(ns) values included, which
 * `Vector.get` would round to milliseconds).
 */
import {
  Bool,
  type Data,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  Map_,
  makeData,
  makeVector,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Table,
  TimestampNanosecond,
  type TypeMap,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = [
  '',
  'checkout',
  'naïve café',
  '日本語',
  '🙂 emoji',
  'a'.repeat(300),
  'GET /api/v1',
];
const INT64_EDGES = [
  0n,
  1n,
  -1n,
  9223372036854775807n,
  -9223372036854775808n,
  1700000000123456789n,
];

const attrType = () =>
  new Map_<Utf8, Utf8>(
    new Field(
      'entries',
      new Struct<{ key: Utf8; value: Utf8 }>([
        new Field('key', new Utf8(), false),
        new Field('value', new Utf8(), true),
      ]),
      false,
    ),
  );

const eventType = () =>
  new Struct([
    new Field('timestamp', new TimestampNanosecond('UTC'), true),
    new Field('name', new Utf8(), true),
    new Field('attributes', attrType(), true),
    new Field('dropped_attributes_count', new Int64(), true),
  ]);

export const kitchenSinkSchema = (table = 'spans'): Schema =>
  new Schema(
    [
      new Field('timestamp', new TimestampNanosecond('UTC'), false),
      new Field('service_name', new Dictionary(new Utf8(), new Int32(), 0), true),
      new Field('span_kind', new Dictionary(new Utf8(), new Int32(), 1), true),
      new Field('span_name', new Utf8(), true),
      new Field('duration_ns', new Int64(), true),
      new Field('value', new Float64(), true),
      new Field('ok', new Bool(), true),
      new Field('span_attributes', attrType(), true),
      new Field('events', new List(new Field('item', eventType(), true)), true),
    ],
    new Map([['sediment.table', table]]),
  );

/**
 * One record batch of the kitchen-sink schema. `dictionaryWords` chooses the dictionary
 * values so consecutive batches can carry different dictionaries.
 */
export function kitchenSinkBatch(
  rows: number,
  seed: number,
  dictionaryWords = ['api', 'db', 'web'],
): RecordBatch {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ts = new BigInt64Array(rows);
  const duration: (bigint | null)[] = [];
  const values: (number | null)[] = [];
  const names: (string | null)[] = [];
  const services: (string | null)[] = [];
  const kinds: (string | null)[] = [];
  const oks: (boolean | null)[] = [];
  const attrs: (Map<string, string | null> | null)[] = [];
  const events: (
    | {
        timestamp: null;
        name: string | null;
        attributes: Map<string, string | null> | null;
        dropped_attributes_count: bigint | null;
      }[]
    | null
  )[] = [];
  for (let i = 0; i < rows; i++) {
    ts[i] = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_003n + BigInt(Math.floor(r() * 999));
    duration.push(r() < 0.1 ? null : pick(INT64_EDGES));
    values.push(r() < 0.1 ? null : r() < 0.1 ? Number.NaN : r() * 1e6 - 5e5);
    names.push(r() < 0.1 ? null : pick(STRINGS));
    services.push(r() < 0.05 ? null : pick(dictionaryWords));
    kinds.push(pick(['Server', 'Client', 'Internal']));
    oks.push(r() < 0.1 ? null : r() < 0.5);
    const m = new Map<string, string | null>();
    const nAttrs = Math.floor(r() * 4);
    for (let k = 0; k < nAttrs; k++)
      m.set(`k${k}.${pick(STRINGS)}`, r() < 0.2 ? null : pick(STRINGS));
    attrs.push(r() < 0.1 ? null : m);
    const nEvents = Math.floor(r() * 3);
    events.push(
      r() < 0.1
        ? null
        : Array.from({ length: nEvents }, () => ({
            timestamp: null,
            name: pick(STRINGS),
            attributes: r() < 0.3 ? null : new Map([['e', pick(STRINGS)]]),
            dropped_attributes_count: r() < 0.5 ? null : pick(INT64_EDGES),
          })),
    );
  }
  const schema = kitchenSinkSchema();
  const f = (name: string) => schema.fields.find((x) => x.name === name)!.type;
  const columns = {
    timestamp: makeVector(
      makeData({ type: new TimestampNanosecond('UTC'), length: rows, data: ts }),
    ),
    service_name: vectorFromArray(services, f('service_name')),
    span_kind: vectorFromArray(kinds, f('span_kind')),
    span_name: vectorFromArray(names, new Utf8()),
    duration_ns: vectorFromArray(duration, new Int64()),
    value: vectorFromArray(values, new Float64()),
    ok: vectorFromArray(oks, new Bool()),
    span_attributes: vectorFromArray(attrs, f('span_attributes')),
    events: vectorFromArray(events, f('events')),
  };
  const data = makeData({
    type: new Struct(schema.fields),
    length: rows,
    nullCount: 0,
    children: schema.fields.map(
      (field) => (columns as Record<string, Vector>)[field.name]!.data[0]!,
    ),
  });
  return new RecordBatch(schema, data);
}

/** Writes batches (all of one schema) as an IPC stream with apache-arrow's stream writer. */
export function streamOf(
  schema: Schema,
  batches: readonly RecordBatch[],
  legacy = false,
): Uint8Array {
  const writer = new RecordBatchStreamWriter({ writeLegacyIpcFormat: legacy });
  writer.reset(undefined, schema);
  for (const b of batches) writer.write(b);
  writer.finish();
  return writer.toUint8Array(true);
}

/** A stream of `count` kitchen-sink batches whose dictionaries differ batch to batch. */
export function multiBatchStream(count: number, rowsPerBatch: number, seed = 1): Uint8Array {
  const batches = Array.from({ length: count }, (_, i) =>
    kitchenSinkBatch(
      rowsPerBatch,
      seed + i,
      i % 2 === 0 ? ['api', 'db', 'web'] : ['queue', 'cache', `svc-${i}`],
    ),
  );
  return streamOf(kitchenSinkSchema(), batches);
}

/** A schema-only stream (no record batch). */
export function schemaOnlyStream(table = 'logs'): Uint8Array {
  return streamOf(kitchenSinkSchema(table), []);
}

/** A stream of about `bytes` bytes: one Float64 column, split into `batches` batches. */
export function bulkStream(bytes: number, batches = 1): Uint8Array {
  const rowsPerBatch = Math.max(1, Math.floor(bytes / 8 / batches));
  const schema = new Schema(
    [new Field('v', new Float64(), false)],
    new Map([['sediment.table', 'bulk']]),
  );
  const list: RecordBatch[] = [];
  for (let b = 0; b < batches; b++) {
    const values = new Float64Array(rowsPerBatch);
    for (let i = 0; i < rowsPerBatch; i += 4096) values[i] = b * 1e9 + i;
    const data = makeData({
      type: new Struct(schema.fields),
      length: rowsPerBatch,
      nullCount: 0,
      children: [makeData({ type: new Float64(), length: rowsPerBatch, data: values })],
    });
    list.push(new RecordBatch(schema, data));
  }
  return streamOf(schema, list);
}

function bytesOf(view: ArrayBufferView | undefined | null): string {
  if (view === undefined || view === null) return '-';
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}

function describeData(d: Data | undefined, out: string[], path: string): void {
  if (d === undefined) {
    out.push(`${path} absent`);
    return;
  }
  out.push(
    `${path} type=${String(d.type)} len=${d.length} off=${d.offset} nulls=${d.nullCount}` +
      ` values=${bytesOf(d.values as ArrayBufferView | undefined)}` +
      ` offsets=${bytesOf(d.valueOffsets as ArrayBufferView | undefined)}` +
      ` validity=${d.nullCount > 0 ? bytesOf(d.nullBitmap) : '-'}`,
  );
  for (const [i, c] of d.children.entries()) describeData(c, out, `${path}.${i}`);
  for (const [i, c] of (d.dictionary?.data ?? []).entries())
    describeData(c, out, `${path}.dict${i}`);
}

/**
 * A canonical description of a table: schema (names, types, nullability, metadata),
 * per-batch buffers. Two tables with equal descriptions hold the same values.
 */
export function describeTable(t: Table<TypeMap>): string {
  const out: string[] = [];
  out.push(`rows=${t.numRows} batches=${t.batches.length}`);
  out.push(`meta=${JSON.stringify([...t.schema.metadata])}`);
  for (const f of t.schema.fields)
    out.push(`field ${f.name}: ${String(f.type)} nullable=${f.nullable}`);
  for (const [bi, b] of t.batches.entries()) {
    for (const [fi, f] of b.schema.fields.entries())
      describeData(b.data.children[fi], out, `b${bi}.${f.name}`);
  }
  return out.join('\n');
}

export { Table };
