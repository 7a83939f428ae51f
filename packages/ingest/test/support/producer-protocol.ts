/** Configuration of test/fixtures/producer.ts (passed as one JSON argument). */
export interface ProducerConfig {
  /** Store URL for `openStore` (credentials come from the inherited environment). */
  readonly url: string;
  readonly producer: number;
  /** Number of ingest calls; omitted = until killed. */
  readonly count?: number;
  readonly flushIntervalMs: number;
  readonly compression?: 'none' | 'zstd';
  readonly maxBufferedInputs?: number;
  /** Sleep `paceMs` after every `paceEvery` ingest calls (spreads the load over time). */
  readonly paceEvery?: number;
  readonly paceMs?: number;
  /** Wait for a "go" line on stdin after "ready" (a start barrier across processes). */
  readonly waitForGo?: boolean;
  /** Entry size in bytes (at least the "p:i|" tag); default 64. */
  readonly entryBytes?: number;
}

export type ProducerEvent =
  | { readonly type: 'ready'; readonly pid: number }
  | {
      readonly type: 'durable';
      readonly i: number;
      readonly sequence: string;
      readonly location: string;
    }
  | {
      readonly type: 'failed';
      readonly i: number;
      readonly message: string;
      readonly maybeEnqueued?: boolean;
    }
  | {
      readonly type: 'done';
      readonly failed: number;
      readonly manifestWrites: number;
      readonly manifestConflicts: number;
      readonly batches: number;
    };

/** The entry producer `p` writes for call `i`: "p:i|" padded with '.' to `size` bytes. */
export function producerEntry(p: number, i: number, size: number): Uint8Array {
  const tag = `${p}:${i}|`;
  return new TextEncoder().encode(tag.padEnd(Math.max(size, tag.length), '.'));
}

/** Inverse of `producerEntry`. */
export function parseEntry(bytes: Uint8Array): { p: number; i: number } {
  const text = Buffer.from(bytes).toString();
  const bar = text.indexOf('|');
  const [p, i] = text.slice(0, bar).split(':').map(Number) as [number, number];
  return { p, i };
}
