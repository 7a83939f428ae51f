import { describe, expect, it } from 'vitest';
import { SeededRandom } from './prng.js';

describe('SeededRandom', () => {
  it('repeats its sequence for a seed', () => {
    const a = new SeededRandom(123);
    const b = new SeededRandom(123);
    const c = new SeededRandom(124);
    const sa = Array.from({ length: 20 }, () => a.nextUint32());
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 20 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('spreads values over the requested ranges', () => {
    const r = new SeededRandom(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const f = r.next();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      counts[r.int(0, 9)]++;
    }
    for (const n of counts) expect(n).toBeGreaterThan(850);
    expect(() => new SeededRandom(Number.NaN)).toThrow(RangeError);
  });
});
