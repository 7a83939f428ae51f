/**
 * Null OTLP sink: OTLP/gRPC (TraceService, MetricsService, LogsService Export) and
 * OTLP/HTTP (POST /v1/{traces,metrics,logs}) servers that read each request fully and
 * answer OK with an empty Export…Response WITHOUT decoding or storing anything. It is the
 * baseline of the end-to-end benchmark: the cost of the transport (and of the load
 * generator) alone, measured in the same run on the same ports.
 *
 * gRPC uses the acceptor's grpc-js server options and HTTP/2 windows (those of its default
 * SEDIMENT_MAX_REQUEST_SIZE); HTTP is plain node:http (no
 * framework), so the ratio against it includes everything the acceptor adds.
 *
 *   node scripts/run-ts.mjs bench/e2e/null-sink.ts [--host 127.0.0.1] [--grpc-port 4317]
 *     [--http-port 4318]        (prints one JSON line when listening; SIGTERM stops it)
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { tuneGrpcServerHttp2 } from '@sediment/flight';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
} from '@sediment/flight/grpc-js';

export interface NullSink {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Requests and request bytes received so far. */
  stats(): { requests: number; bytes: number };
  close(): Promise<void>;
}

const SERVICES = [
  'opentelemetry.proto.collector.trace.v1.TraceService',
  'opentelemetry.proto.collector.metrics.v1.MetricsService',
  'opentelemetry.proto.collector.logs.v1.LogsService',
];
const HTTP_PATHS = new Set(['/v1/traces', '/v1/metrics', '/v1/logs']);
const EMPTY = Buffer.alloc(0);
const passThrough = (b: Buffer) => b;

export async function startNullSink(
  options: { host?: string; grpcPort?: number; httpPort?: number } = {},
): Promise<NullSink> {
  const host = options.host ?? '127.0.0.1';
  let requests = 0;
  let bytes = 0;

  const grpc = new Server({
    'grpc.max_receive_message_length': 32 * 1024 * 1024,
    'grpc.max_concurrent_streams': 256,
  });
  // The acceptor's windows at its default 32 MiB request limit (otlpHttp2Tuning): the
  // Flight defaults. Without them the baseline would pay for round trips Sediment does not.
  if (!tuneGrpcServerHttp2(grpc)) throw new Error('this grpc-js cannot take the HTTP/2 tuning');
  for (const service of SERVICES) {
    grpc.addService(
      {
        Export: {
          path: `/${service}/Export`,
          requestStream: false,
          responseStream: false,
          requestSerialize: passThrough,
          requestDeserialize: passThrough,
          responseSerialize: passThrough,
          responseDeserialize: passThrough,
        },
      },
      {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          requests++;
          bytes += call.request.byteLength;
          callback(null, EMPTY);
        },
      },
    );
  }
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync(
      `${host}:${options.grpcPort ?? 4317}`,
      ServerCredentials.createInsecure(),
      (err, port) => (err ? reject(err) : resolve(port)),
    ),
  );

  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const known = req.method === 'POST' && HTTP_PATHS.has(req.url ?? '');
    req.on('data', (c: Buffer) => {
      bytes += c.byteLength;
    });
    req.on('end', () => {
      if (known) requests++;
      res.writeHead(known ? 200 : 404, {
        'content-type': 'application/x-protobuf',
        'content-length': 0,
      });
      res.end();
    });
  });
  server.listen(options.httpPort ?? 4318, host);
  await once(server, 'listening');
  const httpPort = (server.address() as AddressInfo).port;

  return {
    grpcPort,
    httpPort,
    stats: () => ({ requests, bytes }),
    async close() {
      await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const get = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sink = await startNullSink({
    host: get('host') ?? '127.0.0.1',
    grpcPort: Number(get('grpc-port') ?? 4317),
    httpPort: Number(get('http-port') ?? 4318),
  });
  process.stdout.write(
    `${JSON.stringify({ type: 'listening', pid: process.pid, grpcPort: sink.grpcPort, httpPort: sink.httpPort })}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const s = sink.stats();
  await sink.close();
  process.stdout.write(`${JSON.stringify({ type: 'closed', ...s })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
