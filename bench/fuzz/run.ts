/**
 * Network-level fuzzing of an acceptor, long form: hostile traffic of every kind in
 * test/support/fuzz-cases.ts against both ports of an acceptor process with a real writer
 * behind it, valid requests interleaved (1 in 20), then a drain and a DuckDB check of the
 * lake. Prints the report as Markdown (see bench/fuzz/RESULTS.md) and exits 1 when a
 * check failed.
 *
 *   node scripts/run-ts.mjs bench/fuzz/run.ts --requests 100000 [--concurrency 64] [--seed 1]
 */
import { formatReport, runNetworkFuzz } from '../../test/support/fuzz-network.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

const requests = arg('requests', 100_000);
const concurrency = arg('concurrency', 64);
const seed = arg('seed', 20240501);

console.log(`network fuzz: ${requests} requests, ${concurrency} concurrent, seed ${seed}`);
const report = await runNetworkFuzz({ requests, concurrency, seed, log: (l) => console.log(l) });
console.log('');
console.log(formatReport(report));
const failures: string[] = [];
if (report.violations > 0) failures.push(`${report.violations} replies outside the documented set`);
if (!report.acceptorSurvived) failures.push('the acceptor died');
if (report.acceptorExitCode !== 0)
  failures.push(`acceptor drain exit code ${report.acceptorExitCode}`);
if (report.writerExitCode !== 0) failures.push(`writer drain exit code ${report.writerExitCode}`);
if (report.valid.acked !== report.valid.sent)
  failures.push(`${report.valid.sent - report.valid.acked} valid requests not acked`);
if (report.valid.storedExactlyOnce !== report.valid.acked)
  failures.push(
    `${report.valid.acked - report.valid.storedExactlyOnce} acked requests not stored exactly once`,
  );
if (report.unauthenticatedRowsStored > 0)
  failures.push('rows stored from unauthenticated requests');
if (failures.length > 0) {
  console.log(`\nFAILED: ${failures.join('; ')}`);
  if (report.valid.lastFailures.length) console.log(report.valid.lastFailures.join('\n'));
  if (report.valid.wrong.length) console.log(JSON.stringify(report.valid.wrong.slice(0, 10)));
  console.log(report.acceptorOutputTail.slice(-3000));
  process.exitCode = 1;
} else {
  console.log('\nall checks passed');
}
