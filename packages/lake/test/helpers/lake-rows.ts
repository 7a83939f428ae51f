/** Facts about the committed lake for assertions (DuckDB over the committed files). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ObjectStore, listAll } from '@sediment/object-store';
import { parseDataFileKey, readLakeSnapshot } from '../../src/index.js';
import { download, duckScalar } from './duck.js';

/** Rows per table according to the commit log. */
export async function committedRows(
  store: ObjectStore,
  prefix = 'lake',
): Promise<Record<string, number>> {
  const { files } = await readLakeSnapshot(store, prefix);
  const out: Record<string, number> = {};
  for (const f of files) out[f.table] = (out[f.table] ?? 0) + f.rows;
  return out;
}

/** [count(*), count(distinct column)] of a table's committed files, read by DuckDB. */
export async function countDistinct(
  store: ObjectStore,
  table: string,
  column: string,
  prefix = 'lake',
): Promise<[bigint, bigint]> {
  const { files } = await readLakeSnapshot(store, prefix);
  const mine = files.filter((f) => f.table === table);
  if (mine.length === 0) return [0n, 0n];
  const dir = await mkdtemp(join(tmpdir(), 'lake-count-'));
  try {
    const paths = await download(store, mine, dir);
    const list = paths.map((p) => `'${p}'`).join(', ');
    const total = (await duckScalar(`SELECT count(*) FROM read_parquet([${list}])`)) as bigint;
    const distinct = (await duckScalar(
      `SELECT count(DISTINCT ${column}) FROM read_parquet([${list}])`,
    )) as bigint;
    return [total, distinct];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Data files present under the lake that no commit lists. */
export async function orphanKeys(store: ObjectStore, prefix = 'lake'): Promise<string[]> {
  const { files } = await readLakeSnapshot(store, prefix);
  const committed = new Set(files.map((f) => f.key));
  return (await listAll(store, `${prefix}/`))
    .map((m) => m.key)
    .filter((k) => parseDataFileKey(prefix, k) && !committed.has(k));
}
