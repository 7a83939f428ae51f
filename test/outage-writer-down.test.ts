/**
 * The writer process is SIGKILLed under load and stays down (20 s here, 60 s in
 * bench/outage), then a new writer starts on the same port and store. The acceptor process
 * must stay up, answer UNAVAILABLE / 503 with a retry delay quickly (it does not sit on
 * requests it cannot place), say it is not ready while no writer is reachable, keep its
 * memory bounded, and take traffic again by itself; retrying clients get every request
 * acked and DuckDB finds every acked row exactly once — including requests that were made
 * durable just before the kill but never acked (their retries are de-duplicated).
 */
import { afterAll, expect, test } from 'vitest';
import { assertBoundedMemory, assertCleanOutage, summary } from './support/outage-assert.js';
import { writerDownCase } from './support/outage-cases.js';
import { runOutageScenario } from './support/outage-scenario.js';

const OUTAGE_MS = Number(process.env.SEDIMENT_OUTAGE_WRITER_MS ?? 20_000);

const c = await writerDownCase({ outageMs: OUTAGE_MS, log: (line) => console.log(line) });
afterAll(() => c.cleanup());

test(
  `writer killed and down for ${OUTAGE_MS / 1000} s under load: fast 503/UNAVAILABLE + retry delay, acceptor up and not ready, recovery on restart, every acked row exactly once`,
  async () => {
    const report = await runOutageScenario(c.scenario);
    console.log(summary(report));

    assertCleanOutage(report);
    expect(new Set(c.writerPids).size).toBe(2);
    expect(report.outageAcks.maxPerClient).toBeLessThanOrEqual(1);
    // Refused at once, not after waiting out SEDIMENT_WRITER_TIMEOUT (10 s): the acceptor
    // knows the writer is gone (connection refused) and says so.
    expect(
      report.refusalLatencyMs.p90,
      'refusal latency while the writer is down (ms)',
    ).toBeLessThan(5_000);
    // Readiness tells the truth: the acceptor is alive but cannot place data while no writer
    // is reachable, and ready again once one is.
    const outage = report.probes.outage;
    expect(Object.keys(outage['acceptor /healthz'] ?? {})).toEqual(['200']);
    expect(outage['acceptor /readyz']?.['503'] ?? 0).toBeGreaterThan(0);
    expect(Object.keys(outage['writer /healthz'] ?? {})).toEqual(['0']);
    expect(report.probes.recovery['acceptor /readyz']?.['200'] ?? 0).toBeGreaterThan(0);
    expect(Object.keys(report.probes.recovery['acceptor /healthz'] ?? {})).toEqual(['200']);
    assertBoundedMemory(report);
  },
  OUTAGE_MS + 300_000,
);
