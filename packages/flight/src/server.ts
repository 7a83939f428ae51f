/**
 * Arrow Flight server that implements DoPut (every other FlightService RPC answers
 * UNIMPLEMENTED). Each DoPut is reassembled into one Arrow IPC stream and handed to
 * `onDoPut`; the PutResult is sent only after the handler's promise resolves, so a client
 * that got a PutResult and status OK knows the handler finished (for Sediment's writer:
 * the data is durable).
 */
import {
  type ChannelOptions,
  status as GrpcStatus,
  type handleBidiStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Server,
  type ServerDuplexStream,
} from '@grpc/grpc-js';
import {
  BearerTokenVerifier,
  type FlightServerTlsOptions,
  serverCredentials,
} from './credentials.js';
import {
  FlightCancelledError,
  FlightUnauthenticatedError,
  FlightUnavailableError,
  grpcCodeName,
  statusForError,
} from './errors.js';
import { type Http2ReceiveTuning, tuneGrpcServerHttp2 } from './http2-tuning.js';
import { type FlightLogger, stderrFlightLogger } from './logger.js';
import { encodePutResult } from './proto-wire.js';
import { DoPutAssembler } from './put-assembler.js';
import { flightServiceDefinition } from './service.js';

/** One received DoPut, handed to {@link FlightServerOptions.onDoPut}. */
export interface DoPutRequest {
  /** FlightDescriptor.path (Sediment: `[tableName]`). */
  path: string[];
  /**
   * The Arrow IPC stream: every message received, in order, continuation-framed, then the
   * end-of-stream marker. Readable by `tableFromIPC` / `RecordBatchReader`. A fresh buffer
   * the handler may keep.
   */
  ipc: Uint8Array;
  /** The first non-empty app_metadata of the stream (Sediment: the request id), if any. */
  appMetadata: Uint8Array | undefined;
  /** Number of record batch messages in `ipc` (0 for a schema-only stream). */
  recordBatchCount: number;
  /** The client's address as grpc-js reports it (e.g. `ipv4:127.0.0.1:53412`). */
  peer: string;
  /**
   * Aborted when the client cancels the call or its deadline passes. The reply can no
   * longer reach the client then; the client will retry with the same app_metadata.
   */
  signal: AbortSignal;
}

/**
 * Handles one DoPut. Resolve (with optional PutResult app_metadata) only when the put is
 * done (durable); throw a Flight error class to choose the status (see errors.ts):
 * FlightInvalidArgumentError → INVALID_ARGUMENT, FlightUnavailableError → UNAVAILABLE, … .
 * Any other error with `retryable: true` becomes UNAVAILABLE; anything else INTERNAL with a
 * generic message (the detail is logged, not sent).
 */
export type DoPutHandler = (put: DoPutRequest) => Promise<DoPutReply>;

/** PutResult app_metadata to send; nothing (undefined / void) sends an empty PutResult. */
// biome-ignore lint/suspicious/noConfusingVoidType: lets `async (put) => { … }` handlers return nothing.
export type DoPutReply = Uint8Array | undefined | void;

