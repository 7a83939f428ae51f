/**
 * Where things live under the lake prefix (docs/005-lake.md):
 *
 *   {prefix}/{table}/dt=YYYY-MM-DD/hour=HH/{ULID}.parquet   data files (Hive partitions, UTC event time)
 *   {prefix}/_commits/{n:20}.json                           commit n (n >= 1), created once
 *   {prefix}/_commits/{n:20}.checkpoint.json                full live file list as of commit n
 *   {prefix}/_commits/_latest.json                          advisory hint: latest commit/checkpoint
 *   {prefix}/_quarantine/{sequence:20}-{entry}.arrows       raw queue entries that cannot be written
 *
 * Table names come from queue entries, so they are validated before they become part of
 * a key: `^[a-z][a-z0-9_]{0,62}$` can never contain `/`, `.` or `..`.
 */
import { validatePrefix } from '@sediment/object-store';
import { InvalidConfigError } from './errors.js';

export const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/** The tables the OTLP decoder produces (SPEC §4). */
export const OTLP_TABLES: readonly string[] = Object.freeze([
  'spans',
  'logs',
  'metrics_gauge',
  'metrics_sum',
  'metrics_histogram',
  'metrics_exponential_histogram',
  'metrics_summary',
]);

export function isValidTableName(name: string): boolean {
  return TABLE_NAME_PATTERN.test(name);
}

/** Normalizes a lake prefix: no leading/trailing `/`, valid key segments. */
export function normalizeLakePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') throw new InvalidConfigError('lakePrefix', 'must not be empty');
  try {
    validatePrefix(`${trimmed}/`);
  } catch (err) {
    throw new InvalidConfigError('lakePrefix', (err as Error).message);
  }
  return trimmed;
}

export const HOUR_NS = 3_600_000_000_000;
const HOUR_MS = 3_600_000;
const HOUR_NS_BIG = 3_600_000_000_000n;
/** Well above the worst rounding error (1024 ns) of `hi * 2^32 + lo` near 2^63. */
const EXACT_MARGIN_NS = 8192;

/**
 * The UTC hour (hours since the epoch, floor) of a nanosecond timestamp given as its two
 * 32-bit halves. Exact: the double estimate is used unless the value lies within a few
 * microseconds of an hour boundary, where it is recomputed with BigInt (rare; keeps the
 * hot loop allocation-free).
 */
export function hourOfNs(lo: number, hi: number): number {
  const approx = hi * 4294967296 + (lo >>> 0);
  const h = Math.floor(approx / HOUR_NS);
  const r = approx - h * HOUR_NS;
  if (r >= EXACT_MARGIN_NS && r <= HOUR_NS - EXACT_MARGIN_NS) return h;
  const ns = (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);
  let q = ns / HOUR_NS_BIG;
  if (ns % HOUR_NS_BIG < 0n) q -= 1n;
  return Number(q);
}

export function hourOfMs(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

const partitionCache = new Map<number, string>();

/** `dt=YYYY-MM-DD/hour=HH` of an hour index (UTC). */
export function partitionOfHour(hour: number): string {
  let p = partitionCache.get(hour);
  if (p === undefined) {
    const iso = new Date(hour * HOUR_MS).toISOString();
    // Years outside 0000-9999 print as ±YYYYYY; int64 ns timestamps stay within 1677-2262.
    const tIndex = iso.indexOf('T');
    p = `dt=${iso.slice(0, tIndex)}/hour=${iso.slice(tIndex + 1, tIndex + 3)}`;
    if (partitionCache.size > 100_000) partitionCache.clear();
    partitionCache.set(hour, p);
  }
  return p;
}

export function dataFileKey(prefix: string, table: string, partition: string, id: string): string {
  return `${prefix}/${table}/${partition}/${id}.parquet`;
}

const DATA_FILE_RE = /^([a-z][a-z0-9_]{0,62})\/(dt=\d{4}-\d{2}-\d{2}\/hour=\d{2})\/[^/]+\.parquet$/;

/** Parses a data-file key under `prefix`; undefined for anything else (commits, quarantine…). */
export function parseDataFileKey(
  prefix: string,
  key: string,
): { table: string; partition: string } | undefined {
  if (!key.startsWith(`${prefix}/`)) return undefined;
  const m = DATA_FILE_RE.exec(key.slice(prefix.length + 1));
  return m ? { table: m[1]!, partition: m[2]! } : undefined;
}

export function pad20(n: number | bigint): string {
  return n.toString().padStart(20, '0');
}

export const commitsDir = (prefix: string) => `${prefix}/_commits/`;
export const commitKey = (prefix: string, n: number) => `${prefix}/_commits/${pad20(n)}.json`;
export const checkpointKey = (prefix: string, n: number) =>
  `${prefix}/_commits/${pad20(n)}.checkpoint.json`;
export const latestHintKey = (prefix: string) => `${prefix}/_commits/_latest.json`;
export const quarantineKey = (prefix: string, sequence: bigint, entryIndex: number) =>
  `${prefix}/_quarantine/${pad20(sequence)}-${entryIndex}.arrows`;

const COMMIT_FILE_RE = /^(\d{20})\.(json|checkpoint\.json)$/;

/** Parses a key under `_commits/`: commit or checkpoint number. */
export function parseCommitLogKey(
  prefix: string,
  key: string,
): { n: number; kind: 'commit' | 'checkpoint' } | undefined {
  const dir = commitsDir(prefix);
  if (!key.startsWith(dir)) return undefined;
  const m = COMMIT_FILE_RE.exec(key.slice(dir.length));
  if (!m) return undefined;
  return { n: Number(m[1]), kind: m[2] === 'json' ? 'commit' : 'checkpoint' };
}
