/**
 * The chaos soak's CI short form (bench/chaos/README.md): two ingest-only writers, a
 * collector and two acceptors as separate processes, object-store faults injected into
 * every writer, a monkey SIGKILLing a random process every few seconds, exporter-like
 * clients over gRPC and HTTP (protobuf and JSON). After the drain, DuckDB over the
 * committed Parquet must hold every acked record exactly once, abandoned requests whole
 * or absent, no duplicate at all, nothing never sent; every answer must be one a
 * retrying OTLP client expects (never 500 / INTERNAL); every drain must exit 0.
 *
 * About 90 s of chaos on the local filesystem and 30 s on the S3 test server (which
 * must be there under SEDIMENT_CI=1). Longer: CHAOS_LOCAL_SECONDS / CHAOS_S3_SECONDS, or
 * the command line (`node scripts/run-ts.mjs bench/chaos/run.ts --duration 30m`).
 */
import { s3TestOptions, s3TestUrl } from '@sediment/object-store/testing';
import { expect, test } from 'vitest';
import { formatReport, runSoak, type SoakOptions, type SoakReport } from '../bench/chaos/soak.js';

const LOCAL_SECONDS = Number(process.env.CHAOS_LOCAL_SECONDS ?? 90);
const S3_SECONDS = Number(process.env.CHAOS_S3_SECONDS ?? 30);

const common: Omit<SoakOptions, 'durationMs' | 'store'> = {
  killEveryMs: [3_000, 8_000],
  restartAfterMs: [500, 3_000],
  faults: 'transient=0.05,lost=0.02,latency=0-20',
  concurrency: 6,
  log: (line) => console.log(`[chaos] ${line}`),
};

function expectClean(report: SoakReport): void {
  console.log(formatReport(report));
  // The verdict first, with every violation in the failure message.
  expect(report.violations).toEqual([]);
  expect(report.passed).toBe(true);
  // No answer outside what a retrying OTLP client expects (never 500 / INTERNAL).
  expect(report.unexpectedStatuses.count).toBe(0);
  for (const key of Object.keys(report.statuses)) {
    expect(key).toMatch(
      /^(grpc (OK|UNAVAILABLE\+RetryInfo|UNAVAILABLE \(transport\)|DEADLINE_EXCEEDED \(client deadline\))|http (200|503\+Retry-After|ECONNREFUSED|ECONNRESET|EPIPE|socket hang up|timeout \(client deadline\)))$/,
    );
  }
  expect(report.requests.rejected).toBe(0);
  // The chaos really happened: every role was killed, faults were injected, clients retried.
  expect(report.kills.acceptor).toBeGreaterThan(0);
  expect(report.kills.writer).toBeGreaterThan(0);
  expect(report.kills.collector).toBeGreaterThan(0);
  expect(report.unexpectedExits).toEqual([]);
  expect(
    report.faults.writers.transientErrors + report.faults.collector.transientErrors,
  ).toBeGreaterThan(0);
  expect(report.faults.writers.lostReplies + report.faults.collector.lostReplies).toBeGreaterThan(
    0,
  );
  expect(report.requests.retried).toBeGreaterThan(0);
  // And the lake was checked against all of it.
  expect(report.requests.acked).toBeGreaterThan(100);
  expect(report.check?.ackedRequestsVerified).toBe(report.requests.acked);
  expect(report.check?.rowsChecked).toBeGreaterThanOrEqual(report.requests.rowsAcked);
  for (const exit of Object.values(report.drain))
    expect(exit).toMatchObject({ code: 0, timedOut: false });
  expect(report.lake?.quarantined).toBe(0);
  // The collector kept up: the queue backlog was sampled, and the drain left nothing.
  expect(report.queueBacklog.samples).toBeGreaterThan(0);
  expect(report.lake?.queueEntriesLeft).toBe(0);
}

test(`chaos soak, local filesystem: ${LOCAL_SECONDS} s of kills and store faults, every acked record exactly once`, async () => {
  const report = await runSoak({
    ...common,
    durationMs: LOCAL_SECONDS * 1000,
    store: { kind: 'local' },
    seed: 11,
  });
  expectClean(report);
}, 900_000);

// Under SEDIMENT_CI=1 a missing S3 server throws here instead of skipping.
const s3 = s3TestOptions();

test.skipIf(!s3)(
  `chaos soak, S3: ${S3_SECONDS} s of kills and store faults, every acked record exactly once`,
  async () => {
    const report = await runSoak({
      ...common,
      durationMs: S3_SECONDS * 1000,
      store: { kind: 's3', url: s3TestUrl(s3!) },
      seed: 12,
    });
    expectClean(report);
  },
  900_000,
);
