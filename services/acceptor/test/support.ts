/**
 * Test support for the acceptor's service tests: a real writer (in-process, real Flight
 * server, real store), a real acceptor, and raw clients that show exactly what goes over
 * the wire — grpc-js with pass-through serializers, a hand-made HTTP/2 gRPC call for what
 * grpc-js clients cannot send (unknown encodings, pre-compressed bombs), and node:http(s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ChannelCredentials,
  Client,
  credentials as grpcCredentials,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { LocalFsStore, type ObjectStore } from '@sediment/object-store';
import { createWriter, loadWriterConfig, type Writer } from '@sediment/writer';
import { decodeMessage, ProtoTypes, type Signal } from '../../../test/support/otlp-proto.js';
import { type Acceptor, createAcceptor, loadAcceptorConfig } from '../src/index.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const GRPC_PATHS: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

export const RESPONSE_TYPES = {
  traces: ProtoTypes.tracesResponse,
  metrics: ProtoTypes.metricsResponse,
  logs: ProtoTypes.logsResponse,
} as const;

/** gRPC status codes used in assertions (numbers are what goes on the wire). */
export const Code = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

// ---------------------------------------------------------------------------------------
// Writer and acceptor

const tempDirs: string[] = [];

/** A local-fs store in a fresh temporary directory (removed by `removeTempDirs`). */
export async function tempStore(): Promise<LocalFsStore> {
  const root = await mkdtemp(path.join(tmpdir(), 'sediment-acceptor-'));
  tempDirs.push(root);
  return new LocalFsStore({ root });
}

/** Registers a temporary directory for `removeTempDirs`. */
export function trackTempDir(dir: string): void {
  tempDirs.push(dir);
}

/** Removes the temporary directories made so far (call in afterAll, after closing). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A real writer (Flight server + ingestor + collector) on an ephemeral or given port. */
export async function startWriter(
  store: ObjectStore,
  env: Record<string, string> = {},
): Promise<Writer> {
  const config = loadWriterConfig({
    SEDIMENT_FLIGHT_HOST: '127.0.0.1',
    SEDIMENT_FLIGHT_PORT: '0',
    SEDIMENT_WRITER_ADMIN_PORT: '0',
    SEDIMENT_LOG_LEVEL: 'silent',
    SEDIMENT_STORE: 'memory:',
    SEDIMENT_FLUSH_INTERVAL: '20',
    ...env,
  });
  return createWriter(config, { store });
}

/** A real acceptor on ephemeral ports, quiet, forwarding to `writers`. */
export async function startAcceptor(
  writers: string,
  env: Record<string, string> = {},
): Promise<Acceptor> {
  return createAcceptor(
    loadAcceptorConfig({
      SEDIMENT_HOST: '127.0.0.1',
      SEDIMENT_GRPC_PORT: '0',
      SEDIMENT_HTTP_PORT: '0',
      SEDIMENT_LOG_LEVEL: 'silent',
      SEDIMENT_WRITERS: writers,
      ...env,
    }),
  );
}

/** A TCP port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------
// google.rpc.Status

export interface DecodedStatus {
  code: number;
  message: string;
  /** RetryInfo.retry_delay in ms when the details carry one. */
  retryDelayMs?: number;
  detailTypes: string[];
}

/** Decodes a google.rpc.Status (protobuf) with protobufjs, unpacking RetryInfo. */
export function decodeStatus(bytes: Uint8Array): DecodedStatus {
  const status = ProtoTypes.status.toObject(ProtoTypes.status.decode(bytes), {
    longs: Number,
    defaults: true,
  }) as {
    code: number;
    message: string;
    details: { type_url?: string; typeUrl?: string; value: Uint8Array }[];
  };
  const out: DecodedStatus = { code: status.code, message: status.message, detailTypes: [] };
  for (const any of status.details) {
    const typeUrl = any.type_url ?? any.typeUrl ?? '';
    out.detailTypes.push(typeUrl);
    if (typeUrl.endsWith('/google.rpc.RetryInfo')) {
      const info = ProtoTypes.retryInfo.toObject(ProtoTypes.retryInfo.decode(any.value), {
        longs: Number,
        defaults: true,
      }) as {
        retryDelay?: { seconds: number; nanos: number };
        retry_delay?: { seconds: number; nanos: number };
      };
      const delay = info.retryDelay ?? info.retry_delay;
      if (delay) out.retryDelayMs = delay.seconds * 1000 + delay.nanos / 1e6;
    }
  }
  return out;
}

