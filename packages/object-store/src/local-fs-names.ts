import { createHash, randomBytes } from 'node:crypto';

/**
 * File names the local-fs store creates next to objects. They all start with
 * `.sediment~`, a segment prefix the store refuses in keys, so they can never collide
 * with an object and `list` can skip them by name.
 */
export const RESERVED_PREFIX = '.sediment~';
/** Temporary files: object bodies before publication and lock records before linking. */
export const TEMP_PREFIX = '.sediment~tmp-';
/** Per-key lock files. */
export const LOCK_PREFIX = '.sediment~lock-';

/** Longest object segment embedded verbatim in a lock name; longer ones are hashed so
 *  lock and grave names stay under NAME_MAX (255 bytes). */
const MAX_EMBEDDED_BYTES = 180;

export function isReserved(name: string): boolean {
  return name.startsWith(RESERVED_PREFIX);
}

export function lockFileName(base: string): string {
  if (Buffer.byteLength(base, 'utf8') <= MAX_EMBEDDED_BYTES) return LOCK_PREFIX + base;
  return `${LOCK_PREFIX}#${createHash('sha256').update(base, 'utf8').digest('hex')}`;
}

export function tempFileName(kind: 'obj' | 'lock'): string {
  return `${TEMP_PREFIX}${kind}-${process.pid.toString(36)}-${randomBytes(6).toString('hex')}`;
}

export function graveFileName(lockName: string, tag: string): string {
  return `${lockName}~broken-${tag}`;
}
