import type {
  ListObjectsV2CommandOutput,
  PutObjectCommandInput,
  S3Client,
  S3ClientConfig,
} from '@aws-sdk/client-s3';
import { InvalidKeyError, ObjectStoreFatalError } from './errors.js';
import { validateKey, validatePrefix } from './keys.js';
import { type S3ErrorContext, mapS3Error } from './s3-errors.js';
import { type S3Sdk, loadS3Sdk } from './s3-sdk.js';
import type {
  GetResult,
  ObjectMeta,
  ObjectStore,
  PutMode,
  PutOptions,
  PutResult,
} from './types.js';

export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket (a "folder"; leading/trailing `/` ignored). Default none. */
  readonly prefix?: string;
  /** Custom endpoint for MinIO, Ceph RGW, R2…, e.g. `http://127.0.0.1:7480`. */
  readonly endpoint?: string;
  /** Default: the SDK's chain (AWS_REGION…), or `us-east-1` with a custom endpoint. */
  readonly region?: string;
  /** Path-style addressing (`endpoint/bucket/key`); most self-hosted servers need it. */
  readonly forcePathStyle?: boolean;
  /** Default: the SDK's default provider chain (environment, profile, IMDS…). */
  readonly credentials?: S3ClientConfig['credentials'];
  /**
   * SDK attempts for requests that are safe to repeat (get, head, list, delete,
   * overwrite). Conditional puts are always sent once: a repeat of a conditional put
   * whose first reply was lost would fail its own precondition and hide that it
   * succeeded. Default 3.
   */
  readonly maxAttempts?: number;
  /** Socket inactivity timeout per request. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
  /** TCP connect timeout. Default 5 000 ms. */
  readonly connectionTimeoutMs?: number;
  /** Keys per ListObjectsV2 page (1–1000). Default 1000. */
  readonly listPageSize?: number;
}

/**
 * Objects in an S3 bucket (AWS S3, MinIO, Cloudflare R2, Ceph RGW).
 *
 * - `create` sends `If-None-Match: *`; `{ ifMatch }` sends `If-Match: <etag>` without
 *   quotes (Ceph RGW compares the raw value; AWS accepts both).
 * - ETags are returned without quotes.
 * - 412 → `AlreadyExistsError` / `PreconditionError`; 409 and 5xx on a conditional put
 *   → `TransientError` with `maybeApplied` (re-read and retry); see `mapS3Error`.
 */
