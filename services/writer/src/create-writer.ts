import { readFileSync } from 'node:fs';
import { createFlightServer, type FlightServer } from '@sediment/flight';
import { Ingestor, type IngestorEvent } from '@sediment/ingest';
import { type ObjectStore, openStore } from '@sediment/object-store';
import {
  type AdminServer,
  createLogger,
  createRegistry,
  type Logger,
  type Readiness,
  startAdminServer,
} from '@sediment/service-kit';
import type { Registry } from 'prom-client';
import { CollectorRunner, type CollectorState } from './collector-runner.js';
import type { WriterConfig } from './config.js';
import { WriterMetrics } from './metrics.js';
import { createPutHandler } from './put-handler.js';
import { withStoreFaults } from './store-faults.js';

export interface WriterOverrides {
  /** Use this store instead of opening `config.storeUrl` (tests, fault injection). */
  readonly store?: ObjectStore;
  readonly logger?: Logger;
  readonly registry?: Registry;
}

export interface DrainReport {
  /** True when nothing acked was left behind uncommitted by this writer's own failure. */
  readonly clean: boolean;
  /** The final queue flush failed: puts still buffered were answered UNAVAILABLE. */
  readonly queueFlushFailed: boolean;
  readonly collector: 'drained' | 'not-running' | 'failed' | 'disabled';
}

export interface Writer extends AsyncDisposable {
  readonly flightPort: number;
  readonly adminPort: number;
  readonly store: ObjectStore;
  readonly registry: Registry;
  readonly logger: Logger;
  /** `undefined` when this writer runs no collector (SEDIMENT_COLLECTOR=false). */
  readonly collectorState: CollectorState | undefined;
  /** The collector side, when enabled (tests inspect its compactor). */
  readonly collector: CollectorRunner | undefined;
  readiness(): Readiness;
  /**
   * SIGTERM path: stop accepting puts (in-flight ones finish and are acked), flush the
   * ingestor, let the collector commit everything queued, then release everything.
   * When the report says `clean`, every acked row is in a committed Parquet file (or,
   * with the collector disabled or fenced, in the queue for the active collector).
   * Idempotent.
   */
  drain(): Promise<DrainReport>;
  /** Stops at once without draining (queued data stays in the queue). Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds and starts a writer: the Arrow Flight DoPut server whose PutResult means
 * "durable in the ingest queue", the collector compacting the queue into Parquet (unless
 * disabled), and the admin HTTP server (/healthz, /readyz, /metrics).
 */
export async function createWriter(
  config: WriterConfig,
  overrides: WriterOverrides = {},
): Promise<Writer> {
  const logger = overrides.logger ?? createLogger({ name: 'writer', level: config.logLevel });
  const registry = overrides.registry ?? createRegistry('writer');
  const metrics = new WriterMetrics(registry);
  const store = withStoreFaults(
    overrides.store ?? openStore(config.storeUrl, config.storeEnv),
    config.testStoreFaults,
  );
  if (config.testStoreFaults) {
    logger.warn(
      { faults: config.testStoreFaults },
      'TEST-ONLY object-store fault injection is active (SEDIMENT_TEST_STORE_FAULTS)',
    );
  }
  const ownsStore = overrides.store === undefined;

  const ingestor = new Ingestor({
    store,
    flushIntervalMs: config.flushInterval,
    flushSizeBytes: config.flushSize,
    maxBufferedInputs: config.maxBufferedInputs,
    batchCompression: config.batchCompression,
    dataPathPrefix: config.queuePrefix,
    manifestPath: `${config.queuePrefix}/manifest`,
    logger: logger.child({ component: 'ingestor' }),
    onEvent: (e) => onIngestorEvent(e, metrics, logger),
  });
  const collector = config.collector
    ? new CollectorRunner({ store, config, metrics, logger })
    : undefined;

  let flight: FlightServer | undefined;
  let admin: AdminServer | undefined;
  let state: 'running' | 'draining' | 'closed' = 'running';
  let flightPort = 0;

  const readiness = (): Readiness => {
    if (state !== 'running') return { ready: false, reason: `writer is ${state}` };
    if (!flight) return { ready: false, reason: 'Flight server not listening yet' };
    return { ready: true };
  };

  try {
    flight = createFlightServer({
      onDoPut: createPutHandler({
        ingestor,
        metrics,
        logger: logger.child({ component: 'put' }),
        maxPutBytes: config.maxPutBytes,
      }),
      maxPutBytes: config.maxPutBytes,
      maxConnectionAgeMs: config.flightMaxConnectionAge,
      ...(config.flightTokens ? { auth: { tokens: config.flightTokens } } : {}),
      ...(config.flightTlsCert && config.flightTlsKey
        ? {
            tls: {
              cert: readFileSync(config.flightTlsCert),
              key: readFileSync(config.flightTlsKey),
              ...(config.flightTlsClientCa
                ? { ca: readFileSync(config.flightTlsClientCa), requireClientCert: true }
                : {}),
            },
          }
        : {}),
      logger: logger.child({ component: 'flight' }),
    });
    flightPort = await flight.listen(config.flightHost, config.flightPort);
    admin = await startAdminServer({
      host: config.flightHost,
      port: config.writerAdminPort,
      registry,
      live: () => collector?.state !== 'failed',
      ready: readiness,
    });
    collector?.start();
  } catch (err) {
    await flight?.forceClose();
    await admin?.close();
    await collector?.close();
    await ingestor.close().catch(() => {});
    if (ownsStore) await store.close();
    throw err;
  }

  logger.info(
    {
      store: store.description,
      flightPort,
      adminPort: admin.port,
      queue: `${config.queuePrefix}/`,
      lake: `${config.lakePrefix}/`,
      collector: config.collector,
    },
    'writer started',
  );

  let drained: Promise<DrainReport> | undefined;
  let closed: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closed ??= (async () => {
      state = 'closed';
      await flight?.forceClose();
      await ingestor.close().catch((err) => logger.warn({ err }, 'ingestor close failed'));
      await collector?.close();
      await admin?.close();
      if (ownsStore) await store.close();
    })();
    return closed;
  };

