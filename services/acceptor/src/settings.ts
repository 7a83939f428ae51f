import { setting } from '@sediment/config';
import { IPC_COMPRESSIONS } from '@sediment/otlp';
import { logLevelSetting } from '@sediment/service-kit';

/**
 * Every setting the acceptor reads. The parser, `--help` and the README's configuration
 * reference are generated from these definitions.
 */
export const acceptorSettings = {
  host: setting.string({
    env: 'SEDIMENT_HOST',
    default: '0.0.0.0',
    description: 'Address the OTLP ports bind to.',
    services: ['acceptor', 'start'],
  }),
  grpcPort: setting.port({
    env: 'SEDIMENT_GRPC_PORT',
    default: 4317,
    description: 'OTLP/gRPC port (TraceService, MetricsService, LogsService).',
    services: ['acceptor', 'start'],
  }),
  httpPort: setting.port({
    env: 'SEDIMENT_HTTP_PORT',
    default: 4318,
    description:
      'OTLP/HTTP port (POST /v1/traces, /v1/metrics, /v1/logs; protobuf and JSON). Also serves /healthz, /readyz and /metrics unless SEDIMENT_ADMIN_PORT is set.',
    services: ['acceptor', 'start'],
  }),
  adminPort: setting.port({
    env: 'SEDIMENT_ADMIN_PORT',
    description:
      'Serve /healthz, /readyz and /metrics on this separate port instead of the OTLP/HTTP port.',
    services: ['acceptor', 'start'],
  }),
  writers: setting.list({
    env: 'SEDIMENT_WRITERS',
    default: ['127.0.0.1:8815'],
    description:
      'Writer Flight endpoints: host:port list (load spread round-robin, failover when one is down) or one dns:///name:port (Kubernetes headless service; grpc-js round_robin over its addresses).',
    services: ['acceptor'],
  }),
  writerTimeout: setting.duration({
    env: 'SEDIMENT_WRITER_TIMEOUT',
    default: 8_000,
    min: 100,
    description:
      "Deadline for a writer to make a request durable; past it the client gets UNAVAILABLE / 503 and retries. Below the OTLP exporters' 10 s default timeout, so they get the retry hint before they give up; gRPC calls also answer a margin before their own deadline.",
    services: ['acceptor', 'start'],
  }),
  flightCompression: setting.oneOf(IPC_COMPRESSIONS, {
    env: 'SEDIMENT_FLIGHT_COMPRESSION',
    default: 'zstd',
    description:
      'Body compression of the Arrow IPC sent to writers: zstd (Arrow body compression at SEDIMENT_FLIGHT_ZSTD_LEVEL: span batches are 5x smaller on the wire and in the queue at level 1; writers check the decompressed form) or none (also for queue consumers that read only plain Arrow bodies). Writers older than this setting refuse zstd puts: upgrade writers first.',
    services: ['acceptor', 'start'],
  }),
  flightZstdLevel: setting.int({
    env: 'SEDIMENT_FLIGHT_ZSTD_LEVEL',
    default: 1,
    min: -7,
    max: 19,
    description:
      "zstd level of the Flight bodies when SEDIMENT_FLIGHT_COMPRESSION is zstd (-7 to 19; 0 is zstd's default, 3). Level 1: span batches 5.3x smaller. Negative levels skip entropy coding: at -1 the acceptor compresses 2.6x faster and writers and the collector decompress 3x faster, but the queue holds 1.6x the bytes, and end to end on 2 cores that measured no faster (the writer spends more write(2) time and memory on the bytes): lower it only where acceptors are short of CPU and bytes are cheap. Writers read any level.",
    services: ['acceptor', 'start'],
  }),
  decodeThreads: setting.int({
    env: 'SEDIMENT_DECODE_THREADS',
    default: 2,
    min: 0,
    max: 64,
    description:
      'Threads that decode OTLP requests into Arrow and encode the IPC for writers (most of the acceptor CPU), so the event loop only moves bytes; 0 decodes on the event loop. Two on 2 cores shared with a writer: a burst of requests is decoded twice as fast (+5-13% spans/s and a shorter p99 than one thread; about +45 MiB RSS per thread); raise it on larger machines. Each thread keeps its own reusable column buffers.',
    services: ['acceptor', 'start'],
  }),
  writerToken: setting.string({
    env: 'SEDIMENT_WRITER_TOKEN',
    description:
      'Bearer token the acceptor presents to writers (one of their SEDIMENT_FLIGHT_TOKENS).',
    services: ['acceptor', 'start'],
    secret: true,
  }),
  writerTlsCa: setting.string({
    env: 'SEDIMENT_WRITER_TLS_CA',
    description: 'PEM CA bundle to verify writers: when set, Flight connections use TLS.',
    services: ['acceptor'],
  }),
  writerTlsCert: setting.string({
    env: 'SEDIMENT_WRITER_TLS_CERT',
    description: 'PEM client certificate presented to writers that require mTLS.',
    services: ['acceptor'],
  }),
  writerTlsKey: setting.string({
    env: 'SEDIMENT_WRITER_TLS_KEY',
    description: 'PEM private key of SEDIMENT_WRITER_TLS_CERT.',
    services: ['acceptor'],
  }),
  maxRequestSize: setting.bytes({
    env: 'SEDIMENT_MAX_REQUEST_SIZE',
    default: 32 * 1024 * 1024,
    min: 1024,
    description:
      'Largest OTLP request, checked on the wire AND after decompression (413 / RESOURCE_EXHAUSTED beyond it).',
    services: ['acceptor', 'start'],
  }),
  maxInflightBytes: setting.bytes({
    env: 'SEDIMENT_MAX_INFLIGHT_BYTES',
    default: 256 * 1024 * 1024,
    min: 1024,
    description:
      'Bound on request bytes held while waiting for durable acks; beyond it requests get 503 / UNAVAILABLE + Retry-After.',
    services: ['acceptor', 'start'],
  }),
  retryAfter: setting.duration({
    env: 'SEDIMENT_RETRY_AFTER',
    default: 1000,
    min: 0,
    description: 'Delay suggested to clients in Retry-After / RetryInfo on retryable errors.',
    services: ['acceptor', 'start'],
  }),
  authTokens: setting.list({
    env: 'SEDIMENT_AUTH_TOKENS',
    description:
      'Bearer tokens accepted on both OTLP ports (comma-separated; Authorization: Bearer <token>). Unset: no authentication.',
    services: ['acceptor', 'start'],
    secret: true,
  }),
  tlsCert: setting.string({
    env: 'SEDIMENT_TLS_CERT',
    description: 'PEM certificate file: enables TLS on both OTLP ports (with SEDIMENT_TLS_KEY).',
    services: ['acceptor', 'start'],
  }),
  tlsKey: setting.string({
    env: 'SEDIMENT_TLS_KEY',
    description: 'PEM private key file for SEDIMENT_TLS_CERT.',
    services: ['acceptor', 'start'],
  }),
  tlsClientCa: setting.string({
    env: 'SEDIMENT_TLS_CLIENT_CA',
    description:
      'PEM CA bundle: when set, OTLP clients must present a certificate it signed (mTLS).',
    services: ['acceptor', 'start'],
  }),
  corsOrigins: setting.list({
    env: 'SEDIMENT_CORS_ORIGINS',
    description:
      'Origins allowed to POST OTLP/HTTP from browsers (comma-separated, * for any). Unset: no CORS headers.',
    services: ['acceptor', 'start'],
  }),
  grpcMaxConcurrentStreams: setting.int({
    env: 'SEDIMENT_GRPC_MAX_CONCURRENT_STREAMS',
    default: 256,
    min: 1,
    description: 'HTTP/2 concurrent streams per gRPC connection.',
    services: ['acceptor', 'start'],
  }),
  maxConnections: setting.int({
    env: 'SEDIMENT_MAX_CONNECTIONS',
    default: 4096,
    min: 1,
    description:
      'Concurrent TCP connections per OTLP port (gRPC and HTTP each); more are closed as soon as they are accepted.',
    services: ['acceptor', 'start'],
  }),
  maxHeaderSize: setting.bytes({
    env: 'SEDIMENT_MAX_HEADER_SIZE',
    default: 16 * 1024,
    min: 1024,
    description:
      'Largest request header block on both OTLP ports: HTTP request line + headers (431 beyond), gRPC metadata counted as name + value + 32 bytes per entry (RESOURCE_EXHAUSTED beyond).',
    services: ['acceptor', 'start'],
  }),
  requestTimeout: setting.duration({
    env: 'SEDIMENT_REQUEST_TIMEOUT',
    default: 60_000,
    min: 1000,
    description:
      'Longest a client may take to send one whole request (headers and body; 408 / DEADLINE_EXCEEDED beyond) and a new gRPC connection to start HTTP/2. Bounds slow-sending clients; the wait for the writer is not included.',
    services: ['acceptor', 'start'],
  }),
  keepaliveTime: setting.duration({
    env: 'SEDIMENT_KEEPALIVE_TIME',
    default: 60_000,
    min: 1000,
    description: 'gRPC server keepalive ping interval.',
    services: ['acceptor', 'start'],
  }),
  logLevel: logLevelSetting,
} as const;
