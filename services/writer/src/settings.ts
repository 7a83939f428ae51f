import { setting } from '@sediment/config';
import { MAX_ENTRY_PLAIN_BYTES, MAX_NICE } from '@sediment/lake';
import { logLevelSetting } from '@sediment/service-kit';

/**
 * Every setting the writer reads. The parser, `--help` and the README's configuration
 * reference are generated from these definitions.
 */
export const storeSettings = {
  store: setting.string({
    env: 'SEDIMENT_STORE',
    default: 'file://./data',
    description:
      'Object store URL: file:///abs/dir (local filesystem; file://./dir is relative to the working directory), s3://bucket/prefix, or memory: (tests only: nothing survives a restart).',
    services: ['writer', 'start', 'cli'],
  }),
  s3Endpoint: setting.string({
    env: 'S3_ENDPOINT',
    description:
      'S3 endpoint URL for MinIO, Ceph RGW, R2 and other S3-compatible stores; unset means AWS S3.',
    services: ['writer', 'start', 'cli'],
  }),
  s3ForcePathStyle: setting.bool({
    env: 'S3_FORCE_PATH_STYLE',
    description:
      'Path-style S3 addressing (http://endpoint/bucket/key). Default: true when S3_ENDPOINT is set, else false.',
    services: ['writer', 'start', 'cli'],
  }),
  awsRegion: setting.string({
    env: 'AWS_REGION',
    description: 'S3 region; us-east-1 when unset.',
    services: ['writer', 'start', 'cli'],
  }),
  awsAccessKeyId: setting.string({
    env: 'AWS_ACCESS_KEY_ID',
    description:
      'S3 access key. Unset: the AWS SDK default chain (profile, container or instance role).',
    services: ['writer', 'start', 'cli'],
    secret: true,
  }),
  awsSecretAccessKey: setting.string({
    env: 'AWS_SECRET_ACCESS_KEY',
    description: 'S3 secret key, paired with AWS_ACCESS_KEY_ID.',
    services: ['writer', 'start', 'cli'],
    secret: true,
  }),
  awsSessionToken: setting.string({
    env: 'AWS_SESSION_TOKEN',
    description: 'S3 session token for temporary credentials.',
    services: ['writer', 'start', 'cli'],
    secret: true,
  }),
  queuePrefix: setting.string({
    env: 'SEDIMENT_QUEUE_PREFIX',
    default: 'ingest',
    description:
      'Key prefix of the ingest queue: batch objects under it, the manifest at <prefix>/manifest.',
    services: ['writer', 'start', 'cli'],
  }),
  lakePrefix: setting.string({
    env: 'SEDIMENT_LAKE_PREFIX',
    default: 'lake',
    description:
      'Key prefix of the Parquet lake (<prefix>/<table>/dt=…/hour=…, <prefix>/_commits).',
    services: ['writer', 'start', 'cli'],
  }),
} as const;

