/**
 * Arrow IPC streams with compressed bodies turned into plain ones.
 *
 * Arrow's body compression (Message.fbs `BodyCompression`, method BUFFER) compresses each
 * buffer of a record or dictionary batch on its own: in the body, a compressed buffer is
 * its uncompressed length as int64 LE followed by one compressed frame, or -1 followed by
 * the raw bytes when compression did not pay; an empty buffer stays empty. The acceptor
 * sends its Flight puts this way (ZSTD: a fifth of the bytes over the wire, see
 * docs/004-flight.md). The writer decompresses each put into a scratch buffer to check it
 * and queues the stream as it arrived (a fifth of the bytes written and read back); the
 * collector's entry decoder reads only the timestamp frames (`batchBuffer`) and sizes
 * (`plainMessageSize`), and the Parquet encoder decompresses each file's input.
 *
 * Only ZSTD is accepted (Sediment has no LZ4 codec). Everything that comes from the
 * stream is checked before it is used: message framing, every buffer inside its body,
 * length prefixes, the total size against a cap (so that a small stream claiming
 * gigabytes is refused without allocating them), and that each frame decompresses to
 * exactly the length its prefix claims.
 */
import {
  BufferRegion,
  DictionaryBatch,
  FieldNode,
  Message,
  RecordBatch,
} from 'apache-arrow/ipc/metadata/message';
import zstd from 'zstd-napi/binding.js';
import { rawMessageAt } from './ipc.js';
import { type BatchHeader, HeaderType, writeBatchMessage } from './ipc-flatbuffers.js';

/** Message.fbs CompressionType. */
const CompressionCodec = { LZ4_FRAME: 0, ZSTD: 1 } as const;
/** Message.fbs BodyCompressionMethod.BUFFER. */
const METHOD_BUFFER = 0;
const CONTINUATION = 0xffffffff;
/** Uncompressed-length prefix of a buffer stored raw. */
const RAW = -1n;

const pad8 = (n: number): number => (n + 7) & ~7;

/** A stream whose compressed bodies cannot be turned into plain ones. */
export class IpcDecompressError extends Error {
  override readonly name: string = 'IpcDecompressError';
  readonly code = 'IPC_DECOMPRESS_FAILED';
}

/** A stream whose bodies would decompress to more than the caller allows. */
export class IpcDecompressLimitError extends IpcDecompressError {
  override readonly name = 'IpcDecompressLimitError';
}

let dctx: zstd.DCtx | undefined;

/** One buffer of a compressed batch: where its bytes are and what they become. */
interface BufferPlan {
  /** Compressed frame or raw bytes (after the length prefix). */
  readonly data: Uint8Array;
  /** Uncompressed length; -1 when `data` is stored raw. */
  readonly plain: number;
  /** Offset in the new body. */
  readonly offset: number;
}

interface Piece {
  /** The message's bytes as they are (schema, end of stream, uncompressed batches). */
  readonly raw?: Uint8Array;
  /** A compressed batch: its new framed metadata and its buffers' plan. */
  readonly meta?: Uint8Array;
  readonly buffers?: readonly BufferPlan[];
  readonly bodyLength?: number;
  readonly where?: string;
}

/**
 * The stream with every compressed body replaced by its plain form; `bytes` itself when no
 * body is compressed. Messages keep their order; the end-of-stream marker is kept. The
 * plain stream is laid out from the length prefixes first, then every frame is
 * decompressed straight into its place.
 * @param maxBytes the largest plain stream to produce
 * @param into where the plain stream goes: called once with its size, returns at least
 *   that many bytes to write it into (a reused scratch, say: the result is then a view of
 *   it, valid until the scratch is reused). Default: a new array of exactly that size.
 * @throws IpcDecompressError for malformed framing, codecs other than ZSTD, bad prefixes
 *   or frames; IpcDecompressLimitError when the plain stream would exceed `maxBytes`.
 */
