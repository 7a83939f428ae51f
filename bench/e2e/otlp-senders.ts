/**
 * The two OTLP/traces transports the load generator drives: gRPC unary Export with
 * pass-through serializers (the bytes go out as they are) and HTTP POST
 * application/x-protobuf over keep-alive connections. Each `send` resolves with an
 * outcome; it never rejects.
 */
import http from 'node:http';
import http2 from 'node:http2';
import {
  type ChannelOptions,
  Client,
  credentials,
  status as GrpcStatus,
  Metadata,
  type ServiceError,
} from '@sediment/flight/grpc-js';

export type SendOutcome =
  | { readonly ok: true; readonly rejected: number }
  | { readonly ok: false; readonly status: string; readonly retryable: boolean };

export interface OtlpSender {
  send(body: Buffer, timeoutMs: number): Promise<SendOutcome>;
  close(): void;
}

const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const identity = (b: Buffer) => b;

/**
 * `rejected_spans` of an ExportTraceServiceResponse (partial_success = field 1,
 * rejected_spans = field 1 inside it); 0 for an empty reply. Only what a load generator
 * needs: a reply it cannot read counts as fully accepted.
 */
export function rejectedSpans(reply: Uint8Array): number {
  let pos = 0;
  const varint = (end: number): number => {
    let v = 0;
    let mul = 1;
    while (pos < end) {
      const b = reply[pos++]!;
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
    return v;
  };
  while (pos < reply.length) {
    const tag = varint(reply.length);
    const wire = tag & 7;
    if (wire === 2) {
      const len = varint(reply.length);
      const end = Math.min(reply.length, pos + len);
      if (tag >>> 3 === 1) {
        while (pos < end) {
          const t = varint(end);
          if (t === 0x08) return varint(end);
          if ((t & 7) === 2) pos += varint(end);
          else if ((t & 7) === 0) varint(end);
          else return 0;
        }
      }
      pos = end;
    } else if (wire === 0) {
      varint(reply.length);
    } else {
      return 0;
    }
  }
  return 0;
}

const RETRYABLE_GRPC = new Set<number>([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.ABORTED,
  GrpcStatus.CANCELLED,
]);

/** The outcome of a call that ended with gRPC status `code` (not OK). */
function grpcFailure(code: number): SendOutcome {
  return {
    ok: false,
    status: GrpcStatus[code] ?? String(code),
    retryable: RETRYABLE_GRPC.has(code),
  };
}

export interface GrpcSenderOptions {
  /** `host:port`. */
  readonly address: string;
  /** Separate HTTP/2 connections; calls are spread over them round-robin. Default 1. */
  readonly connections?: number;
  /** `grpc-node.flow_control_window` (HTTP/2 receive window of the client). */
  readonly flowControlWindow?: number;
}

export function createGrpcSender(options: GrpcSenderOptions): OtlpSender & {
  waitForReady(deadlineMs: number): Promise<void>;
} {
  const channelOptions: ChannelOptions = {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    // One connection per Client, not one shared by every Client to the same address.
    'grpc.use_local_subchannel_pool': 1,
  };
  if (options.flowControlWindow !== undefined) {
    channelOptions['grpc-node.flow_control_window'] = options.flowControlWindow;
  }
  const clients = Array.from(
    { length: Math.max(1, options.connections ?? 1) },
    () => new Client(options.address, credentials.createInsecure(), channelOptions),
  );
  let next = 0;
  return {
    async waitForReady(deadlineMs) {
      await Promise.all(
        clients.map(
          (c) =>
            new Promise<void>((resolve, reject) =>
              c.waitForReady(Date.now() + deadlineMs, (err) => (err ? reject(err) : resolve())),
            ),
        ),
      );
    },
    send(body, timeoutMs) {
      const client = clients[next++ % clients.length]!;
      return new Promise<SendOutcome>((resolve) => {
        client.makeUnaryRequest(
          TRACE_EXPORT_PATH,
          identity,
          identity,
          body,
          new Metadata(),
          { deadline: Date.now() + timeoutMs },
          (err: ServiceError | null, reply?: Buffer) => {
            if (err) {
              resolve(grpcFailure(err.code));
            } else {
              resolve({ ok: true, rejected: reply ? rejectedSpans(reply) : 0 });
            }
          },
        );
      });
    },
    close() {
      for (const c of clients) c.close();
    },
  };
}

/**
 * OTLP/gRPC unary Export over node:http2 directly: one stream per call with the gRPC
 * framing written by hand (5-byte prefix, `grpc-timeout`, status from the trailers, or
 * from the headers of a trailers-only reply). It sends exactly the bytes the grpc-js
 * sender does, for about a third of its CPU, so the generator takes less of the 2 cores
 * the benchmark shares (a Collector's grpc-go exporter is lean in the same way). A broken
 * connection is replaced on the next call.
 */
export function createHttp2GrpcSender(options: GrpcSenderOptions): OtlpSender & {
  waitForReady(deadlineMs: number): Promise<void>;
} {
  const authority = `http://${options.address}`;
  const connect = () => {
    const session = http2.connect(authority, {
      settings: { initialWindowSize: options.flowControlWindow ?? 4 * 1024 * 1024 },
    });
    session.on('error', () => {}); // its streams report it; the next call reconnects
    return session;
  };
  const sessions = Array.from({ length: Math.max(1, options.connections ?? 1) }, connect);
  let next = 0;
  const pick = (): http2.ClientHttp2Session => {
    const i = next++ % sessions.length;
    let session = sessions[i]!;
    if (session.closed || session.destroyed) {
      session = connect();
      sessions[i] = session;
    }
    return session;
  };
  return {
    async waitForReady(deadlineMs) {
      await Promise.all(
        sessions.map(
          (s) =>
            new Promise<void>((resolve, reject) => {
              if (s.connecting === false) return resolve();
              const timer = setTimeout(
                () => reject(new Error(`no HTTP/2 connection to ${options.address}`)),
                deadlineMs,
              );
              s.once('connect', () => {
                clearTimeout(timer);
                resolve();
              });
              s.once('error', (err) => {
                clearTimeout(timer);
                reject(err);
              });
            }),
        ),
      );
    },
    send(body, timeoutMs) {
      return new Promise<SendOutcome>((resolve) => {
        let settled = false;
        const done = (o: SendOutcome) => {
          if (settled) return;
          settled = true;
          resolve(o);
        };
        let stream: http2.ClientHttp2Stream;
        try {
          stream = pick().request({
            ':method': 'POST',
            ':path': TRACE_EXPORT_PATH,
            'content-type': 'application/grpc',
            te: 'trailers',
            'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
          });
        } catch {
          done({ ok: false, status: 'connection error', retryable: true });
          return;
        }
        const prefix = Buffer.allocUnsafe(5);
        prefix[0] = 0;
        prefix.writeUInt32BE(body.byteLength, 1);
        stream.write(prefix);
        stream.end(body);
        const chunks: Buffer[] = [];
        let grpcStatus: number | undefined;
        let httpStatus = 0;
        const statusOf = (h: http2.IncomingHttpHeaders) => {
          const v = h['grpc-status'];
          if (typeof v === 'string') grpcStatus = Number(v);
        };
        stream.on('response', (h) => {
          httpStatus = Number(h[':status'] ?? 0);
          statusOf(h); // trailers-only reply
        });
        stream.on('trailers', statusOf);
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.setTimeout(timeoutMs + 1_000, () => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          done({ ok: false, status: 'DEADLINE_EXCEEDED', retryable: true });
        });
        stream.on('error', () => done({ ok: false, status: 'stream error', retryable: true }));
        stream.on('close', () => {
          if (grpcStatus === GrpcStatus.OK) {
            // One length-prefixed message: the ExportTraceServiceResponse.
            const reply = Buffer.concat(chunks);
            done({ ok: true, rejected: rejectedSpans(reply.subarray(5)) });
          } else if (grpcStatus !== undefined) {
            done(grpcFailure(grpcStatus));
          } else {
            done({
              ok: false,
              status: httpStatus === 0 ? 'stream reset' : `HTTP ${httpStatus}`,
              retryable: true,
            });
          }
        });
      });
    },
    close() {
      for (const s of sessions) s.close();
    },
  };
}

