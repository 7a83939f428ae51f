/**
 * Which target a put goes to, for a client given an explicit list of writers.
 *
 * Each target is up or down. A target is marked down when a call to it fails with
 * UNAVAILABLE (connection refused or lost, or the writer said it cannot take the put) and
 * stays down for a jittered, exponentially growing backoff; the next success marks it up and
 * resets the backoff. A put tries the up targets first (in round-robin or list order), then
 * the down ones, soonest-to-recover first, so that a put is refused only when every target
 * refused it, and a restarted writer gets traffic again once its backoff expires.
 *
 * Time and randomness are injected so tests can drive backoff deterministically.
 */

export interface TargetBackoff {
  /** First down period. Default 250 ms. */
  initialMs?: number;
  /** Longest down period. Default 5 s. */
  maxMs?: number;
}

export interface TargetState<T> {
  readonly target: string;
  readonly channel: T;
  /** Consecutive failures; 0 when up. */
  failures: number;
  /** Clock time until which the target counts as down (0 = up). */
  downUntil: number;
  ok: number;
  failed: number;
}

export class TargetPool<T> {
  readonly entries: readonly TargetState<T>[];
  readonly #roundRobin: boolean;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #next = 0;

  constructor(
    targets: readonly { target: string; channel: T }[],
    options: {
      roundRobin: boolean;
      backoff?: TargetBackoff;
      now?: () => number;
      random?: () => number;
    },
  ) {
    if (targets.length === 0) throw new TypeError('at least one target is required');
    this.entries = targets.map((t) => ({
      target: t.target,
      channel: t.channel,
      failures: 0,
      downUntil: 0,
      ok: 0,
      failed: 0,
    }));
    this.#roundRobin = options.roundRobin;
    this.#initialMs = options.backoff?.initialMs ?? 250;
    this.#maxMs = options.backoff?.maxMs ?? 5_000;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  isDown(entry: TargetState<T>): boolean {
    return entry.downUntil > this.#now();
  }

  /** The order in which one put should try the targets (each at most once). */
  order(): TargetState<T>[] {
    const n = this.entries.length;
    const now = this.#now();
    const start = this.#roundRobin ? this.#next++ % n : 0;
    if (this.#next >= n * 1_000_000) this.#next = 0;
    const up: TargetState<T>[] = [];
    const down: TargetState<T>[] = [];
    for (let i = 0; i < n; i++) {
      const e = this.entries[(start + i) % n]!;
      (e.downUntil > now ? down : up).push(e);
    }
    down.sort((a, b) => a.downUntil - b.downUntil);
    return up.concat(down);
  }

  /** Records a success: the target is up. Returns true if it was down before. */
  markUp(entry: TargetState<T>): boolean {
    const wasDown = entry.failures > 0;
    entry.failures = 0;
    entry.downUntil = 0;
    entry.ok++;
    return wasDown;
  }

  /** Records an UNAVAILABLE: the target is down for a backoff. Returns the period in ms. */
  markDown(entry: TargetState<T>): number {
    entry.failures++;
    entry.failed++;
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(entry.failures - 1, 30));
    // Full jitter in [base/2, base): writers restarted together do not get a thundering herd.
    const period = base / 2 + (this.#random() * base) / 2;
    entry.downUntil = this.#now() + period;
    return period;
  }

  /** Records a failure that says nothing about the target's health (e.g. bad input). */
  markFailed(entry: TargetState<T>): void {
    entry.failed++;
  }
}
