/**
 * Long forms of the outage suites (issue #7): each outage lasts 60 s (the CI tests run the
 * S3 outage for 60 s too, the writer-down and full-disk ones for 20 s). Same scenarios and
 * checks as test/outage-*.test.ts; prints one JSON line per scenario and a Markdown table
 * for bench/outage/RESULTS.md. The "baseline" is the same steady load before the outage
 * in the same run: RSS ratios are outage peak ÷ warm-up peak.
 *
 *   node scripts/run-ts.mjs bench/outage/run.ts [s3-reset] [s3-blackhole] [writer-down] [full-disk]
 *        [--outage 60s] [--big 8] [--client-timeout 30s]
 *
 * --big: clients with 4000-row requests (default 8); --client-timeout: how long a client
 * waits for an answer (default 30 s; OTLP exporters default to 10 s).
 *
 * S3 scenarios need the test S3 server (S3_ENDPOINT, S3_BUCKET, AWS_* as for the tests);
 * full-disk needs root (it mounts a tmpfs).
 */
import { loadavg } from 'node:os';
import { memoryGrowthBounds, summary } from '../../test/support/outage-assert.js';
import {
  type CaseOptions,
  fullDiskCase,
  s3OutageCase,
  writerDownCase,
} from '../../test/support/outage-cases.js';
import type { OutageReport } from '../../test/support/outage-scenario.js';
import { runOutageScenario } from '../../test/support/outage-scenario.js';
import { proxiedS3, smallDisk } from '../../test/support/outage-stores.js';

const ALL = ['s3-reset', 's3-blackhole', 'writer-down', 'full-disk'] as const;
type Name = (typeof ALL)[number];

interface Args {
  readonly names: Name[];
  readonly options: Omit<CaseOptions, 'log'>;
}

function duration(text: string | undefined, flag: string): number {
  const m = /^(\d+)(ms|s)?$/.exec(text ?? '');
  if (!m) throw new Error(`${flag} takes e.g. 60s or 20000ms`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
}

function parseArgs(argv: string[]): Args {
  const names: Name[] = [];
  let outageMs = 60_000;
  let bigClients: number | undefined;
  let clientTimeoutMs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--outage') outageMs = duration(argv[++i], a);
    else if (a === '--client-timeout') clientTimeoutMs = duration(argv[++i], a);
    else if (a === '--big') bigClients = Number(argv[++i]);
    else if ((ALL as readonly string[]).includes(a)) names.push(a as Name);
    else throw new Error(`unknown argument ${a}; scenarios: ${ALL.join(', ')}`);
  }
  return {
    names: names.length > 0 ? names : [...ALL],
    options: {
      outageMs,
      ...(bigClients === undefined ? {} : { bigClients }),
      ...(clientTimeoutMs === undefined ? {} : { clientTimeoutMs }),
    },
  };
}

const log = (line: string) => console.error(line);

async function runOne(name: Name, options: Args['options']) {
  const o: CaseOptions = { ...options, log };
  if (name === 's3-reset' || name === 's3-blackhole') {
    const s3 = await proxiedS3();
    if (!s3) return undefined;
    try {
      const r = await runOutageScenario(
        s3OutageCase(s3, [name === 's3-reset' ? 'reset' : 'blackhole'], o),
      );
      return { r, extra: { proxy: s3.proxy.stats() } };
    } finally {
      await s3.cleanup();
    }
  }
  if (name === 'writer-down') {
    const c = await writerDownCase(o);
    try {
      return { r: await runOutageScenario(c.scenario), extra: {} };
    } finally {
      await c.cleanup();
    }
  }
  const disk = await smallDisk(64);
  if (typeof disk === 'string') {
    console.error(`full-disk skipped: ${disk}`);
    return undefined;
  }
  try {
    const c = fullDiskCase(disk, o);
    const r = await runOutageScenario(c.scenario);
    return { r, extra: { freeAtOutageEnd: c.freeAtOutageEnd() } };
  } finally {
    await disk.cleanup();
  }
}

