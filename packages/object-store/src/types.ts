/**
 * The object-store contract every backend implements and the conformance suite checks.
 *
 * Keys are `/`-separated relative paths (see `validateKey`). ETags are opaque strings
 * WITHOUT surrounding quotes; a put that changes an object always changes its ETag
 * unless the backend derives ETags from content (S3), in which case identical bytes
 * may keep the same ETag — callers only ever compare ETags for equality.
 */
export type PutMode =
  /** Unconditional write; last writer wins. */
  | 'overwrite'
  /** Write only if no object exists at the key, else `AlreadyExistsError`. */
  | 'create'
  /** Write only if the current object's ETag equals `ifMatch`, else `PreconditionError`
   *  (also when the object is gone). */
  | { readonly ifMatch: string };

export interface PutOptions {
  /** Default `overwrite`. */
  readonly mode?: PutMode;
}

export interface PutResult {
  /** ETag of the object as written. */
  readonly etag: string;
}

export interface ObjectMeta {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
}

export interface GetResult extends ObjectMeta {
  readonly bytes: Uint8Array;
}

/**
 * An object store. Every implementation is linearizable per key: each call takes effect
 * at one instant between its start and its answer, as seen by every client in every
 * process. Implementations must pass `defineObjectStoreConformance`
 * (`@sediment/object-store/testing`); semantics per backend: docs/001-object-store.md.
 */
export interface ObjectStore {
  /** Human-readable location for logs, e.g. `file:///var/lib/sediment` or `s3://bucket/prefix`.
   *  Never contains credentials. */
  readonly description: string;

  /**
   * Writes `bytes` at `key` atomically: a reader sees either the previous object or the
   * complete new one, never a partial write. Conditional modes are atomic with respect
   * to every other writer, in this process or any other.
   * @throws AlreadyExistsError (mode `create`), PreconditionError (mode `ifMatch`),
   *   TransientError (retry; check `maybeApplied`), InvalidKeyError, ObjectStoreFatalError.
   */
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult>;

  /** @throws NotFoundError, TransientError, InvalidKeyError, ObjectStoreFatalError. */
  get(key: string): Promise<GetResult>;

  /** @throws NotFoundError, TransientError, InvalidKeyError, ObjectStoreFatalError. */
  head(key: string): Promise<ObjectMeta>;

  /**
   * Every object whose key starts with `prefix` (a plain string prefix, not a folder),
   * in ascending key order (UTF-8 byte order). Objects written or deleted while the
   * listing runs may or may not appear.
   */
  list(prefix: string): AsyncIterable<ObjectMeta>;

  /** Removes the object. Deleting a missing key succeeds (idempotent). */
  delete(key: string): Promise<void>;

  /** Releases connections and handles. Idempotent. */
  close(): Promise<void>;
}

/** Collects a listing into an array; for small prefixes and tests. */
export async function listAll(store: ObjectStore, prefix: string): Promise<ObjectMeta[]> {
  const out: ObjectMeta[] = [];
  for await (const meta of store.list(prefix)) out.push(meta);
  return out;
}
