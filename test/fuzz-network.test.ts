/**
 * Network-level fuzzing, short form (the long form is bench/fuzz/run.ts, 100 000 requests,
 * results in bench/fuzz/RESULTS.md): about 12 000 hostile requests of every kind in
 * test/support/fuzz-cases.ts against both ports of an acceptor process with a real writer
 * behind it, 1 in 20 of them valid.
 *
 * What must hold:
 * - every reply is one the acceptor documents for that kind of request (or the connection
 *   is closed / reset where that is the right answer: broken framing, protocol violations);
 *   nothing hangs past the request timeout;
 * - the acceptor never crashes, drains on SIGTERM (exit 0), and its resident memory stays
 *   bounded (see the bound below);
 * - every valid request is acked (retried on 503 / UNAVAILABLE like an OTLP client) and,
 *   after the writer drained, DuckDB finds each exactly once in the committed lake;
 *   nothing sent without a valid token is stored.
 *
 * FUZZ_REQUESTS overrides the request count.
 */
import { expect, test } from 'vitest';
import { FUZZ_LIMITS, formatReport, runNetworkFuzz } from './support/fuzz-network.js';

const MiB = 1024 * 1024;
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 12_000);

test(`network fuzz: ${REQUESTS} hostile requests on both ports get documented replies; valid ones interleaved are acked and stored exactly once; memory stays bounded`, async () => {
  const report = await runNetworkFuzz({ requests: REQUESTS, seed: 424242 });
  console.log(formatReport(report));

  expect(report.requests).toBe(REQUESTS);
  expect(report.violationSamples).toEqual([]);
  expect(report.violations).toBe(0);
  expect(report.acceptorSurvived).toBe(true);
  expect(report.acceptorExitCode).toBe(0);
  expect(report.writerExitCode).toBe(0);

  // Every kind ran, on both ports.
  expect(Object.keys(report.byKind).length).toBeGreaterThanOrEqual(30);
  expect(Object.keys(report.byOutcome.http)).toEqual(
    expect.arrayContaining([
      'http:200',
      'http:400',
      'http:401',
      'http:404',
      'http:405',
      'http:408',
      'http:413',
      'http:415',
      'http:431',
    ]),
  );
  expect(Object.keys(report.byOutcome.grpc)).toEqual(
    expect.arrayContaining([
      'grpc:OK',
      'grpc:INVALID_ARGUMENT',
      'grpc:RESOURCE_EXHAUSTED',
      'grpc:UNIMPLEMENTED',
      'grpc:UNAUTHENTICATED',
      'grpc:DEADLINE_EXCEEDED',
    ]),
  );

  expect(report.valid.sent).toBeGreaterThanOrEqual(REQUESTS / 20);
  expect(report.valid.lastFailures).toEqual([]);
  expect(report.valid.acked).toBe(report.valid.sent);
  expect(report.valid.wrong).toEqual([]);
  expect(report.valid.storedExactlyOnce).toBe(report.valid.acked);
  expect(report.unauthenticatedRowsStored).toBe(0);

  // Memory. The acceptor holds at most SEDIMENT_MAX_INFLIGHT_BYTES (4 MiB here) of request
  // bytes — bodies being read and inflated, decoded requests waiting for the writer — and
  // refuses more with 503 / UNAVAILABLE; on top of that come per-connection buffers (64
  // concurrent clients: sockets, HTTP/2 windows of 64 KiB) and the V8 heap's headroom
  // between collections of the garbage 12 000 requests leave (tens of MiB). 256 MiB over
  // the warmed-up baseline allows all of that with margin; an acceptor that held every
  // bomb's or every stalled upload's bytes would pass it within the first minute.
  expect(report.rss.max - report.rss.baseline).toBeLessThan(256 * MiB);
  // And it does not keep growing: the second half of the run stays within 64 MiB of the
  // first half's high-water mark.
  expect(report.rss.max - report.rss.maxFirstHalf).toBeLessThan(64 * MiB);
  expect(FUZZ_LIMITS.maxInflightBytes).toBe(4 * MiB);
}, 600_000);
