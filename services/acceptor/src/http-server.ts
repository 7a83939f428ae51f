import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { encodeExportResponse, encodeRpcStatus } from '@sediment/otlp';
import { type AdminRoutesOptions, type Logger, registerAdminRoutes } from '@sediment/service-kit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TokenAuthenticator } from './auth.js';
import { AcceptorError, type AcceptorErrorKind } from './errors.js';
import type { ExportPipeline } from './export-pipeline.js';
import { asAcceptorError } from './grpc-server.js';
import { parseContentEncoding, readBody } from './http-body.js';
import type { InflightBytes } from './inflight.js';
import type { AcceptorMetrics } from './metrics.js';
import { REPLY_STATUS } from './reply-status.js';
import { type BodyFormat, SIGNALS, type Signal } from './signals.js';

export interface HttpServerOptions {
  readonly pipeline: ExportPipeline;
  readonly auth: TokenAuthenticator;
  readonly metrics: AcceptorMetrics;
  readonly logger: Logger;
  readonly inflight: InflightBytes;
  readonly retryAfterMs: number;
  readonly maxRequestBytes: number;
  readonly maxConnections: number;
  /** Request line + headers (node's maxHeaderSize): 431 beyond. */
  readonly maxHeaderBytes: number;
  /** Longest a client may take to send a whole request (node's requestTimeout): 408 beyond. */
  readonly requestTimeoutMs: number;
  readonly corsOrigins: readonly string[] | undefined;
  /** Serve /healthz, /readyz and /metrics here too (unless a separate admin port is used). */
  readonly admin: AdminRoutesOptions | undefined;
  readonly tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
}

const CONTENT_TYPES: Record<BodyFormat, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** `Content-Type` → body format; undefined when unsupported. */
export function bodyFormat(contentType: string | undefined): BodyFormat | undefined {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === 'application/x-protobuf' || media === 'application/protobuf') return 'protobuf';
  if (media === 'application/json') return 'json';
  return undefined;
}

/**
 * OTLP/HTTP on fastify: POST /v1/traces, /v1/metrics, /v1/logs with protobuf or JSON
 * bodies, gzip/deflate/zstd Content-Encoding (limits applied before and after
 * decompression), replies in the request's encoding, google.rpc.Status bodies on errors,
 * Retry-After on 503, optional CORS for browser SDKs.
 */
export async function createOtlpHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { tls } = options;
  const serverOptions = {
    maxHeaderSize: options.maxHeaderBytes,
    // Node (20) applies requestTimeout to request bodies only when it is given to the
    // server's constructor; fastify's own option below only sets the property afterwards.
    requestTimeout: options.requestTimeoutMs,
    // How often node looks for requests past requestTimeout (default 30 s).
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, options.requestTimeoutMs / 4)),
  };
  const app = Fastify({
    logger: false,
    // Our own body reader enforces the limits; fastify's parsers are bypassed.
    bodyLimit: options.maxRequestBytes,
    connectionTimeout: 120_000,
    keepAliveTimeout: 65_000,
    requestTimeout: options.requestTimeoutMs,
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
    ...(tls
      ? {
          https: {
            ...serverOptions,
            cert: tls.cert,
            key: tls.key,
            ...(tls.clientCa
              ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }
              : {}),
          },
        }
      : { http: serverOptions }),
  }) as unknown as FastifyInstance;
  app.server.maxConnections = options.maxConnections;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  if (options.corsOrigins && options.corsOrigins.length > 0) registerCors(app, options.corsOrigins);
  if (options.admin) registerAdminRoutes(app, options.admin);

  for (const def of Object.values(SIGNALS)) {
    app.post(def.path, (req, reply) => handleExport(def.signal, req, reply, options));
  }
  // Requests fastify refuses before our handler runs (an empty or malformed Content-Type,
  // a malformed URL) still get a google.rpc.Status body, like every other OTLP error.
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode ?? 500;
    const kind: AcceptorErrorKind =
      status === 415
        ? 'unsupported_media_type'
        : status === 413
          ? 'payload_too_large'
          : status >= 400 && status < 500
            ? 'invalid_argument'
            : 'internal';
    if (kind === 'internal') options.logger.error({ err }, 'unexpected error in the HTTP server');
    const def = Object.values(SIGNALS).find((d) => d.path === req.url.split('?')[0]);
    if (def)
      options.metrics.requests.inc({
        signal: def.signal,
        protocol: 'http',
        status: String(status),
      });
    req.raw.resume();
    return reply
      .code(status)
      .type(CONTENT_TYPES.json)
      .send(
        encodeRpcStatus(
          {
            code: REPLY_STATUS[kind].grpcCode,
            message: kind === 'internal' ? 'internal error' : err.message,
          },
          'json',
        ),
      );
  });
  app.setNotFoundHandler((req, reply) => {
    const isOtlpPath = Object.values(SIGNALS).some((d) => d.path === req.url.split('?')[0]);
    const status = isOtlpPath ? 405 : 404;
    if (isOtlpPath) reply.header('allow', 'POST');
    req.raw.resume();
    return reply
      .code(status)
      .type('application/json')
      .send(
        encodeRpcStatus(
          {
            code: 5,
            message: isOtlpPath
              ? `use POST for ${req.url}`
              : `no such endpoint: ${req.method} ${req.url}`,
          },
          'json',
        ),
      );
  });
  return app;
}

