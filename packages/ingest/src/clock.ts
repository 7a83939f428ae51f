/** Wall-clock source, milliseconds since the Unix epoch. Injected so tests are deterministic. */
export interface Clock {
  now(): number;
}

/** Unique-name source. Each call returns a new 26-character uppercase Crockford ULID. */
export interface IdSource {
  next(): string;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** Sleeps `ms` milliseconds (real timers; the clock only stamps data). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
