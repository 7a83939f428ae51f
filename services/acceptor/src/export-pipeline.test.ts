import { FlightClient } from '@sediment/flight';
import { createLogger } from '@sediment/service-kit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, test } from 'vitest';
import type { RequestEncoder } from './decode-pool.js';
import type { EncodedRequest } from './encode-request.js';
import { AcceptorError } from './errors.js';
import { ExportPipeline } from './export-pipeline.js';
import { InflightBytes } from './inflight.js';
import { AcceptorMetrics } from './metrics.js';

/** A decoder whose decodes end when the test says (a busy or still-starting thread). */
class HeldEncoder implements RequestEncoder {
  readonly waiting: ((r: EncodedRequest) => void)[] = [];
  encode(): Promise<EncodedRequest> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  async ready(): Promise<void> {}
  async close(): Promise<void> {}
}

/** A decoded request without tables: the pipeline answers it without a writer. */
const NOTHING_TO_STORE: EncodedRequest = {
  tables: [],
  rows: 0,
  rejected: 0,
  rejectedMessage: undefined,
  requestId: new Uint8Array(16),
};

const opened: FlightClient[] = [];
afterEach(async () => {
  for (const f of opened.splice(0)) await f.close();
});

function pipelineWith(encoder: RequestEncoder, inflight: InflightBytes): ExportPipeline {
  // Nothing listens there; these tests never reach a put.
  const flight = new FlightClient({ targets: ['127.0.0.1:1'] });
  opened.push(flight);
  return new ExportPipeline({
    flight,
    inflight,
    metrics: new AcceptorMetrics(new Registry(), () => inflight.current),
    logger: createLogger({ name: 'test', level: 'silent' }),
    writerTimeoutMs: 5_000,
    retryAfterMs: 1_000,
    encoder,
  });
}

describe('waiting for a decode', () => {
  test('past the deadline: UNAVAILABLE + retry hint at the deadline; the bytes stay counted until the decode ends', async () => {
    const encoder = new HeldEncoder();
    const inflight = new InflightBytes(1 << 20);
    const pipeline = pipelineWith(encoder, inflight);
    const reservation = inflight.reserve();
    const started = performance.now();
    const err = await pipeline
      .export('traces', new Uint8Array(1000), 'protobuf', 150, reservation)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const waited = performance.now() - started;
    expect(err).toBeInstanceOf(AcceptorError);
    expect((err as AcceptorError).kind).toBe('unavailable');
    expect((err as AcceptorError).retryAfterMs).toBe(1_000);
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(2_000);

    reservation.release(); // the caller answers the client and lets go
    expect(inflight.current).toBe(3_000); // the decode still holds body + columns + IPC
    encoder.waiting[0]?.(NOTHING_TO_STORE);
    await new Promise((r) => setImmediate(r));
    expect(inflight.current).toBe(0);
  });

  test('a deadline already spent: refused without decoding', async () => {
    const encoder = new HeldEncoder();
    const pipeline = pipelineWith(encoder, new InflightBytes(1 << 20));
    await expect(
      pipeline.export('traces', new Uint8Array(10), 'protobuf', 0),
    ).rejects.toMatchObject({ kind: 'unavailable' });
    expect(encoder.waiting).toHaveLength(0);
  });

  test('without a deadline (HTTP): waits for the decode however long it takes', async () => {
    const encoder = new HeldEncoder();
    const inflight = new InflightBytes(1 << 20);
    const pipeline = pipelineWith(encoder, inflight);
    const outcome = pipeline.export('traces', new Uint8Array(10), 'protobuf');
    await new Promise((r) => setTimeout(r, 300));
    expect(inflight.current).toBe(30);
    encoder.waiting[0]?.({ ...NOTHING_TO_STORE, rows: 0, rejected: 2, rejectedMessage: 'x' });
    await expect(outcome).resolves.toEqual({ rows: 0, rejected: 2, rejectedMessage: 'x' });
    expect(inflight.current).toBe(0);
  });
});
