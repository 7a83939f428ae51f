import { Buffer, isAscii, isUtf8 } from 'node:buffer';
import { InvalidInputError } from './errors.js';
import { keyIdAt, keyIdOfString, keyLength } from './json-keys.js';

/*
 * Pass 1 of the OTLP/JSON decoder: a strict JSON scanner over the UTF-8 bytes that
 * records every value on a "tape" (an Int32Array, three words per value), without
 * building strings or objects. The walkers (json-traces/logs/metrics.ts) then read
 * the tape: an object's members are a run of entries, each carrying the id of its
 * key (json-keys.ts; 0 for a key OTLP does not use), and every container records
 * where it ends, so anything a walker does not need (unknown fields, rejected
 * items) is skipped in O(1).
 *
 * Entry layout, at index i (a multiple of 3):
 *   tape[i]     kind (bits 0-3) | flags (bits 4-7) | key id << 8 (object members)
 *   object/array: tape[i+1] = member / element count, tape[i+2] = index after it
 *                 (members / elements start at i + 3)
 *   string:       tape[i+1] = first byte after the quote, tape[i+2] = closing quote
 *   number:       tape[i+1] = first byte, tape[i+2] = end
 *   true/false/null: tape[i+1] = byte offset
 */

export const T_OBJECT = 1;
export const T_ARRAY = 2;
export const T_STRING = 3;
export const T_NUMBER = 4;
export const T_TRUE = 5;
export const T_FALSE = 6;
export const T_NULL = 7;
/** Kind bits of a tape word. */
export const KIND_MASK = 15;
/** String: holds backslash escapes (its bytes are not its value). */
export const F_ESCAPED = 16;
/** Number: no fraction and no exponent. */
export const F_INTEGER = 32;
/** String: plain hex digits (set by the reader once it has checked them). */
export const F_HEX = 64;
/** A key's id (json-keys.ts) sits above the kind and flags. */
export const KEY_SHIFT = 8;

/** Containers nested deeper than this are rejected (OTLP needs ~10 + 4 per AnyValue level). */
export const MAX_NESTING = 1000;

/**
 * Zero bytes after the input copy: every scanning loop stops at a zero byte (not
 * valid outside a string, and a control character inside one), and word-at-a-time
 * reads near the end stay inside the buffer.
 */
const PADDING = 32;

/** Input copies and tapes up to these sizes are kept for the next decode. */
const RETAIN_INPUT = 4 * 1024 * 1024;
const RETAIN_TAPE = 1024 * 1024; // words

/** Bytes that end the fast scan of a string: '"', '\\' and control characters. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 32; c++) STRING_STOP[c] = 1;
STRING_STOP[34] = 1;
STRING_STOP[92] = 1;

/** Valid characters after a backslash (besides 'u'). */
const SIMPLE_ESCAPE = new Uint8Array(128);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

const HEX_DIGIT = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX_DIGIT[c.charCodeAt(0)] = 1;

/**
 * The scanned document: `src` holds the input bytes followed by zero padding (the
 * zeros stop every scanning loop, so loops need no bounds checks), `tape` the values.
 * One instance is reused from one decode to the next (decoders are synchronous).
 */
export class JsonTape {
  src: Uint8Array = new Uint8Array(64);
  view: DataView = new DataView(this.src.buffer);
  buf: Buffer = Buffer.from(this.src.buffer);
  /** Input length in bytes (`src` is longer: padding). */
  size = 0;
  tape: Int32Array = new Int32Array(3072);
  /** Words used on the tape. */
  length = 0;
  private readonly stack = new Int32Array(MAX_NESTING + 1);
  private readonly counts = new Int32Array(MAX_NESTING + 1);
  private readonly objects = new Uint8Array(MAX_NESTING + 1);
  /** Id of the key `otherKey` scanned (a known key written with escapes), else 0. */
  private escapedKey = 0;

