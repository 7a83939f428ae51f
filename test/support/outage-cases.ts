/**
 * The three outages of issue #7 as scenarios, shared by the CI tests (shorter where the
 * issue allows) and the long forms in bench/outage/. Load: 24 steady clients sending
 * 50-row requests (traces and logs, over gRPC, HTTP/protobuf and HTTP/JSON), plus 8
 * clients with 4000-row requests (0.5–2.5 MB bodies) that pause 10 s after each ack but
 * retry every second or so while refused. The acceptor's in-flight bound is 8 MiB, so
 * during an outage most big requests are refused at once and come back a second later:
 * clients offer several times the bytes the memory bounds allow, and a process that held
 * on to them would show.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalFsStore } from '@sediment/object-store';
import { sleep } from './outage-load.js';
import type { CutMode } from './outage-proxy.js';
import { metricSum, type OutageScenario } from './outage-scenario.js';
import type { ProxiedS3, SmallDisk } from './outage-stores.js';

export interface CaseOptions {
  readonly outageMs: number;
  readonly log?: (line: string) => void;
  /** Clients with big requests (default 8; 0 for none). */
  readonly bigClients?: number;
  /** How long clients wait for an answer before giving up on an attempt (default 30 s). */
  readonly clientTimeoutMs?: number;
}

const steady = (o: CaseOptions) => ({
  concurrency: 24,
  rows: 50,
  thinkMs: 300,
  ...(o.clientTimeoutMs ? { clientTimeoutMs: o.clientTimeoutMs } : {}),
});
const big = (o: CaseOptions, n: number) =>
  n > 0
    ? {
        big: {
          concurrency: n,
          rows: 4000,
          thinkMs: 10_000,
          ...(o.clientTimeoutMs ? { clientTimeoutMs: o.clientTimeoutMs } : {}),
        },
      }
    : {};
const PHASES = { warmupMs: 6_000, recoveryLoadMs: 5_000, acceptorInflightBytes: 8 * 1024 * 1024 };
/**
 * Compaction every 2 s (rounds run during the outage too, and the warm-up sees several),
 * and rounds of at most 16 MiB of Arrow, so the catch-up after an outage works in bounded
 * steps (see assertBoundedMemory).
 */
const WRITER_ENV = { SEDIMENT_MAX_FILE_AGE: '2s', SEDIMENT_TARGET_FILE_SIZE: '16MiB' };

/**
 * The writer's S3 endpoint is a proxy that is cut for `outageMs`: the modes in turn, in
 * equal slices (e.g. reset for the first half, blackhole for the second).
 */
export function s3OutageCase(
  s3: ProxiedS3,
  modes: readonly CutMode[],
  o: CaseOptions,
): OutageScenario {
  let timers: NodeJS.Timeout[] = [];
  return {
    name: `s3-${modes.join('-then-')}`,
    store: s3.target,
    writerEnv: WRITER_ENV,
    load: steady(o),
    ...big(o, o.bigClients ?? 8),
    ...PHASES,
    outageMs: o.outageMs,
    cut: async () => {
      s3.proxy.cut(modes[0]!);
      const slice = o.outageMs / modes.length;
      timers = modes.slice(1).map((m, i) => setTimeout(() => s3.proxy.cut(m), slice * (i + 1)));
    },
    restore: async () => {
      for (const t of timers) clearTimeout(t);
      s3.proxy.restore();
    },
    ...(o.log ? { log: o.log } : {}),
  };
}

export interface WriterDownCase {
  readonly scenario: OutageScenario;
  /** Pids of the writer before the kill and after the restart. */
  readonly writerPids: number[];
  cleanup(): Promise<void>;
}

/** The writer is SIGKILLed and restarted on the same port and store `outageMs` later. */
export async function writerDownCase(o: CaseOptions): Promise<WriterDownCase> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sediment-outage-writer-'));
  const store = new LocalFsStore({ root: dir });
  const writerPids: number[] = [];
  return {
    writerPids,
    scenario: {
      name: 'writer-down',
      store: { url: `file://${dir}`, env: {}, store },
      writerEnv: WRITER_ENV,
      load: steady(o),
      ...big(o, o.bigClients ?? 8),
      ...PHASES,
      outageMs: o.outageMs,
      cut: async (h) => {
        writerPids.push(h.writer.pid);
        await h.killWriter();
      },
      restore: async (h) => {
        await h.startWriter();
        writerPids.push(h.writer.pid);
      },
      ...(o.log ? { log: o.log } : {}),
    },
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface FullDiskCase {
  readonly scenario: OutageScenario;
  /** Free bytes on the store's filesystem just before the space was freed. */
  freeAtOutageEnd(): number;
}

const transientRetries = (m: Map<string, number>) =>
  metricSum(m, 'sediment_queue_retries_total', 'reason="transient"');

/**
 * The store's tmpfs fills up: a filler file takes all but 256 KiB, the load takes the
 * rest; once the writer runs into ENOSPC the filler takes whatever is still free, the
 * outage timer starts, and the filler is deleted `outageMs` later. Compaction rounds hit the full disk too (see writerEnv).
 */
export function fullDiskCase(disk: SmallDisk, o: CaseOptions): FullDiskCase {
  let freeAtEnd = -1;
  return {
    freeAtOutageEnd: () => freeAtEnd,
    scenario: {
      name: 'full-disk',
      store: disk.target,
      // Rows wait up to 10 s for their round: whatever the load queued just before the
      // disk filled makes a round run (and fail) within 10 s of the outage's start.
      writerEnv: { ...WRITER_ENV, SEDIMENT_MAX_FILE_AGE: '10s' },
      load: { ...steady(o), concurrency: 16 },
      ...big(o, o.bigClients ?? 8),
      ...PHASES,
      outageMs: o.outageMs,
      cut: async (h) => {
        const before = transientRetries(await h.writerMetrics());
        await disk.fill(256 * 1024);
        const deadline = Date.now() + 60_000;
        while (transientRetries(await h.writerMetrics()) === before) {
          if (Date.now() > deadline) {
            throw new Error(`the disk never filled up (free: ${await disk.free()} bytes)`);
          }
          await sleep(250);
        }
        // The load ran into ENOSPC with a batch bigger than what was left; take the rest
        // too, or a small Parquet file could still fit and the collector would never
        // meet the full disk.
        await disk.fill(0);
      },
      restore: async () => {
        freeAtEnd = await disk.free();
        await disk.unfill();
      },
      ...(o.log ? { log: o.log } : {}),
    },
  };
}
