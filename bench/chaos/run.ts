/**
 * The chaos soak from the command line (see bench/chaos/README.md):
 *
 *   node scripts/run-ts.mjs bench/chaos/run.ts --duration 2m --store local|s3
 *     [--kill-every 3-8s] [--restart-after 0.5-3s] [--faults transient=0.05,lost=0.02,latency=0-20|none]
 *     [--seed N] [--concurrency 6] [--max-rows 20] [--think 20ms] [--max-file-age 2s]
 *     [--gc-grace 60s] [--give-up 40s] [--impatient 0.15] [--no-chaos] [--keep] [--json out.json]
 *     [--repo DIR]
 *
 * Exits 0 when every check passed, 1 on any violation, 2 on bad arguments.
 */
import { writeFile } from 'node:fs/promises';
import { parseDuration } from '../lib/latency.js';
import { DEFAULT_RETRY } from './client.js';
import { formatReport, type Range, runSoak, s3SoakUrl } from './soak.js';

const USAGE = `usage: node scripts/run-ts.mjs bench/chaos/run.ts --duration 2m --store local|s3
  [--kill-every 3-8s] [--restart-after 0.5-3s] [--faults SPEC|none] [--seed N]
  [--concurrency N] [--max-rows N] [--think DURATION] [--max-file-age DURATION]
  [--gc-grace DURATION] [--give-up DURATION] [--impatient SHARE] [--no-chaos] [--keep]
  [--json FILE] [--repo DIR]`;

/** `3-8s`, `500ms-2s`, `0.5-3s` (a unit on the second bound applies to a bare first). */
export function parseRange(text: string): Range {
  const m = /^([\d.]+)(ms|s|m)?-([\d.]+)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new RangeError(`not a range: ${JSON.stringify(text)} (use 3-8s or 500ms-2s)`);
  const unit = m[4] ?? 's';
  const min = parseDuration(`${m[1]}${m[2] ?? unit}`);
  const max = parseDuration(`${m[3]}${unit}`);
  if (min > max) throw new RangeError(`range ${text}: the minimum is above the maximum`);
  return [min, max];
}

function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new RangeError(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (a === '--keep' || a === '--no-chaos' || a === '--help') out.set(a.slice(2), 'true');
    else {
      const v = argv[++i];
      if (v === undefined) throw new RangeError(`${a} needs a value`);
      out.set(a.slice(2), v);
    }
  }
  return out;
}

const KNOWN = new Set([
  'duration',
  'store',
  'kill-every',
  'restart-after',
  'faults',
  'seed',
  'concurrency',
  'max-rows',
  'think',
  'max-file-age',
  'gc-grace',
  'give-up',
  'impatient',
  'no-chaos',
  'keep',
  'json',
  'repo',
  'help',
]);

async function main(): Promise<void> {
  let args: Map<string, string>;
  try {
    args = parseArgs(process.argv.slice(2));
    for (const k of args.keys()) if (!KNOWN.has(k)) throw new RangeError(`unknown option --${k}`);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.has('help')) {
    console.log(USAGE);
    return;
  }
  let options: Parameters<typeof runSoak>[0];
  try {
    const storeKind = args.get('store') ?? 'local';
    if (storeKind !== 'local' && storeKind !== 's3')
      throw new RangeError('--store must be local or s3');
    const faults = args.get('faults') ?? 'transient=0.05,lost=0.02,latency=0-20';
    const giveUp = parseDuration(args.get('give-up') ?? '40s');
    const share = (v: string) => {
      const n = Number(v);
      if (!(n >= 0 && n <= 1)) throw new RangeError('--impatient must be a share between 0 and 1');
      return n;
    };
    const int = (name: string, dflt: number) => {
      const v = args.get(name);
      if (v === undefined) return dflt;
      if (!/^\d+$/.test(v)) throw new RangeError(`--${name} must be a non-negative integer`);
      return Number(v);
    };
    options = {
      durationMs: parseDuration(args.get('duration') ?? '2m'),
      store: storeKind === 'local' ? { kind: 'local' } : { kind: 's3', url: s3SoakUrl() },
      ...(args.has('no-chaos')
        ? {}
        : { killEveryMs: parseRange(args.get('kill-every') ?? '3-8s') }),
      restartAfterMs: parseRange(args.get('restart-after') ?? '0.5-3s'),
      ...(faults === 'none' ? {} : { faults }),
      seed: int('seed', 1),
      concurrency: Math.max(1, int('concurrency', 6)),
      maxRows: Math.max(1, int('max-rows', 20)),
      thinkMs: parseDuration(args.get('think') ?? '20ms'),
      maxFileAge: args.get('max-file-age') ?? '2s',
      gcGrace: args.get('gc-grace') ?? '60s',
      retry: { ...DEFAULT_RETRY, maxElapsedMs: giveUp },
      impatientShare: share(args.get('impatient') ?? '0.15'),
      keep: args.has('keep'),
      ...(args.has('repo') ? { serviceRoot: args.get('repo')! } : {}),
      log: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
    };
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const report = await runSoak(options);
  console.log(formatReport(report));
  const json = args.get('json');
  if (json) await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.passed ? 0 : 1;
}

await main();
