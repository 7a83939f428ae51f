import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import {
  Metadata,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerOptions,
  type ServerUnaryCall,
  type ServiceDefinition,
  type StatusObject,
  type sendUnaryData,
} from '@grpc/grpc-js';
import {
  DEFAULT_HTTP2_RECEIVE_TUNING,
  type Http2ReceiveTuning,
  tuneGrpcServerHttp2,
} from '@sediment/flight';
import { encodeExportResponse, encodeRpcStatus, GrpcCode } from '@sediment/otlp';
import type { Logger } from '@sediment/service-kit';
import type { TokenAuthenticator } from './auth.js';
import { AcceptorError } from './errors.js';
import type { ExportPipeline } from './export-pipeline.js';
import { installHttp2Gate, refuseStream } from './grpc-http2-gate.js';
import { type ContentEncoding, decompress } from './http-body.js';
import type { InflightBytes, InflightReservation } from './inflight.js';
import type { AcceptorMetrics } from './metrics.js';
import { grpcCodeName, REPLY_STATUS } from './reply-status.js';
import { SIGNALS, type Signal } from './signals.js';

export interface GrpcServerOptions {
  readonly pipeline: ExportPipeline;
  readonly auth: TokenAuthenticator;
  readonly metrics: AcceptorMetrics;
  readonly logger: Logger;
  readonly inflight: InflightBytes;
  readonly maxRequestBytes: number;
  readonly maxConcurrentStreams: number;
  /** TCP connections on the port; more are closed as soon as they are accepted. */
  readonly maxConnections: number;
  /** Largest request metadata (header list: names + values + 32 bytes per entry). */
  readonly maxHeaderBytes: number;
  /**
   * Longest a call may take to arrive in full (headers to end of stream), and a new
   * connection to start speaking HTTP/2; slower ones are refused.
   */
  readonly requestTimeoutMs: number;
  readonly keepaliveTimeMs: number;
  readonly retryAfterMs: number;
  readonly tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
}

const passThrough = (b: Buffer) => b;

function exportService(service: string): ServiceDefinition {
  return {
    Export: {
      path: `/${service}/Export`,
      requestStream: false,
      responseStream: false,
      requestSerialize: passThrough,
      requestDeserialize: passThrough,
      responseSerialize: passThrough,
      responseDeserialize: passThrough,
    },
  };
}

const SIGNAL_BY_PATH: ReadonlyMap<string, Signal> = new Map(
  Object.values(SIGNALS).map((d) => [`/${d.grpcService}/Export`, d.signal]),
);

/**
 * The request's `grpc-encoding`, moved by the gate into this metadata key so that grpc-js
 * sees `identity` and hands the handler the message bytes as sent (see `#export`). Any
 * value a client sends under this key itself is dropped by the gate.
 */
const ORIGINAL_ENCODING_KEY = 'x-sediment-internal-grpc-encoding';

/** Encodings the acceptor decompresses (gRPC `deflate` is zlib-wrapped, RFC 1950). */
export const GRPC_ACCEPT_ENCODING = 'identity,gzip,deflate,zstd';
const GRPC_ENCODINGS: Readonly<Record<string, ContentEncoding>> = {
  identity: 'identity',
  gzip: 'gzip',
  deflate: 'deflate',
  zstd: 'zstd',
};

// grpc-js answers INTERNAL for a grpc-timeout it cannot parse; the gate answers
// INVALID_ARGUMENT first, using grpc-js's own (unanchored) pattern.
const GRPC_TIMEOUT = /(\d{1,8})\s*([HMSmun])/;
const PRINTABLE_ASCII = /^[ -~]*$/;

/**
 * HTTP/2 receive windows and frame size the OTLP gRPC server advertises. With HTTP/2's
 * defaults (64 KiB windows, 16 KiB frames) a typical export request of a few hundred KB
 * crosses as dozens of frames and several WINDOW_UPDATE round trips, each a trip through
 * both event loops; the client stalls whenever the acceptor is busy for a moment. A
 * request fits in one stream window here (up to 4 MiB, never more than the largest request
 * accepted), the connection window is the Flight server's 16 MiB, frames up to 256 KiB.
 * Memory stays bounded by the in-flight bound, which the gate charges as bytes arrive:
 * the windows let a client send sooner, not make the acceptor hold more.
 */
