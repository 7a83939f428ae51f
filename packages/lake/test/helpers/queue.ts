/** The real ingest queue (Ingestor + Collector from @sediment/ingest) on a store. */
import { Collector, Ingestor } from '@sediment/ingest';
import type { ObjectStore } from '@sediment/object-store';

export interface TestQueue {
  readonly ingestor: Ingestor;
  readonly collector: Collector;
  close(): Promise<void>;
}

export function openQueue(
  store: ObjectStore,
  options: { flushIntervalMs?: number } = {},
): TestQueue {
  const ingestor = new Ingestor({ store, flushIntervalMs: options.flushIntervalMs ?? 5 });
  const collector = new Collector({ store });
  return {
    ingestor,
    collector,
    async close() {
      await ingestor.close();
      await collector.close();
    },
  };
}

/** Ingests each call (entries + idempotency key) and waits until all are durable. */
export async function ingestAll(
  ingestor: Ingestor,
  calls: readonly { readonly entries: readonly Uint8Array[]; readonly key?: Uint8Array }[],
): Promise<void> {
  const handles = [];
  for (const c of calls) handles.push(await ingestor.ingest(c.entries, c.key));
  await Promise.all(handles.map((h) => h.awaitDurable()));
}