  const drain = (): Promise<DrainReport> => {
    drained ??= (async (): Promise<DrainReport> => {
      if (state === 'closed') return { clean: false, queueFlushFailed: false, collector: 'failed' };
      state = 'draining';
      const t0 = performance.now();
      logger.info('draining: no new puts; flushing the queue and committing everything queued');
      await flight?.close();
      let queueFlushFailed = false;
      await ingestor.close().catch((err) => {
        queueFlushFailed = true;
        logger.error({ err }, 'final queue flush failed');
      });
      const collectorResult = collector ? await collector.drain() : 'disabled';
      const report: DrainReport = {
        clean: !queueFlushFailed && collectorResult !== 'failed',
        queueFlushFailed,
        collector: collectorResult,
      };
      logger.info({ durationMs: Math.round(performance.now() - t0), ...report }, 'drained');
      await close();
      return report;
    })();
    return drained;
  };

  return {
    flightPort,
    adminPort: admin.port,
    store,
    registry,
    logger,
    get collectorState() {
      return collector?.state;
    },
    collector,
    readiness,
    drain,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function onIngestorEvent(e: IngestorEvent, metrics: WriterMetrics, logger: Logger): void {
  switch (e.type) {
    case 'batch-written':
      metrics.batchesWritten.inc();
      metrics.batchBytes.inc(e.objectBytes);
      break;
    case 'enqueued':
      metrics.manifestCommits.inc();
      break;
    case 'flush-failed':
      metrics.flushFailures.inc();
      logger.error(
        { err: e.error, inputs: e.inputs, location: e.location },
        'queue batch could not be made durable; its puts were answered UNAVAILABLE',
      );
      break;
    case 'retry':
      metrics.storeRetries.inc({ operation: e.operation, reason: e.reason });
      if (e.reason === 'conflict' && e.operation === 'append') metrics.manifestConflicts.inc();
      break;
  }
}
