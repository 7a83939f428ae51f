import { ConfigError, renderHelp } from '@sediment/config';
import { openLakeDuckDB } from './lake-duckdb.js';
import { progress, renderRows } from './output.js';
import { openReaderStore, parseReaderArgs, readerSettings } from './store-options.js';

export const QUERY_USAGE = `Usage: sediment query "<SQL>" [options]

Runs SQL (DuckDB dialect) over the lake's committed Parquet files. Each table with data
is a view: spans, logs, metrics_gauge, metrics_sum, metrics_histogram,
metrics_exponential_histogram, metrics_summary (plus the dt and hour partition columns).
Only files listed in the commit log are read, so results never include uncommitted data.

Example:
  sediment query "SELECT service_name, span_name, count(*) AS n FROM spans GROUP BY ALL ORDER BY n DESC LIMIT 10"

Options (each also as its environment variable):
${renderHelp(readerSettings)}`;

export async function runQuery(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(QUERY_USAGE);
    return;
  }
  let parsed: ReturnType<typeof parseReaderArgs>;
  try {
    parsed = parseReaderArgs(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`sediment query: ${err.message}`);
    process.exitCode = 2;
    return;
  }
  const sql = parsed.positionals.join(' ').trim();
  if (sql === '') {
    console.error(`sediment query: no SQL given\n\n${QUERY_USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { config } = parsed;
  let store: ReturnType<typeof openReaderStore> | undefined;
  let lake: Awaited<ReturnType<typeof openLakeDuckDB>> | undefined;
  try {
    store = openReaderStore(config);
    lake = await openLakeDuckDB({
      store,
      lakePrefix: config.lakePrefix,
      ...(config.cacheDir ? { cacheDir: config.cacheDir } : {}),
      onProgress: progress('downloading'),
    });
    const result = await lake.query(sql);
    console.log(renderRows(result.columns, result.rows, config.format));
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    const missing = /Table with name (\w+) does not exist/.exec(message);
    console.error(
      missing
        ? `sediment query: no committed data for table ${missing[1]} yet (tables with data: ${lake?.tables.join(', ') || 'none'})`
        : `sediment query: ${message}`,
    );
    process.exitCode = 1;
  } finally {
    lake?.close();
    await store?.close();
  }
}