export interface FlightServerOptions {
  onDoPut: DoPutHandler;
  /**
   * Largest reassembled IPC stream per DoPut; beyond it the put fails with
   * RESOURCE_EXHAUSTED. Default 128 MiB.
   */
  maxPutBytes?: number;
  /**
   * Memory bound: total IPC bytes held by all DoPuts being received or handled. A put that
   * would exceed it fails with UNAVAILABLE, so the client fails over to another writer or
   * retries later. Must be ≥ `maxPutBytes`. Default 512 MiB (or `maxPutBytes` if larger).
   */
  maxInflightBytes?: number;
  /**
   * Largest single gRPC message (one FlightData) accepted; grpc-js answers
   * RESOURCE_EXHAUSTED beyond it. Default `maxPutBytes` + 64 KiB.
   */
  maxMessageBytes?: number;
  /** Require `authorization: Bearer <token>` with one of these tokens on every call. */
  auth?: { tokens?: readonly string[] };
  /** Serve TLS (optionally mutual TLS) instead of plaintext h2c. */
  tls?: FlightServerTlsOptions;
  /** HTTP/2 keepalive pings from the server. Default: ping after 2 h idle, 20 s timeout. */
  keepalive?: { timeMs?: number; timeoutMs?: number };
  /**
   * Close each connection (GOAWAY) after this age so that clients re-resolve DNS and
   * spread over new writers. Default: never.
   */
  maxConnectionAgeMs?: number;
  /** Grace for calls in flight on a connection closed by `maxConnectionAgeMs`. Default 60 s. */
  maxConnectionAgeGraceMs?: number;
  /** HTTP/2 concurrent streams per connection. Default: unlimited. */
  maxConcurrentStreams?: number;
  /**
   * HTTP/2 receive windows and frame size (see http2-tuning.ts): larger than HTTP/2's
   * 64 KiB / 16 KiB defaults, so multi-megabyte puts cost less CPU on both ends and do not
   * stall while the server's event loop is busy. Default DEFAULT_HTTP2_RECEIVE_TUNING
   * (4 MiB per call, 16 MiB per connection, 256 KiB frames); `false` keeps HTTP/2's defaults.
   */
  http2?: Http2ReceiveTuning | false;
  /** How long `close()` waits for DoPuts in flight before cancelling them. Default 30 s. */
  drainTimeoutMs?: number;
  /** Pino-compatible logger. Default: warnings and errors as JSON on stderr. */
  logger?: FlightLogger;
  /** Extra grpc-js server options (escape hatch; ours win on conflict). */
  grpcOptions?: ChannelOptions;
}

export interface FlightServerStats {
  /** DoPuts currently being received or handled. */
  inflight: number;
  /** IPC bytes those DoPuts hold. */
  inflightBytes: number;
  /** DoPuts answered OK. */
  completed: number;
  /** DoPuts answered with an error, by gRPC code name. */
  failed: Record<string, number>;
  /** Bytes of IPC stream handed to the handler. */
  ipcBytes: number;
}

const MiB = 1024 * 1024;
const DEFAULT_MAX_PUT_BYTES = 128 * MiB;
const DEFAULT_MAX_INFLIGHT_BYTES = 512 * MiB;

