import { FaultInjectingStore, MemoryStore } from '@sediment/object-store';
import { expect, test } from 'vitest';
import { loadWriterConfig } from './config.js';
import { parseStoreFaults, withStoreFaults } from './store-faults.js';

test('the test-only fault spec parses, and bad specs fail at start-up naming the variable', () => {
  expect(parseStoreFaults('transient=0.05, lost=0.02,latency=0-20,seed=7')).toEqual({
    seed: 7,
    transientErrorRate: 0.05,
    lostReplyRate: 0.02,
    latencyMs: { min: 0, max: 20 },
  });
  for (const bad of ['transient=2', 'lost=x', 'latency=20-1', 'seed=-1', 'boom=1']) {
    expect(() => loadWriterConfig({ SEDIMENT_TEST_STORE_FAULTS: bad })).toThrow(
      /SEDIMENT_TEST_STORE_FAULTS/,
    );
  }
  const inner = new MemoryStore();
  expect(withStoreFaults(inner, undefined)).toBe(inner);
  expect(withStoreFaults(inner, 'transient=0.1')).toBeInstanceOf(FaultInjectingStore);
});
