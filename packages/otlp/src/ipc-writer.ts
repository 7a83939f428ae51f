/**
 * Arrow IPC stream writer for one record batch, written straight into one output buffer.
 *
 * apache-arrow's `RecordBatchStreamWriter` builds every message through its flatbuffers
 * builder, queues each column buffer and each padding as a separate chunk and joins them
 * at the end (17 % of the acceptor's busy time in bench/e2e). Here:
 * - the schema message is encoded once per table by apache-arrow's own `Message` encoder
 *   and cached, so it stays byte-identical to before (the writer's ipc-check keys
 *   its compiled schemas on those bytes);
 * - the bodies are laid out as apache-arrow's `VectorAssembler` lays them out (the same
 *   nodes, buffers and offsets its writer uses, so bodies are byte-identical too), by
 *   `BodyAssembler` for every shape the decoders build and by `VectorAssembler` itself
 *   for anything else;
 * - the DictionaryBatch / RecordBatch message flatbuffers have a fixed shape and are
 *   written by hand at fixed offsets (`writeBatchHeader`, the layout is described in
 *   @sediment/lake's ipc-flatbuffers.ts, which reads them back in the writer), and every
 *   buffer is copied once, into the result, with its zero padding.
 */

import {
  type BatchHeaderSpec,
  framedBatchHeaderSize,
  setInt64,
  writeFramedBatchHeader,
} from '@sediment/lake/ipc-flatbuffers';
import {
  type Data,
  DataType,
  type Field,
  Message,
  type RecordBatch,
  Schema,
  Type,
  Vector,
} from 'apache-arrow';
import { VectorAssembler } from 'apache-arrow/visitor/vectorassembler';
import zstd from 'zstd-napi/binding.js';

const CONTINUATION = 0xffffffff;
/** Message.fbs CompressionType.ZSTD. */
const CODEC_ZSTD = 1;

const pad8 = (n: number): number => (n + 7) & ~7;

interface Assembled {
  readonly length: number;
  /** Length, null count of each field node, depth-first. */
  readonly nodes: readonly number[];
  /** Offset, length (padded to 8) of each buffer in the plain body. */
  readonly regions: readonly number[];
  readonly buffers: readonly ArrayBufferView[];
  readonly bodyLength: number;
}

interface Part {
  /** Undefined for the record batch. */
  readonly dictionaryId: number | undefined;
  readonly batch: Assembled;
}

/** The header of `part` with its buffers at `regions`, `bodyLength` bytes of body. */
function headerSpec(
  part: Part,
  regions: readonly number[],
  bodyLength: number,
  codec: number | undefined,
): BatchHeaderSpec {
  return {
    dictionaryId: part.dictionaryId,
    length: part.batch.length,
    nodes: part.batch.nodes,
    regions,
    bodyLength,
    codec,
  };
}

function assemble(length: number, columns: readonly Data[]): Assembled {
  const fast = new BodyAssembler();
  if (columns.every((c) => fast.visit(c))) {
    return {
      length,
      nodes: fast.nodes,
      regions: fast.regions,
      buffers: fast.buffers,
      bodyLength: fast.byteLength,
    };
  }
  const a = VectorAssembler.assemble(...columns.map((c) => new Vector([c])));
  if (a.variadicBufferCounts.length > 0) {
    throw new Error('internal: variadic buffers are not supported by the IPC writer');
  }
  return {
    length,
    nodes: a.nodes.flatMap((n) => [n.length, n.nullCount]),
    regions: a.bufferRegions.flatMap((r) => [r.offset, r.length]),
    buffers: a.buffers,
    bodyLength: a.byteLength,
  };
}

const NO_BYTES = new Uint8Array(0);

/**
 * Arrow JS's `VectorAssembler` for the shapes the decoders build (unsliced columns of
 * fixed-width, string, bool, list, map, struct and dictionary types): the same field
 * nodes, buffers and regions (test/ipc-writer.test.ts compares the streams byte for byte
 * on every table), without a visitor object, a `Data` clone per list child or an object
 * per node and buffer, which took ≈ 6 % of a decode thread. `visit` returns false for
 * anything else (a sliced column, unions, views, large lists…); the caller then uses Arrow
 * JS's assembler for the whole batch.
 */
export class BodyAssembler {
  readonly nodes: number[] = [];
  readonly regions: number[] = [];
  readonly buffers: ArrayBufferView[] = [];
  byteLength = 0;

