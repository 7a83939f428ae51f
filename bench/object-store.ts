/**
 * Object-store latency and compare-and-swap throughput per backend, same run.
 *
 * Scenarios (sequential unless noted):
 * - put 4 KiB:   overwrite of one key                 → p50 / p99 latency
 * - create 1 MiB: create of fresh keys                → p50 latency, MiB/s
 * - get 4 KiB:   read of one key                      → p50 / p99 latency
 * - cas x1:      conditional increments, one writer   → ops/s
 * - cas x4:      conditional increments, 4 writers on one key (separate clients) → ops/s
 *
 * Backends: memory (the baseline every ratio refers to), local-fs (temp dir) and S3 when
 * S3_ENDPOINT is set. For local-fs a second baseline, "raw-fs", does the bare durable
 * write the store builds on (write temp + fsync + rename + fsync dir, no lock, no
 * checks): the ratio local-fs/raw-fs is the price of the store's own protocol.
 *
 * Rounds alternate the backends (and raw-fs) to cancel machine drift.
 *
 *   node scripts/run-ts.mjs bench/object-store.ts [--ops 200] [--cas 100] [--rounds 4]
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFsStore, MemoryStore, type ObjectStore, S3Store } from '@sediment/object-store';
import { casIncrement, removeAll, s3TestOptions } from '@sediment/object-store/testing';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const OPS = arg('ops', 200);
const CAS_OPS = arg('cas', 100);
const ROUNDS = arg('rounds', 4);

interface Samples {
  put4k: number[];
  create1m: number[];
  get4k: number[];
  cas1Ms: number;
  cas1Ops: number;
  cas4Ms: number;
  cas4Ops: number;
}

interface Backend {
  readonly name: string;
  /** A new client of the backend's one location. */
  readonly open: () => ObjectStore;
  readonly samples: Samples;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed(out: number[], n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}

const small = randomBytes(4096);
const big = randomBytes(1024 * 1024);
let createSeq = 0;

/** One round of every scenario on one backend. */
async function round(b: Backend, ops: number, casOps: number, r: number): Promise<void> {
  const store = b.open();
  await timed(b.samples.put4k, ops, () => store.put('bench/small', small));
  await timed(b.samples.create1m, Math.max(3, Math.floor(ops / 4)), () =>
    store.put(`bench/big/${createSeq++}`, big, { mode: 'create' }),
  );
  await timed(b.samples.get4k, ops, () => store.get('bench/small'));

  let t = performance.now();
  for (let seq = 1; seq <= casOps; seq++) await casIncrement(store, `bench/cas1-${r}`, 'solo', seq);
  b.samples.cas1Ms += performance.now() - t;
  b.samples.cas1Ops += casOps;

  const clients = [store, b.open(), b.open(), b.open()];
  const per = Math.max(2, Math.floor(casOps / 4));
  t = performance.now();
  await Promise.all(
    clients.map(async (c, w) => {
      for (let seq = 1; seq <= per; seq++) await casIncrement(c, `bench/cas4-${r}`, `w${w}`, seq);
    }),
  );
  b.samples.cas4Ms += performance.now() - t;
  b.samples.cas4Ops += per * 4;
  await removeAll(store, 'bench/');
  for (const c of clients) await c.close();
}

/** The bare durable write the local-fs store is built on: its floor. */
async function rawFsPut(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dir, `.tmp-${name}`);
  const handle = await open(
    temp,
    constants.O_CREAT | constants.O_TRUNC | constants.O_WRONLY,
    0o666,
  );
  await handle.writeFile(bytes);
  await handle.sync();
  await handle.close();
  await rename(temp, join(dir, name));
  const d = await open(dir, constants.O_RDONLY);
  await d.sync();
  await d.close();
}

async function rawRound(dir: string, out: Samples, ops: number): Promise<void> {
  await timed(out.put4k, ops, () => rawFsPut(dir, 'small', small));
  await timed(out.create1m, Math.max(3, Math.floor(ops / 4)), (i) => rawFsPut(dir, `big${i}`, big));
}

const empty = (): Samples => ({
  put4k: [],
  create1m: [],
  get4k: [],
  cas1Ms: 0,
  cas1Ops: 0,
  cas4Ms: 0,
  cas4Ops: 0,
});

const ms = (v: number) => `${v.toFixed(3)} ms`;
const ratio = (v: number, base: number) => `${(v / base).toFixed(1)}x`;

async function main(): Promise<void> {
  const memory = new MemoryStore();
  const root = await mkdtemp(join(tmpdir(), 'sediment-bench-fs-'));
  const rawDir = await mkdtemp(join(tmpdir(), 'sediment-bench-raw-'));
  const backends: Backend[] = [
    // One shared MemoryStore: its "clients" are the same store, as for the others.
    { name: 'memory', open: () => memory, samples: empty() },
    { name: 'local-fs', open: () => new LocalFsStore({ root }), samples: empty() },
  ];
  const s3 = s3TestOptions();
  if (s3 !== undefined)
    backends.push({ name: 's3', open: () => new S3Store(s3), samples: empty() });
  const raw = empty();
  const ops = Math.max(1, Math.floor(OPS / ROUNDS));
  const casOps = Math.max(4, Math.floor(CAS_OPS / ROUNDS));
  try {
    // Rounds alternate the backends so that machine drift hits all of them alike.
    for (let r = 0; r < ROUNDS; r++) {
      for (const b of backends) await round(b, ops, casOps, r);
      await rawRound(rawDir, raw, ops);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(rawDir, { recursive: true, force: true });
  }

  const base = backends[0]!.samples;
  const p50 = (a: number[]) => percentile(a, 50);
  console.log(
    `object-store bench: ${ROUNDS} rounds, ${ops * ROUNDS} ops per latency scenario, ${casOps * ROUNDS} CAS increments per scenario`,
  );
  console.log(
    'backend    put4k p50 (x mem)      put4k p99     create1M p50 (MiB/s)    get4k p50 (x mem)      get4k p99     cas x1 ops/s   cas x4 ops/s',
  );
  for (const { name, samples: f } of backends) {
    const mibs = f.create1m.length / (f.create1m.reduce((a, b) => a + b, 0) / 1000);
    console.log(
      [
        name.padEnd(9),
        `${ms(p50(f.put4k))} (${ratio(p50(f.put4k), p50(base.put4k))})`.padEnd(22),
        ms(percentile(f.put4k, 99)).padEnd(13),
        `${ms(p50(f.create1m))} (${mibs.toFixed(0)})`.padEnd(23),
        `${ms(p50(f.get4k))} (${ratio(p50(f.get4k), p50(base.get4k))})`.padEnd(22),
        ms(percentile(f.get4k, 99)).padEnd(13),
        (f.cas1Ops / (f.cas1Ms / 1000)).toFixed(0).padStart(12),
        (f.cas4Ops / (f.cas4Ms / 1000)).toFixed(0).padStart(14),
      ].join(' '),
    );
  }
  console.log(
    `raw-fs     ${ms(p50(raw.put4k))}               ${ms(percentile(raw.put4k, 99))}     ${ms(p50(raw.create1m))}   (write temp + fsync + rename + fsync dir, no store)`,
  );
  const fs = backends[1]!.samples;
  console.log(
    `local-fs / raw-fs: put4k p50 ${ratio(p50(fs.put4k), p50(raw.put4k))}, create1M p50 ${ratio(p50(fs.create1m), p50(raw.create1m))}`,
  );
}

await main();