export function decompressIpcStream(
  bytes: Uint8Array,
  maxBytes: number,
  into: (size: number) => Uint8Array = allocate,
): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (reason: string) => new IpcDecompressError(reason);
  const pieces: Piece[] = [];
  let compressed = false;
  let size = 0;
  let pos = 0;
  try {
    while (pos < bytes.length) {
      const m = rawMessageAt(bytes, view, pos, fail);
      if (m === null) {
        // End-of-stream marker (4 or 8 bytes): kept as it is, and nothing after it.
        const end = Math.min(
          bytes.length,
          pos + (view.getUint32(pos, true) === CONTINUATION ? 8 : 4),
        );
        pieces.push({ raw: bytes.subarray(pos, end) });
        size += end - pos;
        if (size > maxBytes) throw limit(maxBytes);
        break;
      }
      if (!m.header.compressed) {
        pieces.push({ raw: bytes.subarray(pos, m.end) });
        size += m.end - pos;
      } else {
        compressed = true;
        const piece = planBatch(m.header, m.body, maxBytes - size, pos);
        pieces.push(piece);
        size += piece.meta!.length + piece.bodyLength!;
      }
      if (size > maxBytes) throw limit(maxBytes);
      pos = m.end;
    }
  } catch (err) {
    // A damaged header fails inside the flatbuffer reads: refused like any bad input.
    if (err instanceof IpcDecompressError) throw err;
    throw new IpcDecompressError(`message at ${pos}: ${(err as Error).message}`, { cause: err });
  }
  if (!compressed) return bytes;
  const target = into(size);
  if (target.length < size) {
    throw new RangeError(`decompressIpcStream: into(${size}) returned ${target.length} bytes`);
  }
  const out = target.length === size ? target : target.subarray(0, size);
  let o = 0;
  for (const p of pieces) {
    if (p.raw !== undefined) {
      out.set(p.raw, o);
      o += p.raw.length;
      continue;
    }
    out.set(p.meta!, o);
    o += p.meta!.length;
    const buffers = p.buffers!;
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i]!;
      const start = o + b.offset;
      const length = b.plain < 0 ? b.data.length : b.plain;
      if (b.plain < 0) out.set(b.data, start);
      else inflate(b.data, out.subarray(start, start + length), `${p.where}: buffer ${i}`);
      // Padding is zero (the format asks for it; `out` may be a reused scratch).
      out.fill(0, start + length, o + (buffers[i + 1]?.offset ?? p.bodyLength!));
    }
    if (buffers.length === 0) out.fill(0, o, o + p.bodyLength!);
    o += p.bodyLength!;
  }
  return out;
}

function allocate(size: number): Uint8Array {
  return new Uint8Array(size);
}

function limit(maxBytes: number): IpcDecompressLimitError {
  return new IpcDecompressLimitError(
    `the decompressed Arrow IPC stream would exceed ${maxBytes} bytes`,
  );
}

/** Checks a compressed batch's buffers and lays out its plain body (nothing decompressed yet). */
function planBatch(h: BatchHeader, body: Uint8Array, budget: number, pos: number): Piece {
  const where = `message at ${pos}`;
  const unsupported = unsupportedCompression(h);
  if (unsupported !== undefined) throw new IpcDecompressError(`${where}: ${unsupported}`);
  const bodyView = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const buffers: BufferPlan[] = [];
  // Offset, length of each plain buffer.
  const regions: number[] = [];
  let bodyLength = 0;
  for (let i = 0; i < h.bufferCount; i++) {
    const b = compressedBuffer(h, body, bodyView, i);
    if (typeof b === 'string') throw new IpcDecompressError(`${where}: ${b}`);
    if (b.plain > budget) throw limit(budget);
    const plainLength = b.plain < 0 ? b.data.length : b.plain;
    buffers.push({ data: b.data, plain: b.plain, offset: bodyLength });
    regions.push(bodyLength, plainLength);
    bodyLength = pad8(bodyLength + plainLength);
    if (bodyLength > budget) throw limit(budget);
  }
  const meta =
    writeBatchMessage(h, regions, bodyLength) ?? arrowJsBatchMessage(h, regions, bodyLength);
  return { meta, buffers, bodyLength, where };
}

/** {@link writeBatchMessage} through Arrow JS's encoder: delta dictionary batches. */
function arrowJsBatchMessage(
  h: BatchHeader,
  regions: readonly number[],
  bodyLength: number,
): Uint8Array {
  const nodes: FieldNode[] = [];
  for (let i = 0; i < h.nodeCount; i++) {
    nodes.push(new FieldNode(h.nodeLength(i), h.nodeNullCount(i)));
  }
  const bufferRegions: BufferRegion[] = [];
  for (let i = 0; i < regions.length; i += 2) {
    bufferRegions.push(new BufferRegion(regions[i]!, regions[i + 1]!));
  }
  const batch = new RecordBatch(h.length, nodes, bufferRegions, null);
  const header =
    h.headerType === HeaderType.DictionaryBatch
      ? new DictionaryBatch(batch, h.dictionaryId, h.isDelta)
      : batch;
  return frame(Message.encode(Message.from(header, bodyLength)));
}

