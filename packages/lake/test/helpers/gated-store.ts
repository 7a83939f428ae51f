/**
 * A real store wrapped so a test can hold one compactor at an exact point: every put of
 * a key matching `pattern` waits while the gate is closed. `reached` resolves when the
 * first such put arrives (the holder is then "after writing files, before commit").
 */
import type {
  GetResult,
  ObjectMeta,
  ObjectStore,
  PutOptions,
  PutResult,
} from '@sediment/object-store';

export class GatedStore implements ObjectStore {
  readonly description: string;
  readonly #inner: ObjectStore;
  readonly #pattern: RegExp;
  #open: Promise<void> | undefined;
  #release: (() => void) | undefined;
  #onReach: (() => void) | undefined;
  readonly reached: Promise<void>;

  constructor(inner: ObjectStore, pattern: RegExp) {
    this.#inner = inner;
    this.#pattern = pattern;
    this.description = `gated(${inner.description})`;
    this.reached = new Promise((resolve) => {
      this.#onReach = resolve;
    });
  }

  closeGate(): void {
    this.#open = new Promise((resolve) => {
      this.#release = resolve;
    });
  }

  openGate(): void {
    this.#release?.();
    this.#open = undefined;
  }

  async put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult> {
    if (this.#pattern.test(key) && this.#open) {
      this.#onReach?.();
      await this.#open;
    }
    return this.#inner.put(key, bytes, options);
  }
  get(key: string): Promise<GetResult> {
    return this.#inner.get(key);
  }
  head(key: string): Promise<ObjectMeta> {
    return this.#inner.head(key);
  }
  list(prefix: string): AsyncIterable<ObjectMeta> {
    return this.#inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.#inner.delete(key);
  }
  async close(): Promise<void> {}
}
