import {
  AlreadyExistsError,
  NotFoundError,
  ObjectStoreError,
  ObjectStoreFatalError,
  PreconditionError,
  TransientError,
} from './errors.js';

export type S3Operation = 'put' | 'get' | 'head' | 'list' | 'delete';

export interface S3ErrorContext {
  readonly op: S3Operation;
  readonly key?: string | undefined;
  /** The put's mode when conditional. */
  readonly conditional?: 'create' | 'ifMatch' | undefined;
  /** For messages: `s3://bucket/prefix`. */
  readonly where: string;
}

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** Errors raised before a request leaves this host: it certainly was not applied. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** Errors in flight: the server may have applied the request. */
const IN_FLIGHT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ESOCKETTIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const IN_FLIGHT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'AbortError',
  'RequestTimeoutException',
]);
const CREDENTIAL_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
]);
const TRANSIENT_4XX_NAMES = new Set([
  'RequestTimeout',
  'ExpiredToken',
  'TokenRefreshRequired',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'OperationAborted',
]);

/**
 * Maps an error from @aws-sdk/client-s3 to the store's error kinds. The table, with the
 * reasons, is in docs/001-object-store.md ("S3 error mapping").
 */
export function mapS3Error(err: unknown, ctx: S3ErrorContext): ObjectStoreError {
  if (err instanceof ObjectStoreError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const name = e.Code ?? e.name ?? 'Error';
  const key = ctx.key;
  const mutation = ctx.op === 'put' || ctx.op === 'delete';
  const what = `s3 ${ctx.op}${key === undefined ? '' : ` ${key}`} on ${ctx.where}`;
  const detail = `${name}${status === undefined ? '' : ` HTTP ${status}`}`;

  if (name === 'NoSuchBucket') {
    return new ObjectStoreFatalError(
      `${what}: the bucket does not exist (${detail}); create it or fix the URL`,
      {
        key,
        cause: err,
      },
    );
  }
  if (ctx.conditional === 'create' && status === 412)
    return new AlreadyExistsError(key ?? '', { cause: err });
  if (ctx.conditional === 'ifMatch' && (status === 412 || status === 404)) {
    const reason = status === 404 ? 'object does not exist' : 'etag does not match';
    return new PreconditionError(key ?? '', reason, { cause: err });
  }
  if (
    ctx.conditional !== undefined &&
    (status === 409 || (status !== undefined && status >= 500))
  ) {
    // AWS answers 409 ConditionalRequestConflict while another conditional write to the
    // key is in flight; Ceph RGW answers 500 to some losers of a conditional-write race.
    // Neither says whether OUR write landed, so the caller must re-read and decide.
    if (status === 501) {
      return new ObjectStoreFatalError(
        `${what}: this S3 implementation does not support conditional writes (${detail})`,
        { key, cause: err },
      );
    }
    return new TransientError(
      `${what}: conditional write answered ${detail} (a concurrent conditional write raced it); ` +
        'the write may have been applied: re-read and retry',
      { key, cause: err, maybeApplied: true },
    );
  }
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') {
    if (ctx.op === 'get' || ctx.op === 'head') return new NotFoundError(key ?? '', { cause: err });
    return new ObjectStoreFatalError(
      `${what}: unexpected ${detail}; check the bucket and endpoint`,
      {
        key,
        cause: err,
      },
    );
  }
  if (status === 429 || (status !== undefined && status >= 500) || TRANSIENT_4XX_NAMES.has(name)) {
    return new TransientError(
      `${what} failed (${detail}); ${mutation ? 'the request may have been applied: re-read and ' : ''}retry`,
      { key, cause: err, maybeApplied: mutation },
    );
  }
  if (status === 401 || status === 403 || CREDENTIAL_NAMES.has(name)) {
    return new ObjectStoreFatalError(
      `${what}: access denied (${detail}); check the credentials and the bucket policy`,
      { key, cause: err },
    );
  }
  if (status !== undefined) {
    return new ObjectStoreFatalError(`${what}: unexpected answer ${detail}: ${e.message ?? ''}`, {
      key,
      cause: err,
    });
  }
  // No HTTP answer at all: a network failure, or a client-side configuration error.
  const code = e.code ?? '';
  if (NOT_SENT_CODES.has(code)) {
    return new TransientError(
      `${what}: cannot reach the endpoint (${code}); nothing was sent; retry`,
      {
        key,
        cause: err,
        maybeApplied: false,
      },
    );
  }
  if (IN_FLIGHT_CODES.has(code) || IN_FLIGHT_NAMES.has(name) || e.$retryable !== undefined) {
    return new TransientError(
      `${what}: connection failed (${code || name}); ${mutation ? 'the request may have been applied: re-read and ' : ''}retry`,
      { key, cause: err, maybeApplied: mutation },
    );
  }
  return new ObjectStoreFatalError(`${what} failed: ${name}: ${e.message ?? String(err)}`, {
    key,
    cause: err,
  });
}
