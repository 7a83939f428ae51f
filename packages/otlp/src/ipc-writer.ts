/**
 * Arrow IPC stream writer for one record batch, written straight into one output buffer.
 *
 * apache-arrow's `RecordBatchStreamWriter` builds every message through its flatbuffers
 * builder, queues each column buffer and each padding as a separate chunk and joins them
 * at the end (17 % of the acceptor's busy time in bench/e2e). Here:
 * - the schema message is encoded once per table by apache-arrow's own `Message` encoder
 *   and cached, so it stays byte-identical to before (the writer's ipc-check keys
 *   its compiled schemas on those bytes);
 * - the bodies are laid out by apache-arrow's `VectorAssembler` (the same nodes, buffers
 *   and offsets its writer uses, so bodies are byte-identical too);
 * - the DictionaryBatch / RecordBatch message flatbuffers have a fixed shape and are
 *   written by hand at fixed offsets (below), and every buffer is copied once, into the
 *   result, with its zero padding.
 *
 * Message layout (Message.fbs / Schema.fbs, all little-endian, offsets from the start of
 * the flatbuffer, which the stream keeps 8-byte aligned; every int64 field and struct
 * vector is 8-byte aligned, as flatbuffers verifiers require):
 *
 * ```
 *  0  uint32  root → Message table (16)
 *  4  Message vtable: size 12, table size 20, version@16 header_type@18 header@4 bodyLength@8
 * 16  Message table: soffset 12 | header uoffset | bodyLength int64 | version int16 = V5 | header_type
 * 36  RecordBatch message: RecordBatch vtable; DictionaryBatch message: DictionaryBatch vtable
 *     (size 8, table size 16, id@8 data@4), pad, DictionaryBatch table at 48
 *     (soffset 12 | data uoffset | id int64), then the RecordBatch vtable at 64
 *  V  RecordBatch vtable: size 10, table size 20, length@8 nodes@4 buffers@16
 *  T  RecordBatch table (T = V + 10 rounded up to 8): soffset | nodes uoffset | length int64 | buffers uoffset
 * T+20  [FieldNode] vector: uint32 count, then 16-byte structs (length, null_count) at T+24
 *       4 bytes padding, [Buffer] vector: uint32 count, then 16-byte structs (offset, length)
 * ```
 */
import {
  type Data,
  type Field,
  Message,
  type RecordBatch,
  Schema,
  Vector,
} from 'apache-arrow';
import { VectorAssembler } from 'apache-arrow/visitor/vectorassembler';
import zstd from 'zstd-napi/binding.js';

const CONTINUATION = 0xffffffff;
/** Schema.fbs MetadataVersion.V5. */
const METADATA_V5 = 4;
/** Message.fbs MessageHeader. */
const HEADER_DICTIONARY_BATCH = 2;
const HEADER_RECORD_BATCH = 3;
const TWO_32 = 0x1_0000_0000;

const pad8 = (n: number): number => (n + 7) & ~7;

/** Offset of the RecordBatch vtable in a message of each kind. */
const RB_VTABLE_IN_RECORD_BATCH = 36;
const RB_VTABLE_IN_DICTIONARY_BATCH = 64;
const rbTable = (vtable: number): number => pad8(vtable + 10);

/** Flatbuffer size of a batch message with `nodes` field nodes and `buffers` buffers. */
function batchHeaderSize(rbVtable: number, nodes: number, buffers: number): number {
  return rbTable(rbVtable) + 32 + 16 * (nodes + buffers);
}

/** The same with a BodyCompression (see {@link writeCompressedBatchHeader}). */
function compressedHeaderSize(rbVtable: number, nodes: number, buffers: number): number {
  return compressedRbTable(rbVtable) + 40 + 16 * (nodes + buffers) + 16;
}
const compressedRbTable = (vtable: number): number => pad8(vtable + 12);
/** Message.fbs CompressionType.ZSTD. */
const CODEC_ZSTD = 1;

interface Assembled {
  readonly length: number;
  readonly nodes: readonly { length: number; nullCount: number }[];
  readonly regions: readonly { offset: number; length: number }[];
  readonly buffers: readonly ArrayBufferView[];
  readonly bodyLength: number;
}

interface Part {
  readonly rbVtable: number;
  readonly dictionaryId: number;
  readonly batch: Assembled;
  readonly headerSize: number;
}

