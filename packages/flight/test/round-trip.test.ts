import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FlightCancelledError,
  FlightDeadlineExceededError,
  FlightInvalidArgumentError,
} from '../src/index.js';
import {
  bulkStream,
  describeTable,
  kitchenSinkBatch,
  kitchenSinkSchema,
  multiBatchStream,
  schemaOnlyStream,
  streamOf,
} from './fixtures.js';
import {
  ackFor,
  client,
  eventually,
  sha256,
  startServer,
  type TestServer,
  text,
} from './helpers.js';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe('FlightClient ↔ FlightServer round trip (127.0.0.1)', () => {
  let srv: TestServer;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    srv = await startServer();
    c = client({ targets: [srv.target] });
  });
  afterAll(async () => {
    c.close();
    await srv.server.close();
  });

  const kinds: [string, () => Uint8Array, number][] = [
    [
      'dictionaries + List<Struct<Map>> + Map + Timestamp(ns), 6 batches',
      () => multiBatchStream(6, 80),
      6,
    ],
    ['one batch, one row', () => multiBatchStream(1, 1), 1],
    ['schema only (empty stream)', () => schemaOnlyStream(), 0],
    ['bulk Float64, 3 batches', () => bulkStream(3 << 20, 3), 3],
  ];
  for (const [name, make, batches] of kinds) {
    it(`handler sees exactly the bytes and table sent: ${name}`, async () => {
      const ipc = make();
      const before = srv.puts.length;
      const id = Buffer.from(`req-${name}`);
      const results = await c.doPut(['spans'], ipc, { appMetadata: id, deadlineMs: 30_000 });
      expect(results.map(text)).toEqual([text(ackFor(ipc))]);
      const put = srv.puts[before]!;
      expect(put.path).toEqual(['spans']);
      expect(text(put.appMetadata)).toBe(id.toString());
      expect(put.recordBatchCount).toBe(batches);
      expect(same(put.ipc, ipc)).toBe(true);
      expect(describeTable(tableFromIPC(put.ipc))).toBe(describeTable(tableFromIPC(ipc)));
      expect(tableFromIPC(put.ipc).schema.metadata.get('sediment.table')).toBeDefined();
    });
  }

  it('a client whose channel compresses (gzip) sends the same bytes', async () => {
    // The frames go to zlib as real Buffers on such a channel (see FlightDataFrame).
    const gz = client({
      targets: [srv.target],
      grpcOptions: { 'grpc.default_compression_algorithm': 2 },
    });
    try {
      const ipc = multiBatchStream(3, 50);
      const before = srv.puts.length;
      await gz.doPut(['spans'], ipc, { appMetadata: Buffer.from('gz') });
      expect(same(srv.puts[before]!.ipc, ipc)).toBe(true);
    } finally {
      gz.close();
    }
  });

  it('a legacy-format stream arrives as the same table in the current format', async () => {
    const batches = [kitchenSinkBatch(20, 4), kitchenSinkBatch(7, 5, ['x', 'y'])];
    const legacy = streamOf(kitchenSinkSchema(), batches, true);
    const before = srv.puts.length;
    await c.doPut(['spans'], legacy);
    const put = srv.puts[before]!;
    expect(new DataView(put.ipc.buffer, put.ipc.byteOffset).getUint32(0, true)).toBe(0xffffffff);
    expect(describeTable(tableFromIPC(put.ipc))).toBe(
      describeTable(tableFromIPC(streamOf(kitchenSinkSchema(), batches))),
    );
  });

  it('no app_metadata → handler sees undefined; multi-element paths pass through', async () => {
    const before = srv.puts.length;
    await c.doPut(['metrics_sum', 'shard-3'], multiBatchStream(1, 3));
    expect(srv.puts[before]!.appMetadata).toBeUndefined();
    expect(srv.puts[before]!.path).toEqual(['metrics_sum', 'shard-3']);
  });

  it('100 concurrent DoPuts each arrive intact and get their own PutResult', async () => {
    const before = srv.puts.length;
    const streams = Array.from({ length: 100 }, (_, i) =>
      i % 10 === 0
        ? schemaOnlyStream(`t${i}`)
        : multiBatchStream(1 + (i % 3), 5 + (i % 17), 100 + i),
    );
    const results = await Promise.all(
      streams.map((ipc, i) =>
        c.doPut([`table-${i}`], ipc, { appMetadata: Buffer.from(`id-${i}`) }),
      ),
    );
    for (const [i, r] of results.entries()) expect(text(r[0])).toBe(text(ackFor(streams[i]!)));
    const seen = srv.puts.slice(before);
    expect(seen.length).toBe(100);
    for (const put of seen) {
      const i = Number(text(put.appMetadata)!.slice(3));
      expect(put.path).toEqual([`table-${i}`]);
      expect(sha256(put.ipc)).toBe(sha256(streams[i]!));
    }
  });

  it('a 64 MiB IPC stream (one 64 MiB record batch) goes through', async () => {
    const ipc = bulkStream(64 << 20, 1);
    expect(ipc.length).toBeGreaterThan(64 << 20);
    const before = srv.puts.length;
    const results = await c.doPut(['bulk'], ipc, { deadlineMs: 120_000 });
    expect(text(results[0])).toBe(text(ackFor(ipc)));
    expect(sha256(srv.puts[before]!.ipc)).toBe(sha256(ipc));
    srv.puts.length = before; // release the memory
  }, 120_000);

  it('invalid input is rejected before anything is sent', async () => {
    const before = srv.puts.length;
    await expect(c.doPut(['spans'], Uint8Array.of(1, 2, 3))).rejects.toBeInstanceOf(
      FlightInvalidArgumentError,
    );
    await expect(c.doPut([], multiBatchStream(1, 1))).rejects.toBeInstanceOf(
      FlightInvalidArgumentError,
    );
    expect(srv.puts.length).toBe(before);
  });
});

