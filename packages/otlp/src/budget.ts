import { OutputTooLargeError } from './errors.js';

/**
 * Caps the column memory one decode may allocate. Every column charges its buffer
 * allocations (initial and growth) here, so no input, however crafted, makes the
 * decoder allocate more than `limit` bytes: buffers only grow as values are actually
 * written, never from a length prefix read off the wire.
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