export class S3Store implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  /** Normalised prefix: empty, or ending with `/`. */
  readonly prefix: string;
  readonly #config: S3ClientConfig;
  readonly #maxAttempts: number;
  #connection: Promise<Connection> | undefined;
  readonly #pageSize: number;
  #closed = false;

  constructor(options: S3StoreOptions) {
    // Lenient on purpose (legacy AWS names, other implementations); only what would
    // break the request path is refused.
    if (typeof options?.bucket !== 'string' || !/^[A-Za-z0-9._-]{1,255}$/.test(options.bucket)) {
      throw new ObjectStoreFatalError(
        `S3Store: invalid bucket name ${JSON.stringify(options?.bucket)}`,
      );
    }
    this.bucket = options.bucket;
    this.prefix = normalisePrefix(options.prefix ?? '');
    const pageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new ObjectStoreFatalError(
        `S3Store: listPageSize must be an integer in 1..1000, got ${pageSize}`,
      );
    }
    this.#pageSize = pageSize;
    const region = options.region ?? (options.endpoint !== undefined ? 'us-east-1' : undefined);
    const config: S3ClientConfig = {
      ...(region !== undefined && { region }),
      ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
      ...(options.credentials !== undefined && { credentials: options.credentials }),
      forcePathStyle: options.forcePathStyle ?? false,
      // Plain Content-Length uploads with no CRC trailers: what every S3 implementation
      // accepts (Ceph and older MinIO reject aws-chunked trailers).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        requestTimeout: options.requestTimeoutMs ?? 30_000,
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      },
    };
    this.#config = config;
    this.#maxAttempts = options.maxAttempts ?? 3;
    const endpoint =
      options.endpoint === undefined ? '' : ` (endpoint ${redactUrl(options.endpoint)})`;
    this.description = `s3://${this.bucket}/${this.prefix}${endpoint}`;
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const mode: PutMode = options.mode ?? 'overwrite';
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: this.#objectKey(key),
      Body: bytes,
      ContentLength: bytes.byteLength,
    };
    let conditional: S3ErrorContext['conditional'];
    if (mode === 'create') {
      input.IfNoneMatch = '*';
      conditional = 'create';
    } else if (mode !== 'overwrite') {
      if (typeof mode?.ifMatch !== 'string') {
        throw new TypeError(`put mode must be 'overwrite', 'create' or { ifMatch: string }`);
      }
      input.IfMatch = unquote(mode.ifMatch);
      conditional = 'ifMatch';
    }
    try {
      const { sdk, client, onceClient } = await this.#connect();
      const sender = conditional === undefined ? client : onceClient;
      const out = await sender.send(new sdk.PutObjectCommand(input));
      if (out.ETag === undefined) {
        throw new ObjectStoreFatalError(
          `s3 put ${key} on ${this.description}: the answer carried no ETag`,
        );
      }
      return { etag: unquote(out.ETag) };
    } catch (err) {
      throw mapS3Error(err, { op: 'put', key, conditional, where: this.description });
    }
  }

  async get(key: string): Promise<GetResult> {
    const objectKey = this.#objectKey(key);
    try {
      const { sdk, client } = await this.#connect();
      const out = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      const bytes =
        out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
      return {
        key,
        size: bytes.byteLength,
        etag: unquote(out.ETag ?? ''),
        lastModified: out.LastModified ?? new Date(0),
        bytes,
      };
    } catch (err) {
      throw mapS3Error(err, { op: 'get', key, where: this.description });
    }
  }

  async head(key: string): Promise<ObjectMeta> {
    const objectKey = this.#objectKey(key);
    try {
      const { sdk, client } = await this.#connect();
      const out = await client.send(
        new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: unquote(out.ETag ?? ''),
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (err) {
      throw mapS3Error(err, { op: 'head', key, where: this.description });
    }
  }

  /**
   * Pages through ListObjectsV2. Keys in the bucket that are not valid store keys (a
   * console's `folder/` marker, `a//b`) cannot be addressed through this interface and
   * are skipped.
   */
  async *list(prefix: string): AsyncIterable<ObjectMeta> {
    validatePrefix(prefix);
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        const { sdk, client } = await this.#connect();
        page = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            MaxKeys: this.#pageSize,
            ContinuationToken: token,
          }),
        );
      } catch (err) {
        throw mapS3Error(err, { op: 'list', where: this.description });
      }
      for (const object of page.Contents ?? []) {
        const full = object.Key;
        if (full === undefined || !full.startsWith(this.prefix)) continue;
        const key = full.slice(this.prefix.length);
        if (!isValidKey(key)) continue;
        yield {
          key,
          size: object.Size ?? 0,
          etag: unquote(object.ETag ?? ''),
          lastModified: object.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.#objectKey(key);
    try {
      const { sdk, client } = await this.#connect();
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (err) {
      throw mapS3Error(err, { op: 'delete', key, where: this.description });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connection = await this.#connection?.catch(() => undefined);
    connection?.client.destroy();
    connection?.onceClient.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #objectKey(key: string): string {
    validateKey(key);
    return this.prefix + key;
  }

  /** Loads the SDK and builds the clients on first use. */
  #connect(): Promise<Connection> {
    if (this.#closed) {
      return Promise.reject(new ObjectStoreFatalError(`${this.description} is closed`));
    }
    this.#connection ??= loadS3Sdk().then((sdk) => ({
      sdk,
      client: new sdk.S3Client({ ...this.#config, maxAttempts: this.#maxAttempts }),
      // Conditional puts go out exactly once (see `maxAttempts`).
      onceClient: new sdk.S3Client({ ...this.#config, maxAttempts: 1 }),
    }));
    return this.#connection;
  }
}

interface Connection {
  readonly sdk: S3Sdk;
  readonly client: S3Client;
  readonly onceClient: S3Client;
}

/** `"abc"` → `abc`; S3 quotes ETags, the store's contract does not. */
function unquote(etag: string): string {
  return etag.replace(/"/g, '');
}

function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  try {
    validateKey(trimmed);
  } catch (err) {
    const reason = err instanceof InvalidKeyError ? err.message : String(err);
    throw new ObjectStoreFatalError(`S3Store: invalid prefix ${JSON.stringify(prefix)}: ${reason}`);
  }
  return `${trimmed}/`;
}

function isValidKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Drops user-info, query and fragment from a URL for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.href.replace(/\/$/, '');
  } catch {
    return '<invalid URL>';
  }
}
