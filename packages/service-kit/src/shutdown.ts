/** Signals repeated within this window count as one (a terminal's Ctrl-C reaches every
 *  process of the foreground group, and wrappers forward it too). */
const SAME_SIGNAL_WINDOW_MS = 1000;

/**
 * Resolves with the first of `signals` the process receives. A further signal more than
 * a second later, while the caller drains, calls `onForce` (mains use it to exit at once:
 * the operator insisted). Signals in `ignore` are swallowed (supervised children leave
 * Ctrl-C to their supervisor, which drains them in order).
 */
export function waitForShutdownSignal(
  options: {
    readonly signals?: readonly NodeJS.Signals[];
    readonly ignore?: readonly NodeJS.Signals[];
    readonly onForce?: (signal: NodeJS.Signals) => void;
    readonly now?: () => number;
  } = {},
): Promise<NodeJS.Signals> {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const now = options.now ?? Date.now;
  for (const s of options.ignore ?? []) process.on(s, () => {});
  return new Promise((resolve) => {
    let firstAt: number | undefined;
    const handler = (signal: NodeJS.Signals) => {
      if (firstAt === undefined) {
        firstAt = now();
        resolve(signal);
      } else if (now() - firstAt > SAME_SIGNAL_WINDOW_MS) {
        options.onForce?.(signal);
      }
    };
    for (const s of signals) if (!options.ignore?.includes(s)) process.on(s, handler);
  });
}

/** Environment flag `sediment start` sets on the processes it supervises. */
export const SUPERVISED_ENV = 'SEDIMENT_SUPERVISED';

/** Signal options for a service process: supervised ones ignore SIGINT. */
export function serviceSignals(env: Readonly<Record<string, string | undefined>>): {
  readonly ignore: readonly NodeJS.Signals[];
} {
  return { ignore: env[SUPERVISED_ENV] === '1' ? ['SIGINT'] : [] };
}