describe('deadlines and cancellation', () => {
  it('deadline → FlightDeadlineExceededError (retryable); the handler signal aborts', async () => {
    let signal: AbortSignal | undefined;
    const srv = await startServer({
      onDoPut: async (put) => {
        signal = put.signal;
        await new Promise((r) => setTimeout(r, 1_500));
        return undefined;
      },
    });
    const c = client({ targets: srv.target });
    try {
      const err = await c
        .doPut(['spans'], multiBatchStream(1, 2), { deadlineMs: 300 })
        .catch((e) => e);
      expect(err).toBeInstanceOf(FlightDeadlineExceededError);
      expect(err.retryable).toBe(true);
      await eventually(() => signal?.aborted === true, 10_000, 'handler signal aborted');
    } finally {
      c.close();
      await srv.server.close();
    }
  });

  it('AbortSignal cancels the put with FlightCancelledError', async () => {
    let signal: AbortSignal | undefined;
    const srv = await startServer({
      onDoPut: (put) => {
        signal = put.signal;
        return new Promise(() => {});
      },
      drainTimeoutMs: 100,
    });
    const c = client({ targets: srv.target });
    try {
      const ac = new AbortController();
      const pending = c.doPut(['spans'], multiBatchStream(1, 2), { signal: ac.signal });
      await eventually(() => signal !== undefined, 10_000, 'handler called');
      ac.abort();
      await expect(pending).rejects.toBeInstanceOf(FlightCancelledError);
      await eventually(() => signal!.aborted, 10_000, 'server saw cancel');
    } finally {
      c.close();
      await srv.server.close();
    }
  });

  it('close() cancels puts in flight', async () => {
    const srv = await startServer({ onDoPut: () => new Promise(() => {}), drainTimeoutMs: 100 });
    const c = client({ targets: srv.target });
    const pending = c.doPut(['spans'], multiBatchStream(1, 2));
    await eventually(() => srv.puts.length === 1, 10_000, 'put arrived');
    c.close();
    await expect(pending).rejects.toBeInstanceOf(FlightCancelledError);
    await expect(c.doPut(['spans'], multiBatchStream(1, 2))).rejects.toBeInstanceOf(
      FlightCancelledError,
    );
    await srv.server.close();
  });
});