function assemble(length: number, what: RecordBatch | Vector): Assembled {
  const a = VectorAssembler.assemble(what);
  if (a.variadicBufferCounts.length > 0) {
    throw new Error('internal: variadic buffers are not supported by the IPC writer');
  }
  return {
    length,
    nodes: a.nodes,
    regions: a.bufferRegions,
    buffers: a.buffers,
    bodyLength: a.byteLength,
  };
}

function setInt64(dv: DataView, at: number, value: number): void {
  dv.setUint32(at, value % TWO_32, true);
  dv.setUint32(at + 4, Math.floor(value / TWO_32), true);
}

/** Writes the flatbuffer of one batch message at `at` (zeroes included); returns its size. */
function writeBatchHeader(out: Uint8Array, dv: DataView, at: number, part: Part): number {
  const { rbVtable, batch, headerSize } = part;
  out.fill(0, at, at + headerSize);
  const t = rbTable(rbVtable);
  const nodes = batch.nodes.length;
  const buffers = batch.regions.length;
  const dictionary = rbVtable === RB_VTABLE_IN_DICTIONARY_BATCH;
  const header = dictionary ? 48 : t;
  // Root offset and Message vtable.
  dv.setUint32(at, 16, true);
  dv.setUint16(at + 4, 12, true);
  dv.setUint16(at + 6, 20, true);
  dv.setUint16(at + 8, 16, true); // version
  dv.setUint16(at + 10, 18, true); // header_type
  dv.setUint16(at + 12, 4, true); // header
  dv.setUint16(at + 14, 8, true); // bodyLength
  // Message table.
  dv.setInt32(at + 16, 16 - 4, true);
  dv.setUint32(at + 20, header - 20, true);
  setInt64(dv, at + 24, batch.bodyLength);
  dv.setInt16(at + 32, METADATA_V5, true);
  out[at + 34] = dictionary ? HEADER_DICTIONARY_BATCH : HEADER_RECORD_BATCH;
  if (dictionary) {
    dv.setUint16(at + 36, 8, true);
    dv.setUint16(at + 38, 16, true);
    dv.setUint16(at + 40, 8, true); // id
    dv.setUint16(at + 42, 4, true); // data
    dv.setInt32(at + 48, 48 - 36, true);
    dv.setUint32(at + 52, t - 52, true);
    setInt64(dv, at + 56, part.dictionaryId);
  }
  // RecordBatch vtable and table.
  dv.setUint16(at + rbVtable, 10, true);
  dv.setUint16(at + rbVtable + 2, 20, true);
  dv.setUint16(at + rbVtable + 4, 8, true); // length
  dv.setUint16(at + rbVtable + 6, 4, true); // nodes
  dv.setUint16(at + rbVtable + 8, 16, true); // buffers
  dv.setInt32(at + t, t - rbVtable, true);
  dv.setUint32(at + t + 4, 16, true);
  setInt64(dv, at + t + 8, batch.length);
  const buffersVector = t + 28 + 16 * nodes;
  dv.setUint32(at + t + 16, buffersVector - (t + 16), true);
  let p = at + t + 20;
  dv.setUint32(p, nodes, true);
  p += 4;
  for (const n of batch.nodes) {
    setInt64(dv, p, n.length);
    setInt64(dv, p + 8, n.nullCount);
    p += 16;
  }
  p += 4;
  dv.setUint32(p, buffers, true);
  p += 4;
  for (const r of batch.regions) {
    setInt64(dv, p, r.offset);
    setInt64(dv, p + 8, r.length);
    p += 16;
  }
  return headerSize;
}

/**
 * Writes the flatbuffer of one batch message whose body is compressed (ZSTD, method
 * BUFFER) at `at`, zeroes included; returns its size. The layout above, except:
 *
 * ```
 *  V  RecordBatch vtable: size 12, table 24, length@8 nodes@4 buffers@16 compression@20
 *  T  RecordBatch table (T = V + 12 rounded up to 8): soffset | nodes | length int64 |
 *     buffers | compression uoffset; 4 bytes padding
 * T+28  [FieldNode] count, 16-byte structs from T+32; 4 bytes padding; [Buffer] count, structs
 *  E  BodyCompression vtable (size 8, table 8, codec@4 method@5), its table at E+8:
 *     soffset | codec = ZSTD | method = BUFFER
 * ```
 */
