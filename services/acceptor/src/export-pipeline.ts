import {
  type FlightClient,
  FlightError,
  FlightPermissionDeniedError,
  FlightResourceExhaustedError,
  FlightUnauthenticatedError,
} from '@sediment/flight';
import type { IpcWriteOptions } from '@sediment/otlp';
import type { Logger } from '@sediment/service-kit';
import { createRequestEncoder, type RequestEncoder } from './decode-pool.js';
import type { EncodedRequest } from './encode-request.js';
import { AcceptorError } from './errors.js';
import type { InflightBytes, InflightReservation } from './inflight.js';
import type { AcceptorMetrics } from './metrics.js';
import type { BodyFormat, Signal } from './signals.js';

export interface ExportOutcome {
  /** Rows acked durable. */
  readonly rows: number;
  /** Items dropped as individually invalid (partial_success). */
  readonly rejected: number;
  readonly rejectedMessage: string | undefined;
}

export interface ExportPipelineOptions {
  readonly flight: FlightClient;
  readonly inflight: InflightBytes;
  readonly metrics: AcceptorMetrics;
  readonly logger: Logger;
  /** Longest wait for a writer's durable ack. */
  readonly writerTimeoutMs: number;
  /** Suggested client retry delay on retryable failures. */
  readonly retryAfterMs: number;
  /** How the Arrow IPC sent to writers is written (body compression, zstd level); default uncompressed. */
  readonly ipc?: IpcWriteOptions;
  /** Threads that decode requests (decode-pool.ts); 0 (default) = on the event loop. */
  readonly decodeThreads?: number;
  /** Decodes requests instead of the one `decodeThreads` selects (tests). */
  readonly encoder?: RequestEncoder;
}

/**
 * Holds a decoded request's memory (body + columns + IPC) while it waits for the writer:
 * the request body size times this factor is what the in-flight bound counts.
 */
const MEMORY_PER_BODY_BYTE = 3;

/**
 * One OTLP export: decode into Arrow tables, push each table to a writer over Flight
 * (DoPut, in parallel), and return only once every table is durable. The request
 * identity sent with each put is a hash of the exact request bytes, so when a client
 * retries a request whose first attempt was stored but not acked (or a metrics request
 * that was stored for some tables only), the collector drops the copies.
 */
export class ExportPipeline {
  readonly #o: ExportPipelineOptions;
  readonly #encoder: RequestEncoder;
  #lastWriterAuthLog = 0;

  constructor(options: ExportPipelineOptions) {
    this.#o = options;
    this.#encoder =
      options.encoder ??
      createRequestEncoder(options.decodeThreads ?? 0, options.ipc ?? {}, options.retryAfterMs);
  }

  /** Resolves once the decode threads are loaded; rejects when one cannot start. */
  ready(): Promise<void> {
    return this.#encoder.ready();
  }

  /** Stops the decode threads (after the servers have drained). */
  close(): Promise<void> {
    return this.#encoder.close();
  }

