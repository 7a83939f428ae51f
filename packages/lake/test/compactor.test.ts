import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listAll, MemoryStore } from '@sediment/object-store';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CommittedFile,
  Compactor,
  parseDataFileKey,
  partitionOfHour,
  readCommittedFiles,
  readLakeSnapshot,
  resolveCompactorOptions,
  silentLogger,
} from '../src/index.js';
import {
  canonical,
  download,
  duckRead,
  duckScalar,
  hyparquetTimestamps,
  oracleRowsForDuck,
} from './helpers/duck.js';
import { ingestAll, openQueue } from './helpers/queue.js';
import { storeTargets } from './helpers/stores.js';
import { H, mixedWorkload, tableOf } from './workload.js';

const tmpDirs: string[] = [];
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`compactor on ${target.name}`, () => {
    it('commits mixed tables exactly: DuckDB reads every row and value in the right partition', {
      timeout: 180_000,
    }, async () => {
      const { store, cleanup } = await target.open();
      const queue = openQueue(store);
      try {
        const calls = mixedWorkload(42, 40);
        // Several waves → several queue batches → several rounds and commits.
        for (let i = 0; i < calls.length; i += 8)
          await ingestAll(queue.ingestor, calls.slice(i, i + 8));
        const compactor = new Compactor({
          store,
          queue: queue.collector,
          targetFileRows: 150,
          checkpointInterval: 3,
          logger: silentLogger,
        });
        await compactor.start();
        const drained = await compactor.drain();
        expect(drained.commits.length).toBeGreaterThan(1);
        expect((await compactor.drain()).batches).toBe(0);
        await compactor.close();

        const snapshot = await readLakeSnapshot(store);
        expect(snapshot.commit).toBe(drained.commits.at(-1)!.commit);
        // Every data file under the lake is committed: no orphans after a clean run.
        const listed = (await listAll(store, 'lake/'))
          .filter((m) => parseDataFileKey('lake', m.key))
          .map((m) => m.key);
        expect(listed.sort()).toEqual(snapshot.files.map((f) => f.key).sort());
        // A checkpoint was written and the reader protocol agrees with a full replay.
        expect(
          (await listAll(store, 'lake/_commits/')).some((m) => m.key.endsWith('.checkpoint.json')),
        ).toBe(true);

        const dir = await mkdtemp(join(tmpdir(), 'lake-duck-'));
        tmpDirs.push(dir);
        const byTable = new Map<string, (typeof calls)[number]['batches']>();
        for (const c of calls)
          for (const b of c.batches)
            byTable.set(tableOf(b), [...(byTable.get(tableOf(b)) ?? []), b]);
        for (const [table, batches] of byTable) {
          const files: CommittedFile[] = await readCommittedFiles(store, 'lake', { table });
          expect(files.every((f) => f.table === table)).toBe(true);
          for (const f of files) expect(f.rows).toBeLessThanOrEqual(150);
          const paths = await download(store, files, dir);
          const { rows } = await duckRead(paths);
          const expected = batches.flatMap(oracleRowsForDuck);
          expect(rows.length, table).toBe(expected.length);
          // Partition columns match the UTC hour of each row's event time. DuckDB truncates
          // ns to µs toward zero, so a row less than 1 µs before a boundary at or before
          // the epoch shows the boundary itself: there, either side is accepted (hyparquet
          // checks those exactly below).
          for (const row of rows) {
            const micros = row.timestamp as bigint;
            const hour = Number(floorDiv(micros, 3_600_000_000n));
            const partition = `dt=${row.dt}/hour=${row.hour}`;
            if (
              micros <= 0n &&
              micros % 3_600_000_000n === 0n &&
              partition === partitionOfHour(hour - 1)
            )
              continue;
            expect(partition).toBe(partitionOfHour(hour));
          }
          const strip = (r: Record<string, unknown>) => {
            const { dt: _dt, hour: _hour, ...rest } = r;
            return rest;
          };
          const got = rows.map((r) => canonical(strip(r) as never)).sort();
          const want = expected.map((r) => canonical(r)).sort();
          expect(got).toEqual(want);
          // Nanoseconds survive (DuckDB shows microseconds; hyparquet reads the int64).
          const tsColumns = table === 'spans' ? ['timestamp', 'end_timestamp'] : ['timestamp'];
          const sent: Record<string, bigint[]> = {};
          for (const c of tsColumns) {
            sent[c] = batches
              .flatMap((b) => Array.from(b.getChild(c)!.data[0]!.values as BigInt64Array))
              .sort(cmp);
          }
          const read: Record<string, bigint[]> = Object.fromEntries(
            tsColumns.map((c) => [c, [] as bigint[]]),
          );
          for (const f of files) {
            const values = await hyparquetTimestamps((await store.get(f.key)).bytes, tsColumns);
            for (const c of tsColumns) read[c]!.push(...(values[c] as bigint[]));
            // Min/max recorded in the commit are exact.
            const own = values.timestamp as bigint[];
            expect(f.minTimestampNs).toBe(own.reduce(minBig).toString());
            expect(f.maxTimestampNs).toBe(own.reduce(maxBig).toString());
            const [lo, hi] = [BigInt(f.minTimestampNs!), BigInt(f.maxTimestampNs!)];
            expect(f.partition).toBe(partitionOfHour(Number(floorDiv(lo, H))));
            expect(floorDiv(lo, H)).toBe(floorDiv(hi, H));
          }
          for (const c of tsColumns) expect(read[c]!.sort(cmp)).toEqual(sent[c]);
        }
      } finally {
        await queue.close();
        await cleanup();
      }
    });
  });
}