/** Parses a google.rpc.Status in the proto3 JSON mapping, unpacking RetryInfo. */
export function parseJsonStatus(text: string): DecodedStatus {
  const status = JSON.parse(text) as {
    code: number;
    message: string;
    details?: { '@type': string; retryDelay?: string }[];
  };
  const out: DecodedStatus = {
    code: status.code,
    message: status.message,
    detailTypes: (status.details ?? []).map((d) => d['@type']),
  };
  const retry = status.details?.find((d) => d['@type'].endsWith('/google.rpc.RetryInfo'));
  if (retry?.retryDelay) out.retryDelayMs = Number.parseFloat(retry.retryDelay) * 1000;
  return out;
}

// ---------------------------------------------------------------------------------------
// gRPC

export interface GrpcReply {
  code: number;
  details: string;
  /** The Export…Response bytes on OK. */
  response?: Buffer;
  /** grpc-status-details-bin, decoded, when the server sent it. */
  status?: DecodedStatus;
}

const identity = (b: Buffer) => b;

/** A grpc-js client that sends raw request bytes to the OTLP services. */
export class GrpcOtlpClient {
  readonly #client: Client;

  constructor(
    port: number,
    options: {
      credentials?: ChannelCredentials;
      /** grpc-js channel options (compression, TLS name override, …). */
      channelOptions?: Record<string, string | number>;
      host?: string;
    } = {},
  ) {
    this.#client = new Client(
      `${options.host ?? '127.0.0.1'}:${port}`,
      options.credentials ?? grpcCredentials.createInsecure(),
      { 'grpc.use_local_subchannel_pool': 1, ...options.channelOptions },
    );
  }

  export(
    signal: Signal,
    body: Uint8Array,
    options: { token?: string; deadlineMs?: number; metadata?: Record<string, string> } = {},
  ): Promise<GrpcReply> {
    const metadata = new Metadata();
    if (options.token !== undefined) metadata.set('authorization', `Bearer ${options.token}`);
    for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
    return new Promise((resolve) => {
      this.#client.makeUnaryRequest(
        GRPC_PATHS[signal],
        identity,
        identity,
        Buffer.from(body),
        metadata,
        { deadline: Date.now() + (options.deadlineMs ?? 30_000) },
        (err: ServiceError | null, value?: Buffer) => {
          if (!err) {
            resolve({ code: Code.OK, details: '', response: value ?? Buffer.alloc(0) });
            return;
          }
          const bin = err.metadata?.get('grpc-status-details-bin')[0];
          resolve({
            code: err.code,
            details: err.details,
            ...(Buffer.isBuffer(bin) ? { status: decodeStatus(bin) } : {}),
          });
        },
      );
    });
  }

  close(): void {
    this.#client.close();
  }
}

export interface RawGrpcReply {
  httpStatus: number;
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
  /** Response headers and trailers, merged. */
  headers?: http2.IncomingHttpHeaders;
}

/**
 * One unary gRPC call made by hand over HTTP/2, for what a grpc-js client will not send:
 * a message flagged compressed with an arbitrary `grpc-encoding`, pre-compressed bytes.
 */
export async function rawGrpcCall(
  port: number,
  grpcPath: string,
  payload: Uint8Array,
  options: { encoding?: string; compressed?: boolean; headers?: Record<string, string> } = {},
): Promise<RawGrpcReply> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<RawGrpcReply>((resolve, reject) => {
      session.on('error', reject);
      const req = session.request({
        ':method': 'POST',
        ':path': grpcPath,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...(options.encoding ? { 'grpc-encoding': options.encoding } : {}),
        ...options.headers,
      });
      let httpStatus = 0;
      let grpcStatus: number | undefined;
      let grpcMessage: string | undefined;
      const headers: http2.IncomingHttpHeaders = {};
      const take = (h: http2.IncomingHttpHeaders) => {
        Object.assign(headers, h);
        if (h['grpc-status'] !== undefined) grpcStatus = Number(h['grpc-status']);
        if (h['grpc-message'] !== undefined)
          grpcMessage = decodeURIComponent(String(h['grpc-message']));
      };
      req.on('response', (h) => {
        httpStatus = Number(h[':status']);
        take(h);
      });
      req.on('trailers', take);
      req.on('data', () => {});
      req.on('end', () => resolve({ httpStatus, grpcStatus, grpcMessage, headers }));
      req.on('error', reject);
      const frame = Buffer.alloc(5 + payload.byteLength);
      frame.writeUInt8(options.compressed ? 1 : 0, 0);
      frame.writeUInt32BE(payload.byteLength, 1);
      frame.set(payload, 5);
      req.end(frame);
    });
  } finally {
    session.close();
  }
}

