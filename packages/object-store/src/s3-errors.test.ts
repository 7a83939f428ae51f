import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  NotFoundError,
  ObjectStoreFatalError,
  PreconditionError,
  TransientError,
} from './errors.js';
import { type S3ErrorContext, mapS3Error } from './s3-errors.js';

/** Errors shaped like the SDK's ServiceException / network errors. */
const http = (status: number, name: string) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const net = (code: string) => Object.assign(new Error(code), { code });

const where = 's3://b/p/';
const put = (conditional?: S3ErrorContext['conditional']): S3ErrorContext => ({
  op: 'put',
  key: 'k',
  conditional,
  where,
});
const get: S3ErrorContext = { op: 'get', key: 'k', where };

describe('S3 error mapping', () => {
  it('maps definite answers', () => {
    expect(mapS3Error(http(404, 'NoSuchKey'), get)).toBeInstanceOf(NotFoundError);
    expect(mapS3Error(http(404, 'NotFound'), { ...get, op: 'head' })).toBeInstanceOf(NotFoundError);
    expect(mapS3Error(http(412, 'PreconditionFailed'), put('create'))).toBeInstanceOf(
      AlreadyExistsError,
    );
    expect(mapS3Error(http(412, 'PreconditionFailed'), put('ifMatch'))).toBeInstanceOf(
      PreconditionError,
    );
    // AWS answers If-Match on a missing key with 404.
    expect(mapS3Error(http(404, 'NoSuchKey'), put('ifMatch'))).toBeInstanceOf(PreconditionError);
  });

  it('turns 409 and 5xx on a conditional put into "re-read and retry"', () => {
    for (const [status, name] of [
      [409, 'ConditionalRequestConflict'],
      [500, 'UnknownError'],
      [503, 'SlowDown'],
    ] as const) {
      for (const mode of ['create', 'ifMatch'] as const) {
        const err = mapS3Error(http(status, name), put(mode));
        expect(err).toBeInstanceOf(TransientError);
        expect((err as TransientError).maybeApplied).toBe(true);
        expect(err.message).toMatch(/re-read and retry/);
      }
    }
    expect(mapS3Error(http(501, 'NotImplemented'), put('create'))).toBeInstanceOf(
      ObjectStoreFatalError,
    );
  });

  it('marks server errors and dropped connections as maybe applied only for writes', () => {
    expect((mapS3Error(http(500, 'InternalError'), put()) as TransientError).maybeApplied).toBe(
      true,
    );
    expect((mapS3Error(http(503, 'SlowDown'), get) as TransientError).maybeApplied).toBe(false);
    expect((mapS3Error(http(429, 'TooManyRequests'), get) as TransientError).retryable).toBe(true);
    expect(
      (mapS3Error(net('ECONNRESET'), { ...put(), op: 'delete' }) as TransientError).maybeApplied,
    ).toBe(true);
    expect((mapS3Error(net('ECONNREFUSED'), put('create')) as TransientError).maybeApplied).toBe(
      false,
    );
    const timeout = Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    expect((mapS3Error(timeout, put('ifMatch')) as TransientError).maybeApplied).toBe(true);
  });

  it('treats access, bucket and configuration problems as fatal', () => {
    expect(mapS3Error(http(403, 'AccessDenied'), get)).toBeInstanceOf(ObjectStoreFatalError);
    expect(mapS3Error(http(403, 'InvalidAccessKeyId'), put())).toBeInstanceOf(
      ObjectStoreFatalError,
    );
    expect(mapS3Error(http(404, 'NoSuchBucket'), put('create'))).toBeInstanceOf(
      ObjectStoreFatalError,
    );
    expect(mapS3Error(http(400, 'InvalidArgument'), put())).toBeInstanceOf(ObjectStoreFatalError);
    expect(mapS3Error(new Error('Region is missing'), get)).toBeInstanceOf(ObjectStoreFatalError);
    const noCreds = Object.assign(new Error('Could not load credentials'), {
      name: 'CredentialsProviderError',
    });
    expect(mapS3Error(noCreds, get)).toBeInstanceOf(ObjectStoreFatalError);
  });

  it('keeps the original error as cause', () => {
    const original = http(500, 'InternalError');
    expect(mapS3Error(original, get).cause).toBe(original);
  });
});
