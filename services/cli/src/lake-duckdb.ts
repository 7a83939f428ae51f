import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { type CommittedFile, readCommittedFiles } from '@sediment/lake';
import { LocalFsStore, type ObjectStore } from '@sediment/object-store';

export interface LakeDuckDBOptions {
  readonly store: ObjectStore;
  readonly lakePrefix: string;
  /** Where committed files of remote stores are cached (they never change once committed). */
  readonly cacheDir?: string;
  /** Download progress for remote stores. */
  readonly onProgress?: (done: number, total: number, bytes: number) => void;
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** Rows as JSON-friendly values (64-bit integers and timestamps as strings). */
  readonly rows: readonly (readonly unknown[])[];
}

export interface LakeDuckDB {
  /** Tables with committed data, each a DuckDB view of the same name. */
  readonly tables: readonly string[];
  readonly files: readonly CommittedFile[];
  query(sql: string): Promise<QueryResult>;
  close(): void;
}

/**
 * DuckDB over the lake's COMMITTED files only (following `_commits/`, never a glob that
 * could see uncommitted files), with one view per table: `spans`, `logs`,
 * `metrics_gauge`, … Hive partition columns `dt` and `hour` are included. Local-fs stores
 * are read in place; other stores are downloaded once into a cache directory.
 */
export async function openLakeDuckDB(options: LakeDuckDBOptions): Promise<LakeDuckDB> {
  const { store } = options;
  const files = await readCommittedFiles(store, options.lakePrefix);
  const root =
    store instanceof LocalFsStore
      ? store.root
      : await downloadAll(
          store,
          files,
          options.cacheDir ?? defaultCacheDir(store),
          options.onProgress,
        );
  const byTable = new Map<string, string[]>();
  for (const f of files) {
    const list = byTable.get(f.table) ?? [];
    list.push(path.join(root, f.key));
    byTable.set(f.table, list);
  }
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  // Spill to the system temp directory, not ./.tmp (the working directory may be read-only).
  await conn.run(
    `SET temp_directory = '${path.join(tmpdir(), 'sediment-duckdb').replaceAll("'", "''")}'`,
  );
  for (const [table, paths] of byTable) {
    const list = paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(', ');
    await conn.run(
      `CREATE VIEW "${table}" AS SELECT * FROM read_parquet([${list}], hive_partitioning = true)`,
    );
  }
  return {
    tables: [...byTable.keys()].sort(),
    files,
    async query(sql) {
      const reader = await conn.runAndReadAll(sql);
      return { columns: reader.columnNames(), rows: reader.getRowsJson() };
    },
    close() {
      conn.closeSync();
      db.closeSync();
    },
  };
}

function defaultCacheDir(store: ObjectStore): string {
  const id = createHash('sha256').update(store.description).digest('hex').slice(0, 16);
  return path.join(tmpdir(), 'sediment-query-cache', id);
}

async function downloadAll(
  store: ObjectStore,
  files: readonly CommittedFile[],
  dir: string,
  onProgress: LakeDuckDBOptions['onProgress'],
): Promise<string> {
  let done = 0;
  let bytes = 0;
  for (const f of files) {
    const target = path.join(dir, f.key);
    const cached = await stat(target).catch(() => undefined);
    if (!cached || cached.size !== f.bytes) {
      await mkdir(path.dirname(target), { recursive: true });
      const { bytes: body } = await store.get(f.key);
      const tmp = `${target}.${process.pid}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, target);
    }
    done++;
    bytes += f.bytes;
    onProgress?.(done, files.length, bytes);
  }
  return dir;
}
