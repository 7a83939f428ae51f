#!/usr/bin/env node
// The writer process: Arrow Flight DoPut → durable ingest queue → Parquet lake.
import { ConfigError } from '@sediment/config';
import { createLogger, waitForShutdownSignal } from '@sediment/service-kit';
import { loadWriterConfig } from './config.js';
import { createWriter } from './create-writer.js';

let config: ReturnType<typeof loadWriterConfig>;
try {
  config = loadWriterConfig(process.env, process.argv.slice(2));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`sediment writer: ${err.message}`);
  process.exit(2);
}

const logger = createLogger({ name: 'writer', level: config.logLevel });
const writer = await createWriter(config, { logger }).catch((err: unknown) => {
  logger.fatal({ err }, 'writer failed to start');
  process.exit(1);
});
const signal = await waitForShutdownSignal({
  onForce: (s) => {
    logger.warn({ signal: s }, 'second signal: exiting without finishing the drain');
    process.exit(130);
  },
});
logger.info({ signal }, 'shutting down');
await writer.drain();
process.exitCode = writer.collectorState === 'failed' ? 1 : 0;