  /**
   * Decodes and stores one request. `reservation` is the request's share of the in-flight
   * bound (already holding its body while it was read); it is grown to cover the decoded
   * columns and Arrow IPC and left to the caller to release. Without one, the pipeline
   * reserves (and releases) its own.
   * @throws AcceptorError
   */
  async export(
    signal: Signal,
    body: Uint8Array,
    format: BodyFormat,
    deadlineMs?: number,
    reservation?: InflightReservation,
  ): Promise<ExportOutcome> {
    const held = reservation ?? this.#o.inflight.reserve();
    if (!held.tryResize(Math.max(held.bytes, body.byteLength * MEMORY_PER_BODY_BYTE))) {
      if (!reservation) held.release();
      throw new AcceptorError(
        'unavailable',
        'acceptor is at its in-flight limit (writers are slower than the incoming rate); retry later',
        { retryAfterMs: this.#o.retryAfterMs },
      );
    }
    const started = performance.now();
    try {
      if (deadlineMs !== undefined && deadlineMs <= 0) throw this.#decodeTooLate();
      const encoding = this.#encoder.encode(signal, body, format);
      const encoded =
        deadlineMs === undefined ? await encoding : await this.#within(encoding, deadlineMs, held);
      if (encoded.tables.length > 0) {
        // The client's deadline counts from arrival: time spent waiting for a decode thread
        // comes out of it.
        const left = (deadlineMs ?? Number.POSITIVE_INFINITY) - (performance.now() - started);
        if (left <= 0) throw this.#decodeTooLate();
        const timeout = Math.min(this.#o.writerTimeoutMs, left);
        await Promise.all(
          encoded.tables.map(({ table, ipc }) => this.#put(table, ipc, encoded.requestId, timeout)),
        );
      }
      return {
        rows: encoded.rows,
        rejected: encoded.rejected,
        rejectedMessage: encoded.rejectedMessage,
      };
    } finally {
      if (!reservation) held.release();
    }
  }

  /**
   * The decode, or `unavailable` once `deadlineMs` has passed (queued behind other
   * requests, or behind a decode thread that is still starting): the client then gets its
   * retry hint before its own deadline. The abandoned decode keeps the request's in-flight
   * bytes until it ends, so the bound still covers the memory it holds.
   */
  #within(
    encoding: Promise<EncodedRequest>,
    deadlineMs: number,
    held: InflightReservation,
  ): Promise<EncodedRequest> {
    return new Promise<EncodedRequest>((resolve, reject) => {
      const timer = setTimeout(() => {
        const orphan = held.detach();
        const end = () => orphan.release();
        encoding.then(end, end);
        reject(this.#decodeTooLate());
      }, deadlineMs);
      encoding.then(
        (encoded) => {
          clearTimeout(timer);
          resolve(encoded);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  #decodeTooLate(): AcceptorError {
    return new AcceptorError(
      'unavailable',
      'the request spent its deadline waiting to be decoded; retry',
      { retryAfterMs: this.#o.retryAfterMs },
    );
  }

  async #put(table: string, ipc: Uint8Array, requestId: Uint8Array, deadlineMs: number) {
    const { flight, metrics } = this.#o;
    try {
      await flight.doPut([table], ipc, { appMetadata: requestId, deadlineMs });
      metrics.writerPuts.inc({ outcome: 'ok' });
    } catch (err) {
      throw this.#classify(err);
    }
  }

  #classify(err: unknown): AcceptorError {
    const { metrics, logger, retryAfterMs } = this.#o;
    if (err instanceof FlightError) {
      if (err.retryable || err.code === 'FLIGHT_CANCELLED') {
        metrics.writerPuts.inc({ outcome: 'unavailable' });
        return new AcceptorError(
          'unavailable',
          'no writer could make the data durable in time; retry',
          {
            cause: err,
            retryAfterMs,
          },
        );
      }
      if (err instanceof FlightResourceExhaustedError) {
        metrics.writerPuts.inc({ outcome: 'rejected' });
        return new AcceptorError(
          'payload_too_large',
          'request too large for the writer; send smaller batches',
          {
            cause: err,
          },
        );
      }
      if (err instanceof FlightUnauthenticatedError || err instanceof FlightPermissionDeniedError) {
        // Misconfiguration between acceptor and writer: the client's data is fine and
        // must not be dropped, so it is told to retry while the operator fixes tokens.
        metrics.writerPuts.inc({ outcome: 'rejected' });
        const now = Date.now();
        if (now - this.#lastWriterAuthLog > 10_000) {
          this.#lastWriterAuthLog = now;
          logger.error(
            { err },
            'writer refused our credentials: check SEDIMENT_WRITER_TOKEN against SEDIMENT_FLIGHT_TOKENS',
          );
        }
        return new AcceptorError('unavailable', 'writer unavailable; retry', {
          cause: err,
          retryAfterMs,
        });
      }
    }
    metrics.writerPuts.inc({ outcome: 'error' });
    logger.error({ err }, 'writer put failed unexpectedly');
    return new AcceptorError('internal', 'internal error while storing the data', { cause: err });
  }
}
