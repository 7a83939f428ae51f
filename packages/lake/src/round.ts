/**
 * One compaction round: the queue batches read since the last commit, demultiplexed by
 * table, schema and event hour into groups of pieces, plus what the commit will record
 * (idempotency keys, quarantined entries, counters).
 *
 * A round is rebuilt from its `batches` when it must change after the fact (another
 * compactor committed part of it, or an entry turned out to be unwritable): building is
 * deterministic given the batches, the dedup window and the set of bad entries.
 */
import type { Piece, SchemaInfo } from './entry-decoder.js';
import type { QueueBatch } from './queue-source.js';
import type { TsRange } from './ts-range.js';

export interface Group {
  readonly table: string;
  readonly schema: SchemaInfo;
  readonly hour: number;
  readonly pieces: PieceRef[];
  rows: number;
  bytes: number;
}

export interface PieceRef {
  readonly piece: Piece;
  /** `${sequence}:${entryIndex}` of the entry it came from. */
  readonly entry: string;
}

export interface PendingQuarantine {
  readonly sequence: bigint;
  readonly entryIndex: number;
  readonly bytes: Uint8Array;
  readonly reason: string;
  readonly message: string;
  readonly table: string | undefined;
}

export interface WrittenFile {
  readonly key: string;
  readonly table: string;
  readonly partition: string;
  readonly rows: number;
  readonly bytes: number;
  readonly range: TsRange;
}

export const entryId = (sequence: bigint, index: number) => `${sequence}:${index}`;

export class Round {
  readonly batches: QueueBatch[] = [];
  readonly groups = new Map<string, Group>();
  /** `${table}\0${key}` of the requests whose rows this round holds. */
  readonly dedupIds = new Set<string>();
  readonly dedupByTable = new Map<string, string[]>();
  readonly quarantine: PendingQuarantine[] = [];
  firstSequence: bigint | undefined;
  lastSequence: bigint | undefined;
  entries = 0;
  rows = 0;
  bytes = 0;
  duplicateEntries = 0;
  duplicateRows = 0;
  slowEntries = 0;
  /** Clock time the first batch joined the round. */
  startedAtMs: number | undefined;
  maxGroupRows = 0;
  maxGroupBytes = 0;
  /** Files uploaded for the current commit attempt, and when the first upload began. */
  written: WrittenFile[] | undefined;
  writtenAtMs = 0;
  /** Identifies the commit attempt over `written` (stable across create retries). */
  roundId: string | undefined;

  get isEmpty(): boolean {
    return this.batches.length === 0;
  }

  addBatchHeader(batch: QueueBatch, nowMs: number): void {
    this.batches.push(batch);
    this.firstSequence ??= batch.sequence;
    this.lastSequence = batch.sequence;
    this.startedAtMs ??= nowMs;
  }

  addPiece(schema: SchemaInfo, piece: Piece, entry: string): void {
    const key = `${schema.id}\u0000${piece.hour}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { table: schema.table, schema, hour: piece.hour, pieces: [], rows: 0, bytes: 0 };
      this.groups.set(key, group);
    }
    group.pieces.push({ piece, entry });
    group.rows += piece.rows;
    group.bytes += piece.bytes;
    this.rows += piece.rows;
    this.bytes += piece.bytes;
    if (group.rows > this.maxGroupRows) this.maxGroupRows = group.rows;
    if (group.bytes > this.maxGroupBytes) this.maxGroupBytes = group.bytes;
  }

  addDedupKey(id: string, table: string, keyBase64: string): void {
    if (this.dedupIds.has(id)) return;
    this.dedupIds.add(id);
    const list = this.dedupByTable.get(table);
    if (list) list.push(keyBase64);
    else this.dedupByTable.set(table, [keyBase64]);
  }

  /** Groups in a stable order: table, then hour, then schema. */
  sortedGroups(): Group[] {
    return [...this.groups.values()].sort((a, b) =>
      a.table < b.table ? -1 : a.table > b.table ? 1 : a.hour - b.hour || a.schema.id - b.schema.id,
    );
  }
}
