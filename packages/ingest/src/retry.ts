import {
  AlreadyExistsError,
  ObjectStoreError,
  PreconditionError,
  TransientError,
} from '@sediment/object-store';
import { InvalidArgumentError } from './errors.js';

/**
 * How the queue retries object-store operations. Conflicts (another writer changed the
 * manifest) and `TransientError`s are retried with capped, jittered exponential backoff
 * until `deadlineMs` after the operation started; everything else fails at once.
 */
export interface RetryPolicy {
  /** First backoff step; default 10 ms. */
  readonly baseDelayMs: number;
  /** Cap on one backoff step; default 1000 ms. */
  readonly maxDelayMs: number;
  /** Give up this long after the operation started; default 60 000 ms. */
  readonly deadlineMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  baseDelayMs: 10,
  maxDelayMs: 1000,
  deadlineMs: 60_000,
});

export function resolveRetryPolicy(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...partial };
  for (const [key, value] of Object.entries(policy)) {
    if (!(typeof value === 'number' && value >= 0 && Number.isFinite(value))) {
      throw new InvalidArgumentError(`retry.${key} must be a finite number >= 0, got ${value}`);
    }
  }
  return Object.freeze(policy);
}

/**
 * "Equal jitter": half the exponential step is fixed (so contenders spread out), the
 * other half random (so they do not retry in lock-step).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30));
  return step / 2 + random() * (step / 2);
}

/** Monotonic milliseconds for deadlines (independent of the injected wall clock). */
export function monotonicNow(): number {
  return performance.now();
}

/** Another writer changed the object first: re-read and try again. */
export function isConflict(err: unknown): boolean {
  return err instanceof PreconditionError || err instanceof AlreadyExistsError;
}

export function isTransient(err: unknown): err is TransientError {
  return err instanceof TransientError;
}

export function isStoreError(err: unknown): err is ObjectStoreError {
  return err instanceof ObjectStoreError;
}

/**
 * Runs `op` until it succeeds, retrying `TransientError`s with backoff until the
 * deadline; the last error is thrown when time runs out. For idempotent operations only
 * (reads, deletes).
 */
export async function withTransientRetry<T>(
  op: () => Promise<T>,
  policy: RetryPolicy,
  random: () => number,
  onRetry?: (err: TransientError, attempt: number) => void,
): Promise<T> {
  const deadline = monotonicNow() + policy.deadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isTransient(err)) throw err;
      const delay = backoffDelay(attempt, policy, random);
      if (monotonicNow() + delay > deadline) throw err;
      onRetry?.(err, attempt);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
