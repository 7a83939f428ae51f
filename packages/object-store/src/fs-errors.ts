import {
  InvalidKeyError,
  ObjectStoreError,
  ObjectStoreFatalError,
  TransientError,
} from './errors.js';

/** Errno codes after which the same call may succeed later without operator action. */
const TRANSIENT_CODES = new Set([
  'EMFILE',
  'ENFILE',
  'EAGAIN',
  'EBUSY',
  'EINTR',
  'ETIMEDOUT',
  'ENOMEM',
]);
/** Errno codes that go away once an operator frees space; retryable, but worth an alert. */
const SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);
const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export interface FsErrorContext {
  /** What was being done, e.g. `put`, `get`, `list`. */
  readonly op: string;
  readonly key?: string | undefined;
  /** The path the failing call touched (for the message). */
  readonly path?: string | undefined;
  /** True once the write was published (rename/link done): its outcome is then unknown. */
  readonly maybeApplied?: boolean;
}

/**
 * Maps a Node.js filesystem error to the store's error kinds. Full disk and quota are
 * transient (an operator can free space and the caller's retry then succeeds); permission
 * and I/O errors are fatal; an over-long name is a key the filesystem cannot hold.
 */
export function mapFsError(err: unknown, ctx: FsErrorContext): ObjectStoreError {
  if (err instanceof ObjectStoreError) return err;
  const code = errnoCode(err) ?? 'UNKNOWN';
  const where = ctx.path ?? ctx.key ?? '';
  const maybeApplied = ctx.maybeApplied ?? false;
  const applied = maybeApplied
    ? 'the write may have been applied: re-read before retrying'
    : 'nothing was written';
  if (SPACE_CODES.has(code)) {
    return new TransientError(
      `local-fs ${ctx.op}: ${code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device'} ` +
        `at ${where} (${code}); ${applied}. Free disk space (or raise the quota) and retry.`,
      { key: ctx.key, cause: err, maybeApplied },
    );
  }
  if (TRANSIENT_CODES.has(code)) {
    return new TransientError(
      `local-fs ${ctx.op} failed at ${where} (${code}); ${applied}; retry`,
      {
        key: ctx.key,
        cause: err,
        maybeApplied,
      },
    );
  }
  if (code === 'ENAMETOOLONG' && ctx.key !== undefined) {
    return new InvalidKeyError(ctx.key, 'a path segment is too long for the local filesystem');
  }
  if (PERMISSION_CODES.has(code)) {
    return new ObjectStoreFatalError(
      `local-fs ${ctx.op}: permission denied at ${where} (${code}); fix the ownership, mode or mount of the store root`,
      { key: ctx.key, cause: err },
    );
  }
  return new ObjectStoreFatalError(`local-fs ${ctx.op} failed at ${where} (${code}); ${applied}`, {
    key: ctx.key,
    cause: err,
  });
}
