/**
 * The object keys OTLP/JSON uses, each with a small integer id that the scanner
 * (json-tape.ts) stores with every key it reads, so the walkers dispatch on an int
 * instead of comparing bytes. lowerCamelCase and snake_case spellings of a field get
 * different ids: where both appear the walkers apply `camel ?? snake`, as
 * `o.fooBar ?? o.foo_bar` did over JSON.parse objects. Unknown keys get id 0.
 */

export const K_NONE = 0;
export const K_RESOURCE_SPANS = 1;
export const K_RESOURCE_SPANS_ = 2;
export const K_RESOURCE_LOGS = 3;
export const K_RESOURCE_LOGS_ = 4;
export const K_RESOURCE_METRICS = 5;
export const K_RESOURCE_METRICS_ = 6;
export const K_RESOURCE = 7;
export const K_SCHEMA_URL = 8;
export const K_SCHEMA_URL_ = 9;
export const K_SCOPE_SPANS = 10;
export const K_SCOPE_SPANS_ = 11;
export const K_SCOPE_LOGS = 12;
export const K_SCOPE_LOGS_ = 13;
export const K_SCOPE_METRICS = 14;
export const K_SCOPE_METRICS_ = 15;
export const K_SCOPE = 16;
export const K_ATTRIBUTES = 17;
export const K_NAME = 18;
export const K_VERSION = 19;
export const K_SPANS = 20;
export const K_TRACE_ID = 21;
export const K_TRACE_ID_ = 22;
export const K_SPAN_ID = 23;
export const K_SPAN_ID_ = 24;
export const K_PARENT_SPAN_ID = 25;
export const K_PARENT_SPAN_ID_ = 26;
export const K_TRACE_STATE = 27;
export const K_TRACE_STATE_ = 28;
export const K_KIND = 29;
export const K_START_TIME = 30;
export const K_START_TIME_ = 31;
export const K_END_TIME = 32;
export const K_END_TIME_ = 33;
export const K_DROPPED_ATTRIBUTES = 34;
export const K_DROPPED_ATTRIBUTES_ = 35;
export const K_EVENTS = 36;
export const K_DROPPED_EVENTS = 37;
export const K_DROPPED_EVENTS_ = 38;
export const K_LINKS = 39;
export const K_DROPPED_LINKS = 40;
export const K_DROPPED_LINKS_ = 41;
export const K_STATUS = 42;
export const K_FLAGS = 43;
export const K_CODE = 44;
export const K_MESSAGE = 45;
export const K_TIME = 46;
export const K_TIME_ = 47;
export const K_KEY = 48;
export const K_VALUE = 49;
export const K_STRING_VALUE = 50;
export const K_STRING_VALUE_ = 51;
export const K_BOOL_VALUE = 52;
export const K_BOOL_VALUE_ = 53;
export const K_INT_VALUE = 54;
export const K_INT_VALUE_ = 55;
export const K_DOUBLE_VALUE = 56;
export const K_DOUBLE_VALUE_ = 57;
export const K_ARRAY_VALUE = 58;
export const K_ARRAY_VALUE_ = 59;
export const K_KVLIST_VALUE = 60;
export const K_KVLIST_VALUE_ = 61;
export const K_BYTES_VALUE = 62;
export const K_BYTES_VALUE_ = 63;
export const K_VALUES = 64;
export const K_LOG_RECORDS = 65;
export const K_LOG_RECORDS_ = 66;
export const K_OBSERVED_TIME = 67;
export const K_OBSERVED_TIME_ = 68;
export const K_SEVERITY_NUMBER = 69;
export const K_SEVERITY_NUMBER_ = 70;
export const K_SEVERITY_TEXT = 71;
export const K_SEVERITY_TEXT_ = 72;
export const K_BODY = 73;
export const K_EVENT_NAME = 74;
export const K_EVENT_NAME_ = 75;
export const K_METRICS = 76;
export const K_DESCRIPTION = 77;
export const K_UNIT = 78;
export const K_METADATA = 79;
export const K_GAUGE = 80;
export const K_SUM = 81;
export const K_HISTOGRAM = 82;
export const K_EXP_HISTOGRAM = 83;
export const K_EXP_HISTOGRAM_ = 84;
export const K_SUMMARY = 85;
export const K_DATA_POINTS = 86;
export const K_DATA_POINTS_ = 87;
export const K_TEMPORALITY = 88;
export const K_TEMPORALITY_ = 89;
export const K_MONOTONIC = 90;
export const K_MONOTONIC_ = 91;
export const K_AS_DOUBLE = 92;
export const K_AS_DOUBLE_ = 93;
export const K_AS_INT = 94;
export const K_AS_INT_ = 95;
export const K_EXEMPLARS = 96;
export const K_COUNT = 97;
export const K_MIN = 98;
export const K_MAX = 99;
export const K_BUCKET_COUNTS = 100;
export const K_BUCKET_COUNTS_ = 101;
export const K_EXPLICIT_BOUNDS = 102;
export const K_EXPLICIT_BOUNDS_ = 103;
export const K_SCALE = 104;
export const K_ZERO_COUNT = 105;
export const K_ZERO_COUNT_ = 106;
export const K_ZERO_THRESHOLD = 107;
export const K_ZERO_THRESHOLD_ = 108;
export const K_POSITIVE = 109;
export const K_NEGATIVE = 110;
export const K_OFFSET = 111;
export const K_QUANTILE_VALUES = 112;
export const K_QUANTILE_VALUES_ = 113;
export const K_QUANTILE = 114;
export const K_FILTERED_ATTRIBUTES = 115;
export const K_FILTERED_ATTRIBUTES_ = 116;