function writeCompressedBatchHeader(
  out: Uint8Array,
  dv: DataView,
  at: number,
  part: Part,
  regions: readonly number[],
  bodyLength: number,
): number {
  const { rbVtable, batch } = part;
  const nodes = batch.nodes.length;
  const buffers = regions.length / 2;
  const size = compressedHeaderSize(rbVtable, nodes, buffers);
  out.fill(0, at, at + size);
  const t = compressedRbTable(rbVtable);
  const dictionary = rbVtable === RB_VTABLE_IN_DICTIONARY_BATCH;
  const header = dictionary ? 48 : t;
  dv.setUint32(at, 16, true);
  dv.setUint16(at + 4, 12, true);
  dv.setUint16(at + 6, 20, true);
  dv.setUint16(at + 8, 16, true); // version
  dv.setUint16(at + 10, 18, true); // header_type
  dv.setUint16(at + 12, 4, true); // header
  dv.setUint16(at + 14, 8, true); // bodyLength
  dv.setInt32(at + 16, 16 - 4, true);
  dv.setUint32(at + 20, header - 20, true);
  setInt64(dv, at + 24, bodyLength);
  dv.setInt16(at + 32, METADATA_V5, true);
  out[at + 34] = dictionary ? HEADER_DICTIONARY_BATCH : HEADER_RECORD_BATCH;
  if (dictionary) {
    dv.setUint16(at + 36, 8, true);
    dv.setUint16(at + 38, 16, true);
    dv.setUint16(at + 40, 8, true); // id
    dv.setUint16(at + 42, 4, true); // data
    dv.setInt32(at + 48, 48 - 36, true);
    dv.setUint32(at + 52, t - 52, true);
    setInt64(dv, at + 56, part.dictionaryId);
  }
  dv.setUint16(at + rbVtable, 12, true);
  dv.setUint16(at + rbVtable + 2, 24, true);
  dv.setUint16(at + rbVtable + 4, 8, true); // length
  dv.setUint16(at + rbVtable + 6, 4, true); // nodes
  dv.setUint16(at + rbVtable + 8, 16, true); // buffers
  dv.setUint16(at + rbVtable + 10, 20, true); // compression
  dv.setInt32(at + t, t - rbVtable, true);
  dv.setUint32(at + t + 4, 28 - 4, true);
  setInt64(dv, at + t + 8, batch.length);
  const buffersVector = t + 36 + 16 * nodes;
  dv.setUint32(at + t + 16, buffersVector - (t + 16), true);
  const e = buffersVector + 4 + 16 * buffers;
  dv.setUint32(at + t + 20, e + 8 - (t + 20), true);
  let p = at + t + 28;
  dv.setUint32(p, nodes, true);
  p += 4;
  for (const n of batch.nodes) {
    setInt64(dv, p, n.length);
    setInt64(dv, p + 8, n.nullCount);
    p += 16;
  }
  p += 4;
  dv.setUint32(p, buffers, true);
  p += 4;
  for (let i = 0; i < regions.length; i++) {
    setInt64(dv, p, regions[i]!);
    p += 8;
  }
  // BodyCompression: vtable, then its table (method BUFFER = 0 is written explicitly).
  dv.setUint16(at + e, 8, true);
  dv.setUint16(at + e + 2, 8, true);
  dv.setUint16(at + e + 4, 4, true); // codec
  dv.setUint16(at + e + 6, 5, true); // method
  dv.setInt32(at + e + 8, 8, true);
  out[at + e + 12] = CODEC_ZSTD;
  return size;
}

interface CachedSchema {
  readonly fields: readonly Field[];
  readonly metadata: Map<string, string>;
  readonly framed: Uint8Array;
}

/**
 * The framed schema message (prefix, flatbuffer, padding) last written for each table,
 * reused while the fields and metadata are the same. Fields are compared by name,
 * nullability, metadata and type *object*: every `RecordBatch` clones its schema's fields
 * (apache-arrow's constructor does), but the clones share the types of the table's schema.
 */
const schemaMessages = new Map<string, CachedSchema>();

/** Same entries in the same order (the order is part of the encoding). */
function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  if (a.size === 0) return true;
  const ia = a.entries();
  for (const [k, v] of b) {
    const [ka, va] = ia.next().value as [string, string];
    if (ka !== k || va !== v) return false;
  }
  return true;
}

function sameSchema(c: CachedSchema, fields: readonly Field[], metadata: Map<string, string>) {
  if (c.fields.length !== fields.length || !sameMap(c.metadata, metadata)) return false;
  for (let i = 0; i < fields.length; i++) {
    const a = c.fields[i]!;
    const b = fields[i]!;
    if (
      a !== b &&
      (a.type !== b.type ||
        a.name !== b.name ||
        a.nullable !== b.nullable ||
        !sameMap(a.metadata, b.metadata))
    ) {
      return false;
    }
  }
  return true;
}

