import type {
  GetResult,
  ObjectMeta,
  ObjectStore,
  PutOptions,
  PutResult,
} from '@sediment/object-store';

export type PutHook = (
  key: string,
  bytes: Uint8Array,
  options: PutOptions | undefined,
  next: () => Promise<PutResult>,
) => Promise<PutResult>;
export type GetHook = (key: string, next: () => Promise<GetResult>) => Promise<GetResult>;

/**
 * A real store (usually MemoryStore) with per-test hooks around put/get, used to script
 * exact failure sequences (a put applied but its reply lost, a gate that holds a write)
 * that a random fault injector cannot reproduce on demand. Counts every request.
 */
export class HookedStore implements ObjectStore {
  readonly description: string;
  onPut: PutHook | undefined;
  onGet: GetHook | undefined;
  readonly counts = { put: 0, get: 0, head: 0, list: 0, delete: 0 };

  constructor(readonly inner: ObjectStore) {
    this.description = `hooked:${inner.description}`;
  }

  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult> {
    this.counts.put++;
    const next = () => this.inner.put(key, bytes, options);
    return this.onPut ? this.onPut(key, bytes, options, next) : next();
  }

  get(key: string): Promise<GetResult> {
    this.counts.get++;
    const next = () => this.inner.get(key);
    return this.onGet ? this.onGet(key, next) : next();
  }

  head(key: string): Promise<ObjectMeta> {
    this.counts.head++;
    return this.inner.head(key);
  }

  list(prefix: string): AsyncIterable<ObjectMeta> {
    this.counts.list++;
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    this.counts.delete++;
    return this.inner.delete(key);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

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
