/**
 * A gate in front of grpc-js's HTTP/2 server: code that sees every connection and every
 * new stream (with its headers) BEFORE grpc-js does, and may refuse it.
 *
 * Why: grpc-js (1.14) offers a server no hook between the HTTP/2 layer and its own call
 * handling — no connection limit, no header-size limit, and it decompresses messages
 * itself (answering INTERNAL for corrupt gzip, before any interceptor or handler runs).
 * The gate lets the acceptor bound connections, refuse oversized metadata, account the
 * bytes a stream uploads against the in-flight bound, and take over decompression.
 *
 * How: grpc-js creates its `http2.Server` in the private method `createHttp2Server`,
 * which also attaches its `'stream'` listener. The gate wraps that method, calls
 * `onServer` with each new server, and moves grpc-js's `'stream'` listeners behind its
 * own, so `onStream` runs first and grpc-js only sees the streams it lets through. This
 * relies on a private member: when a grpc-js release renames it, `installHttp2Gate`
 * throws at start-up (the service refuses to start rather than run without its limits),
 * and the tests that exercise each limit fail.
 */
import http2, {
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Server } from '@grpc/grpc-js';

export type GrpcHttp2Server = Http2Server | Http2SecureServer;

export interface Http2GateHooks {
  /** Called once per HTTP/2 server grpc-js creates (one per bound address). */
  onServer?(server: GrpcHttp2Server): void;
  /**
   * Called for every new stream before grpc-js sees it. Return true to hand the stream to
   * grpc-js; false when the hook answered (or reset) the stream itself. `headers` may be
   * modified: grpc-js reads the same object afterwards. `rawHeaders` is the flat
   * name/value list as received.
   */
  onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): boolean;
}

interface GrpcServerInternals {
  createHttp2Server?: (this: unknown, credentials: unknown) => GrpcHttp2Server;
}

type StreamListener = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

/** Thrown when this grpc-js version lacks the internal the gate relies on. */
export class GrpcGateUnsupportedError extends Error {
  override readonly name = 'GrpcGateUnsupportedError';
  readonly code = 'ACCEPTOR_GRPC_GATE_UNSUPPORTED';
}

/**
 * Installs the gate on a grpc-js `Server`. Call before `bindAsync`.
 * @throws GrpcGateUnsupportedError when grpc-js has no `createHttp2Server` to wrap.
 */
export function installHttp2Gate(server: Server, hooks: Http2GateHooks): void {
  const internals = server as unknown as GrpcServerInternals;
  const create = internals.createHttp2Server;
  if (typeof create !== 'function') {
    throw new GrpcGateUnsupportedError(
      'this @grpc/grpc-js version has no Server.createHttp2Server: the acceptor cannot apply its gRPC connection, metadata and decompression limits. Use @grpc/grpc-js 1.14.',
    );
  }
  internals.createHttp2Server = function (this: unknown, credentials: unknown) {
    const http2Server = create.call(this, credentials);
    hooks.onServer?.(http2Server);
    const inner = http2Server.listeners('stream') as StreamListener[];
    http2Server.removeAllListeners('stream');
    const gated: StreamListener = (stream, headers, flags, rawHeaders) => {
      let pass: boolean;
      try {
        pass = hooks.onStream(stream, headers, rawHeaders);
      } catch {
        // A bug in a hook must not take the process down with an uncaught exception
        // from inside the HTTP/2 session; the stream is reset instead.
        resetStream(stream, http2.constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      if (!pass) return;
      for (const listener of inner) listener.call(http2Server, stream, headers, flags, rawHeaders);
    };
    (http2Server as Http2Server).on('stream', gated);
    return http2Server;
  };
}

/**
 * Answers a stream with a trailers-only gRPC status (the way grpc-js answers errors) and
 * closes it, discarding whatever the client still sends. Safe on streams already answered.
 */
export function refuseStream(
  stream: ServerHttp2Stream,
  code: number,
  message: string,
  trailers: OutgoingHttpHeaders = {},
): void {
  stream.on('error', noop);
  if (!stream.destroyed && !stream.closed && !stream.headersSent) {
    try {
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc+proto',
          'grpc-status': String(code),
          'grpc-message': encodeURIComponent(message),
          ...trailers,
        },
        { endStream: true },
      );
    } catch {
      // The session went away meanwhile: nothing left to answer.
    }
  }
  // RST_STREAM(NO_ERROR) after a complete response tells the client to stop sending the
  // request body (RFC 9113 §8.1); it also marks the stream closed, so grpc-js — when it
  // already holds the stream — drops it instead of answering a second time.
  resetStream(stream, http2.constants.NGHTTP2_NO_ERROR);
}

/** Resets a stream with `code` unless it is already closed. */
export function resetStream(stream: ServerHttp2Stream, code: number): void {
  stream.on('error', noop);
  if (stream.destroyed || stream.closed) return;
  try {
    stream.close(code);
  } catch {
    // already gone
  }
  stream.resume();
}

function noop(): void {}
