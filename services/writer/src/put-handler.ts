import {
  type DoPutHandler,
  type DoPutRequest,
  FlightInvalidArgumentError,
  FlightUnavailableError,
} from '@sediment/flight';
import { FlushFailedError, IngestClosedError, type Ingestor } from '@sediment/ingest';
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
 * Outcomes: bad input → INVALID_ARGUMENT (never retried); writer shutting down or the
 * store unable to take the batch → UNAVAILABLE (the acceptor retries another writer or
 * tells its client to retry: nothing acked is lost).
 */
export function createPutHandler(deps: {
  readonly ingestor: Ingestor;
  readonly metrics: WriterMetrics;
  readonly logger: Logger;
}): DoPutHandler {
  const { ingestor, metrics, logger } = deps;
  const validatePut = createPutValidator();
  return async (put: DoPutRequest) => {
    const started = performance.now();
    let table = 'unknown';
    try {
      const valid = validatePut(put.path, put.ipc);
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
      metrics.bytes.inc({ table }, put.ipc.byteLength);
      metrics.putDuration.observe({ table }, (performance.now() - started) / 1000);
      return encoder.encode(
        JSON.stringify({ sequence: durable.sequence.toString(), rows: valid.rows }),
      );
    } catch (err) {
      throw classify(err, table, put, metrics, logger);
    }
  };
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
