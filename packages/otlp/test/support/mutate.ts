/** Byte-level mutations shared by the fuzz and differential tests. */
import type { Rng } from './generator.js';

/**
 * One random mutation of `input`: bit flips, byte replacements, truncation,
 * deletions, insertions of random bytes, duplicated or swapped slices, huge varints,
 * or several of these at once.
 */
export function mutate(r: Rng, input: Uint8Array): Uint8Array {
  const b = Uint8Array.from(input);
  const n = b.length;
  const at = () => r.int(Math.max(1, n));
  switch (r.int(9)) {
    case 0: {
      // flip 1..4 bits
      const flips = 1 + r.int(4);
      for (let i = 0; i < flips; i++) b[at()]! ^= 1 << r.int(8);
      return b;
    }
    case 1:
      b[at()] = r.pick([0x00, 0xff, 0x80, 0x7f, 0x0a, 0x12, 0x22, r.int(256)]);
      return b;
    case 2:
      return b.subarray(0, at()); // truncation
    case 3: {
      const s = at();
      return concat(b.subarray(0, s), b.subarray(Math.min(n, s + 1 + r.int(16))));
    }
    case 4: {
      const s = at();
      return concat(b.subarray(0, s), r.bytes(1 + r.int(8)), b.subarray(s));
    }
    case 5: {
      // duplicate a slice in place
      const s = at();
      const e = Math.min(n, s + 1 + r.int(64));
      return concat(b.subarray(0, e), b.subarray(s, e), b.subarray(e));
    }
    case 6: {
      // huge varint where a length may be
      const s = at();
      return concat(
        b.subarray(0, s),
        r.pick([
          [0xff, 0xff, 0xff, 0xff, 0x0f],
          [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
          [0xfe, 0xff, 0xff, 0xff, 0x07],
        ]),
        b.subarray(s + 1),
      );
    }
    case 7: {
      // swap two slices
      const a = at();
      const c = at();
      const [x, y] = a < c ? [a, c] : [c, a];
      const len = Math.min(1 + r.int(32), y - x);
      return concat(
        b.subarray(0, x),
        b.subarray(y, y + len),
        b.subarray(x + len, y),
        b.subarray(x, x + len),
        b.subarray(y + len),
      );
    }
    default: {
      // several mutations at once
      let out: Uint8Array = b;
      for (let i = 0; i < 3; i++) out = mutate(r, out);
      return out;
    }
  }
}

export function concat(...parts: Array<Uint8Array | number[]>): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
