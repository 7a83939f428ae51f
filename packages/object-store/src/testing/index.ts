/**
 * Test kit for object stores (`@sediment/object-store/testing`); needs vitest. The
 * conformance suite every backend passes, the S3 test-server options, and the CAS
 * counter workers used by race and crash tests (in-process and in child processes).
 */
export {
  defineObjectStoreConformance,
  type ConformanceOptions,
  type ConformanceTarget,
} from './conformance.js';
export { s3TestOptions, s3TestUrl } from './s3-test-options.js';
export {
  casIncrement,
  decodeCounter,
  encodeCounter,
  newIncrementStats,
  readCounter,
  type CounterState,
  type IncrementStats,
} from './cas-counter.js';
export {
  runCasRaceInProcesses,
  spawnCasWorker,
  type CasWorker,
  type CasWorkerConfig,
  type CasWorkerEvent,
} from './workers.js';
export { removeAll } from './remove-all.js';
