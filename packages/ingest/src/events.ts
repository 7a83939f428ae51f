/**
 * Structured logger the queue writes to: the shape of pino's methods, so a pino logger
 * (or a child of one) can be passed directly. The default discards everything; the
 * events below carry the same facts for metrics.
 */
export interface IngestLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export const silentLogger: IngestLogger = Object.freeze({
  debug() {},
  warn() {},
  error() {},
});

/** What an Ingestor reports through `onEvent` (for metrics; never throw from the hook). */
export type IngestorEvent =
  | {
      readonly type: 'batch-written';
      readonly location: string;
      readonly inputs: number;
      readonly records: number;
      /** Record block bytes before compression. */
      readonly blockBytes: number;
      /** Object bytes as stored. */
      readonly objectBytes: number;
      readonly attempts: number;
      readonly durationMs: number;
    }
  | {
      readonly type: 'enqueued';
      readonly locations: readonly string[];
      readonly sequences: readonly bigint[];
      readonly durationMs: number;
    }
  | {
      readonly type: 'flush-failed';
      readonly location: string;
      readonly inputs: number;
      readonly error: Error;
    }
  | {
      readonly type: 'retry';
      readonly operation: 'write-batch' | 'read-manifest' | 'append';
      readonly reason: 'conflict' | 'transient';
      readonly error: unknown;
    };

/** What a Collector reports through `onEvent`. */
export type CollectorEvent =
  | {
      readonly type: 'initialized';
      readonly epoch: bigint;
      readonly resumeAfter: bigint | undefined;
    }
  | {
      readonly type: 'batch-read';
      readonly sequence: bigint;
      readonly location: string;
      readonly records: number;
    }
  | { readonly type: 'flushed'; readonly removed: number; readonly remaining: number }
  | { readonly type: 'gc'; readonly deleted: number; readonly scanned: number }
  | { readonly type: 'fenced'; readonly epoch: bigint; readonly currentEpoch: bigint }
  | {
      readonly type: 'retry';
      readonly operation: string;
      readonly reason: 'conflict' | 'transient';
      readonly error: unknown;
    };