// ---------------------------------------------------------------------------------------
// HTTP

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: Uint8Array | string;
  /** https with these TLS options (ca, cert, key). */
  tls?: https.RequestOptions;
}

/** One HTTP request on a fresh connection; resolves with the whole reply. */
export function httpRequest(
  port: number,
  urlPath: string,
  options: HttpRequestOptions = {},
): Promise<HttpReply> {
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  const requestOptions: https.RequestOptions = {
    host: '127.0.0.1',
    port,
    path: urlPath,
    method: options.method ?? 'POST',
    agent: false,
    headers: {
      // Chunked when the caller asks for it; otherwise the length is declared.
      ...(body && options.headers?.['transfer-encoding'] === undefined
        ? { 'content-length': body.byteLength }
        : {}),
      ...options.headers,
    },
    ...options.tls,
  };
  const lib = options.tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(requestOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POST an OTLP body to /v1/<signal>. `format` picks the Content-Type. */
export function postOtlp(
  port: number,
  signal: Signal,
  body: Uint8Array | string,
  options: {
    format?: 'protobuf' | 'json';
    headers?: Record<string, string | number>;
    tls?: https.RequestOptions;
  } = {},
): Promise<HttpReply> {
  const contentType = options.format === 'json' ? 'application/json' : 'application/x-protobuf';
  return httpRequest(port, `/v1/${signal}`, {
    body,
    headers: { 'content-type': contentType, ...options.headers },
    ...(options.tls ? { tls: options.tls } : {}),
  });
}

/** Decodes a protobuf Export…Response. */
export function decodeExportResponse(signal: Signal, bytes: Uint8Array): Record<string, unknown> {
  return decodeMessage(RESPONSE_TYPES[signal], bytes);
}

// ---------------------------------------------------------------------------------------
// Prometheus text

/** The value of one sample: `name{a="x",b="y"}` with labels matched as a subset. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const lm of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(lm[1]!, lm[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) {
      total = (total ?? 0) + Number(m[3]);
    }
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// The acceptor as a child process (SIGTERM, RSS)

export interface AcceptorProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Everything the process wrote so far (for failure messages). */
  output(): string;
  kill(): void;
}

/**
 * Runs `services/acceptor/src/main.ts` as its own process (through tsx, sediment-src
 * condition) on ephemeral ports, and reads the ports from its start-up log line.
 */
export async function spawnAcceptor(env: Record<string, string>): Promise<AcceptorProcess> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=sediment-src',
      '--import',
      'tsx/esm',
      path.join(REPO_ROOT, 'services/acceptor/src/main.ts'),
    ],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        SEDIMENT_HOST: '127.0.0.1',
        SEDIMENT_GRPC_PORT: '0',
        SEDIMENT_HTTP_PORT: '0',
        SEDIMENT_LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const ports = await new Promise<{ grpcPort: number; httpPort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`acceptor did not start within 60 s:\n${out}`)),
      60_000,
    );
    const onData = () => {
      for (const line of out.split('\n')) {
        if (!line.includes('acceptor started')) continue;
        const entry = JSON.parse(line) as { grpcPort: number; httpPort: number };
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve({ grpcPort: entry.grpcPort, httpPort: entry.httpPort });
        return;
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`acceptor exited with ${code} before it started:\n${out}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    ...ports,
    exited,
    output: () => out,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes, from /proc/<pid>/status. */
export async function processMemory(pid: number): Promise<{ rss: number; peak: number }> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined (or times out). */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
