/**
 * Assertions shared by the outage suites, and the one-paragraph summary they print.
 */
import { expect } from 'vitest';
import type { OutageReport } from './outage-scenario.js';

/**
 * What every outage must end with: no client ever got an answer it would drop data on,
 * nobody crashed, the drain was clean, clients were refused (the outage was real), every
 * request was eventually acked, and the lake holds every acked row exactly once.
 */
export function assertCleanOutage(r: OutageReport): void {
  const tail = (s: string) => s.slice(-6_000);
  expect(r.violations.slice(0, 20), 'answers a client could lose data on').toEqual([]);
  expect(r.unexpectedExits, `processes that died:\n${tail(r.output.writer)}`).toEqual([]);
  expect(
    r.exitCodes,
    `drain exit codes\nwriter:\n${tail(r.output.writer)}\nacceptor:\n${tail(r.output.acceptor)}`,
  ).toEqual({
    acceptor: 0,
    writer: 0,
  });
  expect(r.outcomes.outage.unavailable ?? 0, 'refusals during the outage').toBeGreaterThan(0);
  expect(r.acked).toBe(r.requests);
  expect(r.lake.missing.slice(0, 20), 'acked requests missing from the lake').toEqual([]);
  expect(r.lake.duplicated.slice(0, 20), 'rows stored twice').toEqual([]);
  expect(r.lake.unexpected.slice(0, 20), 'rows of requests never sent').toEqual([]);
  expect(r.lake.quarantinedObjects, 'entries quarantined').toBe(0);
  expect(r.lake.requestsChecked).toBe(r.acked);
  expect(r.lake.rowsChecked).toBe(r.rowsAcked);
}

/** MiB of V8 heap growth between collections, allocator slack and sampling jitter. */
const GC_SLACK_MIB = 64;
/**
 * How long a writer holds a put the acceptor gave up on, in units of the acceptor's
 * writer timeout (SEDIMENT_WRITER_TIMEOUT, 10 s): until its batch is durable or failed,
 * i.e. the ingest retry deadline (60 s) plus one store request that hangs until its
 * timeout (S3: 30 s) = 90 s.
 */
const WRITER_HOLD_FACTOR = 9;

/**
 * What a compaction round may hold, in units of the round size
 * (SEDIMENT_TARGET_FILE_SIZE): the Arrow batches buffered for the round, the queue batches
 * they were decoded from, and the Parquet encoder's copy and output. The collector keeps
 * retrying its round while the store is down and catches up with the backlog after.
 */
const ROUND_FACTOR = 4;

/** The bounds `assertBoundedMemory` applies: MiB over each process's warm-up peak. */
export function memoryGrowthBounds(r: OutageReport): { acceptor: number; writer: number } {
  const inflight = r.acceptorInflightBytes / 1048576;
  if (r.targetFileBytes === undefined) throw new Error('the scenario must set the round size');
  const round = r.targetFileBytes / 1048576;
  return {
    acceptor: inflight + GC_SLACK_MIB,
    writer: WRITER_HOLD_FACTOR * inflight + ROUND_FACTOR * round + GC_SLACK_MIB,
  };
}

/**
 * Resident memory during the outage and the recovery stays within bounds derived from the
 * configuration, over the peak the same process reached under the same load (steady and
 * big-request clients) in the warm-up (for a restarted writer: its predecessor's):
 *
 * - acceptor: + its in-flight bound (SEDIMENT_MAX_INFLIGHT_BYTES, which already counts
 *   each admitted request at 3× its body: body, columns, IPC) + GC slack;
 * - writer: it only gets what the acceptor admitted, but holds a put the acceptor gave up
 *   on until its batch is durable or failed (WRITER_HOLD_FACTOR in-flight bounds), plus
 *   one compaction round (ROUND_FACTOR × SEDIMENT_TARGET_FILE_SIZE) + GC slack. With the
 *   scenarios' 8 MiB and 16 MiB: acceptor 72 MiB, writer 200 MiB.
 *
 * The test can fail: during the outage clients push over four times the acceptor's
 * in-flight bound at it (checked here), so the acceptor had to refuse most of it; one
 * that kept refused requests, or passed them all on to a writer that kept them, would
 * exceed its bound (the 60 s outages offer 200–500 MiB).
 */
export function assertBoundedMemory(r: OutageReport): void {
  const bounds = memoryGrowthBounds(r);
  expect(r.bytesOfferedDuringOutage, 'bytes offered during the outage').toBeGreaterThan(
    4 * r.acceptorInflightBytes,
  );
  for (const phase of ['outage', 'recovery'] as const) {
    for (const name of ['acceptor', 'writer'] as const) {
      const phases = r.rssMiB[name] ?? {};
      const base = phases['warm-up'] ?? 0;
      expect(base).toBeGreaterThan(0);
      expect(
        (phases[phase] ?? 0) - base,
        `${name} RSS growth over the warm-up peak during ${phase} (MiB): ${JSON.stringify(phases)}, timeline ${JSON.stringify(r.rssTimeline)}`,
      ).toBeLessThan(bounds[name]);
    }
  }
}

/** One JSON line of figures for logs and RESULTS.md. */
export function summary(r: OutageReport, extra: Record<string, unknown> = {}): string {
  const m = r.writerMetrics.final;
  const pick = (name: string) => {
    let sum = 0;
    for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) sum += v;
    return sum;
  };
  return JSON.stringify({
    scenario: r.name,
    outageMs: r.outageMs,
    requests: r.requests,
    acked: r.acked,
    rowsAcked: r.rowsAcked,
    attempts: r.attempts,
    outcomes: r.outcomes,
    bytesOfferedDuringOutageMiB: Math.round(r.bytesOfferedDuringOutage / 1048576),
    outageAcks: r.outageAcks,
    refusalLatencyMs: r.refusalLatencyMs,
    recovery: r.recovery,
    rssMiB: r.rssMiB,
    rssTimeline: r.rssTimeline,
    probes: r.probes,
    lake: {
      ...r.lake,
      commitTimesMs: undefined,
      commits: r.lake.commitTimesMs.length,
      missing: r.lake.missing.length,
      duplicated: r.lake.duplicated.length,
      unexpected: r.lake.unexpected.length,
    },
    writerFinal: {
      flushFailures: pick('sediment_queue_flush_failures_total'),
      storeRetries: pick('sediment_queue_retries_total'),
      dedupRows: pick('sediment_compaction_deduplicated_rows_total'),
      compactionRoundsFailed: [...m]
        .filter(([k]) => k.startsWith('sediment_compaction_rounds_total') && k.includes('failed'))
        .reduce((a, [, v]) => a + v, 0),
    },
    violations: r.violations.length,
    ...extra,
  });
}