  /**
   * Copies `input` (UTF-8 bytes, or a string to encode) and scans it. Throws
   * InvalidInputError unless it is valid UTF-8 holding exactly one JSON object.
   */
  load(input: Uint8Array | string): void {
    let n: number;
    if (typeof input === 'string') {
      if (!(input as unknown as { isWellFormed(): boolean }).isWellFormed()) {
        throw new InvalidInputError(
          'invalid OTLP/JSON: the text holds a lone UTF-16 surrogate (not representable as UTF-8)',
        );
      }
      n = Buffer.byteLength(input, 'utf8');
      this.ensureInput(n);
      this.buf.write(input, 0, n, 'utf8');
    } else {
      n = input.length;
      const b = Buffer.from(input.buffer, input.byteOffset, n);
      // Pure ASCII is the usual case (non-ASCII text tends to arrive \u-escaped).
      if (!isAscii(b) && !isUtf8(b)) throw new InvalidInputError('invalid UTF-8 in the JSON body');
      this.ensureInput(n);
      this.src.set(input);
    }
    this.src.fill(0, n, n + PADDING);
    this.size = n;
    const words = Math.max(3072, Math.min(RETAIN_TAPE, Math.ceil(n / 3) * 3 + 3072));
    if (this.tape.length > RETAIN_TAPE || this.tape.length < words) {
      this.tape = new Int32Array(words);
    }
    this.scan();
  }

  private ensureInput(n: number): void {
    const need = n + PADDING;
    if (this.src.length < need || this.src.length > Math.max(RETAIN_INPUT, 2 * need)) {
      this.src = new Uint8Array(need + (n >>> 3));
      this.view = new DataView(this.src.buffer);
      this.buf = Buffer.from(this.src.buffer);
    }
  }

  private fail(p: number, problem: string): never {
    throw new InvalidInputError(`invalid JSON at byte ${p}: ${problem}`);
  }