function minBig(a: bigint, b: bigint): bigint {
  return b < a ? b : a;
}

function maxBig(a: bigint, b: bigint): bigint {
  return b > a ? b : a;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

describe('compactor value encodings', () => {
  it('writes delta encodings by default and PLAIN when asked, in the worker and inline', {
    timeout: 120_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lake-enc-'));
    tmpDirs.push(dir);
    const seen = new Map<string, Set<string>>();
    for (const parquetEncoding of [undefined, 'plain', 'delta'] as const) {
      for (const encoder of ['worker', 'inline'] as const) {
        const store = new MemoryStore();
        const queue = openQueue(store);
        try {
          const calls = mixedWorkload(7, 8);
          await ingestAll(queue.ingestor, calls);
          const compactor = new Compactor({
            store,
            queue: queue.collector,
            logger: silentLogger,
            encoder,
            ...(parquetEncoding ? { parquetEncoding } : {}),
          });
          await compactor.start();
          await compactor.drain();
          await compactor.close();
          const files = await readCommittedFiles(store, 'lake', { table: 'spans' });
          expect(files.length).toBeGreaterThan(0);
          const paths = await download(store, files, join(dir, `${parquetEncoding}-${encoder}`));
          // A string column and a timestamp column.
          const encodings = async (column: string) =>
            String(
              await duckScalar(
                `SELECT string_agg(DISTINCT encodings, ',') FROM parquet_metadata([${paths.map((p) => `'${p}'`).join(',')}]) WHERE path_in_schema = '${column}'`,
              ),
            );
          const enc = `${await encodings('trace_id')} | ${await encodings('timestamp')}`;
          const key = parquetEncoding ?? 'default';
          seen.set(key, new Set([...(seen.get(key) ?? []), enc]));
        } finally {
          await queue.close();
          await store.close();
        }
      }
    }
    expect([...seen.get('default')!]).toEqual([
      expect.stringMatching(/DELTA_LENGTH_BYTE_ARRAY.* \| .*DELTA_BINARY_PACKED/),
    ]);
    expect([...seen.get('delta')!]).toEqual([...seen.get('default')!]);
    expect([...seen.get('plain')!]).toEqual([expect.not.stringContaining('DELTA')]);
    expect(() => resolveCompactorOptions({ parquetEncoding: 'utf16' as never } as never)).toThrow(
      /parquetEncoding: must be one of delta, plain, got utf16/,
    );
  });
});
