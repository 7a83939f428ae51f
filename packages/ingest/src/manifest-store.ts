import { NotFoundError, type ObjectStore } from '@sediment/object-store';
import { type DecodedManifest, decodeManifest, EMPTY_MANIFEST } from './manifest-codec.js';

/** A manifest as read, with the ETag a conditional write must match. */
export interface ManifestSnapshot {
  readonly manifest: DecodedManifest;
  /** Undefined when the manifest object does not exist (write it with `create`). */
  readonly etag: string | undefined;
  /** Size of the manifest object in bytes (0 when missing). */
  readonly size: number;
}

/**
 * Reads and decodes the manifest; a missing object is the empty manifest (epoch 0,
 * next_sequence 0).
 * @throws CorruptManifestError, and the store's errors except NotFoundError.
 */
export async function readManifest(store: ObjectStore, path: string): Promise<ManifestSnapshot> {
  try {
    const got = await store.get(path);
    return { manifest: decodeManifest(got.bytes, { path }), etag: got.etag, size: got.size };
  } catch (err) {
    if (err instanceof NotFoundError) return { manifest: EMPTY_MANIFEST, etag: undefined, size: 0 };
    throw err;
  }
}

/**
 * Conditionally replaces the manifest read as `etag` (creates it when `etag` is
 * undefined). Returns the new ETag.
 * @throws PreconditionError / AlreadyExistsError when another writer got there first,
 *   TransientError (check `maybeApplied`), and the store's fatal errors.
 */
export async function writeManifest(
  store: ObjectStore,
  path: string,
  bytes: Uint8Array,
  etag: string | undefined,
): Promise<string> {
  const result = await store.put(path, bytes, {
    mode: etag === undefined ? 'create' : { ifMatch: etag },
  });
  return result.etag;
}

/** The lowest sequence still in the manifest, or `next_sequence` when it is empty. */
export function firstAvailable(manifest: DecodedManifest): bigint {
  return manifest.entries[0]?.sequence ?? manifest.nextSequence;
}