export const writerSettings = {
  ...storeSettings,
  flightHost: setting.string({
    env: 'SEDIMENT_FLIGHT_HOST',
    default: '0.0.0.0',
    description: 'Address the Arrow Flight server binds to.',
    services: ['writer'],
  }),
  flightPort: setting.port({
    env: 'SEDIMENT_FLIGHT_PORT',
    default: 8815,
    description: 'Arrow Flight DoPut port acceptors push record batches to.',
    services: ['writer', 'start'],
  }),
  writerAdminPort: setting.port({
    env: 'SEDIMENT_WRITER_ADMIN_PORT',
    default: 8816,
    description: 'Writer HTTP port for /healthz, /readyz and /metrics.',
    services: ['writer', 'start'],
  }),
  flightTokens: setting.list({
    env: 'SEDIMENT_FLIGHT_TOKENS',
    description:
      'Bearer tokens the writer accepts on its Flight port (comma-separated). Unset: no authentication (keep the port private).',
    services: ['writer', 'start'],
    secret: true,
  }),
  flightTlsCert: setting.string({
    env: 'SEDIMENT_FLIGHT_TLS_CERT',
    description: 'PEM certificate file for TLS on the Flight port (with SEDIMENT_FLIGHT_TLS_KEY).',
    services: ['writer'],
  }),
  flightTlsKey: setting.string({
    env: 'SEDIMENT_FLIGHT_TLS_KEY',
    description: 'PEM private key file for TLS on the Flight port.',
    services: ['writer'],
  }),
  flightTlsClientCa: setting.string({
    env: 'SEDIMENT_FLIGHT_TLS_CLIENT_CA',
    description:
      'PEM CA bundle: when set, acceptors must present a client certificate it signed (mTLS).',
    services: ['writer'],
  }),
  flightMaxConnectionAge: setting.duration({
    env: 'SEDIMENT_FLIGHT_MAX_CONNECTION_AGE',
    default: 300_000,
    min: 1000,
    description:
      'Writers close each acceptor connection after this age (puts in flight get 60 s to finish), so acceptors re-resolve writer DNS names and spread over writers added by a scale-up.',
    services: ['writer'],
  }),
  maxPutBytes: setting.bytes({
    env: 'SEDIMENT_MAX_PUT_BYTES',
    default: 256 * 1024 * 1024,
    min: 1024,
    // The collector's entry decoder builds plain entries up to this size.
    max: MAX_ENTRY_PLAIN_BYTES,
    description: 'Largest Arrow IPC stream one DoPut may carry (decompressed size; at most 1GiB).',
    services: ['writer', 'start'],
  }),
  flushInterval: setting.duration({
    env: 'SEDIMENT_FLUSH_INTERVAL',
    default: 100,
    min: 1,
    description:
      'Queue batch flush interval: the longest a DoPut waits for its batch to be written (the ack latency floor).',
    services: ['writer', 'start'],
  }),
  flushSize: setting.bytes({
    env: 'SEDIMENT_FLUSH_SIZE',
    default: 64 * 1024 * 1024,
    min: 1024,
    description: 'A queue batch is flushed early once it holds this many bytes.',
    services: ['writer', 'start'],
  }),
  maxBufferedInputs: setting.int({
    env: 'SEDIMENT_MAX_BUFFERED_INPUTS',
    default: 1000,
    min: 1,
    description:
      'DoPuts buffered or in flight before new ones wait (backpressure towards acceptors).',
    services: ['writer', 'start'],
  }),
  batchCompression: setting.oneOf(['none', 'zstd'], {
    env: 'SEDIMENT_BATCH_COMPRESSION',
    default: 'none',
    description: 'Compression of queue batch objects (Arrow IPC already packs data tightly).',
    services: ['writer', 'start'],
  }),
  collector: setting.bool({
    env: 'SEDIMENT_COLLECTOR',
    default: true,
    description:
      'Run the collector (queue → Parquet) in this writer. Run exactly one active collector per store; a second one fences the first.',
    services: ['writer', 'start'],
  }),
  targetFileSize: setting.bytes({
    env: 'SEDIMENT_TARGET_FILE_SIZE',
    default: 128 * 1024 * 1024,
    min: 1024,
    description:
      'Compaction round trigger: buffered Arrow bytes that make the collector write Parquet.',
    services: ['writer', 'start'],
  }),
  maxFileAge: setting.duration({
    env: 'SEDIMENT_MAX_FILE_AGE',
    default: 60_000,
    min: 10,
    description:
      'Compaction round trigger: the longest a queued row waits before it is written to Parquet (data freshness).',
    services: ['writer', 'start'],
  }),
  rowGroupRows: setting.int({
    env: 'SEDIMENT_ROW_GROUP_ROWS',
    default: 131_072,
    min: 1024,
    description: 'Rows per Parquet row group.',
    services: ['writer', 'start'],
  }),
  parquetWriter: setting.oneOf(['sediment', 'parquet-wasm'], {
    env: 'SEDIMENT_PARQUET_WRITER',
    default: 'sediment',
    description:
      'Parquet encoder: sediment (built-in, ~2x faster, straight from Arrow buffers; types it does not cover fall back per file) or parquet-wasm (Apache arrow-rs compiled to wasm). Both write TIMESTAMP(NANOS, UTC), zstd, the same schema.',
    services: ['writer', 'start'],
  }),
  parquetZstdLevel: setting.int({
    env: 'SEDIMENT_PARQUET_ZSTD_LEVEL',
    default: 1,
    min: 1,
    max: 19,
    description:
      'zstd level of Parquet pages with the sediment encoder (parquet-wasm always uses its own default).',
    services: ['writer', 'start'],
  }),
  parquetEncoding: setting.oneOf(['delta', 'plain'], {
    env: 'SEDIMENT_PARQUET_ENCODING',
    default: 'delta',
    description:
      'Value encodings of the sediment encoder: delta (strings DELTA_LENGTH_BYTE_ARRAY, 64-bit integers and timestamps DELTA_BINARY_PACKED: smaller files, faster) or plain, for readers without the delta encodings (Spark before 3.3). parquet-wasm always writes plain.',
    services: ['writer', 'start'],
  }),
  compactionNice: setting.int({
    env: 'SEDIMENT_COMPACTION_NICE',
    default: 10,
    min: 0,
    max: MAX_NICE,
    description:
      'Linux nice value of the thread that encodes Parquet (0 = the priority of the threads that ack puts). Compaction is background work: at 10 it yields the CPU to ingest, which shortens the ack latency tail on a busy machine, and still gets every cycle ingest leaves. Lower it if the lake falls behind under sustained full load.',
    services: ['writer', 'start'],
  }),
  orphanGrace: setting.duration({
    env: 'SEDIMENT_ORPHAN_GRACE',
    default: 3_600_000,
    min: 0,
    description:
      'Parquet files no commit lists (left by a crash or a fenced collector) are deleted once older than this.',
    services: ['writer', 'start'],
  }),
  batchGcGrace: setting.duration({
    env: 'SEDIMENT_BATCH_GC_GRACE',
    default: 3_600_000,
    min: 0,
    description:
      'Queue batch objects no manifest entry references are deleted once older than this.',
    services: ['writer', 'start'],
  }),
  dedupWindow: setting.duration({
    env: 'SEDIMENT_DEDUP_WINDOW',
    default: 600_000,
    min: 0,
    description:
      'How long the collector remembers request identities to drop client retries of requests already stored (0 disables).',
    services: ['writer', 'start'],
  }),
  testStoreFaults: setting.string({
    env: 'SEDIMENT_TEST_STORE_FAULTS',
    description:
      'TEST ONLY: inject object-store faults, e.g. transient=0.05,lost=0.02,latency=0-20,seed=7 (transient errors, lost replies of applied writes, extra latency). Used by the chaos and outage suites; never set in production.',
    services: ['writer'],
  }),
  logLevel: logLevelSetting,
} as const;