  #add(values: ArrayBufferView): void {
    const length = pad8(values.byteLength);
    this.buffers.push(values);
    this.regions.push(this.byteLength, length);
    this.byteLength += length;
  }

  visit(data: Data): boolean {
    if (data.offset !== 0 || data.length > 2147483647) return false;
    const type = DataType.isDictionary(data.type) ? data.type.indices : data.type;
    const { length } = data;
    if (type.typeId === Type.Null) {
      this.nodes.push(length, data.nullCount);
      return true;
    }
    if (!KNOWN.has(type.typeId)) return false;
    const nullCount = data.nullCount;
    const bitmap = data.nullBitmap;
    if (nullCount > 0 && bitmap === undefined) return false;
    // A validity bitmap as Arrow JS writes it: its bytes, zero-padded to 8 in the body.
    this.#add(nullCount <= 0 ? NO_BYTES : bitmap!);
    this.nodes.push(length, nullCount);
    switch (type.typeId) {
      case Type.Bool: {
        const values = data.values as unknown;
        if (nullCount >= length) this.#add(new Uint8Array((length + 7) >> 3));
        else if (values instanceof Uint8Array) this.#add(values);
        else return false;
        return true;
      }
      case Type.Utf8:
      case Type.Binary: {
        const offsets = data.valueOffsets as Int32Array;
        const values = data.values as Uint8Array;
        if (offsets[0] !== 0) return false;
        const end = offsets[length]!;
        this.#add(offsets.subarray(0, length + 1));
        this.#add(values.subarray(0, Math.min(end, values.byteLength)));
        return true;
      }
      case Type.List:
      case Type.Map: {
        const offsets = data.valueOffsets as Int32Array;
        const child = data.children[0]!;
        // Arrow JS slices the child to [offsets[0], offsets[length]); same data only when
        // that is all of it.
        if (offsets[0] !== 0 || child.length !== offsets[length]) return false;
        this.#add(offsets.subarray(0, length + 1));
        return this.visit(child);
      }
      case Type.FixedSizeList:
        return this.visit(data.children[0]!);
      case Type.Struct:
        for (let i = 0; i < type.children.length; i++) {
          const child = data.children[i];
          if (child !== undefined && !this.visit(child)) return false;
        }
        return true;
      default: {
        const values = data.values as unknown as ArrayBufferView & {
          subarray(start: number, end: number): ArrayBufferView;
        };
        this.#add(values.subarray(0, length * data.stride));
        return true;
      }
    }
  }
}

/** Types `BodyAssembler` lays out (the rest go through Arrow JS's assembler). */
const KNOWN: ReadonlySet<Type> = new Set([
  Type.Bool,
  Type.Int,
  Type.Float,
  Type.Date,
  Type.Timestamp,
  Type.Time,
  Type.Decimal,
  Type.Interval,
  Type.Duration,
  Type.FixedSizeBinary,
  Type.Utf8,
  Type.Binary,
  Type.List,
  Type.Map,
  Type.FixedSizeList,
  Type.Struct,
]);

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
  const specs = parts.map((p) => headerSpec(p, p.batch.regions, p.batch.bodyLength, undefined));
  let size = schemaBytes.length + 8;
  for (const spec of specs) size += framedBatchHeaderSize(spec) + spec.bodyLength;
  const { out, dv } = startStream(schemaBytes, size);
  let pos = schemaBytes.length;
  for (const [k, part] of parts.entries()) {
    pos += writeFramedBatchHeader(out, dv, pos, specs[k]!);
    const { buffers, regions, bodyLength } = part.batch;
    const bodyStart = pos;
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i]!;
      const at = bodyStart + regions[2 * i]!;
      out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), at);
      out.fill(0, at + b.byteLength, at + regions[2 * i + 1]!);
    }
    pos += bodyLength;
  }
  dv.setUint32(pos, CONTINUATION, true);
  dv.setUint32(pos + 4, 0, true);
  return out;
}

/**
 * The output of a stream of `size` bytes, its schema message written. Not zeroed: the
 * writers fill every byte (headers and padding, bodies with their padding, end-of-stream).
 * Its own `ArrayBuffer`, so a decode thread can transfer it whole.
 */
function startStream(schemaBytes: Uint8Array, size: number): { out: Uint8Array; dv: DataView } {
  const backing = Buffer.allocUnsafeSlow(size);
  const out = new Uint8Array(backing.buffer, backing.byteOffset, size);
  out.set(schemaBytes, 0);
  return { out, dv: new DataView(out.buffer, out.byteOffset, size) };
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
    parts.push({ dictionaryId: id, batch: assemble(chunk.length, [chunk]) });
  }
  parts.push({ dictionaryId: undefined, batch: assemble(batch.numRows, batch.data.children) });
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
 * Batch headers are written by hand as well (`writeBatchHeader` with a BodyCompression);
 * Arrow JS's `Message` encoder and its object per node and buffer took a tenth of a
 * decode thread's time.
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
  const messages: { spec: BatchHeaderSpec; bodyStart: number }[] = [];
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
    const spec = headerSpec(part, regions, s - bodyStart, CODEC_ZSTD);
    messages.push({ spec, bodyStart });
    size += framedBatchHeaderSize(spec) + spec.bodyLength;
  }
  const { out, dv } = startStream(schemaBytes, size);
  let pos = schemaBytes.length;
  for (const { spec, bodyStart } of messages) {
    pos += writeFramedBatchHeader(out, dv, pos, spec);
    out.set(scratch.subarray(bodyStart, bodyStart + spec.bodyLength), pos);
    pos += spec.bodyLength;
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
