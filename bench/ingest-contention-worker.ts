/**
 * One contending producer for bench/ingest-throughput.ts: waits for "go" on stdin, ingests
 * small entries as fast as backpressure allows for `seconds`, closes, and prints its
 * Ingestor metrics as one JSON line.
 */
import { createInterface } from 'node:readline';
import { Ingestor } from '@sediment/ingest';
import { openStore } from '@sediment/object-store';

interface WorkerConfig {
  readonly url: string;
  readonly seconds: number;
  readonly entryBytes: number;
  readonly flushIntervalMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const store = openStore(config.url);
const ingestor = new Ingestor({ store, flushIntervalMs: config.flushIntervalMs });
const entry = new Uint8Array(config.entryBytes).fill(0x61);

process.stdout.write(`${JSON.stringify({ type: 'ready' })}\n`);
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === 'go') break;
lines.close();

const started = performance.now();
const end = started + config.seconds * 1000;
const pending: Promise<unknown>[] = [];
let failed = 0;
let n = 0;
while (performance.now() < end) {
  // Yield to the event loop now and then, as a server handling requests would.
  if (++n % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
  const handle = await ingestor.ingest([entry]);
  pending.push(handle.awaitDurable().catch(() => failed++));
  if (pending.length >= 10_000) await Promise.all(pending.splice(0));
}
await Promise.all(pending);
await ingestor.close();
const elapsedMs = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ type: 'done', elapsedMs, failed, metrics: ingestor.metrics() })}\n`,
);
await store.close();
