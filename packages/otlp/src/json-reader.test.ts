import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.js';
import { KEY_COUNT, keyIdOfString, keyName } from './json-keys.js';
import { jsonReader } from './json-reader.js';
import { KEY_SHIFT, scanJson, T_NUMBER, T_STRING } from './json-tape.js';

/** Seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Scans `{"k":<value>}` and returns the reader and the value's tape index. */
function one(value: string) {
  const tape = scanJson(`{"k":${value}}`);
  return { r: jsonReader(tape), v: 3 };
}

describe('JSON tape reader', () => {
  it('numbers read exactly as JSON.parse reads them', () => {
    const next = rng(7);
    const digits = (n: number) => {
      let s = String(1 + Math.floor(next() * 9));
      for (let i = 1; i < n; i++) s += String(Math.floor(next() * 10));
      return s;
    };
    for (let i = 0; i < 20_000; i++) {
      let text = next() < 0.3 ? '-' : '';
      text += next() < 0.2 ? '0' : digits(1 + Math.floor(next() * 24));
      if (next() < 0.5) text += `.${digits(1 + Math.floor(next() * 20))}`;
      if (next() < 0.4) {
        const e = Math.floor(next() * (next() < 0.8 ? 30 : 700)) - (next() < 0.5 ? 0 : 350);
        text += `${next() < 0.5 ? 'e' : 'E'}${e < 0 ? '-' : next() < 0.5 ? '+' : ''}${Math.abs(e)}`;
      }
      const { r, v } = one(text);
      expect(r.tape[v]! & 15).toBe(T_NUMBER);
      expect(Object.is(r.numberValue(v), JSON.parse(text))).toBe(true);
    }
  });

  it('escaped strings unescape to the UTF-8 of the JSON.parse string', () => {
    const next = rng(11);
    const pieces = ['a', 'é', '日', '😀', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u2028'];
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const n = Math.floor(next() * 12);
      for (let k = 0; k < n; k++) s += pieces[Math.floor(next() * pieces.length)];
      // Escape every code unit of some characters, the rest as JSON.stringify does.
      let text = '"';
      for (const ch of s) {
        if (next() < 0.4) {
          for (let u = 0; u < ch.length; u++) {
            const hex = ch.charCodeAt(u).toString(16).padStart(4, '0');
            text += `\\u${next() < 0.5 ? hex : hex.toUpperCase()}`;
          }
        } else text += JSON.stringify(ch).slice(1, -1);
      }
      text += '\\n"'; // at least one escape
      const { r, v } = one(text);
      const n2 = r.unescape(v, 'k');
      expect(Buffer.from(r.esc.subarray(0, n2)).toString('utf8')).toBe(JSON.parse(text));
      expect(r.jsString(v)).toBe(JSON.parse(text));
    }
  });

  it('a lone surrogate cannot become UTF-8', () => {
    for (const text of ['"\\ud800"', '"\\udc00x"', '"\\ud83d\\u0041"', '"a\\ud83d"']) {
      const { r, v } = one(text);
      expect(() => r.unescape(v, 'k')).toThrow(InvalidInputError);
      expect(() => r.unescape(v, 'k')).toThrow(/surrogate/);
    }
  });

  it('every known key is recognized as written, escaped or not; others are not', () => {
    for (let id = 1; id <= KEY_COUNT; id++) {
      const name = keyName(id);
      expect(keyIdOfString(name)).toBe(id);
      const plain = scanJson(`{"${name}":1}`).tape;
      expect(plain[3]! >>> KEY_SHIFT).toBe(id);
      const escaped = `\\u${name.charCodeAt(0).toString(16).padStart(4, '0')}${name.slice(1)}`;
      expect(scanJson(`{ "${escaped}" : 1 }`).tape[3]! >>> KEY_SHIFT).toBe(id);
      for (const other of [`${name}x`, name.slice(0, -1), `x${name}`, name.toUpperCase()]) {
        if (keyIdOfString(other) !== 0) continue;
        expect(scanJson(`{"${other}":1}`).tape[3]! >>> KEY_SHIFT).toBe(0);
      }
    }
  });

  it('the tape records strings, containers and where they end', () => {
    const t = scanJson('{"a":[1,{"b":"x\\n"},[]],"name":"y"}');
    const tape = t.tape;
    expect(t.length).toBe(7 * 3);
    expect(tape[1]).toBe(2); // members of the root
    expect(tape[4]).toBe(3); // elements of "a"
    expect(tape[5]).toBe(18); // after "a"
    expect(tape[18]! & 15).toBe(T_STRING);
    expect(tape[18]! >>> KEY_SHIFT).toBe(keyIdOfString('name'));
  });
});
