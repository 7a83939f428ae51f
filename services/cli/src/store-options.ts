import { type Config, parseSettings, setting } from '@sediment/config';
import { type ObjectStore, openStore } from '@sediment/object-store';
import { logLevelSetting } from '@sediment/service-kit';
import { storeLocation, storeSettings } from '@sediment/writer';

/** Settings of the commands that read a store (inspect, query). */
export const readerSettings = {
  ...storeSettings,
  format: setting.oneOf(['table', 'csv', 'json'], {
    env: 'SEDIMENT_OUTPUT',
    default: 'table',
    description:
      'Output format of query and inspect: table (aligned text), csv, or json (one object per line).',
    services: ['cli'],
  }),
  cacheDir: setting.string({
    env: 'SEDIMENT_QUERY_CACHE',
    description:
      'Directory where `sediment query` caches committed Parquet files of remote (S3) stores. Default: a folder under the system temp directory.',
    services: ['cli'],
  }),
  logLevel: logLevelSetting,
} as const;

export type ReaderConfig = Config<typeof readerSettings>;

export function parseReaderArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { config: ReaderConfig; positionals: readonly string[] } {
  return parseSettings(readerSettings, { env, argv });
}

export function openReaderStore(config: ReaderConfig): ObjectStore {
  const { storeUrl, storeEnv } = storeLocation(config, process.cwd());
  return openStore(storeUrl, storeEnv);
}
