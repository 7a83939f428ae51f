import { describe, expect, it } from 'vitest';
import { TransientError } from './errors.js';
import { FaultInjectingStore } from './fault-injecting-store.js';
import { MemoryStore } from './memory-store.js';
import {
  casIncrement,
  defineObjectStoreConformance,
  newIncrementStats,
  readCounter,
} from './testing/index.js';
import { listAll } from './types.js';

defineObjectStoreConformance(
  'fault-injecting (zero rates, jittered latency) over memory',
  () => ({
    store: new FaultInjectingStore(new MemoryStore(), { seed: 7, latencyMs: { min: 0, max: 1 } }),
  }),
  { race: { workers: 8, increments: 25, via: 'shared' } },
);

const bytes = (s: string) => new TextEncoder().encode(s);

/** Outcome of each call in a fixed sequence: 'ok' or the fault kind. */
async function trace(seed: number): Promise<string[]> {
  const store = new FaultInjectingStore(new MemoryStore(), {
    seed,
    transientErrorRate: 0.3,
    lostReplyRate: 0.3,
  });
  const out: string[] = [];
  for (let i = 0; i < 60; i++) {
    try {
      if (i % 3 === 0) await store.put(`k${i % 5}`, bytes('x'));
      else if (i % 3 === 1)
        await store.head(`k${i % 5}`).catch((e) => {
          if (e instanceof TransientError) throw e;
        });
      else await store.delete(`k${i % 5}`);
      out.push('ok');
    } catch (e) {
      out.push((e as TransientError).maybeApplied ? 'lost' : 'transient');
    }
  }
  return out;
}

describe('FaultInjectingStore', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const a = await trace(42);
    expect(await trace(42)).toEqual(a);
    expect(await trace(43)).not.toEqual(a);
    expect(a).toContain('transient');
    expect(a).toContain('lost');
    expect(a).toContain('ok');
  });

  it('throws transient errors before applying', async () => {
    const inner = new MemoryStore();
    const store = new FaultInjectingStore(inner, { seed: 1, transientErrorRate: 1 });
    const err = await store.put('k', bytes('v')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).maybeApplied).toBe(false);
    expect(await listAll(inner, '')).toEqual([]);
    expect(store.stats.transientErrors).toBe(1);
    expect(store.stats.byOperation.put.transientErrors).toBe(1);
  });

  it('lost replies apply the operation, then fail', async () => {
    const inner = new MemoryStore();
    const store = new FaultInjectingStore(inner, { seed: 1, lostReplyRate: 1 });
    const put = await store.put('k', bytes('v'), { mode: 'create' }).catch((e: unknown) => e);
    expect(put).toBeInstanceOf(TransientError);
    expect((put as TransientError).maybeApplied).toBe(true);
    expect(new TextDecoder().decode((await inner.get('k')).bytes)).toBe('v');
    const get = await store.get('k').catch((e: unknown) => e);
    expect((get as TransientError).maybeApplied).toBe(false);
    const del = await store.delete('k').catch((e: unknown) => e);
    expect((del as TransientError).maybeApplied).toBe(true);
    expect(await listAll(inner, '')).toEqual([]);
    expect(store.stats.lostReplies).toBe(3);
  });

  it('a lost list reply breaks off the listing part-way', async () => {
    const inner = new MemoryStore();
    for (let i = 0; i < 20; i++) await inner.put(`l/${String(i).padStart(2, '0')}`, bytes('x'));
    const store = new FaultInjectingStore(inner, { seed: 3, lostReplyRate: 1 });
    for (let attempt = 0; attempt < 5; attempt++) {
      const seen: string[] = [];
      const err = await (async () => {
        for await (const m of store.list('l/')) seen.push(m.key);
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(seen.length).toBeLessThan(8);
      expect(seen).toEqual((await listAll(inner, 'l/')).slice(0, seen.length).map((m) => m.key));
    }
  });

  it('injects latency in the configured range', async () => {
    const delays: number[] = [];
    const store = new FaultInjectingStore(new MemoryStore(), {
      seed: 9,
      latencyMs: { min: 5, max: 15 },
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    for (let i = 0; i < 50; i++) await store.put(`k${i}`, bytes('v'));
    expect(delays).toHaveLength(50);
    expect(delays.every((d) => d >= 5 && d <= 15)).toBe(true);
    expect(new Set(delays.map(Math.round)).size).toBeGreaterThan(3);
    expect(store.stats.delayedCalls).toBe(50);
    expect(store.stats.totalDelayMs).toBeCloseTo(delays.reduce((a, b) => a + b, 0));
  });

  it('can be switched off and on, limited to operations, and reconfigured', async () => {
    const store = new FaultInjectingStore(new MemoryStore(), { seed: 5, transientErrorRate: 1 });
    store.setEnabled(false);
    expect(store.enabled).toBe(false);
    await store.put('k', bytes('v'));
    expect(store.stats.calls).toBe(0);
    store.setEnabled(true);
    await expect(store.get('k')).rejects.toBeInstanceOf(TransientError);
    store.configure({ operations: ['put'] });
    expect((await store.get('k')).size).toBe(1);
    await expect(store.put('k', bytes('w'))).rejects.toBeInstanceOf(TransientError);
    store.configure({ transientErrorRate: 0 });
    await store.put('k', bytes('w'));
    expect(() => store.configure({ transientErrorRate: 1.5 })).toThrow(RangeError);
    expect(() => store.configure({ transientErrorRate: 0.6, lostReplyRate: 0.6 })).toThrow(
      RangeError,
    );
    expect(() => store.configure({ latencyMs: { min: 5, max: 1 } })).toThrow(RangeError);
    store.resetStats();
    expect(store.stats.calls).toBe(0);
  });

  it('N workers × M increments stay exact under transient errors and lost replies', async () => {
    const store = new FaultInjectingStore(new MemoryStore(), {
      seed: 11,
      transientErrorRate: 0.15,
      lostReplyRate: 0.15,
      latencyMs: { min: 0, max: 1 },
    });
    const stats = newIncrementStats();
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let seq = 1; seq <= 40; seq++)
          await casIncrement(store, 'counter', `w${w}`, seq, stats);
      }),
    );
    store.setEnabled(false);
    const counter = await readCounter(store, 'counter');
    expect(counter.n).toBe(240);
    expect(Object.values(counter.applied)).toEqual(Array(6).fill(40));
    expect(store.stats.lostReplies).toBeGreaterThan(10);
    expect(store.stats.transientErrors).toBeGreaterThan(10);
    expect(stats.ambiguous).toBeGreaterThan(0);
  });
});
