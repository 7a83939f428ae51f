/**
 * The soak's end check, with DuckDB over the COMMITTED Parquet files (the commit log,
 * never a glob): every acked request's rows present exactly once in every table of its
 * signal; an abandoned request's rows, per table, either all present once or absent;
 * no duplicate row identity anywhere; no row of a request that was never sent. Plus
 * the commit log's own figures (commits, duplicates the collector dropped, quarantine).
 */
import type { ObjectStore } from '@sediment/object-store';
import { withLakeDuckDB } from '../../test/support/lake-duckdb.js';
import type { Signal } from '../../test/support/otlp-proto.js';

export const SIGNAL_TABLES: Record<Signal, readonly string[]> = {
  traces: ['spans'],
  logs: ['logs'],
  metrics: ['metrics_gauge', 'metrics_sum', 'metrics_histogram'],
};
export const TABLES = ['spans', 'logs', 'metrics_gauge', 'metrics_sum', 'metrics_histogram'];

/** What the clients know about one request at the end. */
export interface RequestLedger {
  readonly signal: Signal;
  readonly rows: number;
  readonly outcome: 'acked' | 'abandoned' | 'rejected';
}

export interface TableCheck {
  /** Rows in the committed files. */
  readonly rows: number;
  readonly distinctIds: number;
  /** Requests with rows in this table. */
  readonly requests: number;
}

export interface VerifyResult {
  readonly violations: string[];
  /** Violations beyond the ones listed (the list is capped). */
  readonly moreViolations: number;
  readonly tables: Record<string, TableCheck>;
  /** Rows checked in total (sum over tables). */
  readonly rowsChecked: number;
  readonly ackedRequestsVerified: number;
  /** Abandoned (or rejected) requests found stored whole, per signal table set. */
  readonly abandonedStored: number;
  readonly abandonedAbsent: number;
  /** Abandoned metrics requests stored for some of their tables only (allowed: the
   *  acceptor puts each table separately and the client gave up). */
  readonly abandonedPartlyByTable: number;
}

/**
 * Per table: request number, row identity and row index derived from the row itself,
 * and `id_request` derived independently where the workload encodes it twice
 * (trace ids carry the request number in their upper bits; see `rowIds`).
 */
const ROW_SQL: Record<string, string> = {
  spans: `SELECT TRY_CAST(span_attributes['request.number'] AS BIGINT) AS request,
                 trace_id || '/' || span_id AS id,
                 TRY_CAST('0x' || substr(trace_id, 25, 8) AS BIGINT) - 1 AS idx,
                 TRY_CAST('0x' || substr(trace_id, 1, 24) AS BIGINT) AS id_request
          FROM spans`,
  logs: `SELECT TRY_CAST(regexp_extract(body, '^request (\\d+) line', 1) AS BIGINT) AS request,
                trace_id || '/' || span_id AS id,
                TRY_CAST('0x' || substr(trace_id, 25, 8) AS BIGINT) - 1 AS idx,
                TRY_CAST('0x' || substr(trace_id, 1, 24) AS BIGINT) AS id_request
         FROM logs`,
};
for (const t of ['metrics_gauge', 'metrics_sum', 'metrics_histogram']) {
  ROW_SQL[t] = `SELECT TRY_CAST(attributes['request.number'] AS BIGINT) AS request,
                       attributes['request.number'] || '/' || attributes['point'] AS id,
                       TRY_CAST(attributes['point'] AS BIGINT) AS idx,
                       TRY_CAST(attributes['request.number'] AS BIGINT) AS id_request
                FROM ${t}`;
}

const MAX_LISTED = 60;