/** Key spellings by id (index 0 unused). */
const NAMES: readonly string[] = [
  '',
  'resourceSpans',
  'resource_spans',
  'resourceLogs',
  'resource_logs',
  'resourceMetrics',
  'resource_metrics',
  'resource',
  'schemaUrl',
  'schema_url',
  'scopeSpans',
  'scope_spans',
  'scopeLogs',
  'scope_logs',
  'scopeMetrics',
  'scope_metrics',
  'scope',
  'attributes',
  'name',
  'version',
  'spans',
  'traceId',
  'trace_id',
  'spanId',
  'span_id',
  'parentSpanId',
  'parent_span_id',
  'traceState',
  'trace_state',
  'kind',
  'startTimeUnixNano',
  'start_time_unix_nano',
  'endTimeUnixNano',
  'end_time_unix_nano',
  'droppedAttributesCount',
  'dropped_attributes_count',
  'events',
  'droppedEventsCount',
  'dropped_events_count',
  'links',
  'droppedLinksCount',
  'dropped_links_count',
  'status',
  'flags',
  'code',
  'message',
  'timeUnixNano',
  'time_unix_nano',
  'key',
  'value',
  'stringValue',
  'string_value',
  'boolValue',
  'bool_value',
  'intValue',
  'int_value',
  'doubleValue',
  'double_value',
  'arrayValue',
  'array_value',
  'kvlistValue',
  'kvlist_value',
  'bytesValue',
  'bytes_value',
  'values',
  'logRecords',
  'log_records',
  'observedTimeUnixNano',
  'observed_time_unix_nano',
  'severityNumber',
  'severity_number',
  'severityText',
  'severity_text',
  'body',
  'eventName',
  'event_name',
  'metrics',
  'description',
  'unit',
  'metadata',
  'gauge',
  'sum',
  'histogram',
  'exponentialHistogram',
  'exponential_histogram',
  'summary',
  'dataPoints',
  'data_points',
  'aggregationTemporality',
  'aggregation_temporality',
  'isMonotonic',
  'is_monotonic',
  'asDouble',
  'as_double',
  'asInt',
  'as_int',
  'exemplars',
  'count',
  'min',
  'max',
  'bucketCounts',
  'bucket_counts',
  'explicitBounds',
  'explicit_bounds',
  'scale',
  'zeroCount',
  'zero_count',
  'zeroThreshold',
  'zero_threshold',
  'positive',
  'negative',
  'offset',
  'quantileValues',
  'quantile_values',
  'quantile',
  'filteredAttributes',
  'filtered_attributes',
];

