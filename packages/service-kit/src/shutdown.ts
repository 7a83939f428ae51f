/**
 * Resolves with the first of `signals` the process receives. A second signal while the
 * caller drains calls `onForce` (mains use it to exit at once: the operator insisted).
 */
export function waitForShutdownSignal(
  options: {
    readonly signals?: readonly NodeJS.Signals[];
    readonly onForce?: (signal: NodeJS.Signals) => void;
  } = {},
): Promise<NodeJS.Signals> {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  return new Promise((resolve) => {
    let received = false;
    const handler = (signal: NodeJS.Signals) => {
      if (!received) {
        received = true;
        resolve(signal);
      } else {
        options.onForce?.(signal);
      }
    };
    for (const s of signals) process.on(s, handler);
  });
}
