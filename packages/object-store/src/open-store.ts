import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ObjectStoreFatalError } from './errors.js';
import { LocalFsStore } from './local-fs-store.js';
import { MemoryStore } from './memory-store.js';
import { S3Store, type S3StoreOptions, redactUrl } from './s3-store.js';
import type { ObjectStore } from './types.js';

/** The environment variables `openStore` reads for `s3://` URLs. */
export type StoreEnv = Readonly<Record<string, string | undefined>>;

/**
 * Opens a store from a URL:
 *
 * - `memory:` — a fresh in-process `MemoryStore`.
 * - `file:///absolute/dir` — a `LocalFsStore` rooted there.
 * - `s3://bucket[/prefix]` — an `S3Store`. Endpoint from `S3_ENDPOINT` (unset = AWS),
 *   path-style from `S3_FORCE_PATH_STYLE` (`true`/`false`; default true with a custom
 *   endpoint), region from `AWS_REGION` / `AWS_DEFAULT_REGION`, credentials from
 *   `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` in `env`, else
 *   the SDK's default chain (profiles, container and instance roles).
 *
 * @throws ObjectStoreFatalError naming the problem (never echoing credentials).
 */
export function openStore(url: string, env: StoreEnv = process.env): ObjectStore {
  const location = parseStoreUrl(url, env);
  switch (location.kind) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return new LocalFsStore({ root: location.root });
    case 's3':
      return new S3Store(location.options);
  }
}

/** What a store URL names. */
export type StoreLocation =
  | { readonly kind: 'memory' }
  | { readonly kind: 'file'; readonly root: string }
  | { readonly kind: 's3'; readonly options: S3StoreOptions };

/** Parses and checks a store URL without opening anything. */
export function parseStoreUrl(url: string, env: StoreEnv = process.env): StoreLocation {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new ObjectStoreFatalError(
      'store URL is empty; use memory:, file:///abs/dir or s3://bucket/prefix',
    );
  }
  if (url === 'memory:' || url === 'memory://') return { kind: 'memory' };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    const hint = isAbsolute(url) ? ` (for a directory write file://${url})` : '';
    throw new ObjectStoreFatalError(
      `store URL ${JSON.stringify(redactUrl(url))} is not a URL${hint}; use memory:, file:///abs/dir or s3://bucket/prefix`,
    );
  }
  const shown = redactUrl(url);
  if (u.username !== '' || u.password !== '') {
    throw new ObjectStoreFatalError(
      `store URL ${shown} must not carry credentials; use the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables`,
    );
  }
  if (u.search !== '' || u.hash !== '') {
    throw new ObjectStoreFatalError(`store URL ${shown} must not have a query or fragment`);
  }
  switch (u.protocol) {
    case 'memory:':
      throw new ObjectStoreFatalError(`store URL ${shown}: write just "memory:"`);
    case 'file:': {
      if (u.host !== '' && u.host !== 'localhost') {
        throw new ObjectStoreFatalError(
          `store URL ${shown}: file URLs must be local (file:///abs/dir)`,
        );
      }
      const root = fileURLToPath(u);
      if (!isAbsolute(root) || root === '/') {
        throw new ObjectStoreFatalError(
          `store URL ${shown}: need an absolute directory other than /`,
        );
      }
      return { kind: 'file', root };
    }
    case 's3:': {
      const bucket = u.hostname;
      if (bucket === '')
        throw new ObjectStoreFatalError(`store URL ${shown}: missing bucket (s3://bucket/prefix)`);
      if (u.port !== '')
        throw new ObjectStoreFatalError(
          `store URL ${shown}: put the endpoint in S3_ENDPOINT, not in the URL`,
        );
      let prefix: string;
      try {
        prefix = decodeURIComponent(u.pathname.replace(/^\/+/, ''));
      } catch {
        throw new ObjectStoreFatalError(
          `store URL ${shown}: the prefix is not valid percent-encoding`,
        );
      }
      return { kind: 's3', options: s3OptionsFromEnv(bucket, prefix, env) };
    }
    default:
      throw new ObjectStoreFatalError(
        `store URL ${shown}: unsupported scheme ${JSON.stringify(u.protocol)}; use memory:, file:///abs/dir or s3://bucket/prefix`,
      );
  }
}

function s3OptionsFromEnv(bucket: string, prefix: string, env: StoreEnv): S3StoreOptions {
  const endpoint = nonEmpty(env.S3_ENDPOINT);
  if (endpoint !== undefined) {
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      throw new ObjectStoreFatalError(
        `S3_ENDPOINT ${JSON.stringify(redactUrl(endpoint))} is not a URL`,
      );
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ObjectStoreFatalError(
        `S3_ENDPOINT must be an http:// or https:// URL, got ${redactUrl(endpoint)}`,
      );
    }
  }
  const pathStyle =
    parseBoolean('S3_FORCE_PATH_STYLE', env.S3_FORCE_PATH_STYLE) ?? endpoint !== undefined;
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ObjectStoreFatalError(
      'set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither',
    );
  }
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  return {
    bucket,
    prefix,
    forcePathStyle: pathStyle,
    ...(endpoint !== undefined && { endpoint }),
    ...(region !== undefined && { region }),
    ...(accessKeyId !== undefined &&
      secretAccessKey !== undefined && {
        credentials: {
          accessKeyId,
          secretAccessKey,
          ...(sessionToken !== undefined && { sessionToken }),
        },
      }),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  const v = nonEmpty(value)?.toLowerCase();
  if (v === undefined) return undefined;
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new ObjectStoreFatalError(`${name} must be true or false, got ${JSON.stringify(value)}`);
}
