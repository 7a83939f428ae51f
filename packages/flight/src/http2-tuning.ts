/**
 * HTTP/2 receive-side tuning for grpc-js servers that take large messages (Flight DoPut
 * bodies, OTLP export requests).
 *
 * Why: with HTTP/2's defaults (64 KiB stream and connection windows, 16 KiB frames) a
 * 600 KB message crosses the wire as ~40 frames and ~10 WINDOW_UPDATE round trips, each
 * one a trip through both event loops; a sender stalls whenever the receiver's event loop
 * is busy for a moment. Measured over loopback with grpc-js 1.14 (620 KB unary messages,
 * 16 concurrent calls, sender and receiver processes on a 2-core machine), larger windows
 * and frames cut the CPU both sides spend per megabyte from 8–10 ms to 5–6 ms and raised
 * the transfer rate by about 1.5×.
 *
 * grpc-js (1.14) offers no server option for either setting (its
 * `grpc-node.flow_control_window` is client-only), so this reaches into two members of
 * `Server` that are private in its TypeScript types: `commonServerOptions` (the options
 * every `http2.createServer` call receives) and `createHttp2Server` (wrapped to raise each
 * new session's connection window). When a grpc-js release renames them the function
 * returns false and the server keeps the HTTP/2 defaults; a test checks the settings a
 * client receives, so an upgrade that loses them fails loudly.
 */
import type { Http2Server, Http2Session, Settings } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

export interface Http2ReceiveTuning {
  /**
   * Per-stream receive window advertised in SETTINGS_INITIAL_WINDOW_SIZE: bytes a client
   * may send on one call before the server has read them. Default 4 MiB.
   */
  readonly streamWindowBytes?: number;
  /**
   * Connection-level receive window (WINDOW_UPDATE on stream 0): bytes in flight over one
   * connection, all calls together. Default 16 MiB.
   */
  readonly connectionWindowBytes?: number;
  /** SETTINGS_MAX_FRAME_SIZE: largest DATA frame the client may send. Default 256 KiB. */
  readonly maxFrameBytes?: number;
}

export const DEFAULT_HTTP2_RECEIVE_TUNING: Required<Http2ReceiveTuning> = Object.freeze({
  streamWindowBytes: 4 * 1024 * 1024,
  connectionWindowBytes: 16 * 1024 * 1024,
  maxFrameBytes: 256 * 1024,
});

const MAX_WINDOW = 2 ** 31 - 1;
const MIN_FRAME = 16_384;
const MAX_FRAME = 2 ** 24 - 1;

interface GrpcServerInternals {
  commonServerOptions?: { settings?: Settings };
  createHttp2Server?: (this: unknown, credentials: unknown) => Http2Server;
}

/**
 * Applies `tuning` to a grpc-js `Server`. Call it before `bindAsync` (listeners created
 * earlier keep the defaults). Returns false, changing nothing, when this grpc-js version
 * does not have the internals it relies on.
 * @throws RangeError for a window or frame size outside what HTTP/2 allows.
 */
export function tuneGrpcServerHttp2(server: Server, tuning: Http2ReceiveTuning = {}): boolean {
  const t = { ...DEFAULT_HTTP2_RECEIVE_TUNING, ...tuning };
  check('streamWindowBytes', t.streamWindowBytes, 65_535, MAX_WINDOW);
  check('connectionWindowBytes', t.connectionWindowBytes, 65_535, MAX_WINDOW);
  check('maxFrameBytes', t.maxFrameBytes, MIN_FRAME, MAX_FRAME);
  const internals = server as unknown as GrpcServerInternals;
  const common = internals.commonServerOptions;
  const create = internals.createHttp2Server;
  if (typeof common !== 'object' || common === null || typeof create !== 'function') return false;
  common.settings = {
    ...common.settings,
    initialWindowSize: t.streamWindowBytes,
    maxFrameSize: t.maxFrameBytes,
  };
  const connectionWindow = t.connectionWindowBytes;
  internals.createHttp2Server = function (this: unknown, credentials: unknown) {
    const http2Server = create.call(this, credentials);
    http2Server.on('session', (session: Http2Session) => {
      try {
        session.setLocalWindowSize(connectionWindow);
      } catch {
        // A session destroyed before this ran needs no window.
      }
    });
    return http2Server;
  };
  return true;
}

function check(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}
