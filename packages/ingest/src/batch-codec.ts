import zstd from 'zstd-napi/binding.js';
import { CorruptBatchError, InvalidArgumentError } from './errors.js';

/**
 * Batch object format v1 (opendata-ingest compatible):
 *
 * ```
 * record block, optionally compressed as ONE zstd frame:
 *   record i: [len: u32 LE][bytes]
 * footer, 7 bytes, never compressed:
 *   compression_type u8 (0 none, 1 zstd) | record_count u32 LE | version u16 LE = 1
 * ```
 */
export const BATCH_FORMAT_VERSION = 1;
export const BATCH_FOOTER_BYTES = 7;
export const MAX_RECORD_BYTES = 0xffff_ffff;
const MAX_RECORD_COUNT = 0xffff_ffff;

export type BatchCompression = 'none' | 'zstd';
const COMPRESSION_CODES: Record<BatchCompression, number> = { none: 0, zstd: 1 };

/** Default zstd level: zstd's own default, a good speed/ratio point for telemetry. */
export const DEFAULT_ZSTD_LEVEL = 3;
/** Upper bound on a decompressed record block unless the caller raises it. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 1024 * 1024 * 1024;

export interface EncodeBatchOptions {
  readonly compression?: BatchCompression;
  /** zstd level (1..22); default 3. */
  readonly level?: number;
}

export interface DecodeBatchOptions {
  /** Object key, only used in error messages. */
  readonly location?: string;
  /** Refuse zstd blocks that claim to decompress to more than this; default 1 GiB. */
  readonly maxDecompressedBytes?: number;
}

export interface DecodedBatch {
  /** Views into one decoded buffer (zero-copy); do not assume they own their memory. */
  readonly records: Uint8Array[];
  readonly compression: BatchCompression;
}

let cctx: zstd.CCtx | undefined;
let dctx: zstd.DCtx | undefined;

/** Size of the uncompressed record block for these records. */
export function recordBlockSize(records: readonly Uint8Array[]): number {
  let size = 0;
  for (let i = 0; i < records.length; i++) size += 4 + records[i]!.byteLength;
  return size;
}

/**
 * Encodes records as one v1 batch object. One allocation for `none`; for `zstd` the
 * record block is built once and compressed straight into the output buffer.
 * @throws InvalidArgumentError when a record is larger than 4 GiB - 1 or there are
 *   more than 2^32 - 1 records.
 */
export function encodeBatch(
  records: readonly Uint8Array[],
  options: EncodeBatchOptions = {},
): Uint8Array {
  const compression = options.compression ?? 'none';
  const code = COMPRESSION_CODES[compression];
  if (code === undefined) {
    throw new InvalidArgumentError(`unknown batch compression ${JSON.stringify(compression)}`);
  }
  if (records.length > MAX_RECORD_COUNT) {
    throw new InvalidArgumentError(`a batch holds at most ${MAX_RECORD_COUNT} records`);
  }
  const blockSize = recordBlockSize(records);
  if (compression === 'none') {
    const out = Buffer.allocUnsafe(blockSize + BATCH_FOOTER_BYTES);
    const end = writeRecordBlock(out, records);
    writeFooter(out, end, code, records.length);
    return out;
  }
  const block = Buffer.allocUnsafe(blockSize);
  writeRecordBlock(block, records);
  const out = Buffer.allocUnsafe(zstd.compressBound(blockSize) + BATCH_FOOTER_BYTES);
  cctx ??= new zstd.CCtx();
  const n = cctx.compress(out, block, options.level ?? DEFAULT_ZSTD_LEVEL);
  writeFooter(out, n, code, records.length);
  return out.subarray(0, n + BATCH_FOOTER_BYTES);
}

function writeRecordBlock(out: Uint8Array, records: readonly Uint8Array[]): number {
  let o = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const len = r.byteLength;
    if (len > MAX_RECORD_BYTES) {
      throw new InvalidArgumentError(`record ${i} is ${len} bytes; at most ${MAX_RECORD_BYTES}`);
    }
    out[o] = len & 0xff;
    out[o + 1] = (len >>> 8) & 0xff;
    out[o + 2] = (len >>> 16) & 0xff;
    out[o + 3] = (len >>> 24) & 0xff;
    out.set(r, o + 4);
    o += 4 + len;
  }
  return o;
}

function writeFooter(out: Uint8Array, at: number, code: number, count: number): void {
  out[at] = code;
  out[at + 1] = count & 0xff;
  out[at + 2] = (count >>> 8) & 0xff;
  out[at + 3] = (count >>> 16) & 0xff;
  out[at + 4] = (count >>> 24) & 0xff;
  out[at + 5] = BATCH_FORMAT_VERSION & 0xff;
  out[at + 6] = BATCH_FORMAT_VERSION >>> 8;
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x100_0000;
}

