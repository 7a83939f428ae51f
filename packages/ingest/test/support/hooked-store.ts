export { type GetHook, HookedStore, type PutHook } from '@sediment/object-store/testing';

/** A promise-based gate: `wait()` blocks until `open()`. */
export class Gate {
  #open = false;
  #waiters: (() => void)[] = [];
  waiting = 0;

  wait(): Promise<void> {
    if (this.#open) return Promise.resolve();
    this.waiting++;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  open(): void {
    this.#open = true;
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** A controllable wall clock. */
export class ManualClock {
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

/** Deterministic ULID-shaped ids: 01000000000000000000000001, …02, … */
export class SequentialIds {
  #n = 0;
  next(): string {
    this.#n++;
    return `01${String(this.#n).padStart(24, '0')}`;
  }
}

/** Waits until `predicate()` is true (polling), or throws after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
