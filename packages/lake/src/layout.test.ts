import { describe, expect, it } from 'vitest';
import {
  commitKey,
  dataFileKey,
  HOUR_NS,
  hourOfNs,
  isValidTableName,
  normalizeLakePrefix,
  parseCommitLogKey,
  parseDataFileKey,
  partitionOfHour,
} from './layout.js';

const H = 3_600_000_000_000n;

function halves(ns: bigint): [number, number] {
  const u = BigInt.asUintN(64, ns);
  return [Number(u & 0xffffffffn), Number(BigInt.asIntN(32, u >> 32n))];
}

function exactHour(ns: bigint): number {
  let q = ns / H;
  if (ns % H < 0n) q -= 1n;
  return Number(q);
}

describe('hourOfNs', () => {
  it('is exact at and around hour boundaries, across the whole int64 range', () => {
    const probes: bigint[] = [0n, 1n, -1n, 9223372036854775807n, -9223372036854775808n];
    for (const hour of [-2562047n, -1n, 0n, 1n, 394_000n, 472_000n, 480_000n, 2562046n]) {
      for (const d of [-1n, 0n, 1n, -1024n, 1023n, -5000n, 5000n, -9000n, 9000n])
        probes.push(hour * H + d);
    }
    for (const ns of probes) {
      if (ns > 9223372036854775807n || ns < -9223372036854775808n) continue;
      const [lo, hi] = halves(ns);
      expect(hourOfNs(lo, hi), `ns=${ns}`).toBe(exactHour(ns));
    }
  });

  it('matches BigInt division on random values', () => {
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const a = BigInt(seed);
      seed = (seed * 1103515245 + 12345) >>> 0;
      const ns = BigInt.asIntN(64, (a << 32n) | BigInt(seed));
      const [lo, hi] = halves(ns);
      expect(hourOfNs(lo, hi)).toBe(exactHour(ns));
    }
    expect(HOUR_NS).toBe(Number(H));
  });
});

describe('partitions', () => {
  it('formats UTC dt/hour, including the epoch, pre-1970 and year boundaries', () => {
    expect(partitionOfHour(0)).toBe('dt=1970-01-01/hour=00');
    expect(partitionOfHour(-1)).toBe('dt=1969-12-31/hour=23');
    const newYear = Date.UTC(2025, 0, 1) / 3_600_000;
    expect(partitionOfHour(newYear - 1)).toBe('dt=2024-12-31/hour=23');
    expect(partitionOfHour(newYear)).toBe('dt=2025-01-01/hour=00');
    expect(partitionOfHour(exactHour(-9223372036854775808n))).toBe('dt=1677-09-21/hour=00');
    expect(partitionOfHour(exactHour(9223372036854775807n))).toBe('dt=2262-04-11/hour=23');
  });

  it('builds and parses data-file keys', () => {
    const key = dataFileKey('lake', 'spans', 'dt=2024-05-01/hour=13', '01HX0000000000000000000000');
    expect(key).toBe('lake/spans/dt=2024-05-01/hour=13/01HX0000000000000000000000.parquet');
    expect(parseDataFileKey('lake', key)).toEqual({
      table: 'spans',
      partition: 'dt=2024-05-01/hour=13',
    });
    expect(parseDataFileKey('lake', 'lake/_commits/00000000000000000001.json')).toBeUndefined();
    expect(parseDataFileKey('lake', 'lake/_quarantine/x.arrows')).toBeUndefined();
    expect(parseDataFileKey('lake', 'other/spans/dt=2024-05-01/hour=13/a.parquet')).toBeUndefined();
    expect(commitKey('lake', 42)).toBe('lake/_commits/00000000000000000042.json');
    expect(parseCommitLogKey('lake', commitKey('lake', 42))).toEqual({ n: 42, kind: 'commit' });
    expect(parseCommitLogKey('lake', 'lake/_commits/00000000000000000040.checkpoint.json')).toEqual(
      {
        n: 40,
        kind: 'checkpoint',
      },
    );
    expect(parseCommitLogKey('lake', 'lake/_commits/_latest.json')).toBeUndefined();
  });
});

describe('table names', () => {
  it('accepts snake_case names and rejects anything that could escape the prefix', () => {
    for (const ok of [
      'spans',
      'logs',
      'metrics_exponential_histogram',
      'a',
      `a${'b'.repeat(62)}`,
    ]) {
      expect(isValidTableName(ok), ok).toBe(true);
    }
    for (const bad of [
      '',
      '..',
      '../x',
      'a/b',
      'Spans',
      '1abc',
      '_x',
      'a.b',
      'a-b',
      `a${'b'.repeat(63)}`,
      'ü',
      'a\u0000',
    ]) {
      expect(isValidTableName(bad), bad).toBe(false);
    }
  });

  it('normalizes the lake prefix', () => {
    expect(normalizeLakePrefix('lake')).toBe('lake');
    expect(normalizeLakePrefix('/data/lake/')).toBe('data/lake');
    expect(() => normalizeLakePrefix('')).toThrow(/lakePrefix/);
    expect(() => normalizeLakePrefix('a/../b')).toThrow(/lakePrefix/);
  });
});