export function otlpHttp2Tuning(maxRequestBytes: number): Required<Http2ReceiveTuning> {
  const d = DEFAULT_HTTP2_RECEIVE_TUNING;
  // The gRPC message prefix (5 bytes) travels in the stream too; HTTP/2's floor is 65535.
  const streamWindowBytes = Math.max(65_535, Math.min(d.streamWindowBytes, maxRequestBytes + 5));
  return { ...d, streamWindowBytes };
}

/**
 * OTLP/gRPC: TraceService, MetricsService and LogsService `Export`, with pass-through
 * serializers so the request bytes go straight to the Arrow decoder.
 *
 * What happens to a call, in order (see README "Limits" and "Replies"):
 * 1. the connection counts against `maxConnections` (more are closed on accept) and must
 *    send its HTTP/2 preface within `requestTimeoutMs`;
 * 2. the gate (grpc-http2-gate.ts) sees the headers before grpc-js: wrong method, content
 *    type or path, metadata over `maxHeaderBytes`, an unparsable grpc-timeout are refused
 *    there; the bytes the stream uploads are charged to the in-flight bound as they arrive;
 * 3. an interceptor checks the bearer token on the metadata, before grpc-js reads a byte
 *    of the message: an unauthenticated client cannot make the server buffer or inflate
 *    anything;
 * 4. grpc-js reads the message (wire size ≤ `maxRequestBytes`, RESOURCE_EXHAUSTED beyond);
 * 5. the handler decompresses it (gzip, deflate, zstd) with the same capped decoder as
 *    OTLP/HTTP, charging the output to the in-flight bound, then decodes and stores it.
 */
export class OtlpGrpcServer {
  readonly #o: GrpcServerOptions;
  readonly #server: Server;
  #warnedFrame = false;
  /** Streams whose request is still arriving (passed the gate, not yet fully received). */
  #receiving = 0;
  /** Calls whose handler is running (decoding, waiting for the writer). */
  #handling = 0;

