/**
 * Test kit for object stores (`@sediment/object-store/testing`); needs vitest. The
 * conformance suite every backend passes, the S3 test-server options, and the CAS
 * counter workers used by race and crash tests (in-process and in child processes).
 */

export {
  type CounterState,
  casIncrement,
  decodeCounter,
  encodeCounter,
  type IncrementStats,
  newIncrementStats,
  readCounter,
} from './cas-counter.js';
export {
  type ConformanceOptions,
  type ConformanceTarget,
  defineObjectStoreConformance,
} from './conformance.js';
export { type GetHook, HookedStore, type PutHook } from './hooked-store.js';
export { removeAll } from './remove-all.js';
export { s3TestOptions, s3TestUrl } from './s3-test-options.js';
export {
  type CasWorker,
  type CasWorkerConfig,
  type CasWorkerEvent,
  runCasRaceInProcesses,
  spawnCasWorker,
} from './workers.js';
