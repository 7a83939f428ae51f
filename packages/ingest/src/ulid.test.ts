import { describe, expect, it } from 'vitest';
import { isUlid, UlidGenerator, ulidTime } from './ulid.js';

describe('UlidGenerator', () => {
  it('encodes the time like the ULID spec example (1469918176385 → 01ARYZ6S41)', () => {
    const gen = new UlidGenerator({ clock: { now: () => 1469918176385 } });
    const id = gen.next();
    expect(id.slice(0, 10)).toBe('01ARYZ6S41');
    expect(id).toHaveLength(26);
    expect(isUlid(id)).toBe(true);
    expect(ulidTime(id)).toBe(1469918176385);
  });

  it('is monotonic within one millisecond and when the clock steps back', () => {
    let now = 1_700_000_000_000;
    const gen = new UlidGenerator({ clock: { now: () => now } });
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      ids.push(gen.next());
      if (i === 500) now -= 10_000;
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('increments the random part with carry', () => {
    const gen = new UlidGenerator({ clock: { now: () => 0 }, random: (b) => b.fill(31) });
    expect(gen.next()).toBe(`0000000000${'Z'.repeat(16)}`);
    // All-ones random part overflows: the generator borrows the next millisecond.
    expect(gen.next()).toBe(`0000000001${'Z'.repeat(16)}`);
    const gen2 = new UlidGenerator({ clock: { now: () => 0 }, random: (b) => b.fill(0) });
    expect(gen2.next()).toBe('0'.repeat(26));
    expect(gen2.next()).toBe(`${'0'.repeat(25)}1`);
  });

  it('rejects lowercase and ambiguous letters', () => {
    expect(isUlid('01arYZ6S41TSV4RRFFQ69G5FAV')).toBe(false);
    expect(isUlid('01ARYZ6S41TSV4RRFFQ69G5FAI')).toBe(false);
    expect(isUlid('81ARYZ6S41TSV4RRFFQ69G5FAV')).toBe(false);
    expect(isUlid('01ARYZ6S41TSV4RRFFQ69G5FA')).toBe(false);
  });
});
