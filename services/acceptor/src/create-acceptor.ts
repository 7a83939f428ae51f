import { readFileSync } from 'node:fs';
import { FlightClient } from '@sediment/flight';
import {
  type AdminServer,
  createLogger,
  createRegistry,
  type Logger,
  type Readiness,
  startAdminServer,
} from '@sediment/service-kit';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { TokenAuthenticator } from './auth.js';
import type { AcceptorConfig } from './config.js';
import { ExportPipeline } from './export-pipeline.js';
import { OtlpGrpcServer } from './grpc-server.js';
import { createOtlpHttpServer } from './http-server.js';
import { InflightBytes } from './inflight.js';
import { AcceptorMetrics } from './metrics.js';

export interface AcceptorOverrides {
  readonly logger?: Logger;
  readonly registry?: Registry;
}

export interface Acceptor extends AsyncDisposable {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Separate admin port when SEDIMENT_ADMIN_PORT is set; else the HTTP port. */
  readonly adminPort: number;
  readonly registry: Registry;
  readonly logger: Logger;
  readiness(): Promise<Readiness>;
  /** SIGTERM path: stop accepting, finish requests in flight (their acks), close. Idempotent. */
  drain(): Promise<void>;
  /** Stops at once; requests in flight fail (clients retry). Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds and starts an acceptor: OTLP/gRPC and OTLP/HTTP servers whose OK replies are
 * sent only once a writer has made the data durable, with auth, TLS, body limits and an
 * in-flight bound.
 */
export async function createAcceptor(
  config: AcceptorConfig,
  overrides: AcceptorOverrides = {},
): Promise<Acceptor> {
  const logger = overrides.logger ?? createLogger({ name: 'acceptor', level: config.logLevel });
  const registry = overrides.registry ?? createRegistry('acceptor');
  const inflight = new InflightBytes(config.maxInflightBytes);
  const metrics = new AcceptorMetrics(registry, () => inflight.current);
  const auth = new TokenAuthenticator(config.authTokens);
  const tls = readTls(config.tlsCert, config.tlsKey, config.tlsClientCa, 'SEDIMENT_TLS');
  if (config.writerTlsCert && !config.writerTlsKey) {
    throw new Error('SEDIMENT_WRITER_TLS_CERT needs SEDIMENT_WRITER_TLS_KEY');
  }

  const flight = new FlightClient({
    targets: [...config.writers],
    loadBalancing: 'round_robin',
    defaultDeadlineMs: config.writerTimeout,
    ...(config.writerToken ? { token: config.writerToken } : {}),
    ...(config.writerTlsCa || config.writerTlsCert
      ? {
          tls: {
            ...(config.writerTlsCa ? { ca: readFileSync(config.writerTlsCa) } : {}),
            ...(config.writerTlsCert && config.writerTlsKey
              ? { cert: readFileSync(config.writerTlsCert), key: readFileSync(config.writerTlsKey) }
              : {}),
          },
        }
      : {}),
    logger: logger.child({ component: 'flight' }),
  });
  void flight.waitForReady(Date.now() + 5_000); // connect early

  let state: 'running' | 'draining' | 'closed' = 'running';
  const readiness = async (): Promise<Readiness> => {
    if (state !== 'running') return { ready: false, reason: `acceptor is ${state}` };
    if (flight.isReady() || (await flight.waitForReady(Date.now() + 1_000))) return { ready: true };
    return { ready: false, reason: `no writer reachable at ${config.writers.join(', ')}` };
  };
  const adminRoutes = { registry, ready: readiness };

  const pipeline = new ExportPipeline({
    flight,
    inflight,
    metrics,
    logger: logger.child({ component: 'export' }),
    writerTimeoutMs: config.writerTimeout,
    retryAfterMs: config.retryAfter,
    ipc: { compression: config.flightCompression, zstdLevel: config.flightZstdLevel },
    decodeThreads: config.decodeThreads,
  });
  const grpc = new OtlpGrpcServer({
    pipeline,
    auth,
    metrics,
    logger,
    inflight,
    maxRequestBytes: config.maxRequestSize,
    maxConcurrentStreams: config.grpcMaxConcurrentStreams,
    maxConnections: config.maxConnections,
    maxHeaderBytes: config.maxHeaderSize,
    requestTimeoutMs: config.requestTimeout,
    keepaliveTimeMs: config.keepaliveTime,
    retryAfterMs: config.retryAfter,
    ...(tls ? { tls } : {}),
  });
  let http: FastifyInstance | undefined;
  let admin: AdminServer | undefined;
  let grpcPort: number;
  let httpPort: number;
  try {
    // Decode threads load before the ports open: no request waits for them.
    await pipeline.ready();
    grpcPort = await grpc.listen(config.host, config.grpcPort);
    http = await createOtlpHttpServer({
      pipeline,
      auth,
      metrics,
      logger,
      inflight,
      retryAfterMs: config.retryAfter,
      maxRequestBytes: config.maxRequestSize,
      maxConnections: config.maxConnections,
      maxHeaderBytes: config.maxHeaderSize,
      requestTimeoutMs: config.requestTimeout,
      corsOrigins: config.corsOrigins,
      admin: config.adminPort === undefined ? adminRoutes : undefined,
      ...(tls ? { tls } : {}),
    });
    await http.listen({ host: config.host, port: config.httpPort });
    httpPort = (http.server.address() as { port: number }).port;
    if (config.adminPort !== undefined) {
      admin = await startAdminServer({ host: config.host, port: config.adminPort, ...adminRoutes });
    }
  } catch (err) {
    grpc.forceClose();
    await http?.close();
    await pipeline.close();
    await flight.close();
    throw err;
  }

  logger.info(
    {
      grpcPort,
      httpPort,
      adminPort: admin?.port ?? httpPort,
      writers: config.writers,
      tls: tls !== undefined,
      mtls: tls?.clientCa !== undefined,
      auth: auth.enabled,
    },
    'acceptor started: OTLP gRPC and HTTP accepting; replies are sent once writers made the data durable',
  );

  let closing: Promise<void> | undefined;
  const shutdown = (graceful: boolean): Promise<void> => {
    closing ??= (async () => {
      state = graceful ? 'draining' : 'closed';
      if (graceful) {
        logger.info('draining: no new requests; finishing those in flight');
        await Promise.all([grpc.close(), http?.close()]);
      } else {
        grpc.forceClose();
        await http?.close();
      }
      await admin?.close();
      await pipeline.close();
      await flight.close();
      state = 'closed';
      logger.info('acceptor stopped');
    })();
    return closing;
  };

  return {
    grpcPort,
    httpPort,
    adminPort: admin?.port ?? httpPort,
    registry,
    logger,
    readiness,
    drain: () => shutdown(true),
    close: () => shutdown(false),
    [Symbol.asyncDispose]: () => shutdown(false),
  };
}

function readTls(
  cert: string | undefined,
  key: string | undefined,
  clientCa: string | undefined,
  prefix: string,
): { cert: Buffer; key: Buffer; clientCa?: Buffer } | undefined {
  if (!cert && !key) {
    if (clientCa) throw new Error(`${prefix}_CLIENT_CA needs ${prefix}_CERT and ${prefix}_KEY`);
    return undefined;
  }
  if (!cert || !key) throw new Error(`${prefix}_CERT and ${prefix}_KEY must be set together`);
  return {
    cert: readFileSync(cert),
    key: readFileSync(key),
    ...(clientCa ? { clientCa: readFileSync(clientCa) } : {}),
  };
}