export interface HttpSenderOptions {
  readonly host: string;
  readonly port: number;
  /** Keep-alive sockets (≥ the concurrency, so no request queues in the agent). */
  readonly sockets: number;
  readonly path?: string;
}

export function createHttpSender(options: HttpSenderOptions): OtlpSender {
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: options.sockets,
    maxFreeSockets: options.sockets,
  });
  const path = options.path ?? '/v1/traces';
  return {
    send(body, timeoutMs) {
      return new Promise<SendOutcome>((resolve) => {
        let settled = false;
        const done = (o: SendOutcome) => {
          if (!settled) {
            settled = true;
            resolve(o);
          }
        };
        const req = http.request(
          {
            agent,
            host: options.host,
            port: options.port,
            method: 'POST',
            path,
            headers: {
              'content-type': 'application/x-protobuf',
              'content-length': body.byteLength,
            },
            timeout: timeoutMs,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const code = res.statusCode ?? 0;
              if (code === 200) {
                done({ ok: true, rejected: rejectedSpans(Buffer.concat(chunks)) });
              } else {
                done({
                  ok: false,
                  status: `HTTP ${code}`,
                  retryable: code === 429 || code === 502 || code === 503 || code === 504,
                });
              }
            });
            res.on('error', () => done({ ok: false, status: 'response error', retryable: true }));
          },
        );
        req.on('timeout', () => {
          req.destroy();
          done({ ok: false, status: 'timeout', retryable: true });
        });
        req.on('error', (err: NodeJS.ErrnoException) =>
          done({ ok: false, status: err.code ?? 'request error', retryable: true }),
        );
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
