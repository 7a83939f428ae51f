import { randomFillSync } from 'node:crypto';
import type { Clock, IdSource } from './clock.js';
import { systemClock } from './clock.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
const MAX_TIME = 2 ** 48 - 1;

/** A 26-character ULID in uppercase Crockford base32 (no I, L, O, U). */
export const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

export function isUlid(value: string): boolean {
  return ULID_PATTERN.test(value);
}

export interface UlidOptions {
  readonly clock?: Clock;
  /** Fills a buffer with random bytes; defaults to `crypto.randomFillSync`. */
  readonly random?: (bytes: Uint8Array) => void;
}

/**
 * Monotonic ULID generator: 48-bit millisecond time + 80 random bits. Within one
 * millisecond (or when the clock steps back) the random part of the previous id is
 * incremented, so ids from one generator sort in creation order; across processes the
 * 80 random bits keep them unique.
 */
export class UlidGenerator implements IdSource {
  readonly #clock: Clock;
  readonly #random: (bytes: Uint8Array) => void;
  readonly #digits = new Uint8Array(RANDOM_CHARS);
  #lastTime = -1;

  constructor(options: UlidOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? ((b) => randomFillSync(b));
  }

  next(): string {
    let time = Math.floor(this.#clock.now());
    if (!(time >= 0 && time <= MAX_TIME)) throw new RangeError(`ULID time ${time} out of range`);
    if (time <= this.#lastTime) {
      time = this.#lastTime;
      if (!this.#increment()) {
        // 2^80 ids in one millisecond: borrow the next millisecond.
        time += 1;
        this.#fresh();
      }
    } else {
      this.#fresh();
    }
    this.#lastTime = time;
    let out = '';
    for (let i = TIME_CHARS - 1; i >= 0; i--) {
      const div = 32 ** i;
      out += ALPHABET[Math.floor(time / div) % 32];
    }
    for (let i = 0; i < RANDOM_CHARS; i++) out += ALPHABET[this.#digits[i]!];
    return out;
  }

  #fresh(): void {
    this.#random(this.#digits);
    // 256 is a multiple of 32, so masking keeps every digit uniform.
    for (let i = 0; i < RANDOM_CHARS; i++) this.#digits[i] = this.#digits[i]! & 31;
  }

  #increment(): boolean {
    for (let i = RANDOM_CHARS - 1; i >= 0; i--) {
      if (this.#digits[i]! < 31) {
        this.#digits[i]! += 1;
        return true;
      }
      this.#digits[i] = 0;
    }
    return false;
  }
}

/** Milliseconds encoded in a ULID's first ten characters. */
export function ulidTime(id: string): number {
  let time = 0;
  for (let i = 0; i < TIME_CHARS; i++) time = time * 32 + ALPHABET.indexOf(id[i]!);
  return time;
}
