import type { ObjectStore } from '@sediment/object-store';
import { type Clock, systemClock } from './clock.js';
import { DEFAULT_DATA_PATH_PREFIX, DEFAULT_MANIFEST_PATH } from './defaults.js';
import type { DecodedManifest } from './manifest-codec.js';
import { readManifest } from './manifest-store.js';
import { type RetryPolicy, resolveRetryPolicy, withTransientRetry } from './retry.js';

/** Queue statistics for operators and metrics. */
export interface QueueStats {
  readonly epoch: bigint;
  /** Sequence the next appended batch will get. */
  readonly nextSequence: bigint;
  /** Batches waiting in the manifest. */
  readonly entryCount: number;
  /** Lowest sequence in the manifest; undefined when empty. */
  readonly firstSequence: bigint | undefined;
  /** `ingest()` calls waiting (metadata items over all entries). */
  readonly inputCount: number;
  /** Smallest ingestion_time_ms in the manifest; undefined when empty. */
  readonly oldestIngestionTimeMs: number | undefined;
  /** now − oldestIngestionTimeMs; undefined when empty. */
  readonly oldestEntryAgeMs: number | undefined;
  /** Size of the manifest object. */
  readonly manifestBytes: number;
  /**
   * Sum of the sizes of the referenced batch objects (one listing of the data prefix);
   * undefined when not requested. Objects the listing did not find count as 0.
   */
  readonly bytesWaiting: number | undefined;
}

export function manifestStats(
  manifest: DecodedManifest,
  manifestBytes: number,
  now: number,
): Omit<QueueStats, 'bytesWaiting'> {
  let inputCount = 0;
  let oldest: number | undefined;
  for (const entry of manifest.entries) {
    inputCount += entry.metadata.length;
    for (const item of entry.metadata) {
      if (oldest === undefined || item.ingestionTimeMs < oldest) oldest = item.ingestionTimeMs;
    }
  }
  return {
    epoch: manifest.epoch,
    nextSequence: manifest.nextSequence,
    entryCount: manifest.entries.length,
    firstSequence: manifest.entries[0]?.sequence,
    inputCount,
    oldestIngestionTimeMs: oldest,
    oldestEntryAgeMs: oldest === undefined ? undefined : Math.max(0, now - oldest),
    manifestBytes,
  };
}

/** Sums the sizes of the batch objects the manifest references, from one listing. */
export async function bytesWaiting(
  store: ObjectStore,
  dataPathPrefix: string,
  manifest: DecodedManifest,
  retry: RetryPolicy,
  random: () => number,
): Promise<number> {
  if (manifest.entries.length === 0) return 0;
  const wanted = new Set(manifest.entries.map((e) => e.location));
  return withTransientRetry(
    async () => {
      let total = 0;
      for await (const meta of store.list(`${dataPathPrefix}/`)) {
        if (wanted.has(meta.key)) total += meta.size;
      }
      return total;
    },
    retry,
    random,
  );
}

/**
 * Reads queue statistics without taking part in the protocol (no epoch check, no
 * writes): for operators and dashboards.
 */
export async function readQueueStats(options: {
  store: ObjectStore;
  manifestPath?: string;
  dataPathPrefix?: string;
  clock?: Clock;
  /** Include `bytesWaiting` (one listing); default true. */
  bytes?: boolean;
  retry?: Partial<RetryPolicy>;
}): Promise<QueueStats> {
  const retry = resolveRetryPolicy(options.retry);
  const snapshot = await withTransientRetry(
    () => readManifest(options.store, options.manifestPath ?? DEFAULT_MANIFEST_PATH),
    retry,
    Math.random,
  );
  const base = manifestStats(
    snapshot.manifest,
    snapshot.size,
    (options.clock ?? systemClock).now(),
  );
  const waiting =
    options.bytes === false
      ? undefined
      : await bytesWaiting(
          options.store,
          options.dataPathPrefix ?? DEFAULT_DATA_PATH_PREFIX,
          snapshot.manifest,
          retry,
          Math.random,
        );
  return { ...base, bytesWaiting: waiting };
}
