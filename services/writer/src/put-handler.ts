import {
  type DoPutHandler,
  type DoPutRequest,
  FlightInvalidArgumentError,
  FlightResourceExhaustedError,
  FlightUnavailableError,
} from '@sediment/flight';
import { FlushFailedError, IngestClosedError, type Ingestor } from '@sediment/ingest';
import { decompressIpcStream, IpcDecompressError, IpcDecompressLimitError } from '@sediment/lake';
import type { Logger } from '@sediment/service-kit';
import type { WriterMetrics } from './metrics.js';
import { createPutValidator } from './validate-put.js';

/** Longest request identity (DoPut app_metadata) kept as the queue metadata payload. */
export const MAX_REQUEST_ID_BYTES = 1024;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/**
 * The writer's DoPut: validate, hand the IPC stream to the ingestor as ONE entry (the
 * request identity from app_metadata as its metadata, for the collector's retry
 * de-duplication), and answer only once the batch holding it is written and enqueued.
 *
 * A stream with compressed bodies (Arrow body compression, ZSTD: what acceptors send by
 * default) is decompressed into a scratch buffer reused from put to put, checked there,
 * and queued as it arrived: the queue holds a fifth of the bytes (written once, read back
 * once by the collector, which decompresses entries itself). Its plain size counts against
 * `maxPutBytes` like any put.
 *
 * Outcomes: bad input → INVALID_ARGUMENT (never retried); a stream that decompresses past
 * `maxPutBytes` → RESOURCE_EXHAUSTED; writer shutting down or the
 * store unable to take the batch → UNAVAILABLE (the acceptor retries another writer or
 * tells its client to retry: nothing acked is lost).
 */
export function createPutHandler(deps: {
  readonly ingestor: Ingestor;
  readonly metrics: WriterMetrics;
  readonly logger: Logger;
  /** Largest plain (decompressed) IPC stream one put may carry. */
  readonly maxPutBytes: number;
}): DoPutHandler {
  const { ingestor, metrics, logger, maxPutBytes } = deps;
  const validatePut = createPutValidator();
  const scratch = new Scratch();
  return async (put: DoPutRequest) => {
    const started = performance.now();
    let table = 'unknown';
    try {
      // `plain` may be a view of the scratch: used only before the next await.
      const plain = plainIpc(put.ipc, maxPutBytes, scratch.take);
      const valid = validatePut(put.path, plain);
      const plainBytes = plain.byteLength;
      table = valid.table;
      const requestId = put.appMetadata ?? EMPTY;
      if (requestId.byteLength > MAX_REQUEST_ID_BYTES) {
        throw new FlightInvalidArgumentError(
          `app_metadata (request identity) is ${requestId.byteLength} bytes; at most ${MAX_REQUEST_ID_BYTES}`,
        );
      }
      const handle = await ingestor.ingest([put.ipc], requestId);
      const durable = await handle.awaitDurable();
      metrics.puts.inc({ table, outcome: 'ok' });
      metrics.rows.inc({ table }, valid.rows);
      metrics.bytes.inc({ table }, plainBytes);
      metrics.putDuration.observe({ table }, (performance.now() - started) / 1000);
      return encoder.encode(
        JSON.stringify({ sequence: durable.sequence.toString(), rows: valid.rows }),
      );
    } catch (err) {
      throw classify(err, table, put, metrics, logger);
    }
  };
}

/** Plain streams up to this size are decompressed into the reused scratch; larger ones get their own array. */
const MAX_SCRATCH_BYTES = 16 * 1024 * 1024;

/** One growing buffer for the plain form of each put while it is checked. */
class Scratch {
  #bytes = new Uint8Array(0);
  readonly take = (size: number): Uint8Array => {
    if (size > MAX_SCRATCH_BYTES) return new Uint8Array(size);
    if (this.#bytes.length < size) {
      this.#bytes = new Uint8Array(
        Math.min(MAX_SCRATCH_BYTES, Math.max(size, this.#bytes.length * 2)),
      );
    }
    return this.#bytes.subarray(0, size);
  };
}

/** `ipc` with plain bodies (itself when none is compressed), written by `into`. */
function plainIpc(
  ipc: Uint8Array,
  maxPutBytes: number,
  into: (size: number) => Uint8Array,
): Uint8Array {
  try {
    return decompressIpcStream(ipc, maxPutBytes, into);
  } catch (err) {
    if (err instanceof IpcDecompressLimitError) {
      throw new FlightResourceExhaustedError(err.message, { cause: err });
    }
    if (err instanceof IpcDecompressError) {
      throw new FlightInvalidArgumentError(`undecodable Arrow IPC stream: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

function classify(
  err: unknown,
  table: string,
  put: DoPutRequest,
  metrics: WriterMetrics,
  logger: Logger,
): Error {
  if (err instanceof FlightInvalidArgumentError) {
    metrics.puts.inc({ table, outcome: 'invalid' });
    metrics.errors.inc({ kind: 'invalid_input' });
    logger.warn({ peer: put.peer, table, reason: err.message }, 'rejected invalid put');
    return err;
  }
  if (err instanceof FlightResourceExhaustedError) {
    metrics.puts.inc({ table, outcome: 'too_large' });
    logger.warn({ peer: put.peer, table, reason: err.message }, 'rejected oversized put');
    return err;
  }
  if (err instanceof IngestClosedError) {
    metrics.puts.inc({ table, outcome: 'unavailable' });
    return new FlightUnavailableError('writer is shutting down; retry on another writer', {
      cause: err,
    });
  }
  if (err instanceof FlushFailedError) {
    metrics.puts.inc({ table, outcome: 'unavailable' });
    metrics.errors.inc({ kind: 'flush_failed' });
    // Logged once per batch by the ingestor's flush-failed event; the client retries.
    return new FlightUnavailableError('object store unavailable: the data was not stored; retry', {
      cause: err,
    });
  }
  metrics.puts.inc({ table, outcome: 'error' });
  metrics.errors.inc({ kind: 'internal' });
  logger.error({ err, peer: put.peer, table }, 'put failed unexpectedly');
  return err instanceof Error ? err : new Error(String(err));
}
