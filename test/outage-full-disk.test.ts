/**
 * The local-filesystem store's disk fills up under load (a 64 MiB tmpfs: a filler file
 * takes most of it, the load takes the rest) and stays full for 20 s (60 s in
 * bench/outage), while the collector still has queued data to compact. Clients must get
 * UNAVAILABLE / 503 with a retry delay (never 500), writer and acceptor stay up with
 * bounded memory, the collector keeps retrying (no crash loop, nothing quarantined, the
 * lake stays readable); once the filler is deleted everything recovers without a
 * restart and DuckDB finds every acked row exactly once.
 *
 * Needs root to mount the tmpfs (CI runs as root): skipped LOUDLY otherwise, and a
 * failure under SEDIMENT_CI=1.
 */
import { afterAll, expect, test } from 'vitest';
import { assertBoundedMemory, assertCleanOutage, summary } from './support/outage-assert.js';
import { fullDiskCase } from './support/outage-cases.js';
import { metricSum, runOutageScenario } from './support/outage-scenario.js';
import { type SmallDisk, smallDisk } from './support/outage-stores.js';

const OUTAGE_MS = Number(process.env.SEDIMENT_OUTAGE_DISK_MS ?? 20_000);

const disk: SmallDisk | string = await smallDisk(64);
if (typeof disk === 'string') {
  if (process.env.SEDIMENT_CI === '1') {
    throw new Error(`SEDIMENT_CI=1 but the full-disk outage suite cannot run: ${disk}`);
  }
  const bar = '!'.repeat(78);
  process.stderr.write(
    `\n${bar}\n!!! full-disk outage suite SKIPPED: ${disk}\n!!! It runs in CI (as root).\n${bar}\n\n`,
  );
}
afterAll(async () => {
  if (typeof disk !== 'string') await disk.cleanup();
});

test.skipIf(typeof disk === 'string')(
  `store disk full for ${OUTAGE_MS / 1000} s under load (also during compaction): 503/UNAVAILABLE + retry delay, processes up and bounded, recovery once space is freed, every acked row exactly once`,
  async () => {
    const c = fullDiskCase(disk as SmallDisk, {
      outageMs: OUTAGE_MS,
      log: (line) => console.log(line),
    });
    const report = await runOutageScenario(c.scenario);
    console.log(summary(report, { freeAtOutageEnd: c.freeAtOutageEnd() }));

    assertCleanOutage(report);
    // The disk really was full, and the writer said why.
    expect(c.freeAtOutageEnd()).toBeLessThan(1024 * 1024);
    expect(report.output.writer).toMatch(/no space left on device/);
    // The collector ran into the full disk too (a round fails only on a store error, and
    // the disk was the only trouble), kept retrying, and committed again after.
    const { outage, final } = report.writerMetrics;
    const rounds = (metrics: Map<string, number>, outcome: string) =>
      metricSum(metrics, 'sediment_compaction_rounds_total', `outcome="${outcome}"`);
    expect(rounds(final, 'failed')).toBeGreaterThan(0);
    expect(rounds(final, 'committed')).toBeGreaterThan(rounds(outage, 'committed'));
    // Nothing restarted or reported itself dead: a full disk is fixed by an operator, not
    // by a restart.
    for (const phase of ['outage', 'recovery'] as const) {
      for (const probe of ['acceptor /healthz', 'writer /healthz', 'writer /readyz']) {
        expect(Object.keys(report.probes[phase][probe] ?? {}), `${phase} ${probe}`).toEqual([
          '200',
        ]);
      }
    }
    assertBoundedMemory(report);
  },
  OUTAGE_MS + 300_000,
);
