/**
 * Orphan GC: deletes data files under the lake that no commit lists and that are older
 * than the grace period. Never a committed file (the listing is taken BEFORE the commit
 * log is read, so a file committed while GC runs is in the state GC reads), never a
 * fresh one (a live round commits only files younger than half the grace period, see
 * the compactor), never one a caller excludes (the local compactor's pending files).
 *
 * Age is the store's `lastModified` against the caller's clock: keep the grace period
 * far above the clock skew between hosts (default 1 hour).
 */
import type { ObjectStore } from '@sediment/object-store';
import { CommitLog } from './commit-log.js';
import { normalizeLakePrefix, parseDataFileKey } from './layout.js';
import type { Logger } from './logger.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';

export interface CollectOrphansOptions {
  readonly gracePeriodMs: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** Keys never to delete (files of a round that is being committed). */
  readonly exclude?: (key: string) => boolean;
  /** Report what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
  readonly logger?: Logger;
  readonly retry?: RetryPolicy;
}

export interface CollectOrphansResult {
  /** Data files seen in the listing. */
  readonly scanned: number;
  /** Latest commit whose state was used. */
  readonly commit: number;
  /** Orphans deleted (or that would be, with `dryRun`). */
  readonly deleted: readonly string[];
  /** Orphans kept because they are younger than the grace period or excluded. */
  readonly young: number;
}

export async function collectOrphans(
  store: ObjectStore,
  lakePrefix: string,
  options: CollectOrphansOptions,
): Promise<CollectOrphansResult> {
  const prefix = normalizeLakePrefix(lakePrefix);
  const now = options.now ?? Date.now;
  const candidates: { key: string; lastModified: number }[] = [];
  let scanned = 0;
  for await (const meta of store.list(`${prefix}/`)) {
    if (!parseDataFileKey(prefix, meta.key)) continue;
    scanned++;
    candidates.push({ key: meta.key, lastModified: meta.lastModified.getTime() });
  }
  // Read the log only after listing: every file listed that a commit references was
  // committed before the log read completes, so it is in `state.files`.
  const state = await new CommitLog(store, prefix, {
    retry: options.retry,
    logger: options.logger,
  }).loadLatest();
  const cutoff = now() - options.gracePeriodMs;
  const deleted: string[] = [];
  let young = 0;
  for (const c of candidates) {
    if (state.files.has(c.key)) continue;
    if (c.lastModified > cutoff || options.exclude?.(c.key)) {
      young++;
      continue;
    }
    if (!options.dryRun) {
      await withRetry(`delete ${c.key}`, options.retry ?? DEFAULT_RETRY, () => store.delete(c.key));
    }
    deleted.push(c.key);
  }
  if (deleted.length > 0) {
    options.logger?.info(
      { deleted: deleted.length, scanned, commit: state.commit, dryRun: options.dryRun ?? false },
      'orphan GC removed uncommitted data files',
    );
  }
  return { scanned, commit: state.commit, deleted, young };
}
