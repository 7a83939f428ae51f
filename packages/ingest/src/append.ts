import type { ObjectStore } from '@sediment/object-store';
import { FlushFailedError } from './errors.js';
import {
  appendManifest,
  type DecodedManifest,
  MANIFEST_FOOTER_BYTES,
  type ManifestEntry,
  type ManifestTail,
  type MetadataItem,
  manifestTail,
} from './manifest-codec.js';
import {
  firstAvailable,
  type ManifestSnapshot,
  readManifest,
  writeManifest,
} from './manifest-store.js';
import { backoffDelay, isConflict, isTransient, monotonicNow, type RetryPolicy } from './retry.js';

/** The manifest an append builds on; `etag` undefined = the manifest does not exist. */
interface Current {
  readonly tail: ManifestTail;
  readonly etag: string | undefined;
}

/** One batch object to enqueue. */
export interface AppendItem {
  readonly location: string;
  readonly metadata: readonly MetadataItem[];
}

export type AppendOutcome =
  | { readonly ok: true; readonly sequence: bigint }
  | { readonly ok: false; readonly error: FlushFailedError };

/** Counters the appender reports to its owner (for metrics and the conflict rate). */
export interface AppendObserver {
  onRead?(): void;
  onWrite?(): void;
  /** A manifest write succeeded, enqueueing `batches` batches. */
  onCommit?(batches: number): void;
  /** `stale` is true when the write used the cached manifest and lost. */
  onConflict?(stale: boolean): void;
  onTransient?(err: unknown, maybeApplied: boolean): void;
}

/**
 * Appends entries to the manifest idempotently; one instance per producer.
 *
 * Protocol (docs/002-ingest-queue.md §4): read → add entries at `next_sequence` →
 * conditional put; on conflict re-read and retry with backoff. After an ambiguous
 * failure (`TransientError` with `maybeApplied`) the re-read decides: our location in
 * the manifest means the write landed (done, with the sequence found there); the slot we
 * tried held by another location, or `next_sequence` not past it, means it did not. When
 * the slot has already been consumed and removed by the collector, nobody can tell: the
 * item fails with `maybeEnqueued` instead of risking a duplicate or a false success.
 *
 * The manifest this producer last wrote is cached; the next append first tries a
 * conditional put against it without a read, which costs one request per append when
 * nobody else wrote in between and one extra failed put when somebody did.
 */
export class ManifestAppender {
  readonly #store: ObjectStore;
  readonly #path: string;
  readonly #retry: RetryPolicy;
  readonly #random: () => number;
  readonly #observer: AppendObserver;
  /** The manifest this producer wrote last, as written (no read needed to append to it). */
  #cache: Current | undefined;

  constructor(
    store: ObjectStore,
    path: string,
    retry: RetryPolicy,
    random: () => number,
    observer: AppendObserver = {},
  ) {
    this.#store = store;
    this.#path = path;
    this.#retry = retry;
    this.#random = random;
    this.#observer = observer;
  }

