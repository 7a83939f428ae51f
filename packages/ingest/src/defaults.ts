/** Defaults shared by the Ingestor, the Collector and the stats reader (from the seed). */
export const DEFAULT_FLUSH_INTERVAL_MS = 100;
export const DEFAULT_FLUSH_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_BUFFERED_INPUTS = 1000;
export const DEFAULT_DATA_PATH_PREFIX = 'ingest';
export const DEFAULT_MANIFEST_PATH = 'ingest/manifest';
export const DEFAULT_GC_GRACE_PERIOD_MS = 60 * 60 * 1000;