/**
 * Decodes a v1 batch object. Every structural problem is reported as a
 * `CorruptBatchError` naming what is wrong and at which offset; nothing is skipped.
 */
export function decodeBatch(bytes: Uint8Array, options: DecodeBatchOptions = {}): DecodedBatch {
  const location = options.location;
  const fail = (reason: string, offset: number, cause?: unknown): never => {
    throw new CorruptBatchError(reason, offset, { location, cause });
  };
  if (bytes.byteLength < BATCH_FOOTER_BYTES) {
    fail(`truncated: ${bytes.byteLength} bytes, the footer alone is ${BATCH_FOOTER_BYTES}`, 0);
  }
  const f = bytes.byteLength - BATCH_FOOTER_BYTES;
  const version = bytes[f + 5]! | (bytes[f + 6]! << 8);
  if (version !== BATCH_FORMAT_VERSION) {
    fail(`unsupported batch format version ${version} (this reader knows 1)`, f + 5);
  }
  const code = bytes[f]!;
  const recordCount = u32(bytes, f + 1);
  let compression: BatchCompression;
  let block: Uint8Array;
  let where = '';
  if (code === 0) {
    compression = 'none';
    block = bytes.subarray(0, f);
  } else if (code === 1) {
    compression = 'zstd';
    block = decompressFrame(bytes.subarray(0, f), options.maxDecompressedBytes, fail);
    where = ' of the decompressed record block';
  } else {
    return fail(`unknown compression type ${code} (0 none, 1 zstd)`, f);
  }
  const records = new Array<Uint8Array>(recordCount);
  const end = block.byteLength;
  let o = 0;
  for (let i = 0; i < recordCount; i++) {
    if (end - o < 4) {
      fail(
        `record ${i} of ${recordCount}: length prefix truncated at offset ${o}${where} ` +
          `(block is ${end} bytes)`,
        o,
      );
    }
    const len = u32(block, o);
    if (len > end - o - 4) {
      fail(
        `record ${i} of ${recordCount}: length ${len} at offset ${o}${where} runs past the ` +
          `end of the record block (${end - o - 4} bytes left)`,
        o,
      );
    }
    records[i] = block.subarray(o + 4, o + 4 + len);
    o += 4 + len;
  }
  if (o !== end) {
    fail(
      `footer says ${recordCount} records but ${end - o} bytes follow the last one ` +
        `(at offset ${o}${where})`,
      o,
    );
  }
  return { records, compression };
}

function decompressFrame(
  frame: Uint8Array,
  maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
  fail: (reason: string, offset: number, cause?: unknown) => never,
): Uint8Array {
  if (frame.byteLength === 0) return fail('zstd record block is empty (no frame)', 0);
  let frameSize: number;
  let contentSize: number | null;
  try {
    frameSize = zstd.findFrameCompressedSize(frame);
    contentSize = zstd.getFrameContentSize(frame);
  } catch (err) {
    return fail(`record block is not a zstd frame: ${(err as Error).message}`, 0, err);
  }
  if (frameSize !== frame.byteLength) {
    fail(
      `record block must be ONE zstd frame: the first frame ends at ${frameSize} of ` +
        `${frame.byteLength} bytes`,
      frameSize,
    );
  }
  dctx ??= new zstd.DCtx();
  if (contentSize !== null) {
    if (contentSize > maxBytes) {
      fail(`zstd frame claims ${contentSize} decompressed bytes, over the ${maxBytes} limit`, 0);
    }
    const out = Buffer.allocUnsafe(contentSize);
    let n: number;
    try {
      n = dctx.decompress(out, frame);
    } catch (err) {
      return fail(`zstd frame does not decompress: ${(err as Error).message}`, 0, err);
    }
    if (n !== contentSize) {
      fail(`zstd frame decompressed to ${n} bytes, its header says ${contentSize}`, 0);
    }
    return out;
  }
  // Frames written by streaming encoders may omit the content size.
  const chunks: Buffer[] = [];
  let total = 0;
  let input = frame;
  const chunkSize = Math.max(zstd.dStreamOutSize(), Math.min(frame.byteLength * 4, maxBytes));
  try {
    dctx.reset(zstd.ResetDirective.sessionOnly);
    for (;;) {
      const chunk = Buffer.allocUnsafe(chunkSize);
      const [remaining, produced, consumed] = dctx.decompressStream(chunk, input);
      total += produced;
      if (total > maxBytes) fail(`zstd frame decompresses to more than ${maxBytes} bytes`, 0);
      chunks.push(chunk.subarray(0, produced));
      input = input.subarray(consumed);
      if (remaining === 0) break;
      if (produced === 0 && consumed === 0) fail('zstd frame is truncated', frame.byteLength);
    }
  } catch (err) {
    if (err instanceof CorruptBatchError) throw err;
    dctx = undefined;
    return fail(`zstd frame does not decompress: ${(err as Error).message}`, 0, err);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}
