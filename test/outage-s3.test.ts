/**
 * The object store is unreachable for 60 s under load (issue #7). The writer reaches the
 * test S3 server through a TCP proxy that this test cuts: the first half of the outage
 * resets every connection (fast errors), the second half blackholes them (requests hang
 * until the S3 client's own timeouts fire). Writer and acceptor are separate processes;
 * the load is retrying OTLP clients on gRPC, HTTP/protobuf and HTTP/JSON, with bursts of
 * big requests during the outage.
 *
 * Asserted: during the outage clients only ever get UNAVAILABLE / 503 with a retry delay
 * (never 500 / INTERNAL, never silence), nothing is acked that was not durable before the
 * cut, both processes stay up (no restart) with bounded memory, health endpoints say what
 * is true; after the proxy is restored everything recovers by itself, every request is
 * eventually acked, and after the drain DuckDB finds every acked row exactly once.
 */
import { afterAll, expect, test } from 'vitest';
import { assertBoundedMemory, assertCleanOutage, summary } from './support/outage-assert.js';
import { s3OutageCase } from './support/outage-cases.js';
import { metricSum, runOutageScenario } from './support/outage-scenario.js';
import { type ProxiedS3, proxiedS3 } from './support/outage-stores.js';

const OUTAGE_MS = Number(process.env.SEDIMENT_OUTAGE_S3_MS ?? 60_000);

const s3: ProxiedS3 | undefined = await proxiedS3();
afterAll(async () => {
  await s3?.cleanup();
});

test.skipIf(!s3)(
  `S3 unreachable for ${OUTAGE_MS / 1000} s (reset, then blackhole) under load: 503/UNAVAILABLE + retry delay, bounded memory, recovery without restart, every acked row exactly once`,
  async () => {
    const { proxy } = s3!;
    const report = await runOutageScenario(
      s3OutageCase(s3!, ['reset', 'blackhole'], {
        outageMs: OUTAGE_MS,
        log: (line) => console.log(line),
      }),
    );
    console.log(summary(report, { proxy: proxy.stats() }));

    assertCleanOutage(report);
    // Both cut behaviours really happened.
    expect(proxy.stats().reset).toBeGreaterThan(0);
    expect(proxy.stats().blackholed).toBeGreaterThan(0);
    // No ack without durability: an ack during the outage can only be the request a
    // client had in flight at the cut (made durable just before it).
    expect(report.outageAcks.maxPerClient).toBeLessThanOrEqual(1);
    // The writer saw the store fail: retries, or whole batches given up on.
    const m = report.writerMetrics.outage;
    expect(
      metricSum(m, 'sediment_queue_retries_total') +
        metricSum(m, 'sediment_queue_flush_failures_total'),
    ).toBeGreaterThan(0);
    // A store outage is not a reason to restart anything or to stop routing to the writer:
    // liveness stays green everywhere, and the acceptor stays ready (a writer is reachable;
    // the 503s carry a retry delay). Readiness follows the writer, not the store.
    for (const probe of ['acceptor /healthz', 'writer /healthz', 'acceptor /readyz']) {
      expect(Object.keys(report.probes.outage[probe] ?? {}), probe).toEqual(['200']);
    }
    assertBoundedMemory(report);
  },
  OUTAGE_MS + 300_000,
);
