export * from './errors.js';
export * from './types.js';
export { compareKeys, validateKey, validatePrefix } from './keys.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
