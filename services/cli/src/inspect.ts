import { ConfigError, renderHelp } from '@sediment/config';
import { readQueueStats } from '@sediment/ingest';
import { readLakeSnapshot } from '@sediment/lake';
import { renderRows } from './output.js';
import { openReaderStore, parseReaderArgs, readerSettings } from './store-options.js';

export const INSPECT_USAGE = `Usage: sediment inspect queue|lake [options]

  inspect queue   the ingest queue: collector epoch, next sequence, batches waiting,
                  oldest batch age, bytes waiting
  inspect lake    the Parquet lake: latest commit, files, rows and bytes per table and
                  partition (committed files only)

Options (each also as its environment variable):
${renderHelp(readerSettings)}`;

export async function runInspect(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(INSPECT_USAGE);
    return;
  }
  let parsed: ReturnType<typeof parseReaderArgs>;
  try {
    parsed = parseReaderArgs(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`sediment inspect: ${err.message}`);
    process.exitCode = 2;
    return;
  }
  const what = parsed.positionals[0];
  if (what !== 'queue' && what !== 'lake') {
    console.error(`sediment inspect: say what to inspect: queue or lake\n\n${INSPECT_USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { config } = parsed;
  const store = openReaderStore(config);
  try {
    if (what === 'queue') {
      const s = await readQueueStats({
        store,
        manifestPath: `${config.queuePrefix}/manifest`,
        dataPathPrefix: config.queuePrefix,
        bytes: true,
      });
      const rows: [string, unknown][] = [
        ['store', store.description],
        ['manifest', `${config.queuePrefix}/manifest`],
        ['collector epoch', s.epoch.toString()],
        ['next sequence', s.nextSequence.toString()],
        ['batches waiting', s.entryCount],
        ['first sequence', s.firstSequence?.toString() ?? null],
        ['requests waiting', s.inputCount],
        [
          'oldest batch age (s)',
          s.oldestEntryAgeMs === undefined ? null : Math.round(s.oldestEntryAgeMs / 100) / 10,
        ],
        ['bytes waiting', s.bytesWaiting ?? null],
        ['manifest bytes', s.manifestBytes],
      ];
      print(['property', 'value'], rows, config.format);
    } else {
      const snap = await readLakeSnapshot(store, config.lakePrefix);
      const groups = new Map<
        string,
        { table: string; partition: string; files: number; rows: number; bytes: number }
      >();
      for (const f of snap.files) {
        const key = `${f.table}\0${f.partition}`;
        const g = groups.get(key) ?? {
          table: f.table,
          partition: f.partition,
          files: 0,
          rows: 0,
          bytes: 0,
        };
        g.files++;
        g.rows += f.rows;
        g.bytes += f.bytes;
        groups.set(key, g);
      }
      if (config.format === 'table') {
        console.log(
          `lake ${config.lakePrefix}/ on ${store.description}: commit ${snap.commit}, last queue sequence ${snap.lastSequence?.toString() ?? '-'}, ${snap.files.length} files\n`,
        );
      }
      const rows = [...groups.values()].map((g) => [
        g.table,
        g.partition,
        g.files,
        g.rows,
        g.bytes,
      ]);
      print(['table', 'partition', 'files', 'rows', 'bytes'], rows, config.format);
    }
  } catch (err) {
    console.error(`sediment inspect: ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    await store.close();
  }
}

function print(columns: string[], rows: unknown[][], format: 'table' | 'csv' | 'json'): void {
  console.log(renderRows(columns, rows, format));
}
