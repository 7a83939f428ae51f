import { describe, expect, it } from 'vitest';
import {
  maxBase64,
  maxJsonString,
  writeBase64,
  writeDouble,
  writeInt64Decimal,
  writeJsonDouble,
  writeJsonString,
} from './text.js';

const dec = new TextDecoder();
const buf = new Uint8Array(4096);
const run = (f: (dst: Uint8Array, pos: number) => number) => dec.decode(buf.subarray(3, f(buf, 3)));

function rng(seed: number) {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
}

describe('text writers match their JavaScript references', () => {
  it('int64 decimal (vs BigInt), across the whole range', () => {
    const next = rng(1);
    const cases: bigint[] = [
      0n,
      1n,
      -1n,
      2n ** 53n,
      2n ** 53n - 1n,
      -(2n ** 53n),
      2n ** 63n - 1n,
      -(2n ** 63n),
      4294967296n,
      -4294967296n,
    ];
    for (let i = 0; i < 20000; i++) {
      const v = BigInt.asIntN(64, (BigInt(next()) << 32n) | BigInt(next()));
      cases.push(v, v >> BigInt(next() % 64));
    }
    for (const v of cases) {
      const lo = Number(BigInt.asIntN(32, v));
      const hi = Number(BigInt.asIntN(32, v >> 32n));
      expect(run((d, p) => writeInt64Decimal(lo, hi, d, p))).toBe(v.toString());
    }
  });

  it('doubles (vs String) and JSON doubles', () => {
    const next = rng(2);
    const view = new DataView(new ArrayBuffer(8));
    const cases = [
      0,
      -0,
      1,
      -1,
      0.1,
      1e21,
      1e-7,
      5e-324,
      Number.MAX_VALUE,
      2 ** 53,
      2 ** 53 + 2,
      -(2 ** 31),
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    for (let i = 0; i < 20000; i++) {
      view.setUint32(0, next());
      view.setUint32(4, next());
      cases.push(view.getFloat64(0), Math.round(view.getFloat64(0) % 1e6));
    }
    for (const d of cases) {
      expect(run((b, p) => writeDouble(d, b, p))).toBe(String(d));
      expect(run((b, p) => writeJsonDouble(d, b, p))).toBe(
        Number.isFinite(d) ? JSON.stringify(d) : `"${d}"`,
      );
    }
  });

  it('base64 (vs Buffer)', () => {
    const next = rng(3);
    for (let n = 0; n < 300; n++) {
      const bytes = Uint8Array.from({ length: n }, () => next() & 0xff);
      const out = run((d, p) => writeBase64(bytes, 0, n, d, p));
      expect(out).toBe(Buffer.from(bytes).toString('base64'));
      expect(out.length).toBeLessThanOrEqual(maxBase64(n));
    }
  });

  it('JSON strings (vs JSON.stringify), every escape', () => {
    const samples = [
      '',
      'plain',
      'quote " backslash \\ slash /',
      '\u2028\u2029 caf\u00e9 \u{1F600}',
      '\u007f\u0080',
    ];
    let all = '';
    for (let c = 0; c < 0x80; c++) all += String.fromCharCode(c);
    samples.push(all);
    for (const s of samples) {
      const bytes = new TextEncoder().encode(s);
      const out = run((d, p) => writeJsonString(bytes, 0, bytes.length, d, p));
      expect(out).toBe(JSON.stringify(s));
      expect(new TextEncoder().encode(out).length).toBeLessThanOrEqual(maxJsonString(bytes.length));
    }
  });
});
