/**
 * Retries for object-store calls: only errors the store marks retryable (transient) are
 * retried, with capped, jittered exponential backoff. Everything else is thrown at once.
 * The caller owns ambiguity: a retried conditional write may meet its own earlier,
 * applied attempt (see the commit protocol).
 */
import { isRetryable } from '@sediment/object-store';
import { StoreUnavailableError } from './errors.js';

export interface RetryPolicy {
  /** Total attempts including the first. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  attempts: 8,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
});

export async function withRetry<T>(
  operation: string,
  policy: RetryPolicy,
  fn: (attempt: number) => Promise<T>,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (attempt >= policy.attempts)
        throw new StoreUnavailableError(operation, attempt, { cause: err });
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = cap / 2 + Math.random() * (cap / 2);
      onRetry?.(err, attempt, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
