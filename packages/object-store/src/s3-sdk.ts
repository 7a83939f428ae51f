import type * as Sdk from '@aws-sdk/client-s3';
import { ObjectStoreFatalError } from './errors.js';

export type S3Sdk = typeof Sdk;

let loading: Promise<S3Sdk> | undefined;

/**
 * Loads @aws-sdk/client-s3 on first use, so that processes that never open an S3 store
 * (the embedded local-fs default, tests) do not pay for loading it.
 * @throws ObjectStoreFatalError when the SDK cannot be loaded.
 */
export function loadS3Sdk(): Promise<S3Sdk> {
  loading ??= import('@aws-sdk/client-s3').then(
    (module) => ('S3Client' in module ? module : (module as { default: S3Sdk }).default) as S3Sdk,
    (err: unknown) => {
      throw new ObjectStoreFatalError(
        `cannot load @aws-sdk/client-s3: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    },
  );
  return loading;
}
