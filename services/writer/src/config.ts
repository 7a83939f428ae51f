import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Config, parseSettings } from '@sediment/config';
import { type storeSettings, writerSettings } from './settings.js';
import { parseStoreFaults } from './store-faults.js';

export type WriterSettings = Config<typeof writerSettings>;

export interface WriterConfig extends WriterSettings {
  /** `store` with a relative `file://./dir` resolved against the working directory. */
  readonly storeUrl: string;
  /** The S3 variables `openStore` reads, taken from the parsed settings only. */
  readonly storeEnv: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses the writer's settings once, at the edge. `cwd` resolves relative store paths.
 * @throws ConfigError naming every invalid variable or flag.
 */
export function loadWriterConfig(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[] = [],
  cwd: string = process.cwd(),
): WriterConfig {
  const { config } = parseSettings(writerSettings, { env, argv });
  if (config.testStoreFaults) parseStoreFaults(config.testStoreFaults); // fail at start-up
  return finishWriterConfig(config, cwd);
}

/** Derived fields of the writer config from parsed settings (also used by `sediment start`). */
export function finishWriterConfig(config: WriterSettings, cwd: string): WriterConfig {
  return Object.freeze({ ...config, ...storeLocation(config, cwd) });
}

/** Where the store settings point: the URL for `openStore` and the S3 variables it reads. */
export function storeLocation(
  config: Config<typeof storeSettings>,
  cwd: string,
): Pick<WriterConfig, 'storeUrl' | 'storeEnv'> {
  return {
    storeUrl: resolveStoreUrl(config.store, cwd),
    storeEnv: Object.freeze({
      S3_ENDPOINT: config.s3Endpoint,
      S3_FORCE_PATH_STYLE:
        config.s3ForcePathStyle === undefined ? undefined : String(config.s3ForcePathStyle),
      AWS_REGION: config.awsRegion,
      AWS_ACCESS_KEY_ID: config.awsAccessKeyId,
      AWS_SECRET_ACCESS_KEY: config.awsSecretAccessKey,
      AWS_SESSION_TOKEN: config.awsSessionToken,
    }),
  };
}

/**
 * `file://./data` and `file://data` (not valid absolute file URLs) and bare paths resolve
 * against `cwd`; everything else is passed through for `openStore` to check.
 */
export function resolveStoreUrl(store: string, cwd: string): string {
  const relative = /^file:\/\/(\.{1,2}\/.*|[^/].*)$/.exec(store);
  if (relative) return pathToFileURL(resolve(cwd, relative[1]!)).href;
  if (!store.includes(':') && store !== '') {
    return pathToFileURL(isAbsolute(store) ? store : resolve(cwd, store)).href;
  }
  return store;
}
