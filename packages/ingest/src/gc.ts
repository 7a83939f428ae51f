import type { ObjectMeta, ObjectStore } from '@sediment/object-store';
import { type RetryPolicy, withTransientRetry } from './retry.js';

const BATCH_NAME = /^[0-7][0-9A-HJKMNP-TV-Z]{25}\.batch$/;

export interface GcOptions {
  readonly store: ObjectStore;
  readonly dataPathPrefix: string;
  /** Reads the manifest and returns the locations it references. Called AFTER listing. */
  readonly referenced: () => Promise<ReadonlySet<string>>;
  /** Wall-clock milliseconds now. */
  readonly now: number;
  readonly gracePeriodMs: number;
  readonly retry: RetryPolicy;
  readonly random: () => number;
  /** Stop after deleting this many objects (bounds one run). Default unlimited. */
  readonly maxDeletes?: number;
}

export interface GcResult {
  /** Batch objects found under the prefix. */
  readonly scanned: number;
  readonly deleted: readonly string[];
  /** Still referenced by the manifest. */
  readonly keptReferenced: number;
  /** Unreferenced but younger than the grace period (maybe a producer about to append). */
  readonly keptYoung: number;
}

/**
 * Deletes batch objects (`{dataPathPrefix}/{ULID}.batch`, nothing else) that the manifest
 * does not reference and that are older than the grace period.
 *
 * Order matters: the listing comes first, the manifest read second, so every object
 * listed was written before the references were read. An object written but not yet
 * appended is protected by its age: producers give up appending within their retry
 * deadline (60 s by default), far below the grace period (1 h by default).
 */
export async function collectGarbage(options: GcOptions): Promise<GcResult> {
  const { store, dataPathPrefix, retry, random } = options;
  const prefix = `${dataPathPrefix}/`;
  const candidates: ObjectMeta[] = await withTransientRetry(
    async () => {
      const out: ObjectMeta[] = [];
      for await (const meta of store.list(prefix)) {
        if (BATCH_NAME.test(meta.key.slice(prefix.length))) out.push(meta);
      }
      return out;
    },
    retry,
    random,
  );
  const referenced = await options.referenced();
  const deleted: string[] = [];
  let keptReferenced = 0;
  let keptYoung = 0;
  const maxDeletes = options.maxDeletes ?? Number.POSITIVE_INFINITY;
  for (const meta of candidates) {
    if (referenced.has(meta.key)) {
      keptReferenced++;
      continue;
    }
    if (options.now - meta.lastModified.getTime() < options.gracePeriodMs) {
      keptYoung++;
      continue;
    }
    if (deleted.length >= maxDeletes) break;
    await withTransientRetry(() => store.delete(meta.key), retry, random);
    deleted.push(meta.key);
  }
  return { scanned: candidates.length, deleted, keptReferenced, keptYoung };
}
