import { afterEach, describe, expect, it } from 'vitest';
import { encodeRequest as encodeProto, type Signal } from '../../../test/support/otlp-proto.js';
import {
  logsRequest,
  metricsRequest,
  traceRequest,
  type WorkloadOptions,
} from '../../../test/support/otlp-workload.js';
import { InlineRequestEncoder, type RequestEncoder, WorkerRequestEncoder } from './decode-pool.js';
import { AcceptorError } from './errors.js';

const BUILDERS: Record<Signal, (o: WorkloadOptions) => object> = {
  traces: traceRequest,
  metrics: metricsRequest,
  logs: logsRequest,
};
const T0 = 1_711_924_800_000_000_000n;

const open: RequestEncoder[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});

function workers(threads: number): WorkerRequestEncoder {
  const e = new WorkerRequestEncoder(threads, { compression: 'zstd' });
  open.push(e);
  return e;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function errorOf(p: Promise<unknown>): Promise<AcceptorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AcceptorError);
  return err as AcceptorError;
}

describe('decode threads', () => {
  it('are loaded once ready() resolves (none when the pool is just built)', async () => {
    const pool = workers(2);
    expect(pool.loaded).toBe(0);
    await pool.ready();
    expect(pool.loaded).toBe(2);
    await pool.ready(); // again: already settled
  });

  it('produce the same IPC bytes, counts and request identity as decoding on the event loop', async () => {
    const pool = workers(2);
    const inline = new InlineRequestEncoder({ compression: 'zstd' });
    let request = 1;
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      for (const format of ['protobuf', 'json'] as const) {
        const obj = BUILDERS[signal]({ request: request++, rows: 40, startNs: T0 });
        const body = () =>
          format === 'json'
            ? new TextEncoder().encode(JSON.stringify(obj))
            : encodeProto(signal, obj);
        const expected = await inline.encode(signal, body(), format);
        const got = await pool.encode(signal, body(), format);
        expect(got.tables.length).toBeGreaterThan(0);
        expect(got.tables.map((t) => [t.table, hex(t.ipc)])).toEqual(
          expected.tables.map((t) => [t.table, hex(t.ipc)]),
        );
        expect(hex(got.requestId)).toBe(hex(expected.requestId));
        expect(got.requestId.length).toBe(16);
        expect([got.rows, got.rejected, got.rejectedMessage]).toEqual([
          expected.rows,
          expected.rejected,
          expected.rejectedMessage,
        ]);
      }
    }
  });

  it('write the Flight bodies at the configured zstd level', async () => {
    const pool = new WorkerRequestEncoder(1, { compression: 'zstd', zstdLevel: -1 });
    open.push(pool);
    const fast = new InlineRequestEncoder({ compression: 'zstd', zstdLevel: -1 });
    const level1 = new InlineRequestEncoder({ compression: 'zstd', zstdLevel: 1 });
    const obj = traceRequest({ request: 7, rows: 300, startNs: T0 });
    const [got, expected, other] = await Promise.all([
      pool.encode('traces', encodeProto('traces', obj), 'protobuf'),
      fast.encode('traces', encodeProto('traces', obj), 'protobuf'),
      level1.encode('traces', encodeProto('traces', obj), 'protobuf'),
    ]);
    expect(got.tables.map((t) => hex(t.ipc))).toEqual(expected.tables.map((t) => hex(t.ipc)));
    // Level -1 skips entropy coding: the same request is written larger than at level 1.
    expect(got.tables[0]!.ipc.length).toBeGreaterThan(other.tables[0]!.ipc.length);
    expect(hex(got.requestId)).toBe(hex(other.requestId));
  });

  it('spread concurrent requests over the threads, and hand bodies over without copying', async () => {
    const pool = workers(2);
    const bodies = Array.from({ length: 8 }, (_, i) =>
      encodeProto('traces', traceRequest({ request: 100 + i, rows: 200, startNs: T0 })),
    );
    const whole = bodies.map((b) => new Uint8Array(b)); // each owns its buffer
    const pending = whole.map((b) => pool.encode('traces', b, 'protobuf'));
    expect(pool.load).toEqual([4, 4]);
    const results = await Promise.all(pending);
    expect(results.every((r) => r.rows === 200)).toBe(true);
    expect(whole.every((b) => b.byteLength === 0)).toBe(true); // transferred (detached)
    // A view into a larger buffer is copied: the caller's buffer stays usable.
    const big = new Uint8Array(bodies[0]!.length + 16);
    big.set(bodies[0]!, 8);
    const view = big.subarray(8, 8 + bodies[0]!.length);
    expect((await pool.encode('traces', view, 'protobuf')).rows).toBe(200);
    expect(view.byteLength).toBe(bodies[0]!.length);
    // A message as grpc-js hands it over: a view just past the 5-byte gRPC prefix, to the
    // end of the frame's buffer. The frame's buffer goes over whole, the prefix with it.
    const frame = new Uint8Array(5 + bodies[1]!.length);
    frame.set(bodies[1]!, 5);
    const message = frame.subarray(5);
    const fromFrame = await pool.encode('traces', message, 'protobuf');
    expect(fromFrame.rows).toBe(200);
    expect(hex(fromFrame.requestId)).toBe(hex(results[1]!.requestId)); // the same bytes hashed
    expect(frame.byteLength).toBe(0); // transferred (detached)
    // One byte more in front, or anything behind, and it is copied.
    for (const [front, back] of [
      [6, 0],
      [5, 1],
    ] as const) {
      const outer = new Uint8Array(front + bodies[2]!.length + back);
      outer.set(bodies[2]!, front);
      const inner = outer.subarray(front, front + bodies[2]!.length);
      expect((await pool.encode('traces', inner, 'protobuf')).rows).toBe(200);
      expect(outer.byteLength).toBe(front + bodies[2]!.length + back);
    }
    // Same for a Buffer on Node's shared pool (whose slice() is a view, not a copy).
    const small = encodeProto('logs', logsRequest({ request: 8, rows: 1, startNs: T0 }));
    const pooled = Buffer.from(small);
    const neighbour = Buffer.from('still here');
    expect(pooled.buffer).toBe(neighbour.buffer);
    expect((await pool.encode('logs', pooled, 'protobuf')).rows).toBe(1);
    expect(neighbour.toString()).toBe('still here');
    expect(pooled.byteLength).toBe(small.length);
  });

  it('report bad input as the event loop does, and keep serving', async () => {
    const pool = workers(1);
    const bad = await errorOf(pool.encode('logs', new Uint8Array([0x0a, 0xff, 0xff]), 'protobuf'));
    expect(bad.kind).toBe('invalid_argument');
    const badJson = await errorOf(pool.encode('logs', new TextEncoder().encode('{"x":'), 'json'));
    expect(badJson.kind).toBe('invalid_argument');
    const ok = await pool.encode(
      'logs',
      encodeProto('logs', logsRequest({ request: 7, rows: 3, startNs: T0 })),
      'protobuf',
    );
    expect(ok.rows).toBe(3);
  });

  it('refuse a request that would expand past the decode budget as payload_too_large, as the event loop does', async () => {
    // A 256 KiB resource attribute repeated on 1000 spans: ≈ 256 MiB of columns from a
    // request of ≈ 330 KiB (the budget allows 128 MiB + 32 bytes per request byte).
    const obj = traceRequest({ request: 11, rows: 1000, startNs: T0 }) as {
      resourceSpans: { resource: { attributes: object[] } }[];
    };
    obj.resourceSpans[0]!.resource.attributes.push({
      key: 'huge',
      value: { stringValue: 'x'.repeat(256 * 1024) },
    });
    const body = encodeProto('traces', obj);
    const pool = workers(1);
    expect((await errorOf(pool.encode('traces', new Uint8Array(body), 'protobuf'))).kind).toBe(
      'payload_too_large',
    );
    const inline = new InlineRequestEncoder({ compression: 'zstd' });
    expect((await errorOf(inline.encode('traces', body, 'protobuf'))).kind).toBe(
      'payload_too_large',
    );
    // The thread is still there.
    const ok = await pool.encode(
      'traces',
      encodeProto('traces', traceRequest({ request: 12, rows: 5, startNs: T0 })),
      'protobuf',
    );
    expect(ok.rows).toBe(5);
  });

  it('fail requests in flight with UNAVAILABLE when their thread goes away, then refuse new ones', async () => {
    const pool = workers(1);
    const body = encodeProto('traces', traceRequest({ request: 9, rows: 2000, startNs: T0 }));
    const inflight = pool.encode('traces', body, 'protobuf');
    await pool.close();
    expect((await errorOf(inflight)).kind).toBe('unavailable');
    expect((await errorOf(pool.encode('traces', body, 'protobuf'))).kind).toBe('unavailable');
  });

  it('refuse a thread count that is not a positive integer', () => {
    expect(() => new WorkerRequestEncoder(0, {})).toThrow(RangeError);
    expect(() => new WorkerRequestEncoder(1.5, {})).toThrow(RangeError);
  });
});
