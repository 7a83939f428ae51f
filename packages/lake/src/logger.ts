/**
 * The logging surface the lake uses: a subset of pino's, so the writer service passes
 * its pino child logger straight in. The default logs warnings and errors to stderr as
 * JSON lines (a library must not be silent about quarantined data).
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

function line(level: string, obj: object, msg?: string): string {
  const o: Record<string, unknown> = { level, time: Date.now(), name: 'sediment-lake', msg };
  for (const [k, v] of Object.entries(obj)) {
    o[k] =
      v instanceof Error
        ? { type: v.name, message: v.message, code: (v as { code?: unknown }).code }
        : v;
  }
  return JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export const stderrLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn(obj: object, msg?: string) {
    process.stderr.write(`${line('warn', obj, msg)}\n`);
  },
  error(obj: object, msg?: string) {
    process.stderr.write(`${line('error', obj, msg)}\n`);
  },
});

export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });
