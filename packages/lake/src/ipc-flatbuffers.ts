/**
 * Bounds-checked reading of Arrow IPC message headers (the flatbuffers of Message.fbs,
 * Schema.fbs) from untrusted bytes.
 *
 * Why not Arrow JS's decoder alone: it follows offsets and vector lengths as found, so a
 * single corrupted byte in a Schema message can make it loop for ever (measured: one
 * flipped byte in a spans schema hangs `RecordBatchReader` and `Message#header()`), and
 * a corrupted vector length makes it allocate billions of objects. Every table, vector
 * and string reached here is checked to lie inside the buffer, nesting is limited, and
 * the number of tables visited is bounded by the buffer size, so whatever passes
 * {@link guardSchemaMessage} can be handed to Arrow JS safely.
 *
 * Record and dictionary batch headers are read here directly ({@link readBatchHeader}),
 * without Arrow JS: the writer checks every put with them.
 */

/** Thrown for a header that is not a well-formed flatbuffer of the expected shape. */
export class IpcHeaderError extends Error {
  override readonly name = 'IpcHeaderError';
  readonly code = 'IPC_HEADER_INVALID';
}

/** Message.fbs MessageHeader union tags. */
export const HeaderType = { Schema: 1, DictionaryBatch: 2, RecordBatch: 3 } as const;

/** Deepest Field nesting accepted in a schema (Sediment's deepest is 4). */
const MAX_FIELD_DEPTH = 64;

function bad(what: string): never {
  throw new IpcHeaderError(`malformed Arrow IPC header: ${what}`);
}

/** A flatbuffer with bounds-checked accessors; positions are byte offsets into `buf`. */
class Flatbuffer {
  readonly view: DataView;
  readonly length: number;
  /** Tables visited so far (bounds the work on adversarial input). */
  tables = 0;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.length = buf.byteLength;
  }

  u32(pos: number): number {
    if (pos < 0 || pos + 4 > this.length) bad('offset out of range');
    return this.view.getUint32(pos, true);
  }

  /** Checks the table at `pos` and returns its vtable position. */
  table(pos: number): number {
    if (++this.tables > this.length) bad('too many tables');
    if (pos < 0 || pos + 4 > this.length) bad('table out of range');
    const vtable = pos - this.view.getInt32(pos, true);
    if (vtable < 0 || vtable + 4 > this.length) bad('vtable out of range');
    const vtableSize = this.view.getUint16(vtable, true);
    const tableSize = this.view.getUint16(vtable + 2, true);
    if (vtableSize < 4 || (vtableSize & 1) !== 0 || vtable + vtableSize > this.length) {
      bad('bad vtable size');
    }
    if (tableSize < 4 || pos + tableSize > this.length) bad('bad table size');
    return vtable;
  }

  /** Position of field `slot` of the table at `pos` (with vtable `vt`), or 0 when absent. */
  field(pos: number, vt: number, slot: number, width: number): number {
    const entry = 4 + 2 * slot;
    if (entry + 2 > this.view.getUint16(vt, true)) return 0;
    const off = this.view.getUint16(vt + entry, true);
    if (off === 0) return 0;
    if (off < 4 || off + width > this.view.getUint16(vt + 2, true))
      bad(`field ${slot} out of range`);
    return pos + off;
  }

  /** Follows the uoffset stored at `pos`. */
  deref(pos: number): number {
    const target = pos + this.u32(pos);
    if (target > this.length - 4) bad('reference out of range');
    return target;
  }

  /** A vector at the uoffset stored at `pos`: its first element and length. */
  vector(pos: number, elementBytes: number): { start: number; count: number } {
    const at = this.deref(pos);
    const count = this.u32(at);
    const start = at + 4;
    if (count > (this.length - start) / elementBytes) bad('vector runs past the end');
    return { start, count };
  }

  string(pos: number): void {
    const { start, count } = this.vector(pos, 1);
    if (start + count >= this.length || this.buf[start + count] !== 0) {
      bad('string not terminated');
    }
  }

  i64(pos: number): number {
    const lo = this.view.getUint32(pos, true);
    const hi = this.view.getInt32(pos + 4, true);
    if (hi < -0x200000 || hi >= 0x200000) bad('64-bit value out of range');
    return hi * 0x100000000 + lo;
  }
}

/** The root Message table: its vtable and where the header union's table is. */
function readMessage(fb: Flatbuffer): {
  headerType: number;
  header: number;
  bodyLength: number;
} {
  const root = fb.deref(0);
  const vt = fb.table(root);
  const version = fb.field(root, vt, 0, 2);
  const v = version === 0 ? 0 : fb.view.getInt16(version, true);
  if (v !== 3 && v !== 4) bad(`unsupported metadata version ${v}`);
  const typeAt = fb.field(root, vt, 1, 1);
  const headerType = typeAt === 0 ? 0 : fb.view.getUint8(typeAt);
  const headerAt = fb.field(root, vt, 2, 4);
  if (headerAt === 0) bad('message without a header');
  const header = fb.deref(headerAt);
  fb.table(header);
  const bodyAt = fb.field(root, vt, 3, 8);
  const bodyLength = bodyAt === 0 ? 0 : fb.i64(bodyAt);
  if (bodyLength < 0) bad('negative body length');
  const meta = fb.field(root, vt, 4, 4);
  if (meta !== 0) keyValues(fb, meta);
  return { headerType, header, bodyLength };
}

function keyValues(fb: Flatbuffer, at: number): void {
  const { start, count } = fb.vector(at, 4);
  for (let i = 0; i < count; i++) {
    const kv = fb.deref(start + 4 * i);
    const vt = fb.table(kv);
    const key = fb.field(kv, vt, 0, 4);
    if (key !== 0) fb.string(key);
    const value = fb.field(kv, vt, 1, 4);
    if (value !== 0) fb.string(value);
  }
}

function fieldTable(fb: Flatbuffer, pos: number, depth: number): void {
  if (depth > MAX_FIELD_DEPTH) bad('fields nested too deeply');
  const vt = fb.table(pos);
  const name = fb.field(pos, vt, 0, 4);
  if (name !== 0) fb.string(name);
  const type = fb.field(pos, vt, 3, 4);
  if (type !== 0) fb.table(fb.deref(type));
  const dictionary = fb.field(pos, vt, 4, 4);
  if (dictionary !== 0) {
    const d = fb.deref(dictionary);
    const dvt = fb.table(d);
    const indexType = fb.field(d, dvt, 1, 4);
    if (indexType !== 0) fb.table(fb.deref(indexType));
  }
  const children = fb.field(pos, vt, 5, 4);
  if (children !== 0) {
    const { start, count } = fb.vector(children, 4);
    for (let i = 0; i < count; i++) fieldTable(fb, fb.deref(start + 4 * i), depth + 1);
  }
  const meta = fb.field(pos, vt, 6, 4);
  if (meta !== 0) keyValues(fb, meta);
}

/**
 * Checks that a Schema message's flatbuffer is well formed (every table, vector and
 * string in bounds, nesting limited), so Arrow JS can decode it without running away.
 * Returns its body length (0 for a valid schema message).
 * @throws IpcHeaderError
 */
export function guardSchemaMessage(meta: Uint8Array): void {
  const fb = new Flatbuffer(meta);
  const { headerType, header, bodyLength } = readMessage(fb);
  if (headerType !== HeaderType.Schema) bad('the first message must be a Schema');
  if (bodyLength !== 0) bad('schema message with a body');
  const vt = fb.table(header);
  const fields = fb.field(header, vt, 1, 4);
  if (fields !== 0) {
    const { start, count } = fb.vector(fields, 4);
    for (let i = 0; i < count; i++) fieldTable(fb, fb.deref(start + 4 * i), 1);
  }
  const meta2 = fb.field(header, vt, 2, 4);
  if (meta2 !== 0) keyValues(fb, meta2);
  const features = fb.field(header, vt, 3, 4);
  if (features !== 0) fb.vector(features, 8);
}

/** A record batch header (or a dictionary batch's data), read in place. */
export interface BatchHeader {
  readonly headerType: number;
  readonly bodyLength: number;
  /** Rows. */
  readonly length: number;
  readonly nodeCount: number;
  readonly bufferCount: number;
  readonly compressed: boolean;
  /** Body compression codec (Message.fbs CompressionType: 0 LZ4_FRAME, 1 ZSTD); -1 when uncompressed. */
  readonly codec: number;
  /** Body compression method (Message.fbs BodyCompressionMethod: 0 BUFFER); -1 when uncompressed. */
  readonly compressionMethod: number;
  /** Dictionary batches: the dictionary id; -1 for record batches. */
  readonly dictionaryId: number;
  /** Dictionary batches: true when the values extend the dictionary instead of replacing it. */
  readonly isDelta: boolean;
  /** Length and null count of field node `i`. */
  nodeLength(i: number): number;
  nodeNullCount(i: number): number;
  /** Offset and length of buffer `i` inside the body. */
  bufferOffset(i: number): number;
  bufferLength(i: number): number;
}

/**
 * Reads a RecordBatch or DictionaryBatch message header (metadata bytes after the IPC
 * prefix). Other header types are returned with only `headerType` and `bodyLength` set.
 * @throws IpcHeaderError
 */
export function readBatchHeader(meta: Uint8Array): BatchHeader {
  const fb = new Flatbuffer(meta);
  const { headerType, header, bodyLength } = readMessage(fb);
  let batch = header;
  let dictionaryId = -1;
  let isDelta = false;
  if (headerType === HeaderType.DictionaryBatch) {
    const vt = fb.table(header);
    const id = fb.field(header, vt, 0, 8);
    dictionaryId = id === 0 ? 0 : fb.i64(id);
    const data = fb.field(header, vt, 1, 4);
    if (data === 0) bad('dictionary batch without data');
    batch = fb.deref(data);
    const delta = fb.field(header, vt, 2, 1);
    isDelta = delta !== 0 && fb.view.getUint8(delta) !== 0;
  } else if (headerType !== HeaderType.RecordBatch) {
    return emptyHeader(headerType, bodyLength);
  }
  const vt = fb.table(batch);
  const lengthAt = fb.field(batch, vt, 0, 8);
  const length = lengthAt === 0 ? 0 : fb.i64(lengthAt);
  const nodesAt = fb.field(batch, vt, 1, 4);
  const nodes = nodesAt === 0 ? { start: 0, count: 0 } : fb.vector(nodesAt, 16);
  const buffersAt = fb.field(batch, vt, 2, 4);
  const buffers = buffersAt === 0 ? { start: 0, count: 0 } : fb.vector(buffersAt, 16);
  const compressionAt = fb.field(batch, vt, 3, 4);
  const compressed = compressionAt !== 0;
  let codec = -1;
  let compressionMethod = -1;
  if (compressed) {
    // BodyCompression table: codec (byte, default LZ4_FRAME = 0), method (byte, default BUFFER = 0).
    const bc = fb.deref(compressionAt);
    const bcVt = fb.table(bc);
    const codecAt = fb.field(bc, bcVt, 0, 1);
    codec = codecAt === 0 ? 0 : fb.view.getInt8(codecAt);
    const methodAt = fb.field(bc, bcVt, 1, 1);
    compressionMethod = methodAt === 0 ? 0 : fb.view.getInt8(methodAt);
  }
  return {
    headerType,
    bodyLength,
    length,
    nodeCount: nodes.count,
    bufferCount: buffers.count,
    compressed,
    codec,
    compressionMethod,
    dictionaryId,
    isDelta,
    nodeLength: (i) => fb.i64(nodes.start + 16 * i),
    nodeNullCount: (i) => fb.i64(nodes.start + 16 * i + 8),
    bufferOffset: (i) => fb.i64(buffers.start + 16 * i),
    bufferLength: (i) => fb.i64(buffers.start + 16 * i + 8),
  };
}

function emptyHeader(headerType: number, bodyLength: number): BatchHeader {
  const none = () => bad('not a batch');
  return {
    headerType,
    bodyLength,
    length: 0,
    nodeCount: 0,
    bufferCount: 0,
    compressed: false,
    codec: -1,
    compressionMethod: -1,
    dictionaryId: -1,
    isDelta: false,
    nodeLength: none,
    nodeNullCount: none,
    bufferOffset: none,
    bufferLength: none,
  };
}

const CONTINUATION = 0xffffffff;
/** Schema.fbs MetadataVersion.V5. */
const METADATA_V5 = 4;
const TWO_32 = 0x1_0000_0000;
const pad8 = (n: number): number => (n + 7) & ~7;

/** Writes a non-negative safe integer as int64 little-endian. */
export function setInt64(dv: DataView, at: number, value: number): void {
  dv.setUint32(at, value % TWO_32, true);
  dv.setUint32(at + 4, Math.floor(value / TWO_32), true);
}

