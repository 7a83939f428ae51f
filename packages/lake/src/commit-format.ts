/**
 * The commit-log objects (docs/005-lake.md): JSON, UTF-8, validated on read. Queue
 * sequences are u64 and travel as decimal strings; commit numbers are JSON numbers.
 */
import { CorruptCommitLogError } from './errors.js';

export const COMMIT_FORMAT = 'sediment.lake.commit';
export const CHECKPOINT_FORMAT = 'sediment.lake.checkpoint';
export const HINT_FORMAT = 'sediment.lake.latest';
export const FORMAT_VERSION = 1;

/** One Parquet file a commit adds. */
export interface CommittedFile {
  /** Object key, e.g. `lake/spans/dt=2024-05-01/hour=13/01HX….parquet`. */
  readonly key: string;
  readonly table: string;
  /** `dt=YYYY-MM-DD/hour=HH`. */
  readonly partition: string;
  readonly rows: number;
  /** Object size in bytes. */
  readonly bytes: number;
  /** Min/max event time (ns since the epoch, decimal); null when every timestamp is null. */
  readonly minTimestampNs: string | null;
  readonly maxTimestampNs: string | null;
}

/** A queue entry that could not be written, copied under `_quarantine/`. */
export interface QuarantinedEntry {
  readonly key: string;
  readonly sequence: string;
  readonly entryIndex: number;
  readonly reason: string;
  readonly message: string;
  readonly table: string | null;
}

export interface CommitRecord {
  readonly format: typeof COMMIT_FORMAT;
  readonly version: 1;
  /** n of `_commits/{n}.json`; commits are numbered 1, 2, 3… without gaps. */
  readonly commit: number;
  readonly createdAtMs: number;
  /** The compactor instance that wrote it (a ULID per process start). */
  readonly writerId: string;
  /** Unique per attempt to write this commit: recognizes our own commit after a lost reply. */
  readonly roundId: string;
  /** Queue epoch held by the writer when known (fencing diagnosis), decimal. */
  readonly queueEpoch: string | null;
  /** Queue sequences this commit covers, decimal: every entry with first ≤ seq ≤ last that
   *  the queue delivered is in this commit's files, its quarantine list, or was skipped
   *  as a duplicate. `last` is what a restarted compactor resumes after. */
  readonly sequences: { readonly first: string; readonly last: string };
  readonly files: readonly CommittedFile[];
  /** Idempotency keys (base64) per table, of the requests whose rows this commit holds. */
  readonly dedupKeys: Readonly<Record<string, readonly string[]>>;
  readonly quarantined: readonly QuarantinedEntry[];
  readonly stats: {
    readonly entries: number;
    readonly rows: number;
    readonly duplicateEntries: number;
    readonly duplicateRows: number;
  };
}

export interface Checkpoint {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: 1;
  /** The state after applying commits 1..commit. */
  readonly commit: number;
  readonly createdAtMs: number;
  readonly lastSequence: string | null;
  readonly files: readonly CommittedFile[];
  /** Idempotency keys still inside the dedup window: [table, base64 key, commit time ms]. */
  readonly dedupKeys: readonly (readonly [string, string, number])[];
}

export interface LatestHint {
  readonly format: typeof HINT_FORMAT;
  readonly version: 1;
  readonly commit: number;
  /** Latest checkpoint known to the writer of the hint, or null. */
  readonly checkpoint: number | null;
  readonly updatedAtMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(value)}\n`);
}

function parse(key: string, bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new CorruptCommitLogError(key, `not UTF-8 JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorruptCommitLogError(key, 'not a JSON object');
  }
  return value as Record<string, unknown>;
}

function check(cond: boolean, key: string, what: string): asserts cond {
  if (!cond) throw new CorruptCommitLogError(key, what);
}

const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isSeq = (v: unknown): v is string => typeof v === 'string' && /^(0|[1-9]\d{0,19})$/.test(v);
const isNs = (v: unknown): v is string | null =>
  v === null || (typeof v === 'string' && /^-?(0|[1-9]\d{0,18})$/.test(v));

