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
  /**
   * @param transient the decode's results may be views of the reused column buffers
   *   (see `DecodeOptions.transient`) instead of copies.
   */
  constructor(
    readonly limit: number,
    readonly transient = false,
  ) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) throw new OutputTooLargeError(this.limit);
  }

  /** The first `end` elements of a column buffer as a result buffer: a copy, or a view when transient. */
  take<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(buffer: T, end: number): T {
    return (this.transient ? buffer.subarray(0, end) : buffer.slice(0, end)) as T;
  }
}

/**
 * Memory for exactly sized result buffers of transient decodes, reused from one decode to
 * the next: carved from one block, a larger block replacing it when it runs out (views
 * already handed out keep the old one alive until they are dropped).
 */
export class ResultArena {
  #block = new ArrayBuffer(0);
  #pos = 0;

  /** Starts a decode: earlier views may be overwritten from now on. */
  reset(): void {
    this.#pos = 0;
    if (this.#block.byteLength > ARENA_RETAIN_BYTES) this.#block = new ArrayBuffer(0);
  }

  /** `n` 32-bit integers, NOT zeroed (they may hold an earlier decode's values). */
  int32(n: number): Int32Array {
    const bytes = this.#carve(n * 4);
    return new Int32Array(bytes.buffer, bytes.byteOffset, n);
  }

  /** `n` bytes, NOT zeroed. */
  uint8(n: number): Uint8Array {
    return this.#carve(n);
  }

  #carve(bytes: number): Uint8Array {
    const size = (bytes + 7) & ~7;
    if (this.#pos + size > this.#block.byteLength) {
      this.#block = new ArrayBuffer(Math.max(size, this.#block.byteLength * 2, 64 * 1024));
      this.#pos = 0;
    }
    const out = new Uint8Array(this.#block, this.#pos, bytes);
    this.#pos += size;
    return out;
  }
}

/** Arena blocks larger than this are dropped between decodes. */
const ARENA_RETAIN_BYTES = 16 * 1024 * 1024;

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
