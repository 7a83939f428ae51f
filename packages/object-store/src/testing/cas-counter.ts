import { setTimeout as sleep } from 'node:timers/promises';
import { AlreadyExistsError, NotFoundError, PreconditionError, TransientError } from '../errors.js';
import type { ObjectStore } from '../types.js';

/**
 * The race-test counter: a JSON object holding the count and, per worker, the sequence
 * number of its last applied increment. The per-worker record is what makes an
 * increment idempotent: after an ambiguous failure (`maybeApplied`), the worker
 * re-reads and sees whether its increment landed, exactly as the ingest queue's
 * producers do with their manifest appends. Invariant: `n` = sum of `applied`.
 */
export interface CounterState {
  readonly n: number;
  readonly applied: Readonly<Record<string, number>>;
}

export interface IncrementStats {
  /** Conditional puts sent. */
  attempts: number;
  /** Puts rejected by their precondition (another writer won). */
  conflicts: number;
  /** Transient failures that may have applied (re-read decided). */
  ambiguous: number;
  /** Transient failures known not to have applied, on reads or writes. */
  transient: number;
}

export function newIncrementStats(): IncrementStats {
  return { attempts: 0, conflicts: 0, ambiguous: 0, transient: 0 };
}

export function encodeCounter(state: CounterState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(state));
}

export function decodeCounter(bytes: Uint8Array): CounterState {
  const state = JSON.parse(new TextDecoder().decode(bytes)) as CounterState;
  if (typeof state?.n !== 'number' || typeof state.applied !== 'object' || state.applied === null) {
    throw new Error(`not a counter object: ${new TextDecoder().decode(bytes).slice(0, 200)}`);
  }
  return state;
}

/** The counter at `key`, or an empty one if absent. */
export async function readCounter(store: ObjectStore, key: string): Promise<CounterState> {
  try {
    return decodeCounter((await store.get(key)).bytes);
  } catch (err) {
    if (err instanceof NotFoundError) return { n: 0, applied: {} };
    throw err;
  }
}

/**
 * Applies increment number `seq` of `worker` exactly once: read → put with `create` or
 * `ifMatch` → on a lost race or a transient error, back off, re-read and retry (or stop
 * when the re-read shows the increment applied). Increments of one worker must be
 * issued in order, one at a time.
 */
export async function casIncrement(
  store: ObjectStore,
  key: string,
  worker: string,
  seq: number,
  stats: IncrementStats = newIncrementStats(),
  maxAttempts = 10_000,
): Promise<void> {
  let failuresInARow = 0;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (failuresInARow > 0) {
      const cap = Math.min(2 ** Math.min(failuresInARow, 6), 50);
      await sleep(Math.random() * cap);
    }
    let current: { state: CounterState; etag: string } | undefined;
    try {
      const object = await store.get(key);
      current = { state: decodeCounter(object.bytes), etag: object.etag };
    } catch (err) {
      if (err instanceof TransientError) {
        stats.transient++;
        failuresInARow++;
        continue;
      }
      if (!(err instanceof NotFoundError)) throw err;
    }
    const applied = current?.state.applied ?? {};
    if ((applied[worker] ?? 0) >= seq) return; // an earlier ambiguous attempt landed
    const next: CounterState = {
      n: (current?.state.n ?? 0) + 1,
      applied: { ...applied, [worker]: seq },
    };
    stats.attempts++;
    try {
      await store.put(key, encodeCounter(next), {
        mode: current === undefined ? 'create' : { ifMatch: current.etag },
      });
      return;
    } catch (err) {
      failuresInARow++;
      if (err instanceof PreconditionError || err instanceof AlreadyExistsError) {
        stats.conflicts++;
      } else if (err instanceof TransientError) {
        if (err.maybeApplied) stats.ambiguous++;
        else stats.transient++;
      } else {
        throw err;
      }
    }
  }
  throw new Error(
    `casIncrement: ${worker}#${seq} on ${key} did not land in ${maxAttempts} attempts`,
  );
}