  constructor(options: GrpcServerOptions) {
    this.#o = options;
    const channelOptions: ServerOptions = {
      'grpc.max_receive_message_length': options.maxRequestBytes,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      'grpc.max_concurrent_streams': options.maxConcurrentStreams,
      'grpc.keepalive_time_ms': options.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      // Channelz stays on: grpc-js 1.14 tracks a server's sessions only with it, and
      // forceShutdown() needs them (see @sediment/flight's server.ts).
      interceptors: [this.#authInterceptor()],
    };
    this.#server = new Server(channelOptions);
    if (!tuneGrpcServerHttp2(this.#server, otlpHttp2Tuning(options.maxRequestBytes))) {
      options.logger.warn(
        {},
        'this grpc-js version does not let the OTLP gRPC server raise its HTTP/2 windows; clients send with the 64 KiB defaults (slower)',
      );
    }
    installHttp2Gate(this.#server, {
      onServer: (server) => {
        server.maxConnections = options.maxConnections;
        server.on('session', (session) => {
          // A connection that never completes the HTTP/2 preface holds a connection slot
          // (grpc-js sets no socket timeout): give it `requestTimeoutMs` to start.
          const timer = setTimeout(() => session.destroy(), options.requestTimeoutMs);
          timer.unref();
          session.once('remoteSettings', () => clearTimeout(timer));
          session.once('close', () => clearTimeout(timer));
        });
      },
      onStream: (stream, headers, rawHeaders) => this.#gate(stream, headers, rawHeaders),
    });
    for (const def of Object.values(SIGNALS)) {
      this.#server.addService(exportService(def.grpcService), {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          void this.#export(def.signal, call, callback);
        },
      });
    }
  }

  /** Binds `host:port` (port 0 picks one) and returns the bound port. */
  listen(host: string, port: number): Promise<number> {
    const tls = this.#o.tls;
    const credentials = tls
      ? ServerCredentials.createSsl(
          tls.clientCa ?? null,
          [{ private_key: tls.key, cert_chain: tls.cert }],
          tls.clientCa !== undefined,
        )
      : ServerCredentials.createInsecure();
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(address, credentials, (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    });
  }

  /**
   * Stops accepting calls and waits for those in flight: until grpc-js has seen every
   * connection close, or — sooner — until no call is being received or handled any more
   * (a connection node's HTTP/2 layer left half-dead, see README "Limits", would otherwise
   * hold the drain for the whole timeout). Forces after `timeoutMs`.
   */
  async close(timeoutMs = 30_000): Promise<void> {
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = (force: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        if (force) this.#server.forceShutdown();
        resolve();
      };
      const timer = setTimeout(() => finish(true), timeoutMs);
      timer.unref();
      const poll = setInterval(() => {
        if (this.#receiving === 0 && this.#handling === 0) finish(true);
      }, 100);
      poll.unref();
      this.#server.tryShutdown(() => finish(false));
    });
  }

  forceClose(): void {
    this.#server.forceShutdown();
  }

  /** Checks a new stream before grpc-js sees it; false when it was answered here. */
  #gate(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): boolean {
    const o = this.#o;
    const path = headers[':path'];
    const signal = typeof path === 'string' ? SIGNAL_BY_PATH.get(path) : undefined;
    const refuse = (code: number, message: string, retryAfterMs?: number) => {
      if (signal) o.metrics.requests.inc({ signal, protocol: 'grpc', status: grpcCodeName(code) });
      refuseStream(stream, code, message, {
        'grpc-status-details-bin': Buffer.from(
          encodeRpcStatus(
            {
              code,
              message,
              ...(retryAfterMs === undefined ? {} : { retryDelayMs: retryAfterMs }),
            },
            'protobuf',
          ),
        ).toString('base64'),
      });
      return false;
    };

    let headerBytes = 0;
    for (let i = 0; i < rawHeaders.length; i++) headerBytes += rawHeaders[i]!.length + 16;
    if (headerBytes > o.maxHeaderBytes) {
      return refuse(
        GrpcCode.RESOURCE_EXHAUSTED,
        `request metadata of ${headerBytes} bytes exceeds the limit of ${o.maxHeaderBytes} bytes`,
      );
    }
    if (headers[':method'] !== 'POST') {
      return answerHttp(stream, 405, { allow: 'POST' });
    }
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      return answerHttp(stream, 415); // as grpc-js answers it (gRPC over HTTP/2 spec)
    }
    if (!signal) {
      return refuse(GrpcCode.UNIMPLEMENTED, `the server does not implement the method ${path}`);
    }
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined && !GRPC_TIMEOUT.test(String(timeout))) {
      return refuse(
        GrpcCode.INVALID_ARGUMENT,
        `invalid grpc-timeout ${JSON.stringify(String(timeout).slice(0, 40))}`,
      );
    }
    for (const key of Object.keys(headers)) {
      // grpc-js drops values it cannot carry as metadata, logging an error per entry: drop
      // them quietly (a mangled authorization value then fails authentication as missing).
      if (key.charCodeAt(0) === 58 /* : */ || key.endsWith('-bin')) continue;
      const value = headers[key];
      if (typeof value === 'string' ? !PRINTABLE_ASCII.test(value) : Array.isArray(value)) {
        if (!Array.isArray(value) || value.some((v) => !PRINTABLE_ASCII.test(v))) {
          delete headers[key];
        }
      }
    }
    // Take over decompression: grpc-js then passes the message bytes through as sent.
    delete headers[ORIGINAL_ENCODING_KEY];
    const encoding = headers['grpc-encoding'];
    if (encoding !== undefined) {
      headers[ORIGINAL_ENCODING_KEY] = String(encoding);
      headers['grpc-encoding'] = 'identity';
    }

    // Until the client has sent the whole call, the bytes grpc-js buffers for it count
    // against the in-flight bound; past the bound, or past the request timeout, the call
    // is refused (UNAVAILABLE with a retry delay / DEADLINE_EXCEEDED).
    let reservation: InflightReservation | undefined;
    let received = false;
    this.#receiving++;
    const finish = () => {
      if (received) return;
      received = true;
      this.#receiving--;
      clearTimeout(timer);
      stream.off('data', onData);
      reservation?.release();
    };
    const onData = (chunk: Buffer) => {
      if (stream.headersSent) {
        finish(); // already answered (grpc-js refused it): the rest is discarded
        return;
      }
      reservation ??= o.inflight.reserve();
      if (!reservation.tryGrow(chunk.byteLength)) {
        finish();
        refuse(
          GrpcCode.UNAVAILABLE,
          'acceptor is at its in-flight limit (too many request bytes being received); retry later',
          o.retryAfterMs,
        );
      }
    };
    const timer = setTimeout(() => {
      finish();
      if (!stream.headersSent) {
        refuse(
          GrpcCode.DEADLINE_EXCEEDED,
          `request not received in full within ${o.requestTimeoutMs} ms`,
        );
      }
    }, o.requestTimeoutMs);
    timer.unref();
    stream.on('data', onData);
    stream.once('end', finish);
    stream.once('close', finish);
    return true;
  }

  /** Refuses calls without a valid token at metadata time: grpc-js never reads their message. */
  #authInterceptor(): ServerInterceptor {
    const { auth, metrics } = this.#o;
    return (method, call: ServerInterceptingCallInterface) =>
      new ServerInterceptingCall(call, {
        start: (next) => {
          next({
            onReceiveMetadata: (metadata, mdNext) => {
              const authorization = metadata.get('authorization')[0];
              if (auth.check(typeof authorization === 'string' ? authorization : undefined)) {
                mdNext(metadata);
                return;
              }
              const signal = SIGNAL_BY_PATH.get(method.path);
              if (signal)
                metrics.requests.inc({ signal, protocol: 'grpc', status: 'UNAUTHENTICATED' });
              call.sendStatus(
                statusFor(new AcceptorError('unauthenticated', 'missing or invalid bearer token')),
              );
            },
          });
        },
      });
  }

  async #export(
    signal: Signal,
    call: ServerUnaryCall<Buffer, Buffer>,
    callback: sendUnaryData<Buffer>,
  ): Promise<void> {
    const { pipeline, auth, metrics, logger, inflight } = this.#o;
    const started = performance.now();
    const message = call.request;
    const encoding = call.metadata.get(ORIGINAL_ENCODING_KEY)[0];
    call.metadata.remove(ORIGINAL_ENCODING_KEY);
    metrics.receivedBytes.inc({ signal, protocol: 'grpc' }, message.byteLength);
    const reservation = inflight.reserve();
    let status = 'OK';
    this.#handling++;
    try {
      // Checked at metadata time by the interceptor; kept here so that no path can skip it.
      const authorization = call.metadata.get('authorization')[0];
      if (!auth.check(typeof authorization === 'string' ? authorization : undefined)) {
        throw new AcceptorError('unauthenticated', 'missing or invalid bearer token');
      }
      const body = await this.#decompress(
        message,
        typeof encoding === 'string' ? encoding : 'identity',
        reservation,
      );
      metrics.decodedBytes.inc({ signal, protocol: 'grpc' }, body.byteLength);
      const outcome = await pipeline.export(
        signal,
        body,
        'protobuf',
        replyBudgetMs(call.getDeadline()),
        reservation,
      );
      metrics.rows.inc({ signal }, outcome.rows);
      if (outcome.rejected > 0) metrics.rejectedItems.inc({ signal }, outcome.rejected);
      const partial =
        outcome.rejected > 0 || outcome.rejectedMessage
          ? { rejected: outcome.rejected, errorMessage: outcome.rejectedMessage ?? '' }
          : undefined;
      const headers = new Metadata();
      headers.set('grpc-accept-encoding', GRPC_ACCEPT_ENCODING);
      call.sendMetadata(headers);
      callback(null, Buffer.from(encodeExportResponse(signal, 'protobuf', partial)));
    } catch (err) {
      const failure = statusFor(asAcceptorError(err, logger));
      status = grpcCodeName(failure.code);
      callback(failure, null);
    } finally {
      this.#handling--;
      reservation.release();
      metrics.requests.inc({ signal, protocol: 'grpc', status });
      metrics.duration.observe({ signal, protocol: 'grpc' }, (performance.now() - started) / 1000);
    }
  }

  /**
   * The message as the client meant it: grpc-js was told the call is `identity`, so
   * `message` is the payload exactly as framed, compressed or not. Whether it is
   * compressed is the frame's Compressed-Flag byte, which grpc-js (1.14) keeps just before
   * the payload in the same buffer (its length prefix is checked to be sure it is the
   * frame). @throws AcceptorError
   */
  async #decompress(
    message: Buffer,
    encoding: string,
    reservation: InflightReservation,
  ): Promise<Buffer> {
    const o = this.#o;
    if (!reservation.tryResize(message.byteLength)) {
      throw new AcceptorError(
        'unavailable',
        'acceptor is at its in-flight limit (too many request bytes being decoded); retry later',
        { retryAfterMs: o.retryAfterMs },
      );
    }
    let flag = compressedFlag(message);
    if (flag === undefined) {
      if (!this.#warnedFrame) {
        this.#warnedFrame = true;
        o.logger.warn(
          'cannot see gRPC frame flags in this grpc-js version; treating messages as compressed whenever grpc-encoding is set',
        );
      }
      flag = encoding === 'identity' ? 0 : 1;
    }
    if (flag === 0) return message;
    if (flag !== 1) {
      throw new AcceptorError('invalid_argument', `invalid gRPC Compressed-Flag ${flag}`);
    }
    if (encoding === 'identity') {
      throw new AcceptorError(
        'invalid_argument',
        'message has the Compressed-Flag set but the call has no grpc-encoding',
      );
    }
    const kind = GRPC_ENCODINGS[encoding];
    if (kind === undefined) {
      throw new AcceptorError(
        'unsupported_media_type',
        `Received message compressed with unsupported encoding ${JSON.stringify(encoding.slice(0, 40))}; supported: ${GRPC_ACCEPT_ENCODING}`,
      );
    }
    return decompress(message, kind, o.maxRequestBytes, {
      reservation,
      retryAfterMs: o.retryAfterMs,
    });
  }
}

