import http2, { type ClientHttp2Session, type Settings } from 'node:http2';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_HTTP2_RECEIVE_TUNING, tuneGrpcServerHttp2 } from './http2-tuning.js';
import { silentFlightLogger } from './logger.js';
import { createFlightServer, type FlightServer } from './server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Connects a raw HTTP/2 client and returns the settings the server advertised. */
async function connect(port: number): Promise<{ session: ClientHttp2Session; settings: Settings }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => {
    session.destroy();
  });
  const settings = await new Promise<Settings>((resolve, reject) => {
    session.once('remoteSettings', resolve);
    session.once('error', reject);
  });
  return { session, settings };
}

/** The connection window the server granted us, once its WINDOW_UPDATE arrived. */
async function connectionWindow(session: ClientHttp2Session, atLeast: number): Promise<number> {
  const deadline = Date.now() + 5_000;
  let window = session.state.remoteWindowSize ?? 0;
  while (window < atLeast && Date.now() < deadline) {
    // A ping round trip makes sure frames the server sent before it have been processed.
    await new Promise<void>((resolve) => session.ping(() => resolve()));
    window = session.state.remoteWindowSize ?? 0;
  }
  return window;
}

async function flightServer(http2Option?: false): Promise<number> {
  const server: FlightServer = createFlightServer({
    onDoPut: async () => undefined,
    logger: silentFlightLogger,
    ...(http2Option === false ? { http2: false as const } : {}),
  });
  const port = await server.listen('127.0.0.1', 0);
  cleanups.push(() => server.forceClose());
  return port;
}

describe('HTTP/2 receive tuning', () => {
  it('a Flight server advertises large windows and frames by default', async () => {
    const port = await flightServer();
    const { session, settings } = await connect(port);
    expect(settings.initialWindowSize).toBe(DEFAULT_HTTP2_RECEIVE_TUNING.streamWindowBytes);
    expect(settings.maxFrameSize).toBe(DEFAULT_HTTP2_RECEIVE_TUNING.maxFrameBytes);
    const window = DEFAULT_HTTP2_RECEIVE_TUNING.connectionWindowBytes;
    expect(await connectionWindow(session, window)).toBe(window);
  });

  it('http2: false keeps the HTTP/2 defaults', async () => {
    const port = await flightServer(false);
    const { session, settings } = await connect(port);
    expect(settings.initialWindowSize).toBe(65_535);
    expect(settings.maxFrameSize).toBe(16_384);
    expect(session.state.remoteWindowSize).toBe(65_535);
  });

  it('tunes a plain grpc-js server with the given sizes and keeps its other settings', async () => {
    const server = new Server({ 'grpc.max_concurrent_streams': 7 });
    expect(
      tuneGrpcServerHttp2(server, {
        streamWindowBytes: 1 << 20,
        connectionWindowBytes: 3 << 20,
        maxFrameBytes: 1 << 17,
      }),
    ).toBe(true);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    cleanups.push(() => {
      server.forceShutdown();
    });
    const { session, settings } = await connect(port);
    expect(settings.initialWindowSize).toBe(1 << 20);
    expect(settings.maxFrameSize).toBe(1 << 17);
    expect(settings.maxConcurrentStreams).toBe(7);
    expect(await connectionWindow(session, 3 << 20)).toBe(3 << 20);
  });

  it('rejects sizes HTTP/2 does not allow', () => {
    const server = new Server();
    expect(() => tuneGrpcServerHttp2(server, { maxFrameBytes: 1000 })).toThrow(RangeError);
    expect(() => tuneGrpcServerHttp2(server, { streamWindowBytes: 2 ** 31 })).toThrow(RangeError);
    server.forceShutdown();
  });

  it('reports false on a server without the internals it needs', () => {
    expect(tuneGrpcServerHttp2({} as Server)).toBe(false);
  });
});