  /**
   * Enqueues `items` in order with consecutive sequences (one conditional write when
   * uncontended). Never throws: each item gets its own outcome. `deadline` is a
   * `monotonicNow()` value after which transient failures and conflicts stop being
   * retried.
   */
  async append(items: readonly AppendItem[], deadline: number): Promise<AppendOutcome[]> {
    const outcomes = new Array<AppendOutcome | undefined>(items.length);
    let pending = items.map((_, i) => i);
    /** Item index → sequences at which a maybe-applied write tried to put it. */
    const ambiguous = new Map<number, bigint[]>();
    let current = this.#cache;
    let fromCache = current !== undefined;
    let lastError: unknown;

    const failPending = (cause: unknown, retryable: boolean, why: string) => {
      for (const i of pending) {
        const location = items[i]!.location;
        outcomes[i] = {
          ok: false,
          error: new FlushFailedError(`could not enqueue batch ${location}: ${why}`, {
            location,
            retryable,
            maybeEnqueued: ambiguous.has(i),
            cause,
          }),
        };
      }
      pending = [];
    };

    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        const delay =
          fromCache && attempt === 1 ? 0 : backoffDelay(attempt - 1, this.#retry, this.#random);
        if (monotonicNow() + delay > deadline) {
          failPending(lastError, true, `gave up after ${attempt} attempts: ${describe(lastError)}`);
          break;
        }
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      }
      if (current === undefined) {
        fromCache = false;
        let snapshot: ManifestSnapshot;
        try {
          this.#observer.onRead?.();
          snapshot = await readManifest(this.#store, this.#path);
        } catch (err) {
          lastError = err;
          if (isTransient(err)) {
            this.#observer.onTransient?.(err, false);
            continue;
          }
          failPending(err, false, `reading the manifest failed: ${describe(err)}`);
          break;
        }
        if (ambiguous.size > 0) {
          pending = this.#resolveAmbiguity(snapshot.manifest, items, pending, ambiguous, outcomes);
          if (pending.length === 0) break;
        }
        current = { tail: manifestTail(snapshot.manifest), etag: snapshot.etag };
      }

      const base = current.tail;
      let sequence = base.nextSequence;
      const added: ManifestEntry[] = pending.map((i) => ({
        sequence: sequence++,
        location: items[i]!.location,
        metadata: items[i]!.metadata,
      }));
      let bytes: Uint8Array;
      try {
        bytes = appendManifest(base, added);
      } catch (err) {
        failPending(err, false, `encoding the manifest failed: ${describe(err)}`);
        break;
      }
      try {
        this.#observer.onWrite?.();
        const etag = await writeManifest(this.#store, this.#path, bytes, current.etag);
        this.#observer.onCommit?.(pending.length);
        for (let k = 0; k < pending.length; k++) {
          outcomes[pending[k]!] = { ok: true, sequence: added[k]!.sequence };
        }
        this.#cache = {
          tail: {
            entryBytes: bytes.subarray(0, bytes.byteLength - MANIFEST_FOOTER_BYTES),
            entryCount: base.entryCount + added.length,
            lastSequence: added.at(-1)?.sequence ?? base.lastSequence,
            nextSequence: sequence,
            epoch: base.epoch,
          },
          etag,
        };
        pending = [];
      } catch (err) {
        lastError = err;
        this.#cache = undefined;
        if (isConflict(err)) {
          this.#observer.onConflict?.(fromCache);
        } else if (isTransient(err)) {
          this.#observer.onTransient?.(err, err.maybeApplied);
          if (err.maybeApplied) {
            for (const entry of added) {
              const i = pending[Number(entry.sequence - base.nextSequence)]!;
              const slots = ambiguous.get(i);
              if (slots) slots.push(entry.sequence);
              else ambiguous.set(i, [entry.sequence]);
            }
          }
        } else {
          failPending(err, false, `writing the manifest failed: ${describe(err)}`);
          break;
        }
        current = undefined;
      }
    }
    return outcomes as AppendOutcome[];
  }

  /**
   * Decides, from a fresh manifest, which ambiguous writes landed. Returns the items
   * still to append; settles the others in `outcomes`.
   */
  #resolveAmbiguity(
    manifest: DecodedManifest,
    items: readonly AppendItem[],
    pending: number[],
    ambiguous: Map<number, bigint[]>,
    outcomes: (AppendOutcome | undefined)[],
  ): number[] {
    const found = new Map<string, bigint>();
    for (const entry of manifest.entries) found.set(entry.location, entry.sequence);
    const first = firstAvailable(manifest);
    const still: number[] = [];
    for (const i of pending) {
      const location = items[i]!.location;
      const sequence = found.get(location);
      if (sequence !== undefined) {
        outcomes[i] = { ok: true, sequence };
        continue;
      }
      const slots = ambiguous.get(i);
      // A slot below the head was consumed and removed: whose entry it was is lost.
      const unknowable = slots?.find((s) => s < first && s < manifest.nextSequence);
      if (unknowable !== undefined) {
        outcomes[i] = {
          ok: false,
          error: new FlushFailedError(
            `could not tell whether batch ${location} was enqueued: the write at sequence ` +
              `${unknowable} lost its reply and that sequence was consumed before the re-read`,
            { location, retryable: true, maybeEnqueued: true },
          ),
        };
        continue;
      }
      // Every slot we tried is still visible and held by another location, or was never
      // written (next_sequence not past it): none of our writes landed.
      ambiguous.delete(i);
      still.push(i);
    }
    return still;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