function framedSchema(schema: Schema, table: string, metadata: Map<string, string>): Uint8Array {
  const cached = schemaMessages.get(table);
  if (cached !== undefined && sameSchema(cached, schema.fields, metadata)) return cached.framed;
  const withMeta = new Schema(schema.fields, metadata, schema.dictionaries);
  const fb = Message.encode(Message.from(withMeta));
  const framed = new Uint8Array(8 + pad8(fb.length));
  const dv = new DataView(framed.buffer);
  dv.setUint32(0, CONTINUATION, true);
  dv.setInt32(4, pad8(fb.length), true);
  framed.set(fb, 8);
  schemaMessages.set(table, { fields: [...schema.fields], metadata: new Map(metadata), framed });
  return framed;
}

/** Body compression of the batches in a stream written by {@link writeIpcStream}. */
export type IpcCompression = 'none' | 'zstd';
export const IPC_COMPRESSIONS: readonly IpcCompression[] = ['none', 'zstd'];

export interface IpcWriteOptions {
  /**
   * `zstd`: Arrow's body compression (Message.fbs BodyCompression, ZSTD, method BUFFER):
   * every buffer of a batch is one zstd frame after its uncompressed length (int64 LE), or
   * -1 and the raw bytes when compressing does not make it smaller. Default `none`.
   */
  readonly compression?: IpcCompression;
  /** zstd level; default 1 (≈ 770 MB/s and 4.7× on span batches, see docs/004-flight.md). */
  readonly zstdLevel?: number;
}

/** zstd level for IPC bodies: fast, and on span batches 4.7× smaller (level 3: 5.3×, half the speed). */
export const DEFAULT_IPC_ZSTD_LEVEL = 1;
/** Buffers shorter than this are stored raw (a zstd frame has ~10 bytes of overhead). */
const MIN_COMPRESS_BYTES = 64;
/** Length prefix of a buffer stored raw in a compressed body. */
const RAW_PREFIX = -1n;

/**
 * One Arrow IPC stream: the schema of `batch` with `metadata` as its custom metadata,
 * one dictionary batch per dictionary (schema order), the record batch, end-of-stream.
 * The schema message is encoded once and reused while the table's fields (the same
 * objects) and metadata stay the same.
 */
export function writeIpcStream(
  batch: RecordBatch,
  table: string,
  metadata: Map<string, string>,
  options: IpcWriteOptions = {},
): Uint8Array {
  const schemaBytes = framedSchema(batch.schema, table, metadata);
  if (options.compression === 'zstd') {
    return writeCompressed(schemaBytes, batchParts(batch), options.zstdLevel);
  }
  const parts = batchParts(batch);

  let size = schemaBytes.length + 8;
  for (const part of parts) size += 8 + pad8(part.headerSize) + part.batch.bodyLength;
  const backing = Buffer.allocUnsafeSlow(size);
  const out = new Uint8Array(backing.buffer, backing.byteOffset, size);
  const dv = new DataView(out.buffer, out.byteOffset, size);
  out.set(schemaBytes, 0);
  let pos = schemaBytes.length;
  for (const part of parts) {
    const padded = pad8(part.headerSize);
    dv.setUint32(pos, CONTINUATION, true);
    dv.setInt32(pos + 4, padded, true);
    pos += 8;
    writeBatchHeader(out, dv, pos, part);
    out.fill(0, pos + part.headerSize, pos + padded);
    pos += padded;
    const { buffers, regions, bodyLength } = part.batch;
    const bodyStart = pos;
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i]!;
      const r = regions[i]!;
      const at = bodyStart + r.offset;
      out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), at);
      out.fill(0, at + b.byteLength, at + r.length);
    }
    pos += bodyLength;
  }
  dv.setUint32(pos, CONTINUATION, true);
  dv.setUint32(pos + 4, 0, true);
  return out;
}

/** The dictionary batches (schema order) and the record batch of `batch`, assembled. */
function batchParts(batch: RecordBatch): Part[] {
  const parts: Part[] = [];
  for (const [id, dictionary] of batch.dictionaries) {
    const chunks: readonly Data[] = dictionary?.data ?? [];
    // A multi-chunk dictionary would need delta batches (isDelta); our decoders build one.
    if (chunks.length !== 1) {
      throw new Error(`internal: dictionary ${id} has ${chunks.length} chunks, expected 1`);
    }
    const chunk = chunks[0]!;
    const assembled = assemble(chunk.length, new Vector([chunk]));
    parts.push({
      rbVtable: RB_VTABLE_IN_DICTIONARY_BATCH,
      dictionaryId: id,
      batch: assembled,
      headerSize: batchHeaderSize(
        RB_VTABLE_IN_DICTIONARY_BATCH,
        assembled.nodes.length,
        assembled.regions.length,
      ),
    });
  }
  const main = assemble(batch.numRows, batch);
  parts.push({
    rbVtable: RB_VTABLE_IN_RECORD_BATCH,
    dictionaryId: 0,
    batch: main,
    headerSize: batchHeaderSize(RB_VTABLE_IN_RECORD_BATCH, main.nodes.length, main.regions.length),
  });
  return parts;
}

