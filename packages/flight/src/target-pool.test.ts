import { describe, expect, it } from 'vitest';
import { TargetPool } from './target-pool.js';

function pool(roundRobin: boolean) {
  let now = 1_000;
  const p = new TargetPool(
    ['a', 'b', 'c'].map((target) => ({ target, channel: target })),
    {
      roundRobin,
      backoff: { initialMs: 100, maxMs: 1_000 },
      now: () => now,
      random: () => 0.999999,
    },
  );
  return { p, advance: (ms: number) => (now += ms) };
}

const names = (xs: { target: string }[]) => xs.map((x) => x.target).join('');

describe('TargetPool', () => {
  it('round_robin rotates the starting target', () => {
    const { p } = pool(true);
    expect([names(p.order()), names(p.order()), names(p.order()), names(p.order())]).toEqual([
      'abc',
      'bca',
      'cab',
      'abc',
    ]);
  });

  it('pick_first always starts with the first healthy target', () => {
    const { p } = pool(false);
    expect(names(p.order())).toBe('abc');
    p.markDown(p.entries[0]!);
    expect(names(p.order())).toBe('bca');
  });

  it('a down target is tried last until its backoff expires, then in rotation again', () => {
    const { p, advance } = pool(false);
    const b = p.entries[1]!;
    expect(p.markDown(b)).toBeCloseTo(100, 0);
    expect(names(p.order())).toBe('acb');
    advance(101);
    expect(names(p.order())).toBe('abc');
  });

  it('backoff grows exponentially up to the cap and resets on success', () => {
    const { p } = pool(false);
    const a = p.entries[0]!;
    const periods = Array.from({ length: 6 }, () => Math.round(p.markDown(a)));
    expect(periods).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(p.markUp(a)).toBe(true);
    expect(Math.round(p.markDown(a))).toBe(100);
  });

  it('down targets are ordered soonest-to-recover first', () => {
    const { p, advance } = pool(true);
    const [a, b, c] = p.entries;
    p.markDown(a!);
    p.markDown(a!); // 200 ms
    advance(10);
    p.markDown(b!); // 100 ms, recovers first
    p.markDown(c!);
    p.markDown(c!);
    p.markDown(c!); // 400 ms
    expect(names(p.order())).toBe('bac');
  });
});