/** What a RecordBatch or DictionaryBatch message header says, for {@link writeBatchHeader}. */
export interface BatchHeaderSpec {
  /** A dictionary batch's id (never a delta); undefined for a record batch. */
  readonly dictionaryId: number | undefined;
  /** Rows. */
  readonly length: number;
  /** Length, null count of each field node, depth-first. */
  readonly nodes: ArrayLike<number>;
  /** Offset, length of each buffer inside the body. */
  readonly regions: ArrayLike<number>;
  readonly bodyLength: number;
  /** Body compression codec (Message.fbs CompressionType; method BUFFER); undefined = none. */
  readonly codec: number | undefined;
}

/** Where the RecordBatch vtable sits: after the Message table, or after the DictionaryBatch table. */
const rbVtable = (spec: BatchHeaderSpec): number => (spec.dictionaryId === undefined ? 36 : 64);
/** The RecordBatch table (8-aligned, after a vtable of 3 or 4 fields). */
const rbTable = (spec: BatchHeaderSpec): number =>
  pad8(rbVtable(spec) + (spec.codec === undefined ? 10 : 12));
/** The [FieldNode] vector's count (its structs follow, 8-aligned). */
const nodesVector = (spec: BatchHeaderSpec): number =>
  rbTable(spec) + (spec.codec === undefined ? 20 : 28);

/** Size of the flatbuffer {@link writeBatchHeader} writes for `spec`. */
export function batchHeaderSize(spec: BatchHeaderSpec): number {
  const end = nodesVector(spec) + 12 + 8 * (spec.nodes.length + spec.regions.length);
  return spec.codec === undefined ? end : end + 16;
}

/**
 * Writes the flatbuffer of a RecordBatch or DictionaryBatch message at `at`, into
 * {@link batchHeaderSize} bytes the caller has zeroed, in one fixed layout, without a
 * flatbuffers builder or an object per node and buffer ({@link writeFramedBatchHeader}
 * frames it: the acceptor's puts, packages/otlp/src/ipc-writer.ts, and the plain headers
 * decompressIpcStream lays out).
 * Offsets are from the start of the flatbuffer, which the stream keeps 8-byte aligned;
 * every int64 field and struct vector is 8-byte aligned, as flatbuffers verifiers require:
 *
 * ```
 *  0  root → Message table (16)
 *  4  Message vtable: size 12, table 20, version@16 header_type@18 header@4 bodyLength@8
 * 16  Message table: soffset | header uoffset | bodyLength int64 | version V5 | header_type
 * 36  record batch: the RecordBatch vtable; dictionary batch: its vtable (size 8, table
 *     16, id@8 data@4), the DictionaryBatch table at 48 (soffset | data | id int64), then
 *     the RecordBatch vtable at 64
 *  V  RecordBatch vtable: size 10, table 20, length@8 nodes@4 buffers@16
 *     (compressed: size 12, table 24, and compression@20)
 *  T  RecordBatch table (T = V + vtable size rounded up to 8): soffset | nodes | length
 *     int64 | buffers (| compression uoffset, 4 bytes padding)
 *  N  [FieldNode] count (N = T + 20, compressed T + 28), 16-byte structs from N + 4;
 *     4 bytes padding; [Buffer] count, 16-byte structs
 *  E  compressed: BodyCompression vtable (size 8, table 8, codec@4 method@5), its table
 *     at E + 8: soffset | codec | method = BUFFER
 * ```
 */
