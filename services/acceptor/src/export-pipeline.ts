import { createHash } from 'node:crypto';
import {
  type FlightClient,
  FlightError,
  FlightPermissionDeniedError,
  FlightResourceExhaustedError,
  FlightUnauthenticatedError,
} from '@sediment/flight';
import {
  InvalidInputError,
  type IpcCompression,
  OutputTooLargeError,
  toIpcStream,
} from '@sediment/otlp';
import type { Logger } from '@sediment/service-kit';
import { AcceptorError } from './errors.js';
import type { InflightBytes, InflightReservation } from './inflight.js';
import type { AcceptorMetrics } from './metrics.js';
import { type BodyFormat, SIGNALS, type Signal } from './signals.js';

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
  /** Body compression of the Arrow IPC sent to writers; default `none`. */
  readonly compression?: IpcCompression;
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
  readonly #ipcOptions: { readonly compression: IpcCompression };
  #lastWriterAuthLog = 0;

  constructor(options: ExportPipelineOptions) {
    this.#o = options;
    this.#ipcOptions = { compression: options.compression ?? 'none' };
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
    try {
      let decoded: ReturnType<(typeof SIGNALS)[Signal]['decode']>;
      try {
        decoded = SIGNALS[signal].decode(body, format);
      } catch (err) {
        if (err instanceof InvalidInputError) {
          throw new AcceptorError('invalid_argument', err.message, { cause: err });
        }
        if (err instanceof OutputTooLargeError) {
          throw new AcceptorError('payload_too_large', err.message, { cause: err });
        }
        throw err;
      }
      if (decoded.tables.length > 0) {
        const requestId = createHash('sha256')
          .update(signal)
          .update('\0')
          .update(format)
          .update('\0')
          .update(body)
          .digest()
          .subarray(0, 16);
        const timeout = Math.min(this.#o.writerTimeoutMs, deadlineMs ?? Number.POSITIVE_INFINITY);
        await Promise.all(
          decoded.tables.map(({ table, batch }) =>
            this.#put(table, toIpcStream(table, batch, this.#ipcOptions), requestId, timeout),
          ),
        );
      }
      return {
        rows: decoded.rows,
        rejected: decoded.rejected,
        rejectedMessage: decoded.rejectedMessage,
      };
    } finally {
      if (!reservation) held.release();
    }
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