function problems(r: OutageReport): string[] {
  const out: string[] = [];
  if (r.violations.length > 0)
    out.push(`${r.violations.length} violations: ${r.violations.slice(0, 3).join('; ')}`);
  if (r.unexpectedExits.length > 0) out.push(`unexpected exits: ${r.unexpectedExits.join('; ')}`);
  if (r.exitCodes.acceptor !== 0 || r.exitCodes.writer !== 0)
    out.push(`exit codes ${JSON.stringify(r.exitCodes)}`);
  if (r.acked !== r.requests) out.push(`${r.requests - r.acked} requests never acked`);
  const l = r.lake;
  if (l.missing.length + l.duplicated.length + l.unexpected.length + l.quarantinedObjects > 0) {
    out.push(
      `lake: ${l.missing.length} missing, ${l.duplicated.length} duplicated, ${l.unexpected.length} unexpected, ${l.quarantinedObjects} quarantined`,
    );
  }
  const bounds = memoryGrowthBounds(r);
  for (const phase of ['outage', 'recovery'] as const) {
    for (const name of ['acceptor', 'writer'] as const) {
      const p = r.rssMiB[name] ?? {};
      const growth = (p[phase] ?? 0) - (p['warm-up'] ?? 0);
      if (growth >= bounds[name]) {
        out.push(`${name} RSS grew ${Math.round(growth)} MiB in ${phase} (bound ${bounds[name]})`);
      }
    }
  }
  return out;
}

const { names, options } = parseArgs(process.argv.slice(2));
const rows: string[] = [];
let failed = false;
for (const name of names) {
  const la = loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  const result = await runOne(name, options);
  if (!result) continue;
  const { r, extra } = result;
  console.log(summary(r, { ...extra, loadAverageAtStart: la }));
  const bad = problems(r);
  if (bad.length > 0) {
    failed = true;
    console.error(`${name}: FAILED: ${bad.join(' | ')}`);
  }
  const refused = r.outcomes.outage.unavailable ?? 0;
  const other = Object.entries(r.outcomes.outage)
    .filter(([k]) => k !== 'ok' && k !== 'unavailable')
    .reduce((n, [, v]) => n + v, 0);
  const rss = (p: string) => {
    const x = r.rssMiB[p] ?? {};
    const peak = Math.max(x.outage ?? 0, x.recovery ?? 0);
    return `${Math.round(peak)} (${(peak / (x['warm-up'] ?? peak)).toFixed(2)}×)`;
  };
  rows.push(
    `| ${name} | ${(r.outageMs / 1000).toFixed(1)} s | ${r.requests} | ${r.attempts} | ${refused} | ${other} | ${r.refusalLatencyMs.p50} / ${r.refusalLatencyMs.p90} ms | ${Math.round(r.bytesOfferedDuringOutage / 1048576)} MiB | ${(r.recovery.firstAckMs / 1000).toFixed(1)} / ${(r.recovery.backlogAckedMs / 1000).toFixed(1)} / ${(r.recovery.firstCommitMs / 1000).toFixed(1)} s | ${rss('acceptor')} | ${rss('writer')} | ${r.lake.rowsChecked} | ${r.lake.duplicateEntriesDropped} | ${bad.length === 0 ? 'pass' : 'FAIL'} | ${la} |`,
  );
}
console.log(
  [
    '',
    '| scenario | outage | requests | attempts | 503/UNAVAILABLE in outage | other non-OK | refusal latency p50 / p90 | bytes offered in outage | recovery: first ack / backlog acked / first commit | acceptor max RSS MiB (× warm-up) | writer max RSS MiB (× warm-up) | rows checked in DuckDB | retried entries dropped as duplicates | exactly-once | load avg |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n'),
);
if (failed) process.exitCode = 1;
