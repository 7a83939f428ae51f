import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FlightInvalidArgumentError, FlightUnavailableError } from '../src/index.js';
import { bulkStream, multiBatchStream } from './fixtures.js';
import { client, eventually, sleep, startServer, type TestServer } from './helpers.js';

/** A port nothing listens on (bound then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Runs `total` puts with `concurrency` workers; `onProgress(done)` after each. */
async function runPuts(
  c: ReturnType<typeof client>,
  total: number,
  concurrency: number,
  onProgress: (done: number) => Promise<void> | void = () => {},
): Promise<{ ok: number; errors: unknown[] }> {
  const ipc = multiBatchStream(1, 20);
  let next = 0;
  let done = 0;
  let ok = 0;
  const errors: unknown[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        try {
          await c.doPut(['spans'], ipc, {
            appMetadata: Buffer.from(`req-${i}`),
            deadlineMs: 20_000,
          });
          ok++;
        } catch (err) {
          errors.push(err);
        }
        done++;
        await onProgress(done);
      }
    }),
  );
  return { ok, errors };
}

describe('failover across a list of writers', () => {
  it('round_robin spreads puts over both writers', async () => {
    const a = await startServer();
    const b = await startServer();
    const c = client({ targets: [a.target, b.target] });
    try {
      const r = await runPuts(c, 40, 4);
      expect(r.errors).toEqual([]);
      expect(a.puts.length).toBe(20);
      expect(b.puts.length).toBe(20);
    } finally {
      c.close();
      await Promise.all([a.server.close(), b.server.close()]);
    }
  });

  for (const how of ['graceful close', 'forced close'] as const) {
    it(`${how} of one writer mid-run: every put succeeds via the other; restarted writer gets traffic again`, async () => {
      const a = await startServer();
      const b = await startServer();
      const c = client({
        targets: [a.target, b.target],
        targetBackoff: { initialMs: 100, maxMs: 500 },
      });
      let stopped = false;
      try {
        const r = await runPuts(c, 240, 6, async (done) => {
          if (done === 60 && !stopped) {
            stopped = true;
            if (how === 'graceful close') await a.server.close();
            else a.server.forceClose();
          }
        });
        expect(r.errors).toEqual([]);
        expect(r.ok).toBe(240);
        expect(a.puts.length).toBeGreaterThan(0);
        expect(a.puts.length + b.puts.length).toBeGreaterThanOrEqual(240);
        const onBAfterStop = b.puts.length;
        expect(onBAfterStop).toBeGreaterThan(120);
        // Marked down and not recovered since (every retry of it failed).
        expect(c.stats().find((s) => s.target === a.target)!.consecutiveFailures).toBeGreaterThan(
          0,
        );

        // Same port again: the client must find it once its backoff expires.
        const a2: TestServer = await startServer({}, a.port);
        try {
          await eventually(
            async () => {
              await c.doPut(['spans'], multiBatchStream(1, 2));
              return a2.puts.length > 0;
            },
            30_000,
            'restarted writer receives puts',
          );
          expect(c.stats().find((s) => s.target === a.target)).toMatchObject({
            up: true,
            consecutiveFailures: 0,
          });
        } finally {
          await a2.server.close();
        }
      } finally {
        c.close();
        a.server.forceClose();
        await b.server.close();
      }
    }, 90_000);
  }

  it('all writers down → FlightUnavailableError (retryable) without hanging', async () => {
    const c = client({
      targets: [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`],
    });
    try {
      const err = await c
        .doPut(['spans'], multiBatchStream(1, 2), { deadlineMs: 10_000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlightUnavailableError);
      expect((err as FlightUnavailableError).retryable).toBe(true);
      expect(c.stats().every((s) => s.consecutiveFailures === 1)).toBe(true);
    } finally {
      c.close();
    }
  });

  it('a writer that answers UNAVAILABLE (e.g. queue full) is skipped; the put lands on the other', async () => {
    const busy = await startServer({
      onDoPut: async () => {
        throw new FlightUnavailableError('queue full');
      },
    });
    const b = await startServer();
    const c = client({
      targets: [busy.target, b.target],
      loadBalancing: 'pick_first',
      targetBackoff: { initialMs: 60_000 },
    });
    try {
      await c.doPut(['spans'], multiBatchStream(1, 2), { appMetadata: Buffer.from('r1') });
      expect(busy.puts.length).toBe(1);
      expect(b.puts.length).toBe(1);
      expect(Buffer.from(b.puts[0]!.appMetadata!).toString()).toBe('r1');
      // Within its backoff the busy writer is not tried first any more.
      await c.doPut(['spans'], multiBatchStream(1, 2));
      expect(busy.puts.length).toBe(1);
      expect(b.puts.length).toBe(2);
    } finally {
      c.close();
      await Promise.all([busy.server.close(), b.server.close()]);
    }
  });

  it('INVALID_ARGUMENT does not fail over', async () => {
    const strict = await startServer({
      onDoPut: async () => {
        throw new FlightInvalidArgumentError('rows rejected');
      },
    });
    const b = await startServer();
    const c = client({ targets: [strict.target, b.target], loadBalancing: 'pick_first' });
    try {
      await expect(c.doPut(['spans'], multiBatchStream(1, 2))).rejects.toBeInstanceOf(
        FlightInvalidArgumentError,
      );
      expect(strict.puts.length).toBe(1);
      expect(b.puts.length).toBe(0);
      expect(c.stats()[0]!.up).toBe(true);
    } finally {
      c.close();
      await Promise.all([strict.server.close(), b.server.close()]);
    }
  });
});

describe('graceful server close', () => {
  it('lets puts in flight finish and refuses new ones', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const srv = await startServer({
      onDoPut: async () => {
        await gate;
        return Buffer.from('durable');
      },
    });
    const c = client({ targets: srv.target });
    try {
      const inflight = c.doPut(['spans'], multiBatchStream(1, 2));
      await eventually(() => srv.puts.length === 1, 10_000, 'put in flight');
      const closing = srv.server.close();
      await sleep(100);
      expect(srv.server.stats().inflight).toBe(1);
      const late = await c
        .doPut(['spans'], multiBatchStream(1, 2), { deadlineMs: 5_000 })
        .catch((e: unknown) => e);
      expect(late).toBeInstanceOf(FlightUnavailableError);
      release();
      expect(Buffer.from((await inflight)[0]!).toString()).toBe('durable');
      await closing;
      expect(srv.server.stats()).toMatchObject({ inflight: 0, completed: 1 });
    } finally {
      release();
      c.close();
    }
  });
});

describe('in-flight byte bound', () => {
  it('a put beyond maxInflightBytes gets UNAVAILABLE; memory is released when the handler ends', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const srv = await startServer({
      maxPutBytes: 1 << 20,
      maxInflightBytes: 1.5 * (1 << 20),
      onDoPut: async () => {
        await gate;
        return undefined;
      },
    });
    const c = client({ targets: srv.target });
    try {
      const first = c.doPut(['bulk'], bulkStream(800_000, 1));
      await eventually(() => srv.puts.length === 1, 10_000, 'first put held by the handler');
      expect(srv.server.stats().inflightBytes).toBeGreaterThan(800_000);
      const err = await c.doPut(['bulk'], bulkStream(800_000, 2)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlightUnavailableError);
      expect(srv.server.stats().inflight).toBe(1);
      release();
      await first;
      await eventually(() => srv.server.stats().inflightBytes === 0, 10_000, 'bytes released');
      await expect(c.doPut(['bulk'], bulkStream(800_000, 2))).resolves.toHaveLength(1);
      expect(srv.server.stats()).toMatchObject({ inflight: 0, inflightBytes: 0, completed: 2 });
    } finally {
      release();
      c.close();
      await srv.server.close();
    }
  });

  it('rejects maxInflightBytes below maxPutBytes at construction', async () => {
    await expect(startServer({ maxPutBytes: 2 << 20, maxInflightBytes: 1 << 20 })).rejects.toThrow(
      TypeError,
    );
  });
});

describe('readiness', () => {
  it('isReady / waitForReady reflect whether any writer is reachable', async () => {
    const port = await freePort();
    const c = client({ targets: [`127.0.0.1:${await freePort()}`, `127.0.0.1:${port}`] });
    try {
      expect(c.isReady()).toBe(false);
      expect(await c.waitForReady(Date.now() + 500)).toBe(false);
      const srv = await startServer({}, port);
      try {
        expect(await c.waitForReady(Date.now() + 20_000)).toBe(true);
        expect(c.isReady()).toBe(true);
      } finally {
        await srv.server.close();
      }
    } finally {
      c.close();
    }
  });
});

describe('resolver URI (Kubernetes path)', () => {
  it('dns:///localhost:<port> with round_robin connects and puts', async () => {
    const srv = await startServer();
    const c = client({ targets: `dns:///localhost:${srv.port}`, loadBalancing: 'round_robin' });
    try {
      expect(await c.waitForReady(Date.now() + 20_000)).toBe(true);
      const r = await runPuts(c, 20, 4);
      expect(r.errors).toEqual([]);
      expect(srv.puts.length).toBe(20);
      expect(c.stats()).toHaveLength(1);
    } finally {
      c.close();
      await srv.server.close();
    }
  });

  it('a resolver URI cannot be mixed with a list', () => {
    expect(() => client({ targets: ['dns:///a:1', 'b:2'] })).toThrow(TypeError);
  });
});