/** Key ids are 0 … KEY_IDS − 1. */
export const KEY_IDS = NAMES.length;

const BY_STRING = new Map<string, number>();

// Lookup at a key's first byte, before its end is known. A key is matched with its
// closing quote, as 32-bit little-endian words: the first word selects candidates
// (hash table), the others (at 4, 8, … and one ending at the quote) confirm.
const PREFIX_BITS = 9;
const PREFIX_MASK = (1 << PREFIX_BITS) - 1;
const PREFIX_SLOTS = new Uint8Array(1 << PREFIX_BITS);
const PREFIXES = new Int32Array(NAMES.length);
/** Per key: its (offset, word) pairs after the first word, in WORDS[WORD_START[id] …]. */
const WORD_START = new Int32Array(NAMES.length + 1);
const LENGTHS = new Int32Array(NAMES.length);
const words: number[] = [];

function prefixHash(word: number): number {
  return Math.imul(word, 0x9e3779b1) >>> (32 - PREFIX_BITS);
}

/** Little-endian word of the four characters of `s` at `i`. */
function wordAt(s: string, i: number): number {
  return (
    s.charCodeAt(i) |
    (s.charCodeAt(i + 1) << 8) |
    (s.charCodeAt(i + 2) << 16) |
    (s.charCodeAt(i + 3) << 24) |
    0
  );
}

for (let id = 1; id < NAMES.length; id++) {
  const s = NAMES[id]!;
  BY_STRING.set(s, id);
  LENGTHS[id] = s.length;
  const q = `${s}"`; // every key is at least 3 characters: q has a first word
  PREFIXES[id] = wordAt(q, 0);
  let h = prefixHash(PREFIXES[id]!) & PREFIX_MASK;
  while (PREFIX_SLOTS[h] !== 0) h = (h + 1) & PREFIX_MASK;
  PREFIX_SLOTS[h] = id;
  WORD_START[id] = words.length;
  let off = 4;
  for (; off + 4 <= q.length; off += 4) words.push(off, wordAt(q, off));
  if (off < q.length) words.push(q.length - 4, wordAt(q, q.length - 4));
  WORD_START[id + 1] = words.length;
}
const WORDS = Int32Array.from(words);

/**
 * Id of the known key spelled at `start` and closed by a quote, given `view` over the
 * bytes and the little-endian word of its first four bytes; 0 when no known key is
 * there (an unknown key, or one written with escapes: the caller scans it).
 */
export function keyIdAt(view: DataView, start: number, word: number): number {
  let h = prefixHash(word) & PREFIX_MASK;
  for (;;) {
    const id = PREFIX_SLOTS[h]!;
    if (id === 0) return 0;
    if (PREFIXES[id] === word) {
      let j = WORD_START[id]!;
      const end = WORD_START[id + 1]!;
      while (j < end && view.getInt32(start + WORDS[j]!, true) === WORDS[j + 1]) j += 2;
      if (j === end) return id;
    }
    h = (h + 1) & PREFIX_MASK;
  }
}

/** Length in bytes of key `id`. */
export function keyLength(id: number): number {
  return LENGTHS[id]!;
}

/** Id of a key given as a JavaScript string (keys written with escapes), 0 when unknown. */
export function keyIdOfString(s: string): number {
  return BY_STRING.get(s) ?? 0;
}

/** The spelling of key `id` (tests). */
export function keyName(id: number): string {
  return NAMES[id] ?? '';
}

/** Number of known keys, ids 1 … KEY_COUNT (tests). */
export const KEY_COUNT = NAMES.length - 1;