let cctx: zstd.CCtx | undefined;
/** Reused between calls (everything is copied out before returning) up to this size. */
const SCRATCH_KEEP_BYTES = 4 * 1024 * 1024;
let keptScratch = new Uint8Array(0);

/**
 * The stream with compressed batch bodies. The buffers are compressed into a scratch area
 * laid out as the bodies will be (8-byte aligned, zero padding): a frame's size decides
 * the layout, so each body is then copied into the one output allocation as one range.
 * Batch headers are written by hand as well ({@link writeCompressedBatchHeader}: the layout
 * above with a BodyCompression); Arrow JS's `Message` encoder and its object per node and
 * buffer took a tenth of a decode thread's time.
 */
function writeCompressed(
  schemaBytes: Uint8Array,
  parts: Part[],
  level = DEFAULT_IPC_ZSTD_LEVEL,
): Uint8Array {
  let bound = 0;
  for (const part of parts) {
    for (const b of part.batch.buffers) bound += pad8(8 + zstd.compressBound(b.byteLength));
  }
  if (bound <= SCRATCH_KEEP_BYTES && keptScratch.length === 0) {
    keptScratch = new Uint8Array(SCRATCH_KEEP_BYTES);
  }
  const scratch = bound > SCRATCH_KEEP_BYTES ? new Uint8Array(bound) : keptScratch;
  const view = new DataView(scratch.buffer);
  const messages: {
    part: Part;
    regions: number[];
    headerSize: number;
    bodyStart: number;
    bodyLength: number;
  }[] = [];
  let s = 0;
  let size = schemaBytes.length + 8;
  for (const part of parts) {
    const bodyStart = s;
    // Offset (in the body), length of each buffer as stored.
    const regions: number[] = [];
    for (const b of part.batch.buffers) {
      const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      const length = bytes.length === 0 ? 0 : compressBuffer(scratch, view, s, bytes, level);
      regions.push(s - bodyStart, length);
      const next = pad8(s + length);
      scratch.fill(0, s + length, next);
      s = next;
    }
    const headerSize = compressedHeaderSize(
      part.rbVtable,
      part.batch.nodes.length,
      regions.length / 2,
    );
    messages.push({ part, regions, headerSize, bodyStart, bodyLength: s - bodyStart });
    size += 8 + pad8(headerSize) + (s - bodyStart);
  }
  const out = new Uint8Array(size); // zeroed: the metadata padding
  const dv = new DataView(out.buffer);
  out.set(schemaBytes, 0);
  let pos = schemaBytes.length;
  for (const m of messages) {
    const padded = pad8(m.headerSize);
    dv.setUint32(pos, CONTINUATION, true);
    dv.setInt32(pos + 4, padded, true);
    writeCompressedBatchHeader(out, dv, pos + 8, m.part, m.regions, m.bodyLength);
    pos += 8 + padded;
    out.set(scratch.subarray(m.bodyStart, m.bodyStart + m.bodyLength), pos);
    pos += m.bodyLength;
  }
  dv.setUint32(pos, CONTINUATION, true);
  dv.setUint32(pos + 4, 0, true);
  return out;
}

/**
 * Writes `bytes` at `at` as its length (int64 LE) and one zstd frame, or as -1 and the raw
 * bytes when it is short or the frame would not be smaller. Returns the bytes written.
 */
function compressBuffer(
  scratch: Uint8Array,
  view: DataView,
  at: number,
  bytes: Uint8Array,
  level: number,
): number {
  if (bytes.length >= MIN_COMPRESS_BYTES) {
    cctx ??= new zstd.CCtx();
    const n = cctx.compress(scratch.subarray(at + 8), bytes, level);
    if (n < bytes.length) {
      setInt64(view, at, bytes.length);
      return 8 + n;
    }
  }
  view.setBigInt64(at, RAW_PREFIX, true);
  scratch.set(bytes, at + 8);
  return 8 + bytes.length;
}
