/**
 * The logging surface this package needs: a subset of pino's Logger, so a pino logger
 * (or a child of one) can be passed as is. Messages are logged once per event with a
 * structured object first, as pino expects.
 */
export interface FlightLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

function serialize(obj: object): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k] =
      v instanceof Error
        ? { type: v.name, message: v.message, stack: v.stack, code: (v as { code?: unknown }).code }
        : v;
  }
  return out;
}

function line(level: string, obj: object, msg: string | undefined): void {
  process.stderr.write(
    `${JSON.stringify({ level, time: Date.now(), name: 'sediment-flight', ...serialize(obj), msg })}\n`,
  );
}

/** Default logger: warnings and errors as JSON lines on stderr; debug and info dropped. */
export const stderrFlightLogger: FlightLogger = {
  debug() {},
  info() {},
  warn: (obj, msg) => line('warn', obj, msg),
  error: (obj, msg) => line('error', obj, msg),
};

/** A logger that drops everything (tests, benchmarks). */
export const silentFlightLogger: FlightLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
