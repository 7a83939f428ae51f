export * from './errors.js';
export * from './types.js';
export { compareKeys, validateKey, validatePrefix } from './keys.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { LocalFsStore, type LocalFsStoreOptions, type LocalFsFailpoint } from './local-fs-store.js';
export { S3Store, type S3StoreOptions, redactUrl } from './s3-store.js';
export {
  FaultInjectingStore,
  type FaultInjectionOptions,
  type FaultStats,
  type FaultCounts,
  type StoreOperation,
  STORE_OPERATIONS,
} from './fault-injecting-store.js';
export { openStore, parseStoreUrl, type StoreEnv, type StoreLocation } from './open-store.js';
export { SeededRandom } from './prng.js';
