/**
 * Reading the committed lake: what `sediment query`, `inspect lake` and tests use. It
 * follows the commit log (latest checkpoint + later commits), so it never returns an
 * orphan and never a file twice.
 */
import type { ObjectStore } from '@sediment/object-store';
import type { CommittedFile } from './commit-format.js';
import { CommitLog } from './commit-log.js';
import { normalizeLakePrefix } from './layout.js';

export interface LakeSnapshot {
  /** Latest commit number; 0 when the lake is empty. */
  readonly commit: number;
  /** Highest queue sequence committed. */
  readonly lastSequence: bigint | undefined;
  /** Committed files in key order. */
  readonly files: readonly CommittedFile[];
}

export async function readLakeSnapshot(
  store: ObjectStore,
  lakePrefix = 'lake',
): Promise<LakeSnapshot> {
  const log = new CommitLog(store, normalizeLakePrefix(lakePrefix));
  const state = await log.loadLatest();
  const files = [...state.files.values()].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
  );
  return { commit: state.commit, lastSequence: state.lastSequence, files };
}

/** The committed files, optionally of one table, in key order. */
export async function readCommittedFiles(
  store: ObjectStore,
  lakePrefix = 'lake',
  options: { readonly table?: string } = {},
): Promise<CommittedFile[]> {
  const { files } = await readLakeSnapshot(store, lakePrefix);
  return options.table === undefined ? [...files] : files.filter((f) => f.table === options.table);
}