  private unexpected(p: number, expected: string): never {
    if (p >= this.size) this.fail(p, `unexpected end of input, expected ${expected}`);
    const c = this.src[p]!;
    const what = c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16)}`;
    this.fail(p, `unexpected ${what}, expected ${expected}`);
  }

  private grow(t: number): Int32Array {
    const tape = new Int32Array(this.tape.length * 2);
    tape.set(this.tape.subarray(0, t));
    this.tape = tape;
    return tape;
  }

  /**
   * Scans a string whose fast scan stopped at `q` on a backslash or a control
   * character: validates escapes, returns the position of the closing quote.
   */
  private stringRest(q: number): number {
    const src = this.src;
    for (;;) {
      const c = src[q]!;
      if (c === 34) return q;
      if (c === 92) {
        const e = src[q + 1]!;
        if (e === 117) {
          if (
            HEX_DIGIT[src[q + 2]!] === 0 ||
            HEX_DIGIT[src[q + 3]!] === 0 ||
            HEX_DIGIT[src[q + 4]!] === 0 ||
            HEX_DIGIT[src[q + 5]!] === 0
          ) {
            if (q + 6 > this.size) this.fail(q, 'unterminated string');
            this.fail(q, 'invalid \\u escape (four hex digits expected)');
          }
          q += 6;
        } else if (e < 128 && SIMPLE_ESCAPE[e] === 1) {
          q += 2;
        } else {
          if (q + 1 >= this.size) this.fail(q, 'unterminated string');
          this.fail(q, 'invalid escape in a string');
        }
      } else if (c < 0x20) {
        if (q >= this.size) this.fail(q, 'unterminated string');
        this.fail(q, 'control character in a string (must be escaped)');
      } else {
        q++;
      }
      while (STRING_STOP[src[q]!] === 0) q++;
    }
  }

  /** Skips whitespace from `p` (its byte is at most ' '); returns the next position. */
  private ws(p: number): number {
    const src = this.src;
    let c = src[p]!;
    while (c === 32 || c === 10 || c === 13 || c === 9) c = src[++p]!;
    return p;
  }

  /**
   * Scans the string whose opening quote is at `p - 1`; returns the position of its
   * closing quote, negated minus one when the string holds escapes.
   */
  private string(p: number): number {
    const src = this.src;
    const view = this.view;
    // Four bytes at a time while none of them is '"', '\\' or a control character
    // (SWAR: a byte is flagged when x ^ '"', x ^ '\\' or x - 0x20 borrows).
    for (;;) {
      const v = view.getUint32(p, true);
      const a = v ^ 0x22222222;
      const b = v ^ 0x5c5c5c5c;
      const m =
        (((a - 0x01010101) & ~a) | ((b - 0x01010101) & ~b) | ((v - 0x20202020) & ~v)) & 0x80808080;
      if (m !== 0) {
        // The lowest flagged byte is exact (borrows only flag bytes above it).
        p += (31 - Math.clz32(m & -m)) >>> 3;
        break;
      }
      p += 4;
    }
    if (src[p] === 34) return p;
    return -1 - this.stringRest(p);
  }

  private scan(): void {
    const src = this.src;
    const view = this.view;
    const n = this.size;
    const stack = this.stack;
    const counts = this.counts;
    const objects = this.objects;
    let tape = this.tape;
    let p = 0;
    let c = src[0]!;
    if (c <= 32) {
      p = this.ws(p);
      c = src[p]!;
    }
    if (c !== 123) {
      if (p >= n) this.fail(p, 'the body is empty');
      throw new InvalidInputError('invalid OTLP/JSON: the body must be a JSON object');
    }
    tape[0] = T_OBJECT;
    tape[1] = 0;
    tape[2] = 3;
    c = src[++p]!;
    if (c <= 32) {
      p = this.ws(p);
      c = src[p]!;
    }
    if (c === 125) {
      this.length = 3;
      this.end(p + 1);
      return;
    }
    let t = 3;
    let depth = 1;
    // The innermost open container: its tape index, kind and member count so far.
    let top = 0;
    let inObject = true;
    let count = 1;
    outer: for (;;) {
      // p is at the next member (key first) or element.
      if (t + 6 > tape.length) tape = this.grow(t);
      let key = 0;
      if (inObject) {
        if (c !== 34) this.unexpected(p, c === 125 ? 'a key (trailing comma?)' : 'a key');
        // Known keys are matched in place, without scanning for the closing quote.
        key = keyIdAt(view, p + 1, view.getInt32(p + 1, true));
        if (key !== 0) p += keyLength(key) + 2;
        else {
          p = this.otherKey(p);
          key = this.escapedKey;
        }
        c = src[p]!;
        if (c <= 32) {
          p = this.ws(p);
          c = src[p]!;
        }
        if (c !== 58) this.unexpected(p, "':'");
        c = src[++p]!;
        if (c <= 32) {
          p = this.ws(p);
          c = src[p]!;
        }
        key <<= KEY_SHIFT;
      }
      if (c === 34) {
        let q = this.string(p + 1);
        let kind = T_STRING;
        if (q < 0) {
          q = -1 - q;
          kind = T_STRING | F_ESCAPED;
        }
        tape[t] = kind | key;
        tape[t + 1] = p + 1;
        tape[t + 2] = q;
        t += 3;
        p = q + 1;
      } else if (c === 123 || c === 91) {
        if (depth === MAX_NESTING) this.fail(p, `nested too deeply (over ${MAX_NESTING} levels)`);
        const object = c === 123;
        tape[t] = (object ? T_OBJECT : T_ARRAY) | key;
        c = src[++p]!;
        if (c <= 32) {
          p = this.ws(p);
          c = src[p]!;
        }
        if (c !== (object ? 125 : 93)) {
          stack[depth] = top;
          counts[depth] = count;
          objects[depth] = inObject ? 1 : 0;
          depth++;
          top = t;
          inObject = object;
          count = 1;
          t += 3;
          continue;
        }
        tape[t + 1] = 0;
        tape[t + 2] = t + 3;
        t += 3;
        p++;
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        let q = c === 45 ? p + 1 : p;
        let kind = T_NUMBER | F_INTEGER;
        c = src[q]!;
        if (c === 48) {
          c = src[++q]!;
          if (c >= 48 && c <= 57) this.fail(q, 'leading zeros are not allowed in a number');
        } else if (c >= 49 && c <= 57) {
          c = src[++q]!;
          while (c >= 48 && c <= 57) c = src[++q]!;
        } else {
          this.unexpected(q, 'a digit');
        }
        if (c === 46) {
          kind = T_NUMBER;
          c = src[++q]!;
          if (!(c >= 48 && c <= 57)) this.unexpected(q, 'a digit after the decimal point');
          while (c >= 48 && c <= 57) c = src[++q]!;
        }
        if (c === 101 || c === 69) {
          kind = T_NUMBER;
          c = src[++q]!;
          if (c === 43 || c === 45) c = src[++q]!;
          if (!(c >= 48 && c <= 57)) this.unexpected(q, 'a digit in the exponent');
          while (c >= 48 && c <= 57) c = src[++q]!;
        }
        tape[t] = kind | key;
        tape[t + 1] = p;
        tape[t + 2] = q;
        t += 3;
        p = q;
      } else if (c === 116 && src[p + 1] === 114 && src[p + 2] === 117 && src[p + 3] === 101) {
        tape[t] = T_TRUE | key;
        tape[t + 1] = p;
        t += 3;
        p += 4;
      } else if (
        c === 102 &&
        src[p + 1] === 97 &&
        src[p + 2] === 108 &&
        src[p + 3] === 115 &&
        src[p + 4] === 101
      ) {
        tape[t] = T_FALSE | key;
        tape[t + 1] = p;
        t += 3;
        p += 5;
      } else if (c === 110 && src[p + 1] === 117 && src[p + 2] === 108 && src[p + 3] === 108) {
        tape[t] = T_NULL | key;
        tape[t + 1] = p;
        t += 3;
        p += 4;
      } else if (c === 116 || c === 102 || c === 110) {
        this.fail(p, 'invalid literal (true, false or null expected)');
      } else {
        this.unexpected(p, 'a value');
      }
      // After a value: a separator, or the end of one or more containers.
      for (;;) {
        c = src[p]!;
        if (c <= 32) {
          p = this.ws(p);
          c = src[p]!;
        }
        if (c === 44) {
          c = src[++p]!;
          if (c <= 32) {
            p = this.ws(p);
            c = src[p]!;
          }
          if (c === 93 && !inObject) this.fail(p, 'trailing comma in an array');
          count++;
          continue outer;
        }
        if (c !== (inObject ? 125 : 93)) {
          this.unexpected(p, inObject ? "',' or '}'" : "',' or ']'");
        }
        p++;
        tape[top + 1] = count;
        tape[top + 2] = t;
        depth--;
        if (depth === 0) break outer;
        top = stack[depth]!;
        count = counts[depth]!;
        inObject = objects[depth] === 1;
      }
    }
    this.length = t;
    this.end(p);
  }

  /** Checks that only whitespace follows the root object (which ended before `p`). */
  private end(p: number): void {
    if (this.src[p]! <= 32) p = this.ws(p);
    if (p < this.size) this.fail(p, 'unexpected data after the JSON object');
  }

  /**
   * Scans a key that is not a known key spelled plainly (opening quote at `p`);
   * returns the position after its closing quote. Its id is 0 unless it is a known
   * key written with escapes.
   */
  private otherKey(p: number): number {
    let q = this.string(p + 1);
    this.escapedKey = 0;
    if (q >= 0) return q + 1;
    q = -1 - q;
    this.escapedKey = keyIdOfString(JSON.parse(this.buf.toString('utf8', p, q + 1)) as string);
    return q + 1;
  }
}

let pooled: JsonTape | null = null;

/** Scans `input` into the shared tape (decoders are synchronous: one decode at a time). */
export function scanJson(input: Uint8Array | string): JsonTape {
  pooled ??= new JsonTape();
  pooled.load(input);
  return pooled;
}