/** The Compressed-Flag of the gRPC frame `payload` was cut from, or undefined if unknown. */
export function compressedFlag(payload: Buffer): number | undefined {
  if (payload.byteOffset < 5) return undefined;
  const prefix = new Uint8Array(payload.buffer, payload.byteOffset - 5, 5);
  const length = ((prefix[1]! << 24) | (prefix[2]! << 16) | (prefix[3]! << 8) | prefix[4]!) >>> 0;
  return length === payload.byteLength ? prefix[0] : undefined;
}

/** An HTTP-level answer on a gRPC stream (wrong method or content type), then closed. */
function answerHttp(
  stream: ServerHttp2Stream,
  status: number,
  headers: Record<string, string> = {},
): false {
  stream.on('error', () => {});
  if (!stream.headersSent && !stream.closed && !stream.destroyed) {
    try {
      stream.respond({ ':status': status, ...headers }, { endStream: true });
    } catch {
      // session gone
    }
  }
  if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  stream.resume();
  return false;
}

/** A failure as a grpc-js status with google.rpc.Status details (RetryInfo when retryable). */
function statusFor(error: AcceptorError): StatusObject {
  const reply = REPLY_STATUS[error.kind];
  const metadata = new Metadata();
  const retryDelayMs = reply.retryable ? (error.retryAfterMs ?? 1000) : undefined;
  metadata.set(
    'grpc-status-details-bin',
    Buffer.from(
      encodeRpcStatus(
        {
          code: reply.grpcCode,
          message: error.message,
          ...(retryDelayMs === undefined ? {} : { retryDelayMs }),
        },
        'protobuf',
      ),
    ),
  );
  if (reply.grpcCode === GrpcCode.UNIMPLEMENTED) {
    metadata.set('grpc-accept-encoding', GRPC_ACCEPT_ENCODING);
  }
  return { code: reply.grpcCode, details: error.message, metadata };
}

/** Errors that are not AcceptorErrors are bugs: logged with detail, answered as internal. */
export function asAcceptorError(err: unknown, logger: Logger): AcceptorError {
  if (err instanceof AcceptorError) return err;
  logger.error({ err }, 'unexpected error while handling an export');
  return new AcceptorError('internal', 'internal error', { cause: err });
}

/**
 * How long a call may wait for the writer: its deadline minus a margin (10 %, at least
 * 500 ms, at most half of what is left), so that a client whose deadline is about to pass
 * still gets UNAVAILABLE + RetryInfo — a retry hint — instead of its own
 * DEADLINE_EXCEEDED. Undefined without a deadline.
 */
export function replyBudgetMs(deadline: Date | number, now = Date.now()): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  if (!Number.isFinite(at)) return undefined;
  const remaining = Math.max(0, at - now);
  const margin = Math.min(Math.max(500, remaining * 0.1), remaining / 2);
  return remaining - margin;
}