async function handleExport(
  signal: Signal,
  req: FastifyRequest,
  reply: FastifyReply,
  o: HttpServerOptions,
): Promise<FastifyReply> {
  const started = performance.now();
  const format = bodyFormat(req.headers['content-type']);
  const replyFormat: BodyFormat = format ?? 'json';
  let status = 200;
  // Every byte this request holds — wire body, decompressed body, decoded columns, Arrow —
  // is charged here as it is allocated (SEDIMENT_MAX_INFLIGHT_BYTES).
  const reservation = o.inflight.reserve();
  try {
    if (!o.auth.check(req.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer');
      throw new AcceptorError('unauthenticated', 'missing or invalid bearer token');
    }
    if (!format) {
      throw new AcceptorError(
        'unsupported_media_type',
        `unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}: use application/x-protobuf or application/json`,
      );
    }
    const encoding = parseContentEncoding(req.headers['content-encoding']);
    const lengthHeader = req.headers['content-length'];
    const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
    let wireBytes = 0;
    const raw = req.raw as IncomingMessage;
    raw.on('data', (c: Buffer) => {
      wireBytes += c.byteLength;
    });
    const body = await readBody(
      raw,
      encoding,
      { maxWireBytes: o.maxRequestBytes, maxBodyBytes: o.maxRequestBytes },
      Number.isFinite(contentLength) ? contentLength : undefined,
      { reservation, retryAfterMs: o.retryAfterMs },
    );
    o.metrics.receivedBytes.inc({ signal, protocol: 'http' }, wireBytes);
    o.metrics.decodedBytes.inc({ signal, protocol: 'http' }, body.byteLength);
    const outcome = await o.pipeline.export(signal, body, format, undefined, reservation);
    o.metrics.rows.inc({ signal }, outcome.rows);
    if (outcome.rejected > 0) o.metrics.rejectedItems.inc({ signal }, outcome.rejected);
    const partial =
      outcome.rejected > 0 || outcome.rejectedMessage
        ? { rejected: outcome.rejected, errorMessage: outcome.rejectedMessage ?? '' }
        : undefined;
    return reply
      .code(200)
      .type(CONTENT_TYPES[format])
      .send(Buffer.from(encodeExportResponse(signal, format, partial)));
  } catch (err) {
    const error = asAcceptorError(err, o.logger);
    const replyStatus = REPLY_STATUS[error.kind];
    status = replyStatus.httpStatus;
    const retryDelayMs = replyStatus.retryable ? (error.retryAfterMs ?? 1000) : undefined;
    if (retryDelayMs !== undefined) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(retryDelayMs / 1000))));
    }
    // Refused before the body was all in. A retryable refusal (the in-flight limit) keeps
    // reading the rest, discarded, on an open connection: closing it while the client is
    // still sending reaches the client, as often as not, as a reset (EPIPE) instead of the
    // 503 — a network error with no retry delay. The others close the connection.
    const unread = !req.raw.complete;
    if (unread && retryDelayMs !== undefined) discardRest(req.raw);
    if (
      status === 413 ||
      status === 401 ||
      status === 415 ||
      (unread && retryDelayMs === undefined)
    ) {
      // The body was not (fully) read: do not keep a connection with unread bytes.
      reply.header('connection', 'close');
    }
    return reply
      .code(status)
      .type(CONTENT_TYPES[replyFormat])
      .send(
        Buffer.from(
          encodeRpcStatus(
            {
              code: replyStatus.grpcCode,
              message: error.message,
              ...(retryDelayMs === undefined ? {} : { retryDelayMs }),
            },
            replyFormat,
          ),
        ),
      );
  } finally {
    reservation.release();
    o.metrics.requests.inc({ signal, protocol: 'http', status: String(status) });
    o.metrics.duration.observe({ signal, protocol: 'http' }, (performance.now() - started) / 1000);
  }
}

function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  const allow = (origin: string | undefined) =>
    origin !== undefined && (any || allowed.has(origin));
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (!allow(origin)) return;
    reply.header('access-control-allow-origin', any ? '*' : origin!);
    if (!any) reply.header('vary', 'Origin');
    reply.header('access-control-expose-headers', 'Retry-After');
  });
  for (const def of Object.values(SIGNALS)) {
    app.options(def.path, async (req, reply) => {
      if (!allow(req.headers.origin)) return reply.code(403).send();
      return reply
        .code(204)
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header(
          'access-control-allow-headers',
          req.headers['access-control-request-headers'] ??
            'Content-Type, Content-Encoding, Authorization',
        )
        .header('access-control-max-age', '7200')
        .send();
    });
  }
}

const CLIENT_ERRORS: Record<
  string,
  { status: number; reason: string; code: number; message: string }
> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    code: 8, // RESOURCE_EXHAUSTED
    message: 'request headers exceed the limit (SEDIMENT_MAX_HEADER_SIZE)',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    code: 4, // DEADLINE_EXCEEDED
    message: 'request not received in full in time (SEDIMENT_REQUEST_TIMEOUT)',
  },
};

/**
 * Node's HTTP parser refused the bytes on a connection (malformed request line, header or
 * chunk; headers over maxHeaderSize; request timeout): answer with a google.rpc.Status
 * JSON body like every other OTLP error, then close the connection (its framing is lost).
 * Nothing is written when a response already started on the socket.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[err.code ?? ''] ?? {
    status: 400,
    reason: 'Bad Request',
    code: 3, // INVALID_ARGUMENT
    message: `malformed HTTP request (${err.code ?? 'parse error'})`,
  };
  const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || pending?.headersSent) {
    if (!socket.writableEnded) socket.destroy();
    return;
  }
  const body = JSON.stringify({ code: known.code, message: known.message });
  socket.end(
    `HTTP/1.1 ${known.status} ${known.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // Close once the reply is flushed (or after 5 s if the peer does not read it).
  socket.once('finish', () => socket.destroy());
  const timer = setTimeout(() => socket.destroy(), 5_000);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** Reads and discards what is left of a request body (the request timeout bounds it). */
function discardRest(stream: IncomingMessage): void {
  if (stream.destroyed) return;
  stream.on('error', () => {});
  stream.resume();
}
