/**
 * Arrow Flight DoPut client over @grpc/grpc-js.
 *
 * Two ways to reach several writers:
 * - a list of `host:port` targets: one channel per target; puts rotate over them
 *   (`round_robin`) or prefer the first healthy one (`pick_first`); a put that fails with
 *   UNAVAILABLE is sent again to the next target, and the failed target is skipped for a
 *   backoff (see target-pool.ts);
 * - one resolver URI such as `dns:///writer.ns.svc:8815`: one channel whose grpc-js load
 *   balancer (`round_robin` or `pick_first` service config) spreads calls over every
 *   address the name resolves to; a put that fails with UNAVAILABLE is retried on the
 *   channel (the balancer picks another address) up to `maxAttempts` times.
 *
 * Failover resends a put that may already have been applied when the failure came after
 * the whole stream was sent (connection lost before the reply). Send a request id as
 * `appMetadata` so the receiver can deduplicate; Sediment's writer does.
 */
import {
  type ChannelOptions,
  Client,
  type ClientDuplexStream,
  connectivityState,
  status as GrpcStatus,
  Metadata,
  type StatusObject,
} from '@grpc/grpc-js';
import {
  channelCredentials,
  type FlightClientTlsOptions,
  tlsChannelOptions,
} from './credentials.js';
import {
  errorFromStatus,
  FlightCancelledError,
  FlightDeadlineExceededError,
  type FlightError,
  FlightInvalidArgumentError,
  FlightUnavailableError,
} from './errors.js';
import { type IpcMessage, splitIpcStream } from './ipc-framing.js';
import { type FlightLogger, stderrFlightLogger } from './logger.js';
import {
  DescriptorType,
  decodePutResult,
  FlightDataFrame,
  type FlightDescriptor,
} from './proto-wire.js';
import { flightServiceDefinition } from './service.js';
import { type TargetBackoff, TargetPool, type TargetState } from './target-pool.js';

export type FlightLoadBalancing = 'round_robin' | 'pick_first';

export interface FlightClientOptions {
  /**
   * Writers: a list of `host:port` (or a comma-separated string of them), or ONE resolver
   * URI (`dns:///name:port`) whose addresses grpc-js balances over.
   */
  targets: string | readonly string[];
  /** Default `round_robin`. */
  loadBalancing?: FlightLoadBalancing;
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  /** TLS to the writers; default plaintext (h2c). */
  tls?: FlightClientTlsOptions;
  /**
   * HTTP/2 keepalive pings, so a writer that vanished without closing the connection is
   * noticed. Default: ping every 30 s (also when idle), fail the connection after 10 s.
   */
  keepalive?: { timeMs?: number; timeoutMs?: number; permitWithoutCalls?: boolean };
  /** Deadline of a put when `doPut` is given none. Default 30 s. */
  defaultDeadlineMs?: number;
  /** Largest FlightData the client sends (grpc `max_send_message_length`). Default unlimited. */
  maxMessageBytes?: number;
  /** How long a target that answered UNAVAILABLE is skipped (list mode). */
  targetBackoff?: TargetBackoff;
  /** grpc-js reconnect backoff per channel. Default 250 ms initial, 5 s max. */
  reconnectBackoff?: { initialMs?: number; maxMs?: number };
  /** Resolver-URI mode: attempts per put on UNAVAILABLE. Default 3. */
  maxAttempts?: number;
  /** Pino-compatible logger (target down/up transitions). */
  logger?: FlightLogger;
  /** Clock for target backoff (ms). Default `Date.now`. Deadlines always use wall time. */
  now?: () => number;
  /** Random source for backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Extra grpc-js channel options (escape hatch; ours win on conflict). */
  grpcOptions?: ChannelOptions;
}

export interface DoPutOptions {
  /** Time budget for the whole put, failovers included. Default `defaultDeadlineMs`. */
  deadlineMs?: number;
  /** Request identity sent as app_metadata on the first FlightData (idempotency key). */
  appMetadata?: Uint8Array;
  /** Cancels the put (FlightCancelledError). */
  signal?: AbortSignal;
}

export interface FlightTargetStats {
  target: string;
  /** grpc-js channel connectivity: IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN. */
  connectivity: string;
  /** False while the target is skipped after an UNAVAILABLE. */
  up: boolean;
  consecutiveFailures: number;
  ok: number;
  failed: number;
}