export async function verifyLake(
  store: ObjectStore,
  lakePrefix: string,
  ledger: ReadonlyMap<number, RequestLedger>,
): Promise<VerifyResult> {
  const violations: string[] = [];
  let more = 0;
  const violate = (msg: string) => {
    if (violations.length < MAX_LISTED) violations.push(msg);
    else more++;
  };
  const tables: Record<string, TableCheck> = {};
  /** request → table → [n, distinct, minIdx, maxIdx, bad] */
  const found = new Map<number, Map<string, readonly number[]>>();

  await withLakeDuckDB(store, lakePrefix, async (query, present) => {
    for (const table of TABLES) {
      if (!present.includes(table)) {
        tables[table] = { rows: 0, distinctIds: 0, requests: 0 };
        continue;
      }
      const sql = ROW_SQL[table]!;
      const [total] = await query(
        `SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS d,
                count(*) FILTER (WHERE request IS NULL)::BIGINT AS unattributed
         FROM (${sql})`,
      );
      const n = Number(total!.n);
      const d = Number(total!.d);
      const unattributed = Number(total!.unattributed);
      if (n !== d)
        violate(`${table}: ${n - d} duplicate rows (${n} rows, ${d} distinct identities)`);
      if (unattributed > 0) violate(`${table}: ${unattributed} rows without a request number`);
      const groups = await query(
        `SELECT request, count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS d,
                min(idx)::BIGINT AS lo, max(idx)::BIGINT AS hi,
                count(*) FILTER (WHERE idx IS NULL OR id_request IS DISTINCT FROM request)::BIGINT AS bad
         FROM (${sql}) WHERE request IS NOT NULL GROUP BY request`,
      );
      tables[table] = { rows: n, distinctIds: d, requests: groups.length };
      for (const g of groups) {
        const r = Number(g.request);
        let m = found.get(r);
        if (!m) {
          m = new Map();
          found.set(r, m);
        }
        m.set(table, [Number(g.n), Number(g.d), Number(g.lo), Number(g.hi), Number(g.bad)]);
      }
    }
  });

  const whole = (got: readonly number[] | undefined, rows: number): boolean =>
    got !== undefined &&
    got[0] === rows &&
    got[1] === rows &&
    got[2] === 0 &&
    got[3] === rows - 1 &&
    got[4] === 0;
  const describe = (got: readonly number[] | undefined): string =>
    got === undefined
      ? 'absent'
      : `${got[0]} rows, ${got[1]} distinct, index ${got[2]}..${got[3]}, ${got[4]} inconsistent`;

  let ackedVerified = 0;
  let abandonedStored = 0;
  let abandonedAbsent = 0;
  let abandonedPartly = 0;
  for (const [r, req] of ledger) {
    const got = found.get(r);
    const tablesOf = SIGNAL_TABLES[req.signal];
    if (req.outcome === 'acked') {
      let ok = true;
      for (const t of tablesOf) {
        const g = got?.get(t);
        if (!whole(g, req.rows)) {
          ok = false;
          violate(`acked ${req.signal} request ${r} (${req.rows} rows): ${t} has ${describe(g)}`);
        }
      }
      if (ok) ackedVerified++;
    } else {
      let stored = 0;
      for (const t of tablesOf) {
        const g = got?.get(t);
        if (g === undefined) continue;
        if (whole(g, req.rows)) stored++;
        else
          violate(
            `${req.outcome} ${req.signal} request ${r} (${req.rows} rows): ${t} has ${describe(g)} (must be whole or absent)`,
          );
      }
      if (stored === 0) abandonedAbsent++;
      else if (stored === tablesOf.length) abandonedStored++;
      else abandonedPartly++;
    }
    if (got) {
      for (const t of got.keys()) {
        if (!tablesOf.includes(t)) violate(`${req.signal} request ${r} has rows in ${t}`);
      }
    }
  }
  for (const [r, m] of found) {
    if (!ledger.has(r))
      violate(`request ${r} was never sent, but ${[...m.keys()].join(', ')} hold rows of it`);
  }
  let rowsChecked = 0;
  for (const t of Object.values(tables)) rowsChecked += t.rows;
  return {
    violations,
    moreViolations: more,
    tables,
    rowsChecked,
    ackedRequestsVerified: ackedVerified,
    abandonedStored,
    abandonedAbsent,
    abandonedPartlyByTable: abandonedPartly,
  };
}

export interface CommitLogFigures {
  readonly commits: number;
  readonly duplicateEntries: number;
  readonly duplicateRows: number;
  readonly quarantined: number;
  readonly files: number;
  readonly rows: number;
}

/** Sums over every commit object `{lake}/_commits/{20 digits}.json`. */
export async function readCommitLogFigures(
  store: ObjectStore,
  lakePrefix: string,
): Promise<CommitLogFigures> {
  const keys: string[] = [];
  for await (const meta of store.list(`${lakePrefix}/_commits/`)) {
    if (/\/\d{20}\.json$/.test(meta.key)) keys.push(meta.key);
  }
  const out = {
    commits: keys.length,
    duplicateEntries: 0,
    duplicateRows: 0,
    quarantined: 0,
    files: 0,
    rows: 0,
  };
  const decoder = new TextDecoder();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const record = JSON.parse(decoder.decode((await store.get(key)).bytes)) as {
          files: unknown[];
          quarantined: unknown[];
          stats: { rows: number; duplicateEntries: number; duplicateRows: number };
        };
        out.duplicateEntries += record.stats.duplicateEntries;
        out.duplicateRows += record.stats.duplicateRows;
        out.rows += record.stats.rows;
        out.quarantined += record.quarantined.length;
        out.files += record.files.length;
      }
    }),
  );
  return out;
}
