import { MemoryStore } from './memory-store.js';
import { defineObjectStoreConformance } from './testing/index.js';

defineObjectStoreConformance('memory', () => ({ store: new MemoryStore() }), {
  race: { workers: 8, increments: 50, via: 'shared' },
});