const DOPUT_PATH = flightServiceDefinition.DoPut.path;
const identity = (b: Buffer): Buffer => b;
/**
 * Serializers for outgoing FlightData: grpc-js only reads `length` and calls `copy` on what
 * the serializer returns (see FlightDataFrame), so the frame object itself is handed over,
 * except on a channel that compresses, where zlib needs the bytes.
 */
const frameAsMessage = (f: FlightDataFrame): Buffer => f as unknown as Buffer;
const frameToBuffer = (f: FlightDataFrame): Buffer => f.toBuffer();

function parseTargets(targets: string | readonly string[]): { list: string[]; resolver: boolean } {
  const list = (typeof targets === 'string' ? targets.split(',') : [...targets])
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (list.length === 0) throw new TypeError('FlightClient: targets must name at least one writer');
  const resolverUris = list.filter(
    (t) => /^[a-z][a-z0-9+.-]*:\/\//i.test(t) || t.startsWith('dns:'),
  );
  if (resolverUris.length > 0 && list.length > 1) {
    throw new TypeError(
      'FlightClient: give either one resolver URI (dns:///name:port) or a list of host:port targets',
    );
  }
  return { list, resolver: resolverUris.length === 1 };
}

export class FlightClient implements AsyncDisposable {
  readonly #pool: TargetPool<Client>;
  readonly #resolver: boolean;
  readonly #token: string | undefined;
  readonly #defaultDeadlineMs: number;
  readonly #maxAttempts: number;
  readonly #logger: FlightLogger;
  readonly #calls = new Set<ClientDuplexStream<FlightDataFrame, Buffer>>();
  readonly #serialize: (f: FlightDataFrame) => Buffer;
  #closed = false;

