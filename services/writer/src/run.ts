import { ConfigError, renderHelp } from '@sediment/config';
import { createLogger, serviceSignals, waitForShutdownSignal } from '@sediment/service-kit';
import { loadWriterConfig } from './config.js';
import { createWriter } from './create-writer.js';
import { writerSettings } from './settings.js';

export const WRITER_USAGE = `Usage: sediment writer [options]

Runs a writer: Arrow Flight DoPut server (acked once durable in the ingest queue) and,
unless --collector false, the collector compacting the queue into Parquet.
Every option can also be set with its environment variable.

Options:
${renderHelp(writerSettings)}`;

/**
 * Process entry for a writer (used by the writer's main and `sediment writer`): parse
 * the configuration, run until SIGTERM/SIGINT, drain, and set the exit code (0 clean,
 * 1 failure, 2 bad configuration). Process-level code: a second signal exits at once.
 */
export async function runWriterProcess(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(WRITER_USAGE);
    return;
  }
  let config: ReturnType<typeof loadWriterConfig>;
  try {
    config = loadWriterConfig(env, argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`sediment writer: ${err.message}\n(see sediment writer --help)`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger({ name: 'writer', level: config.logLevel });
  let writer: Awaited<ReturnType<typeof createWriter>>;
  try {
    writer = await createWriter(config, { logger });
  } catch (err) {
    logger.fatal({ err }, 'writer failed to start');
    process.exitCode = 1;
    return;
  }
  const signal = await waitForShutdownSignal({
    ...serviceSignals(env),
    onForce: (s) => {
      logger.warn({ signal: s }, 'second signal: exiting without finishing the drain');
      process.exit(130);
    },
  });
  logger.info({ signal }, 'shutting down');
  const report = await writer.drain();
  process.exitCode = report.clean && writer.collectorState !== 'failed' ? 0 : 1;
}
