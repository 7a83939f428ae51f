import type { GetResult, ObjectMeta, ObjectStore, PutOptions, PutResult } from '../types.js';

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
 * that a random fault injector cannot reproduce on demand. Counts every request (the
 * benchmarks use it, without hooks, for their requests-per-row figures).
 */
export class HookedStore implements ObjectStore {
  readonly description: string;
  onPut: PutHook | undefined;
  onGet: GetHook | undefined;
  readonly counts = { put: 0, get: 0, head: 0, list: 0, delete: 0 };

  readonly #closeInner: boolean;

  /** `closeInner: false` leaves the inner store open on `close()` (the test reads it after). */
  constructor(
    readonly inner: ObjectStore,
    options: { closeInner?: boolean } = {},
  ) {
    this.description = `hooked:${inner.description}`;
    this.#closeInner = options.closeInner ?? true;
  }

  /** Requests of every kind so far. */
  get total(): number {
    const c = this.counts;
    return c.put + c.get + c.head + c.list + c.delete;
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

  async close(): Promise<void> {
    if (this.#closeInner) await this.inner.close();
  }
}