/** Decompresses one frame into `out`, which must be exactly its plain length. */
function inflate(data: Uint8Array, out: Uint8Array, what: string): void {
  let n: number;
  try {
    dctx ??= new zstd.DCtx();
    n = dctx.decompress(out, data);
  } catch (err) {
    throw new IpcDecompressError(
      `${what}: not a ZSTD frame of its length (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  if (n !== out.length) {
    throw new IpcDecompressError(
      `${what}: decompressed to ${n} bytes, its prefix says ${out.length}`,
    );
  }
}

/** `[continuation][metadata length][metadata, padded to 8]`. */
function frame(fb: Uint8Array): Uint8Array {
  const padded = pad8(fb.length);
  const out = new Uint8Array(8 + padded);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CONTINUATION, true);
  dv.setInt32(4, padded, true);
  out.set(fb, 8);
  return out;
}

/**
 * Buffer `i` of a record or dictionary batch in its plain form: a view of the body for
 * an uncompressed batch or a buffer stored raw (-1 prefix), a new array for a compressed
 * one (only that frame is decompressed). Undefined when the buffer cannot be read so
 * (outside its body, a codec other than ZSTD, a bad prefix or frame, larger than
 * `maxBytes`): the caller then takes the path that checks the whole stream.
 */
export function batchBuffer(
  h: BatchHeader,
  body: Uint8Array,
  i: number,
  maxBytes: number,
): Uint8Array | undefined {
  if (i < 0 || i >= h.bufferCount) return undefined;
  if (!h.compressed) {
    const offset = h.bufferOffset(i);
    const length = h.bufferLength(i);
    const inside = offset >= 0 && length >= 0 && offset + length <= body.length;
    return inside ? body.subarray(offset, offset + length) : undefined;
  }
  if (unsupportedCompression(h) !== undefined) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const b = compressedBuffer(h, body, view, i);
  if (typeof b === 'string' || b.plain > maxBytes) return undefined;
  if (b.plain < 0) return b.data;
  const out = new Uint8Array(b.plain);
  try {
    inflate(b.data, out, `buffer ${i}`);
  } catch {
    return undefined;
  }
  return out;
}

/**
 * Size of a batch message once its body is decompressed (framed metadata + plain body),
 * from the length prefixes alone; the message's own size when it is not compressed.
 * Undefined when a prefix is unreadable or negative (other than -1).
 */
export function plainMessageSize(
  h: BatchHeader,
  metaBytes: number,
  body: Uint8Array,
): number | undefined {
  if (!h.compressed) return metaBytes + body.length;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let size = 0;
  for (let i = 0; i < h.bufferCount; i++) {
    const b = compressedBuffer(h, body, view, i);
    if (typeof b === 'string' || !Number.isFinite(b.plain)) return undefined;
    size = pad8(size + (b.plain < 0 ? b.data.length : b.plain));
  }
  return metaBytes + size;
}

/** Why the batch's body compression cannot be read, if it cannot (only ZSTD, method BUFFER). */
function unsupportedCompression(h: BatchHeader): string | undefined {
  if (h.codec !== CompressionCodec.ZSTD) {
    const codec = h.codec === CompressionCodec.LZ4_FRAME ? 'LZ4_FRAME' : h.codec;
    return `body compression codec ${codec} is not supported (only ZSTD)`;
  }
  if (h.compressionMethod !== METHOD_BUFFER) {
    return `body compression method ${h.compressionMethod} is not BUFFER`;
  }
  return undefined;
}

/**
 * Buffer `i` of a compressed batch as stored: its bytes after the length prefix and the
 * plain length the prefix claims (-1: stored raw, and for an empty buffer, which has no
 * prefix; Infinity past 2^53, so that every size limit refuses it), or why it cannot be
 * read.
 */
function compressedBuffer(
  h: BatchHeader,
  body: Uint8Array,
  view: DataView,
  i: number,
): { readonly data: Uint8Array; readonly plain: number } | string {
  const offset = h.bufferOffset(i);
  const length = h.bufferLength(i);
  if (!(offset >= 0 && length >= 0 && offset + length <= body.length)) {
    return `buffer ${i} lies outside the body`;
  }
  if (length === 0) return { data: body.subarray(offset, offset), plain: -1 }; // nothing, as is
  if (length < 8) return `buffer ${i} is shorter than its length prefix`;
  const claimed = view.getBigInt64(offset, true);
  const data = body.subarray(offset + 8, offset + length);
  if (claimed === RAW) return { data, plain: -1 };
  if (claimed < 0n) return `buffer ${i} claims ${claimed} bytes`;
  const plain = claimed > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(claimed);
  return { data, plain };
}
