import { randomBytes } from 'node:crypto';
import type { S3StoreOptions } from '../s3-store.js';

let warned = false;

/**
 * S3Store options for tests against the S3 server named by the environment
 * (`S3_ENDPOINT`, `S3_BUCKET`, `AWS_REGION`, `S3_FORCE_PATH_STYLE`, `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`), with a fresh random key prefix per call so concurrent tests
 * never see each other's objects.
 *
 * Without `S3_ENDPOINT` it prints a loud warning and returns `undefined` (use
 * `describe.skipIf(!opts)`), except under `SEDIMENT_CI=1`, where it throws: nothing may
 * be skipped in CI.
 */
export function s3TestOptions(overrides: Partial<S3StoreOptions> = {}): S3StoreOptions | undefined {
  const env = process.env;
  const endpoint = env.S3_ENDPOINT?.trim();
  if (!endpoint) {
    if (env.SEDIMENT_CI === '1') {
      throw new Error(
        'SEDIMENT_CI=1 but S3_ENDPOINT is not set: S3 tests must run in CI. Start the test server with ' +
          '`eval "$(bash shared/s3/start-s3.sh)"` (or point S3_ENDPOINT, S3_BUCKET and the AWS_* variables at one).',
      );
    }
    if (!warned) {
      warned = true;
      const bar = '!'.repeat(78);
      process.stderr.write(
        `\n${bar}\n!!! S3_ENDPOINT is not set: S3 tests are SKIPPED. They are not optional in CI.\n` +
          `!!! Run: eval "$(bash shared/s3/start-s3.sh)" and re-run the tests.\n${bar}\n\n`,
      );
    }
    return undefined;
  }
  const bucket = env.S3_BUCKET?.trim();
  if (!bucket) throw new Error('S3_ENDPOINT is set but S3_BUCKET is not: name the test bucket');
  const pathStyle = env.S3_FORCE_PATH_STYLE?.trim().toLowerCase();
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  return {
    bucket,
    prefix: `sediment-test/${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`,
    endpoint,
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || 'us-east-1',
    forcePathStyle:
      pathStyle === undefined || pathStyle === ''
        ? true
        : pathStyle === 'true' || pathStyle === '1',
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    ...overrides,
  };
}

/** The `s3://` URL for options from `s3TestOptions` (child processes open it with the
 *  same environment). */
export function s3TestUrl(options: S3StoreOptions): string {
  return `s3://${options.bucket}/${(options.prefix ?? '').split('/').map(encodeURIComponent).join('/')}`;
}
