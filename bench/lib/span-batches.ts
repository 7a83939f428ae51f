import { decodeTraces } from '@sediment/otlp';
import type { RecordBatch } from 'apache-arrow';
import { TracePayloadPool } from './trace-payload.js';

/**
 * The spans table of `count` distinct 512-span requests as the acceptor decodes them (the
 * input of `toIpcStream`), with fixed timestamps so that runs compare.
 */
export function spanBatches(count: number): RecordBatch[] {
  const pool = new TracePayloadPool({ pool: count, startNs: 1_700_000_000_000_000_000n });
  return pool.items.map((p) => {
    const t = decodeTraces(p.bytes).tables;
    if (t.length !== 1 || t[0]!.table !== 'spans') throw new Error('expected one spans table');
    return t[0]!.batch;
  });
}