function writeBatchHeader(out: Uint8Array, dv: DataView, at: number, spec: BatchHeaderSpec): void {
  const dictionary = spec.dictionaryId !== undefined;
  const compressed = spec.codec !== undefined;
  const v = rbVtable(spec);
  const t = rbTable(spec);
  dv.setUint32(at, 16, true);
  dv.setUint16(at + 4, 12, true);
  dv.setUint16(at + 6, 20, true);
  dv.setUint16(at + 8, 16, true); // version
  dv.setUint16(at + 10, 18, true); // header_type
  dv.setUint16(at + 12, 4, true); // header
  dv.setUint16(at + 14, 8, true); // bodyLength
  dv.setInt32(at + 16, 16 - 4, true);
  dv.setUint32(at + 20, (dictionary ? 48 : t) - 20, true);
  setInt64(dv, at + 24, spec.bodyLength);
  dv.setInt16(at + 32, METADATA_V5, true);
  out[at + 34] = dictionary ? HeaderType.DictionaryBatch : HeaderType.RecordBatch;
  if (dictionary) {
    dv.setUint16(at + 36, 8, true);
    dv.setUint16(at + 38, 16, true);
    dv.setUint16(at + 40, 8, true); // id
    dv.setUint16(at + 42, 4, true); // data
    dv.setInt32(at + 48, 48 - 36, true);
    dv.setUint32(at + 52, t - 52, true);
    setInt64(dv, at + 56, spec.dictionaryId);
  }
  dv.setUint16(at + v, compressed ? 12 : 10, true);
  dv.setUint16(at + v + 2, compressed ? 24 : 20, true);
  dv.setUint16(at + v + 4, 8, true); // length
  dv.setUint16(at + v + 6, 4, true); // nodes
  dv.setUint16(at + v + 8, 16, true); // buffers
  if (compressed) dv.setUint16(at + v + 10, 20, true); // compression
  const n = nodesVector(spec);
  const b = n + 8 + 8 * spec.nodes.length;
  dv.setInt32(at + t, t - v, true);
  dv.setUint32(at + t + 4, n - (t + 4), true);
  setInt64(dv, at + t + 8, spec.length);
  dv.setUint32(at + t + 16, b - (t + 16), true);
  dv.setUint32(at + n, spec.nodes.length / 2, true);
  for (let i = 0, p = at + n + 4; i < spec.nodes.length; i++, p += 8) {
    setInt64(dv, p, spec.nodes[i]!);
  }
  dv.setUint32(at + b, spec.regions.length / 2, true);
  for (let i = 0, p = at + b + 4; i < spec.regions.length; i++, p += 8) {
    setInt64(dv, p, spec.regions[i]!);
  }
  if (compressed) {
    const e = b + 4 + 8 * spec.regions.length;
    dv.setUint32(at + t + 20, e + 8 - (t + 20), true);
    dv.setUint16(at + e, 8, true);
    dv.setUint16(at + e + 2, 8, true);
    dv.setUint16(at + e + 4, 4, true); // codec
    dv.setUint16(at + e + 6, 5, true); // method
    dv.setInt32(at + e + 8, 8, true);
    out[at + e + 12] = spec.codec;
  }
}

/** Bytes {@link writeFramedBatchHeader} writes for `spec`. */
export function framedBatchHeaderSize(spec: BatchHeaderSpec): number {
  return 8 + pad8(batchHeaderSize(spec));
}

/**
 * A batch message's metadata as an IPC stream frames it, at `at`: the continuation word,
 * the metadata length, then {@link writeBatchHeader}'s flatbuffer zero-padded to 8 bytes.
 * Returns the bytes written ({@link framedBatchHeaderSize}); the body goes right after.
 */
export function writeFramedBatchHeader(
  out: Uint8Array,
  dv: DataView,
  at: number,
  spec: BatchHeaderSpec,
): number {
  const padded = pad8(batchHeaderSize(spec));
  dv.setUint32(at, CONTINUATION, true);
  dv.setInt32(at + 4, padded, true);
  out.fill(0, at + 8, at + 8 + padded);
  writeBatchHeader(out, dv, at + 8, spec);
  return 8 + padded;
}

/**
 * The framed metadata ({@link writeFramedBatchHeader}) of the uncompressed form of batch
 * `h`: its length, field nodes and dictionary id, buffers at `regions` (offset, length
 * pairs), a body of `bodyLength` bytes. Undefined for a delta dictionary batch (Sediment
 * never writes one; the caller encodes it with Arrow JS).
 */
export function writeBatchMessage(
  h: BatchHeader,
  regions: readonly number[],
  bodyLength: number,
): Uint8Array | undefined {
  const dictionary = h.headerType === HeaderType.DictionaryBatch;
  if (dictionary ? h.isDelta : h.headerType !== HeaderType.RecordBatch) return undefined;
  const nodes: number[] = [];
  for (let i = 0; i < h.nodeCount; i++) nodes.push(h.nodeLength(i), h.nodeNullCount(i));
  const spec: BatchHeaderSpec = {
    dictionaryId: dictionary ? h.dictionaryId : undefined,
    length: h.length,
    nodes,
    regions,
    bodyLength,
    codec: undefined,
  };
  const out = new Uint8Array(framedBatchHeaderSize(spec));
  writeFramedBatchHeader(out, new DataView(out.buffer), 0, spec);
  return out;
}
