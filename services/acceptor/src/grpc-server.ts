import {
  type ChannelOptions,
  Metadata,
  Server,
  type ServerUnaryCall,
  ServerCredentials,
  type sendUnaryData,
  type ServiceDefinition,
  type StatusObject,
} from '@grpc/grpc-js';
import { encodeExportResponse, encodeRpcStatus } from '@sediment/otlp';
import type { Logger } from '@sediment/service-kit';
import type { TokenAuthenticator } from './auth.js';
import { AcceptorError } from './errors.js';
import type { ExportPipeline } from './export-pipeline.js';
import type { AcceptorMetrics } from './metrics.js';
import { grpcCodeName, REPLY_STATUS } from './reply-status.js';
import { SIGNALS, type Signal } from './signals.js';

export interface GrpcServerOptions {
  readonly pipeline: ExportPipeline;
  readonly auth: TokenAuthenticator;
  readonly metrics: AcceptorMetrics;
  readonly logger: Logger;
  readonly maxRequestBytes: number;
  readonly maxConcurrentStreams: number;
  readonly keepaliveTimeMs: number;
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

/**
 * OTLP/gRPC: TraceService, MetricsService and LogsService `Export`, with pass-through
 * serializers so the request bytes go straight to the Arrow decoder. grpc-js handles
 * `grpc-encoding: gzip/deflate` and enforces the message size limit (after
 * decompression: a compressed bomb is refused with RESOURCE_EXHAUSTED).
 */
export class OtlpGrpcServer {
  readonly #o: GrpcServerOptions;
  readonly #server: Server;

  constructor(options: GrpcServerOptions) {
    this.#o = options;
    const channelOptions: ChannelOptions = {
      'grpc.max_receive_message_length': options.maxRequestBytes,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      'grpc.max_concurrent_streams': options.maxConcurrentStreams,
      'grpc.keepalive_time_ms': options.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    };
    this.#server = new Server(channelOptions);
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

  /** Stops accepting calls and waits for those in flight (then forces after `timeoutMs`). */
  async close(timeoutMs = 30_000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, timeoutMs);
      timer.unref();
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  forceClose(): void {
    this.#server.forceShutdown();
  }

  async #export(
    signal: Signal,
    call: ServerUnaryCall<Buffer, Buffer>,
    callback: sendUnaryData<Buffer>,
  ): Promise<void> {
    const { pipeline, auth, metrics, logger } = this.#o;
    const started = performance.now();
    const body = call.request;
    metrics.receivedBytes.inc({ signal, protocol: 'grpc' }, body.byteLength);
    metrics.decodedBytes.inc({ signal, protocol: 'grpc' }, body.byteLength);
    let status = 'OK';
    try {
      const authorization = call.metadata.get('authorization')[0];
      if (!auth.check(typeof authorization === 'string' ? authorization : undefined)) {
        throw new AcceptorError('unauthenticated', 'missing or invalid bearer token');
      }
      const deadline = call.getDeadline();
      const remaining =
        deadline instanceof Date
          ? deadline.getTime() - Date.now()
          : Number.isFinite(deadline)
            ? Number(deadline) - Date.now()
            : undefined;
      const outcome = await pipeline.export(signal, body, 'protobuf', remaining);
      metrics.rows.inc({ signal }, outcome.rows);
      if (outcome.rejected > 0) metrics.rejectedItems.inc({ signal }, outcome.rejected);
      const partial =
        outcome.rejected > 0 || outcome.rejectedMessage
          ? { rejected: outcome.rejected, errorMessage: outcome.rejectedMessage ?? '' }
          : undefined;
      callback(null, Buffer.from(encodeExportResponse(signal, 'protobuf', partial)));
    } catch (err) {
      const error = asAcceptorError(err, logger);
      const reply = REPLY_STATUS[error.kind];
      status = grpcCodeName(reply.grpcCode);
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
      const failure: Partial<StatusObject> = {
        code: reply.grpcCode,
        details: error.message,
        metadata,
      };
      callback(failure, null);
    } finally {
      metrics.requests.inc({ signal, protocol: 'grpc', status });
      metrics.duration.observe({ signal, protocol: 'grpc' }, (performance.now() - started) / 1000);
    }
  }
}

/** Errors that are not AcceptorErrors are bugs: logged with detail, answered as internal. */
export function asAcceptorError(err: unknown, logger: Logger): AcceptorError {
  if (err instanceof AcceptorError) return err;
  logger.error({ err }, 'unexpected error while handling an export');
  return new AcceptorError('internal', 'internal error', { cause: err });
}
