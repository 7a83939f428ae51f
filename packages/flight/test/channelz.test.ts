import { describe, expect, it } from 'vitest';
import { getChannelzHandlers } from '../src/grpc-js.js';
import { multiBatchStream } from './fixtures.js';
import { client, startServer, type TestServer } from './helpers.js';

/** What grpc-js's channelz registry of this process lists (its own handlers, no network). */
function channelzEntries(): Promise<{ servers: number; channels: number }> {
  const handlers = getChannelzHandlers();
  const ask = <T>(method: (call: never, cb: (err: unknown, res: T) => void) => void) =>
    new Promise<T>((resolve, reject) =>
      method({ request: { start_server_id: 0, start_channel_id: 0 } } as never, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  return Promise.all([
    ask<{ server: unknown[] }>(handlers.GetServers as never),
    ask<{ channel: unknown[] }>(handlers.GetTopChannels as never),
  ]).then(([s, c]) => ({ servers: s.server.length, channels: c.channel.length }));
}

// Channelz counts and timestamps every call; nothing in Sediment serves it, so the client
// turns it off. Servers keep it: grpc-js 1.14 tracks a server's sessions only through its
// channelz handler, and forceShutdown() needs that list (failover.test.ts, forced close).
describe('the Flight client runs without channelz', () => {
  it('registers no channel unless grpcOptions ask for it; the server is registered', async () => {
    const srv: TestServer = await startServer();
    const plain = client({ targets: [srv.target] });
    let asked: ReturnType<typeof client> | undefined;
    try {
      await plain.doPut(['spans'], multiBatchStream(1, 2));
      expect(await channelzEntries()).toEqual({ servers: 1, channels: 0 });
      asked = client({ targets: [srv.target], grpcOptions: { 'grpc.enable_channelz': 1 } });
      await asked.doPut(['spans'], multiBatchStream(1, 2));
      expect(await channelzEntries()).toEqual({ servers: 1, channels: 1 });
    } finally {
      plain.close();
      asked?.close();
      await srv.server.close();
    }
  });
});