function checkFile(key: string, f: unknown): asserts f is CommittedFile {
  const o = f as Record<string, unknown>;
  check(typeof o === 'object' && o !== null, key, 'file entry is not an object');
  check(typeof o.key === 'string' && o.key.length > 0, key, 'file.key');
  check(typeof o.table === 'string', key, 'file.table');
  check(typeof o.partition === 'string', key, 'file.partition');
  check(isCount(o.rows), key, 'file.rows');
  check(isCount(o.bytes), key, 'file.bytes');
  check(isNs(o.minTimestampNs) && isNs(o.maxTimestampNs), key, 'file.min/maxTimestampNs');
}

export function decodeCommit(key: string, bytes: Uint8Array, expected: number): CommitRecord {
  const o = parse(key, bytes);
  check(o.format === COMMIT_FORMAT, key, `format is not ${COMMIT_FORMAT}`);
  check(o.version === FORMAT_VERSION, key, `unsupported version ${String(o.version)}`);
  check(o.commit === expected, key, `commit number ${String(o.commit)} does not match its key`);
  check(isCount(o.createdAtMs), key, 'createdAtMs');
  check(typeof o.writerId === 'string' && typeof o.roundId === 'string', key, 'writerId/roundId');
  check(o.queueEpoch === null || isSeq(o.queueEpoch), key, 'queueEpoch');
  const seq = o.sequences as Record<string, unknown> | undefined;
  check(
    typeof seq === 'object' && seq !== null && isSeq(seq.first) && isSeq(seq.last),
    key,
    'sequences',
  );
  check(BigInt(seq.first as string) <= BigInt(seq.last as string), key, 'sequences.first > last');
  check(Array.isArray(o.files), key, 'files');
  for (const f of o.files as unknown[]) checkFile(key, f);
  const dk = o.dedupKeys as Record<string, unknown>;
  check(typeof dk === 'object' && dk !== null && !Array.isArray(dk), key, 'dedupKeys');
  for (const v of Object.values(dk)) {
    check(Array.isArray(v) && v.every((k) => typeof k === 'string'), key, 'dedupKeys values');
  }
  check(Array.isArray(o.quarantined), key, 'quarantined');
  const stats = o.stats as Record<string, unknown>;
  check(
    typeof stats === 'object' && stats !== null && isCount(stats.entries) && isCount(stats.rows),
    key,
    'stats',
  );
  return o as unknown as CommitRecord;
}

export function decodeCheckpoint(key: string, bytes: Uint8Array, expected: number): Checkpoint {
  const o = parse(key, bytes);
  check(o.format === CHECKPOINT_FORMAT, key, `format is not ${CHECKPOINT_FORMAT}`);
  check(o.version === FORMAT_VERSION, key, `unsupported version ${String(o.version)}`);
  check(o.commit === expected, key, `checkpoint number ${String(o.commit)} does not match its key`);
  check(o.lastSequence === null || isSeq(o.lastSequence), key, 'lastSequence');
  check(Array.isArray(o.files), key, 'files');
  for (const f of o.files as unknown[]) checkFile(key, f);
  check(Array.isArray(o.dedupKeys), key, 'dedupKeys');
  for (const d of o.dedupKeys as unknown[]) {
    check(
      Array.isArray(d) &&
        d.length === 3 &&
        typeof d[0] === 'string' &&
        typeof d[1] === 'string' &&
        isCount(d[2]),
      key,
      'dedupKeys entry',
    );
  }
  return o as unknown as Checkpoint;
}

export function decodeHint(key: string, bytes: Uint8Array): LatestHint {
  const o = parse(key, bytes);
  check(o.format === HINT_FORMAT, key, `format is not ${HINT_FORMAT}`);
  check(isCount(o.commit), key, 'commit');
  check(
    o.checkpoint === null || (isCount(o.checkpoint) && o.checkpoint <= o.commit),
    key,
    'checkpoint',
  );
  return o as unknown as LatestHint;
}
