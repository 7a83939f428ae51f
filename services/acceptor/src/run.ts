import { ConfigError, renderHelp } from '@sediment/config';
import { createLogger, serviceSignals, waitForShutdownSignal } from '@sediment/service-kit';
import { loadAcceptorConfig } from './config.js';
import { createAcceptor } from './create-acceptor.js';
import { acceptorSettings } from './settings.js';

export const ACCEPTOR_USAGE = `Usage: sediment acceptor [options]

Runs an acceptor: OTLP/gRPC and OTLP/HTTP (protobuf and JSON) for traces, metrics and
logs; replies OK only once a writer made the data durable.
Every option can also be set with its environment variable.

Options:
${renderHelp(acceptorSettings)}`;

/**
 * Process entry for an acceptor (used by its main and `sediment acceptor`): parse the
 * configuration, serve until SIGTERM/SIGINT, drain, and set the exit code (0 clean,
 * 1 failure, 2 bad configuration). Process-level code: a second signal exits at once.
 */
export async function runAcceptorProcess(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(ACCEPTOR_USAGE);
    return;
  }
  let config: ReturnType<typeof loadAcceptorConfig>;
  try {
    config = loadAcceptorConfig(env, argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`sediment acceptor: ${err.message}\n(see sediment acceptor --help)`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger({ name: 'acceptor', level: config.logLevel });
  let acceptor: Awaited<ReturnType<typeof createAcceptor>>;
  try {
    acceptor = await createAcceptor(config, { logger });
  } catch (err) {
    logger.fatal({ err }, 'acceptor failed to start');
    process.exitCode = 1;
    return;
  }
  const signal = await waitForShutdownSignal({
    ...serviceSignals(env),
    onForce: (s) => {
      logger.warn({ signal: s }, 'second signal: exiting without finishing requests in flight');
      process.exit(130);
    },
  });
  logger.info({ signal }, 'shutting down');
  await acceptor.drain();
}
