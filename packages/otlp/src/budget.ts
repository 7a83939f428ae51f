import { OutputTooLargeError } from './errors.js';

/**
 * Caps the column memory one decode may use. Every column charges the capacity it
 * grows to during a decode here, so no input, however crafted, makes the decoder use
 * more than `limit` bytes: capacities only grow as values are actually written,
 * never from a length prefix read off the wire. (Column buffers are reused from one
 * decode to the next; the accounting is per decode and does not depend on what an
 * earlier decode left allocated.)
 */
export class Budget {
  used = 0;
  constructor(readonly limit: number) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) throw new OutputTooLargeError(this.limit);
  }
}

/** Default cap: 128 MiB plus 32 bytes of columns per input byte. */
export function defaultOutputLimit(inputBytes: number): number {
  return 128 * 1024 * 1024 + 32 * inputBytes;
}

/** Next capacity for a buffer that must hold at least `needed` elements. */
export function nextCapacity(current: number, needed: number): number {
  let cap = Math.max(16, current);
  while (cap < needed) cap *= 2;
  return cap;
}

/**
 * Buffers larger than this are dropped when a column is reset for the next decode,
 * so one huge request does not pin its memory for the life of the process.
 */
export const RETAIN_BYTES = 256 * 1024;
