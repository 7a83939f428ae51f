/**
 * Object-store errors. Every failure a backend reports is one of these classes, so
 * callers decide by kind, never by parsing messages:
 *
 * - `NotFoundError`, `AlreadyExistsError`, `PreconditionError`: definite answers about
 *   the object's state. The request was NOT applied.
 * - `TransientError`: the store could not answer now (timeout, 5xx, throttling,
 *   connection reset). Retry with backoff. When `maybeApplied` is true the request may
 *   have taken effect although the reply was lost: a writer must re-read before it
 *   assumes either outcome.
 * - `InvalidKeyError`: the key is malformed or would escape the store's root. Fix the input.
 * - `ObjectStoreFatalError`: anything else (bad credentials, missing bucket, full disk
 *   without hope of recovery). Not retried by the store; surfaced to the operator.
 */
export type ObjectStoreErrorCode =
  | 'OBJECT_NOT_FOUND'
  | 'OBJECT_ALREADY_EXISTS'
  | 'OBJECT_PRECONDITION_FAILED'
  | 'OBJECT_STORE_TRANSIENT'
  | 'OBJECT_KEY_INVALID'
  | 'OBJECT_STORE_FATAL';

export abstract class ObjectStoreError extends Error {
  abstract readonly code: ObjectStoreErrorCode;
  /** True when retrying the same request later may succeed. */
  abstract readonly retryable: boolean;
  readonly key: string | undefined;

  constructor(message: string, options: { key?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.key = options.key;
  }
}

export class NotFoundError extends ObjectStoreError {
  override readonly name = 'NotFoundError';
  readonly code = 'OBJECT_NOT_FOUND' as const;
  readonly retryable = false;
  constructor(key: string, options: { cause?: unknown } = {}) {
    super(`object not found: ${key}`, { key, ...options });
  }
}

export class AlreadyExistsError extends ObjectStoreError {
  override readonly name = 'AlreadyExistsError';
  readonly code = 'OBJECT_ALREADY_EXISTS' as const;
  readonly retryable = false;
  constructor(key: string, options: { cause?: unknown } = {}) {
    super(`object already exists: ${key}`, { key, ...options });
  }
}

export class PreconditionError extends ObjectStoreError {
  override readonly name = 'PreconditionError';
  readonly code = 'OBJECT_PRECONDITION_FAILED' as const;
  readonly retryable = false;
  constructor(key: string, detail: string, options: { cause?: unknown } = {}) {
    super(`precondition failed for ${key}: ${detail}`, { key, ...options });
  }
}

export class TransientError extends ObjectStoreError {
  override readonly name = 'TransientError';
  readonly code = 'OBJECT_STORE_TRANSIENT' as const;
  readonly retryable = true;
  /** The request may have been applied even though it failed from our side. */
  readonly maybeApplied: boolean;
  constructor(
    message: string,
    options: { key?: string; cause?: unknown; maybeApplied?: boolean } = {},
  ) {
    super(message, options);
    this.maybeApplied = options.maybeApplied ?? false;
  }
}

export class InvalidKeyError extends ObjectStoreError {
  override readonly name = 'InvalidKeyError';
  readonly code = 'OBJECT_KEY_INVALID' as const;
  readonly retryable = false;
  constructor(key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`, { key });
  }
}

export class ObjectStoreFatalError extends ObjectStoreError {
  override readonly name = 'ObjectStoreFatalError';
  readonly code = 'OBJECT_STORE_FATAL' as const;
  readonly retryable = false;
}

export function isObjectStoreError(err: unknown): err is ObjectStoreError {
  return err instanceof ObjectStoreError;
}

export function isRetryable(err: unknown): boolean {
  return err instanceof ObjectStoreError && err.retryable;
}