  constructor(options: FlightClientOptions) {
    const { list, resolver } = parseTargets(options.targets);
    const lb = options.loadBalancing ?? 'round_robin';
    if (lb !== 'round_robin' && lb !== 'pick_first') {
      throw new TypeError(`FlightClient: unknown loadBalancing ${JSON.stringify(lb)}`);
    }
    this.#resolver = resolver;
    this.#token = options.token;
    this.#defaultDeadlineMs = options.defaultDeadlineMs ?? 30_000;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.#logger = options.logger ?? stderrFlightLogger;
    const ka = options.keepalive ?? {};
    const channelOptions: ChannelOptions = {
      // No channelz (nothing here serves it): it counts and timestamps every call.
      'grpc.enable_channelz': 0,
      ...options.grpcOptions,
      ...tlsChannelOptions(options.tls),
      'grpc.keepalive_time_ms': ka.timeMs ?? 30_000,
      'grpc.keepalive_timeout_ms': ka.timeoutMs ?? 10_000,
      'grpc.keepalive_permit_without_calls': (ka.permitWithoutCalls ?? true) ? 1 : 0,
      'grpc.initial_reconnect_backoff_ms': options.reconnectBackoff?.initialMs ?? 250,
      'grpc.max_reconnect_backoff_ms': options.reconnectBackoff?.maxMs ?? 5_000,
      'grpc.max_send_message_length': options.maxMessageBytes ?? -1,
      // Separate channels per FlightClient: tests and multi-tenant processes must not share
      // connection state (a down target in one client is not down in another).
      'grpc.use_local_subchannel_pool': 1,
    };
    if (resolver) {
      channelOptions['grpc.service_config'] = JSON.stringify({
        loadBalancingConfig: [{ [lb]: {} }],
      });
      channelOptions['grpc.service_config_disable_resolution'] = 1;
    }
    const compression = options.grpcOptions?.['grpc.default_compression_algorithm'];
    this.#serialize =
      compression === undefined || compression === 0 ? frameAsMessage : frameToBuffer;
    const credentials = channelCredentials(options.tls);
    this.#pool = new TargetPool(
      list.map((target) => ({ target, channel: new Client(target, credentials, channelOptions) })),
      {
        roundRobin: lb === 'round_robin',
        ...(options.targetBackoff === undefined ? {} : { backoff: options.targetBackoff }),
        ...(options.now === undefined ? {} : { now: options.now }),
        ...(options.random === undefined ? {} : { random: options.random }),
      },
    );
  }

  /**
   * Sends one Arrow IPC stream as one DoPut to `path` and resolves with the app_metadata of
   * every PutResult the server sent, once the server ended the call with OK.
   *
   * Throws (never retry-loops beyond the failover described above):
   * - FlightInvalidArgumentError when `ipc` is not an Arrow IPC stream or the server
   *   rejected it (no failover);
   * - FlightUnavailableError when no target took the put (retryable);
   * - FlightDeadlineExceededError when the deadline passed (retryable; may have been applied);
   * - FlightCancelledError on `signal` or `close()`;
   * - other FlightError classes by gRPC code (errors.ts).
   */
  async doPut(
    path: readonly string[],
    ipc: Uint8Array,
    options: DoPutOptions = {},
  ): Promise<Uint8Array[]> {
    if (this.#closed) throw new FlightCancelledError('the FlightClient is closed');
    if (path.length === 0 || path.some((p) => typeof p !== 'string' || p.length === 0)) {
      throw new FlightInvalidArgumentError(
        'DoPut path must be a non-empty list of non-empty strings',
      );
    }
    const messages = splitIpcStream(ipc);
    const descriptor: FlightDescriptor = {
      type: DescriptorType.PATH,
      cmd: new Uint8Array(0),
      path: [...path],
    };
    const deadline = Date.now() + (options.deadlineMs ?? this.#defaultDeadlineMs);
    const signal = options.signal;

    const candidates = this.#resolver
      ? Array.from({ length: this.#maxAttempts }, () => this.#pool.entries[0]!)
      : this.#pool.order();
    let lastError: FlightError | undefined;
    for (let attempt = 0; attempt < candidates.length; attempt++) {
      const entry = candidates[attempt]!;
      if (signal?.aborted)
        throw new FlightCancelledError('DoPut cancelled by the caller', { cause: signal.reason });
      if (this.#closed) throw new FlightCancelledError('the FlightClient is closed');
      if (Date.now() >= deadline) {
        throw (
          lastError ?? new FlightDeadlineExceededError('DoPut deadline passed before it was sent')
        );
      }
      if (this.#resolver && attempt > 0) {
        // Let the balancer notice the failed address before picking again.
        await sleep(Math.min(50 * 2 ** (attempt - 1), Math.max(0, deadline - Date.now())), signal);
      }
      try {
        const results = await this.#attempt(entry, descriptor, messages, deadline, options);
        if (this.#pool.markUp(entry) && !this.#resolver) {
          this.#logger.info({ target: entry.target }, 'Flight target is up again');
        }
        return results;
      } catch (err) {
        const error = err as FlightError;
        lastError = error;
        if (!(error instanceof FlightUnavailableError)) {
          this.#pool.markFailed(entry);
          throw error;
        }
        if (this.#resolver) {
          this.#pool.markFailed(entry);
        } else {
          const wasUp = entry.failures === 0;
          const period = this.#pool.markDown(entry);
          if (wasUp) {
            this.#logger.warn(
              { target: entry.target, backoffMs: Math.round(period), err: error },
              'Flight target unavailable; failing over',
            );
          }
        }
      }
    }
    throw lastError ?? new FlightUnavailableError('no Flight target available');
  }

  #attempt(
    entry: TargetState<Client>,
    descriptor: FlightDescriptor,
    messages: readonly IpcMessage[],
    deadline: number,
    options: DoPutOptions,
  ): Promise<Uint8Array[]> {
    return new Promise<Uint8Array[]>((resolve, reject) => {
      const metadata = new Metadata();
      if (this.#token !== undefined) metadata.set('authorization', `Bearer ${this.#token}`);
      // grpc-js captures the caller's stack (`new Error()`) on every call, for the errors it
      // emits; ours are built from the status instead. Under the acceptor's async stacks
      // that capture was 3.7 % of its event loop (perf), so it runs with no frames.
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      let call: ClientDuplexStream<FlightDataFrame, Buffer>;
      try {
        call = entry.channel.makeBidiStreamRequest<FlightDataFrame, Buffer>(
          DOPUT_PATH,
          this.#serialize,
          identity,
          metadata,
          { deadline: new Date(deadline) },
        );
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
      this.#calls.add(call);
      const results: Uint8Array[] = [];
      let status: StatusObject | undefined;
      let ended = false;
      let settled = false;
      let protocolError: FlightError | undefined;

      const onAbort = () => call.cancel();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        if (settled || status === undefined) return;
        if (status.code === GrpcStatus.OK && !ended && protocolError === undefined) return;
        settled = true;
        this.#calls.delete(call);
        options.signal?.removeEventListener('abort', onAbort);
        if (protocolError !== undefined) reject(protocolError);
        else if (status.code === GrpcStatus.OK) resolve(results);
        else if (status.code === GrpcStatus.CANCELLED && options.signal?.aborted) {
          reject(
            new FlightCancelledError('DoPut cancelled by the caller', {
              target: entry.target,
              cause: options.signal.reason,
            }),
          );
        } else if (status.code === GrpcStatus.CANCELLED && this.#closed) {
          reject(
            new FlightCancelledError('the FlightClient was closed during the DoPut', {
              target: entry.target,
            }),
          );
        } else if (status.code === GrpcStatus.CANCELLED) {
          // We did not cancel: the writer or the transport did (e.g. a writer force-closed
          // its connections, RST_STREAM CANCEL). That is the writer going away: fail over.
          reject(
            new FlightUnavailableError(`CANCELLED by ${entry.target}: ${status.details}`, {
              target: entry.target,
            }),
          );
        } else {
          reject(errorFromStatus(status.code, status.details, { target: entry.target }));
        }
      };

      call.on('data', (buf: Buffer) => {
        try {
          // Copy: the result outlives the call and must not pin grpc-js's receive buffer.
          results.push(Uint8Array.prototype.slice.call(decodePutResult(buf).appMetadata));
        } catch (err) {
          protocolError = new FlightUnavailableError(`malformed PutResult from ${entry.target}`, {
            target: entry.target,
            cause: err,
          });
          call.cancel();
        }
      });
      call.on('end', () => {
        ended = true;
        settle();
      });
      call.on('error', () => {
        // The 'status' event carries the outcome.
      });
      call.on('status', (s: StatusObject) => {
        status = s;
        settle();
      });

      const waitWritable = () =>
        new Promise<void>((res) => {
          const done = () => {
            call.off('drain', done);
            call.off('status', done);
            res();
          };
          call.on('drain', done);
          call.on('status', done);
        });

      void (async () => {
        try {
          for (let i = 0; i < messages.length; i++) {
            if (status !== undefined) return;
            const m = messages[i]!;
            // The Arrow body stays a view of `ipc` until grpc-js copies it into its frame.
            const frame = new FlightDataFrame({
              descriptor: i === 0 ? descriptor : undefined,
              dataHeader: m.header,
              dataBody: m.body,
              appMetadata: i === 0 ? options.appMetadata : undefined,
            });
            if (!call.write(frame)) await waitWritable();
          }
          if (status === undefined) call.end();
        } catch (err) {
          protocolError = new FlightInvalidArgumentError('could not encode the put', {
            target: entry.target,
            cause: err,
          });
          call.cancel();
        }
      })();
    });
  }

  /** True when at least one writer connection is READY now. */
  isReady(): boolean {
    return this.#pool.entries.some(
      (e) => e.channel.getChannel().getConnectivityState(false) === connectivityState.READY,
    );
  }

  /**
   * Connects to every target and resolves true as soon as one is READY, false if none is by
   * `deadline` (a Date or epoch ms).
   */
  waitForReady(deadline: Date | number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.isReady()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let pending = this.#pool.entries.length;
      let done = false;
      for (const e of this.#pool.entries) {
        e.channel.waitForReady(deadline, (err) => {
          if (done) return;
          if (!err) {
            done = true;
            resolve(true);
          } else if (--pending === 0) {
            done = true;
            resolve(false);
          }
        });
      }
    });
  }

  /** Per-target health and counters (one entry for a resolver URI). */
  stats(): FlightTargetStats[] {
    return this.#pool.entries.map((e) => ({
      target: e.target,
      connectivity:
        connectivityState[e.channel.getChannel().getConnectivityState(false)] ?? 'UNKNOWN',
      up: !this.#pool.isDown(e),
      consecutiveFailures: e.failures,
      ok: e.ok,
      failed: e.failed,
    }));
  }

  /**
   * Cancels the puts in flight (they reject with FlightCancelledError) and closes every
   * channel. Idempotent. Drain your own callers first if their puts must complete.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of this.#calls) call.cancel();
    this.#calls.clear();
    for (const e of this.#pool.entries) e.channel.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
