export { CollectorRunner, type CollectorState } from './collector-runner.js';
export {
  finishWriterConfig,
  loadWriterConfig,
  resolveStoreUrl,
  storeLocation,
  type WriterConfig,
  type WriterSettings,
} from './config.js';
export {
  createWriter,
  type DrainReport,
  type Writer,
  type WriterOverrides,
} from './create-writer.js';
export { WriterMetrics } from './metrics.js';
export { createPutHandler, MAX_REQUEST_ID_BYTES } from './put-handler.js';
export { runWriterProcess, WRITER_USAGE } from './run.js';
export { storeSettings, writerSettings } from './settings.js';
export { parseStoreFaults, withStoreFaults } from './store-faults.js';
export {
  createPutValidator,
  TABLE_METADATA_KEY,
  type ValidatedPut,
  validatePut,
} from './validate-put.js';
