import { AlreadyExistsError, NotFoundError, PreconditionError } from './errors.js';
import { compareKeys, validateKey, validatePrefix } from './keys.js';
import type { GetResult, ObjectMeta, ObjectStore, PutOptions, PutResult } from './types.js';

interface Entry {
  bytes: Uint8Array;
  etag: string;
  lastModified: Date;
}

export interface MemoryStoreOptions {
  /** Milliseconds since the epoch; defaults to `Date.now`. */
  readonly now?: () => number;
}

/**
 * In-process store with the same semantics as the durable backends. Bytes are copied on
 * the way in and out, so callers can never mutate stored objects. Every write gets a
 * fresh ETag (a generation counter), even for identical bytes.
 */
export class MemoryStore implements ObjectStore {
  readonly description = 'memory:';
  readonly #objects = new Map<string, Entry>();
  readonly #now: () => number;
  #generation = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    validateKey(key);
    const mode = options.mode ?? 'overwrite';
    const current = this.#objects.get(key);
    if (mode === 'create') {
      if (current) throw new AlreadyExistsError(key);
    } else if (mode !== 'overwrite') {
      if (!current) throw new PreconditionError(key, 'object does not exist');
      if (current.etag !== mode.ifMatch) {
        throw new PreconditionError(key, `etag is ${current.etag}, expected ${mode.ifMatch}`);
      }
    }
    const etag = `m${++this.#generation}`;
    this.#objects.set(key, { bytes: bytes.slice(), etag, lastModified: new Date(this.#now()) });
    return { etag };
  }

  async get(key: string): Promise<GetResult> {
    const entry = this.#entry(key);
    return { ...meta(key, entry), bytes: entry.bytes.slice() };
  }

  async head(key: string): Promise<ObjectMeta> {
    return meta(key, this.#entry(key));
  }

  async *list(prefix: string): AsyncIterable<ObjectMeta> {
    validatePrefix(prefix);
    const keys = [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
    for (const key of keys) {
      const entry = this.#objects.get(key);
      if (entry) yield meta(key, entry);
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    this.#objects.delete(key);
  }

  async close(): Promise<void> {}

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #entry(key: string): Entry {
    validateKey(key);
    const entry = this.#objects.get(key);
    if (!entry) throw new NotFoundError(key);
    return entry;
  }
}

function meta(key: string, entry: Entry): ObjectMeta {
  return { key, size: entry.bytes.byteLength, etag: entry.etag, lastModified: entry.lastModified };
}
