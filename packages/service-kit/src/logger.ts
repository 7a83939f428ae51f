import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** Component name, e.g. `writer` or `acceptor`. */
  readonly name: string;
  readonly level?: LevelWithSilent;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
}

/**
 * Paths that may carry credentials. Tokens must never reach a log line, whatever a caller
 * passes in (request headers, config objects, errors wrapping either).
 */
const REDACT = [
  'authorization',
  'token',
  'tokens',
  'password',
  'secretAccessKey',
  '*.authorization',
  '*.token',
  '*.tokens',
  '*.password',
  '*.secretAccessKey',
  'req.headers.authorization',
  'headers.authorization',
  'config.authTokens',
  'config.flightTokens',
];

/** One JSON logger per process; components take `logger.child({ component })`. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
