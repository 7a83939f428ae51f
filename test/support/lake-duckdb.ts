/**
 * DuckDB over a lake's COMMITTED files (never a glob, which could see orphans), with one
 * view per table: `spans`, `logs`, `metrics_sum`, … Local-fs stores are read in place;
 * other stores are first copied to a temporary directory (DuckDB's httpfs extension
 * would need a download these machines cannot make).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { readCommittedFiles } from '@sediment/lake';
import { LocalFsStore, type ObjectStore } from '@sediment/object-store';

export type Query = (sql: string) => Promise<Record<string, unknown>[]>;

export async function withLakeDuckDB<T>(
  store: ObjectStore,
  lakePrefix: string,
  fn: (query: Query, tables: string[]) => Promise<T>,
): Promise<T> {
  const files = await readCommittedFiles(store, lakePrefix);
  let root: string;
  let tmp: string | undefined;
  if (store instanceof LocalFsStore) {
    root = store.root;
  } else {
    tmp = await mkdtemp(path.join(tmpdir(), 'sediment-lake-'));
    root = tmp;
    for (const f of files) {
      const p = path.join(tmp, f.key);
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, (await store.get(f.key)).bytes);
    }
  }
  const byTable = new Map<string, string[]>();
  for (const f of files) {
    const list = byTable.get(f.table) ?? [];
    list.push(path.join(root, f.key));
    byTable.set(f.table, list);
  }
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
    for (const [table, paths] of byTable) {
      const list = paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(', ');
      await conn.run(
        `CREATE VIEW ${table} AS SELECT * FROM read_parquet([${list}], hive_partitioning = true)`,
      );
    }
    const query: Query = async (sql) => {
      const reader = await conn.runAndReadAll(sql);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    };
    return await fn(query, [...byTable.keys()].sort());
  } finally {
    conn.closeSync();
    db.closeSync();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