function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class FlightServer implements AsyncDisposable {
  readonly #options: FlightServerOptions;
  readonly #server: Server;
  readonly #logger: FlightLogger;
  readonly #maxPutBytes: number;
  readonly #maxInflightBytes: number;
  #inflightBytes = 0;
  readonly #auth: BearerTokenVerifier | undefined;
  readonly #inflight = new Set<ServerDuplexStream<Buffer, Buffer>>();
  #port: number | undefined;
  #listening = false;
  #closing: Promise<void> | undefined;
  #completed = 0;
  #ipcBytes = 0;
  readonly #failed: Record<string, number> = {};

  constructor(options: FlightServerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? stderrFlightLogger;
    this.#maxPutBytes = options.maxPutBytes ?? DEFAULT_MAX_PUT_BYTES;
    if (!(this.#maxPutBytes > 0)) throw new TypeError('maxPutBytes must be positive');
    this.#maxInflightBytes =
      options.maxInflightBytes ?? Math.max(DEFAULT_MAX_INFLIGHT_BYTES, this.#maxPutBytes);
    if (!(this.#maxInflightBytes >= this.#maxPutBytes)) {
      throw new TypeError(
        'maxInflightBytes must be at least maxPutBytes (one put must always fit)',
      );
    }
    const tokens = options.auth?.tokens;
    this.#auth = tokens === undefined ? undefined : new BearerTokenVerifier(tokens);
    const grpcOptions: ChannelOptions = {
      // Channelz stays on (grpc-js's default) although nothing serves it: grpc-js 1.14
      // records a server's sessions only in its channelz session handler, so without it
      // forceShutdown() (forceClose) leaves open connections alive and clients keep
      // talking to a closed server (test/failover.test.ts, forced close).
      ...options.grpcOptions,
      'grpc.max_receive_message_length': options.maxMessageBytes ?? this.#maxPutBytes + 64 * 1024,
    };
    if (options.keepalive?.timeMs !== undefined)
      grpcOptions['grpc.keepalive_time_ms'] = options.keepalive.timeMs;
    if (options.keepalive?.timeoutMs !== undefined) {
      grpcOptions['grpc.keepalive_timeout_ms'] = options.keepalive.timeoutMs;
    }
    if (options.maxConnectionAgeMs !== undefined) {
      grpcOptions['grpc.max_connection_age_ms'] = options.maxConnectionAgeMs;
      grpcOptions['grpc.max_connection_age_grace_ms'] = options.maxConnectionAgeGraceMs ?? 60_000;
    }
    if (options.maxConcurrentStreams !== undefined) {
      grpcOptions['grpc.max_concurrent_streams'] = options.maxConcurrentStreams;
    }
    this.#server = new Server(grpcOptions);
    if (options.http2 !== false && !tuneGrpcServerHttp2(this.#server, options.http2)) {
      this.#logger.warn(
        {},
        'this grpc-js version does not let the Flight server raise its HTTP/2 windows; puts run with the 64 KiB defaults (slower)',
      );
    }
    this.#server.addService(flightServiceDefinition, this.#implementation());
  }

  /** The bound port once `listen()` resolved. */
  get port(): number | undefined {
    return this.#port;
  }

  /**
   * Starts listening. `port` 0 picks a free port. Resolves with the bound port; rejects if
   * the address cannot be bound.
   */
  listen(host = '0.0.0.0', port = 0): Promise<number> {
    if (this.#listening || this.#closing) {
      return Promise.reject(new Error('FlightServer.listen() may be called once, before close()'));
    }
    this.#listening = true;
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(
        formatAddress(host, port),
        serverCredentials(this.#options.tls),
        (err, bound) => {
          if (err) {
            this.#listening = false;
            reject(err);
            return;
          }
          this.#port = bound;
          resolve(bound);
        },
      );
    });
  }

  stats(): FlightServerStats {
    return {
      inflight: this.#inflight.size,
      inflightBytes: this.#inflightBytes,
      completed: this.#completed,
      failed: { ...this.#failed },
      ipcBytes: this.#ipcBytes,
    };
  }

  /**
   * Graceful shutdown: stop accepting connections and calls (new DoPuts on open
   * connections get UNAVAILABLE so clients fail over), let DoPuts in flight finish, and after
   * `drainTimeoutMs` cancel whatever is left. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (this.#inflight.size > 0) {
          this.#logger.warn(
            { inflight: this.#inflight.size },
            'Flight server drain timed out; cancelling DoPuts in flight',
          );
        }
        this.#server.forceShutdown();
        resolve();
      }, this.#options.drainTimeoutMs ?? 30_000);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.#closing;
  }

  /** Immediate shutdown: closes every connection; calls in flight fail on the client. */
  forceClose(): void {
    this.#closing ??= Promise.resolve();
    this.#server.forceShutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #implementation() {
    const unimplemented = (name: string) =>
      `Flight RPC ${name} is not implemented by this server; only DoPut is`;
    const unary =
      (name: string): handleUnaryCall<Buffer, Buffer> =>
      (_call, callback) =>
        callback({ code: GrpcStatus.UNIMPLEMENTED, details: unimplemented(name) });
    const serverStream =
      (name: string): handleServerStreamingCall<Buffer, Buffer> =>
      (call) =>
        call.emit('error', { code: GrpcStatus.UNIMPLEMENTED, details: unimplemented(name) });
    const bidi =
      (name: string): handleBidiStreamingCall<Buffer, Buffer> =>
      (call) =>
        call.emit('error', { code: GrpcStatus.UNIMPLEMENTED, details: unimplemented(name) });
    return {
      Handshake: bidi('Handshake'),
      ListFlights: serverStream('ListFlights'),
      GetFlightInfo: unary('GetFlightInfo'),
      PollFlightInfo: unary('PollFlightInfo'),
      GetSchema: unary('GetSchema'),
      DoGet: serverStream('DoGet'),
      DoPut: ((call) => this.#doPut(call)) satisfies handleBidiStreamingCall<Buffer, Buffer>,
      DoExchange: bidi('DoExchange'),
      DoAction: serverStream('DoAction'),
      ListActions: serverStream('ListActions'),
    };
  }

  #doPut(call: ServerDuplexStream<Buffer, Buffer>): void {
    const peer = call.getPeer();
    const abort = new AbortController();
    /** The call has its outcome (status sent, or cancelled by the client). */
    let finished = false;
    let handlerRunning = false;
    /** Bytes of this put counted in #inflightBytes. */
    let held = 0;
    this.#inflight.add(call);

    // A put stops counting as in flight (and its bytes as held) once the call is over AND
    // the handler is no longer running with its data.
    const settle = () => {
      if (!finished || handlerRunning) return;
      this.#inflight.delete(call);
      this.#inflightBytes -= held;
      held = 0;
    };

    const fail = (err: unknown): void => {
      if (finished) return;
      finished = true;
      const status = statusForError(err);
      const name = grpcCodeName(status.code);
      this.#failed[name] = (this.#failed[name] ?? 0) + 1;
      if (status.classified) {
        this.#logger.debug({ peer, code: name, err }, 'DoPut rejected');
      } else {
        this.#logger.error({ peer, code: name, err }, 'DoPut failed with an unclassified error');
      }
      if (!call.cancelled) call.emit('error', { code: status.code, details: status.details });
      settle();
    };

    if (this.#closing !== undefined) {
      fail(
        new FlightUnavailableError('the Flight server is shutting down; retry on another writer'),
      );
      return;
    }
    if (this.#auth !== undefined && !this.#auth.verify(call.metadata)) {
      fail(new FlightUnauthenticatedError('missing or invalid bearer token'));
      return;
    }

    const assembler = new DoPutAssembler(this.#maxPutBytes);
    call.on('cancelled', () => {
      abort.abort(
        new FlightCancelledError('the client cancelled the DoPut or its deadline passed'),
      );
      if (!finished) {
        finished = true;
        const name = grpcCodeName(GrpcStatus.CANCELLED);
        this.#failed[name] = (this.#failed[name] ?? 0) + 1;
        settle();
      }
    });
    call.on('data', (chunk: Buffer) => {
      if (finished) return;
      try {
        const before = assembler.byteLength;
        assembler.push(chunk);
        const added = assembler.byteLength - before;
        held += added;
        this.#inflightBytes += added;
        if (this.#inflightBytes > this.#maxInflightBytes) {
          throw new FlightUnavailableError(
            'the writer holds its limit of in-flight put bytes; retry (on another writer)',
          );
        }
      } catch (err) {
        fail(err);
      }
    });
    call.on('end', () => {
      if (finished) return;
      // A client whose connection drops mid-stream (e.g. its process was killed and the
      // kernel sent a FIN) also shows up as 'end', followed at once by 'cancelled': Node's
      // http2 ends the readable side when the stream closes. Decide only after those
      // events ran, so a cut-off stream never becomes a (partial, even empty) put.
      setImmediate(() => complete());
    });
    const complete = () => {
      if (finished || call.cancelled) return;
      let put: ReturnType<DoPutAssembler['finish']>;
      try {
        put = assembler.finish();
      } catch (err) {
        fail(err);
        return;
      }
      let pending: Promise<DoPutReply>;
      try {
        pending = this.#options.onDoPut({
          path: put.path,
          ipc: put.ipc,
          appMetadata: put.appMetadata,
          recordBatchCount: put.recordBatchCount,
          peer,
          signal: abort.signal,
        });
      } catch (err) {
        fail(err);
        return;
      }
      handlerRunning = true;
      pending.then(
        (meta) => {
          handlerRunning = false;
          if (!finished) {
            finished = true;
            this.#completed++;
            this.#ipcBytes += put.ipc.length;
            call.write(encodePutResult(meta ?? undefined));
            call.end();
          }
          settle();
        },
        (err: unknown) => {
          handlerRunning = false;
          if (finished) settle();
          else fail(err);
        },
      );
    };
  }
}

/** Creates a {@link FlightServer}; call `listen()` to start it. */
export function createFlightServer(options: FlightServerOptions): FlightServer {
  return new FlightServer(options);
}
