/**
 * Structural check of an Arrow IPC stream from its message headers, without building
 * Arrow JS vectors: the writer's hot-path replacement for decoding every put with
 * `RecordBatchReader` (which cost ~17% of the writer's event loop in the end-to-end
 * benchmark, bench/e2e).
 *
 * A schema is compiled once into a flat list of node specs (depth-first, the order in
 * which record batches list their field nodes and buffers) and cached by the exact bytes
 * of its schema message; every batch is then checked against it:
 * - the messages frame correctly (continuation, metadata length, body within the stream),
 *   Schema first and once, only dictionary and record batches after it;
 * - each batch has exactly the field nodes and buffers its schema calls for, every buffer
 *   lies inside the message body at an 8-byte aligned offset, and no body is compressed;
 * - top-level columns have the batch's length; null counts do not exceed lengths;
 * - buffers are long enough for their node: validity bitmaps (when there are nulls),
 *   offsets (lengths + 1 entries), fixed-width values; the last offset of strings and
 *   lists stays inside their data buffer or child; struct, fixed-size-list and map
 *   children are long enough for their parent;
 * - dictionary batches have a dictionary id the schema declares and match its value type.
 *
 * Together this is stricter than what decoding with Arrow JS checked before (it builds
 * vectors over whatever bytes the headers point at), and a test checks, on thousands of
 * corrupted streams, that whatever this accepts Arrow JS decodes.
 *
 * Types it has no layout for (unions, views, run-end, large lists, intervals…) make
 * {@link compileSchema} return undefined; the caller then falls back to a full decode.
 * Batch headers are read in place by @sediment/lake's ipc-flatbuffers.ts (bounds-checked, no Arrow JS);
 * a schema is decoded with Arrow JS's `Message` class (`apache-arrow/ipc/metadata/message`,
 * also used by @sediment/lake) only after @sediment/lake's ipc-flatbuffers.ts has checked its flatbuffer,
 * because Arrow JS's decoder can run for ever on a corrupted one.
 */

import {
  type BatchHeader,
  guardSchemaMessage,
  HeaderType,
  IpcHeaderError,
  readBatchHeader,
} from '@sediment/lake';
import { type DataType, DateUnit, type Field, type Schema, Type } from 'apache-arrow';
import { Message } from 'apache-arrow/ipc/metadata/message';

/** Thrown for a stream that is not a well-formed IPC stream of its own schema. */
export class IpcCheckError extends Error {
  override readonly name = 'IpcCheckError';
  readonly code = 'IPC_CHECK_FAILED';
}

/** Node layouts, by their buffers. */
const Kind = {
  /** Validity bitmap + fixed-width values (`width` bytes each). */
  Fixed: 0,
  /** Validity + bit-packed values. */
  Bool: 1,
  /** Validity + int32 offsets + data bytes. */
  Binary: 2,
  /** Validity + int64 offsets + data bytes. */
  LargeBinary: 3,
  /** Validity + int32 offsets; one child. */
  List: 4,
  /** Validity; `listSize` × length child values. */
  FixedSizeList: 5,
  /** Validity; children as long as the struct. */
  Struct: 6,
  /** No buffers. */
  Null: 7,
} as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface NodeSpec {
  readonly kind: Kind;
  /** Bytes per value (Fixed; a dictionary column's index width). */
  readonly width: number;
  /** Direct children (List, FixedSizeList, Struct; a Map is a List of one Struct). */
  readonly children: number;
  /** FixedSizeList: values per list. */
  readonly listSize: number;
}

/** A schema's record batch layout. */
export interface CompiledSchema {
  readonly schema: Schema;
  /** Field nodes of a record batch, depth-first. */
  readonly nodes: readonly NodeSpec[];
  readonly bufferCount: number;
  /** Node index of each top-level column. */
  readonly topLevel: readonly number[];
  /** Dictionary id → layout of its dictionary batches (the value type as one column). */
  readonly dictionaries: ReadonlyMap<number, { nodes: readonly NodeSpec[]; bufferCount: number }>;
}

/** Buffers per node, by Kind. */
const BUFFERS: readonly number[] = [2, 2, 3, 3, 2, 1, 1, 0];

/** Appends `type`'s nodes to `out`; false when a type has no known layout. */
function compileType(
  type: DataType,
  out: NodeSpec[],
  dictionaries: Map<number, DataType>,
): boolean {
  const t = type as DataType & Record<string, unknown>;
  const leaf = (kind: Kind, width = 0) => {
    out.push({ kind, width, children: 0, listSize: 0 });
    return true;
  };
  // Parameters Arrow JS cannot build vectors for make the schema undecodable.
  const allowed = (value: unknown, ok: readonly number[], what: string): number => {
    if (!ok.includes(value as number)) {
      throw new IpcCheckError(`unsupported ${what} ${String(value)} in ${String(type)}`);
    }
    return value as number;
  };
  switch (type.typeId) {
    case Type.Null:
      // No buffers bound a null column's length: decoded in full (never produced by Sediment).
      return false;
    case Type.Bool:
      return leaf(Kind.Bool);
    case Type.Int:
      return leaf(Kind.Fixed, allowed(t.bitWidth, [8, 16, 32, 64], 'integer width') / 8);
    case Type.Decimal:
      return leaf(Kind.Fixed, allowed(t.bitWidth, [128, 256], 'decimal width') / 8);
    case Type.Float:
      return leaf(Kind.Fixed, [2, 4, 8][allowed(t.precision, [0, 1, 2], 'float precision')]);
    case Type.Date:
      return leaf(
        Kind.Fixed,
        allowed(t.unit, [DateUnit.DAY, DateUnit.MILLISECOND], 'date unit') === DateUnit.DAY ? 4 : 8,
      );
    case Type.Time:
      allowed(t.unit, [0, 1, 2, 3], 'time unit');
      return leaf(Kind.Fixed, allowed(t.bitWidth, [32, 64], 'time width') / 8);
    case Type.Timestamp:
    case Type.Duration:
      allowed(t.unit, [0, 1, 2, 3], 'time unit');
      return leaf(Kind.Fixed, 8);
    case Type.FixedSizeBinary: {
      const width = t.byteWidth as number;
      if (!(Number.isInteger(width) && width >= 0)) allowed(width, [], 'byte width');
      return leaf(Kind.Fixed, width);
    }
    case Type.Utf8:
    case Type.Binary:
      return leaf(Kind.Binary);
    case Type.LargeUtf8:
    case Type.LargeBinary:
      return leaf(Kind.LargeBinary);
    case Type.Dictionary: {
      const indices = t.indices as DataType & { bitWidth: number };
      if (indices?.typeId !== Type.Int) {
        throw new IpcCheckError(`dictionary index type ${String(indices)} is not an integer`);
      }
      allowed(indices.bitWidth, [8, 16, 32, 64], 'dictionary index width');
      const id = Number(t.id);
      const previous = dictionaries.get(id);
      const values = t.dictionary as DataType;
      if (previous !== undefined && String(previous) !== String(values)) return false;
      dictionaries.set(id, values);
      return leaf(Kind.Fixed, indices.bitWidth / 8);
    }
    case Type.List:
    case Type.Map:
    case Type.FixedSizeList:
    case Type.Struct: {
      const children = (type.children ?? []) as Field[];
      const kind =
        type.typeId === Type.Struct
          ? Kind.Struct
          : type.typeId === Type.FixedSizeList
            ? Kind.FixedSizeList
            : Kind.List;
      if (kind !== Kind.Struct && children.length !== 1) return false;
      const listSize = t.listSize as number;
      if (kind === Kind.FixedSizeList && !(Number.isInteger(listSize) && listSize >= 0)) {
        allowed(listSize, [], 'list size');
      }
      out.push({
        kind,
        width: 0,
        children: children.length,
        listSize: kind === Kind.FixedSizeList ? listSize : 0,
      });
      for (const child of children) {
        if (!compileType(child.type as DataType, out, dictionaries)) return false;
      }
      return true;
    }
    default:
      // Interval (unit-dependent width), unions, views, run-end encoded, large lists…:
      // not produced by Sediment; the caller decodes such streams in full.
      return false;
  }
}

function countBuffers(nodes: readonly NodeSpec[]): number {
  let n = 0;
  for (const spec of nodes) n += BUFFERS[spec.kind]!;
  return n;
}

/** The layout of `schema`, or undefined when it uses a type without a known layout. */
export function compileSchema(schema: Schema): CompiledSchema | undefined {
  const nodes: NodeSpec[] = [];
  const topLevel: number[] = [];
  const dictionaryTypes = new Map<number, DataType>();
  for (const field of schema.fields) {
    topLevel.push(nodes.length);
    if (!compileType(field.type as DataType, nodes, dictionaryTypes)) return undefined;
  }
  const dictionaries = new Map<number, { nodes: NodeSpec[]; bufferCount: number }>();
  for (const [id, valueType] of dictionaryTypes) {
    const dictNodes: NodeSpec[] = [];
    // Nested dictionaries inside dictionary values are not supported here.
    const nested = new Map<number, DataType>();
    if (!compileType(valueType, dictNodes, nested) || nested.size > 0) return undefined;
    dictionaries.set(id, { nodes: dictNodes, bufferCount: countBuffers(dictNodes) });
  }
  return { schema, nodes, bufferCount: countBuffers(nodes), topLevel, dictionaries };
}

/**
 * Checks one record batch (or a dictionary batch's data) against its node layout.
 * `body` is the message body. Returns the batch length.
 */
function checkBatch(
  header: BatchHeader,
  nodes: readonly NodeSpec[],
  bufferCount: number,
  body: Uint8Array,
  what: string,
): number {
  if (header.compressed) throw new IpcCheckError(`${what}: compressed bodies are not accepted`);
  if (header.nodeCount !== nodes.length) {
    throw new IpcCheckError(
      `${what} has ${header.nodeCount} field nodes; its schema needs ${nodes.length}`,
    );
  }
  if (header.bufferCount !== bufferCount) {
    throw new IpcCheckError(
      `${what} has ${header.bufferCount} buffers; its schema needs ${bufferCount}`,
    );
  }
  const bodyLength = body.byteLength;
  for (let b = 0; b < bufferCount; b++) {
    const offset = header.bufferOffset(b);
    const length = header.bufferLength(b);
    if (!(offset >= 0 && length >= 0 && offset + length <= bodyLength)) {
      throw new IpcCheckError(`${what}: buffer ${b} lies outside the message body`);
    }
    // The IPC format aligns every buffer to 8 bytes; readers map them as typed arrays.
    if (offset % 8 !== 0) throw new IpcCheckError(`${what}: buffer ${b} is not 8-byte aligned`);
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const tooShort = (n: number, b: number): never => {
    throw new IpcCheckError(`${what}: buffer ${b} of field node ${n} is too short`);
  };
  let b = 0;
  for (let n = 0; n < nodes.length; n++) {
    const spec = nodes[n]!;
    const length = header.nodeLength(n);
    const nullCount = header.nodeNullCount(n);
    if (!(length >= 0 && nullCount >= 0 && nullCount <= length)) {
      throw new IpcCheckError(`${what}: field node ${n} has a bad length or null count`);
    }
    if (spec.kind === Kind.Null) continue;
    // Validity bitmap: may be empty when there are no nulls.
    if (nullCount > 0 && header.bufferLength(b) < Math.ceil(length / 8)) tooShort(n, b);
    b++;
    switch (spec.kind) {
      case Kind.Fixed:
        if (header.bufferLength(b) < length * spec.width) tooShort(n, b);
        b++;
        break;
      case Kind.Bool:
        if (header.bufferLength(b) < Math.ceil(length / 8)) tooShort(n, b);
        b++;
        break;
      case Kind.Binary:
      case Kind.LargeBinary: {
        const wide = spec.kind === Kind.LargeBinary;
        if (length > 0) {
          if (header.bufferLength(b) < (length + 1) * (wide ? 8 : 4)) tooShort(n, b);
          const at = header.bufferOffset(b) + length * (wide ? 8 : 4);
          const last = wide ? Number(view.getBigInt64(at, true)) : view.getInt32(at, true);
          if (!(last >= 0 && last <= header.bufferLength(b + 1))) tooShort(n, b + 1);
        }
        b += 2;
        break;
      }
      case Kind.List: {
        if (length > 0) {
          if (header.bufferLength(b) < (length + 1) * 4) tooShort(n, b);
          const last = view.getInt32(header.bufferOffset(b) + length * 4, true);
          if (!(last >= 0 && last <= header.nodeLength(n + 1))) {
            throw new IpcCheckError(`${what}: field node ${n} points past its child's values`);
          }
        }
        b++;
        break;
      }
      case Kind.FixedSizeList:
        if (header.nodeLength(n + 1) < length * spec.listSize) {
          throw new IpcCheckError(`${what}: field node ${n} has too few child values`);
        }
        break;
      case Kind.Struct: {
        // Children follow depth-first; each must be as long as the struct.
        let child = n + 1;
        for (let c = 0; c < spec.children; c++) {
          if (header.nodeLength(child) < length) {
            throw new IpcCheckError(`${what}: struct field node ${n} has a short child`);
          }
          child = skipSubtree(nodes, child);
        }
        break;
      }
    }
  }
  return header.length;
}

/** Index of the node after the subtree rooted at `n`. */
function skipSubtree(nodes: readonly NodeSpec[], n: number): number {
  let next = n + 1;
  for (let c = 0; c < nodes[n]!.children; c++) next = skipSubtree(nodes, next);
  return next;
}

export interface IpcCheckResult {
  readonly schema: Schema;
  readonly rows: number;
  readonly batches: number;
}

/**
 * Schema compiler with a small cache keyed by the exact schema message bytes (a writer
 * sees a handful of schemas: one per table and schema version).
 */
export class IpcChecker {
  readonly #cache = new Map<string, { schema: Schema; compiled: CompiledSchema | undefined }>();
  readonly #maxSchemas: number;

  constructor(maxSchemas = 64) {
    this.#maxSchemas = maxSchemas;
  }

  /**
   * Checks a whole stream. Returns undefined when its schema uses a type without a known
   * layout: its framing and headers were checked (Arrow JS can decode them without
   * running away), and the caller decodes it in full.
   * @throws IpcCheckError for anything malformed.
   */
  check(ipc: Uint8Array): IpcCheckResult | undefined {
    try {
      return this.#check(ipc);
    } catch (err) {
      // Values read lazily from a batch header (node lengths, buffer offsets) can still
      // turn out malformed inside checkBatch.
      if (err instanceof IpcHeaderError) throw new IpcCheckError(err.message, { cause: err });
      throw err;
    }
  }

  #check(ipc: Uint8Array): IpcCheckResult | undefined {
    const view = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
    let pos = 0;
    let schema: Schema | undefined;
    let compiled: CompiledSchema | undefined;
    let rows = 0;
    let batches = 0;
    let index = 0;
    for (;;) {
      if (pos === ipc.length) break; // no end-of-stream marker: allowed
      if (pos + 8 > ipc.length) throw new IpcCheckError(`truncated message prefix at ${pos}`);
      if (view.getInt32(pos, true) !== -1) {
        // Pre-1.0 framing (no continuation word) included: Flight never produces it.
        throw new IpcCheckError(`message ${index} lacks the continuation marker`);
      }
      const metaLength = view.getInt32(pos + 4, true);
      if (metaLength === 0) {
        if (pos + 8 !== ipc.length) {
          throw new IpcCheckError('bytes after the end-of-stream marker');
        }
        break;
      }
      const metaStart = pos + 8;
      if (metaLength < 0 || metaStart + metaLength > ipc.length) {
        throw new IpcCheckError(`message ${index}: bad metadata length ${metaLength}`);
      }
      const meta = ipc.subarray(metaStart, metaStart + metaLength);
      if (index === 0) {
        ({ schema, compiled } = this.#schema(meta));
        pos = metaStart + metaLength;
        index++;
        continue;
      }
      let header: BatchHeader;
      try {
        header = readBatchHeader(meta);
      } catch (err) {
        if (!(err instanceof IpcHeaderError)) throw err;
        throw new IpcCheckError(`message ${index}: ${err.message}`, { cause: err });
      }
      const bodyLength = header.bodyLength;
      const bodyStart = metaStart + metaLength;
      if (bodyStart + bodyLength > ipc.length) {
        throw new IpcCheckError(`message ${index}: body runs past the end of the stream`);
      }
      const body = ipc.subarray(bodyStart, bodyStart + bodyLength);
      const c = compiled;
      if (c === undefined) {
        // No layout for this schema: framing and headers are checked (so Arrow JS can
        // decode them safely); the caller decodes the stream in full.
        if (
          header.headerType !== HeaderType.RecordBatch &&
          header.headerType !== HeaderType.DictionaryBatch
        ) {
          throw new IpcCheckError(
            `message ${index} has header type ${header.headerType}; only one Schema, then dictionary and record batches`,
          );
        }
      } else if (header.headerType === HeaderType.RecordBatch) {
        const what = `record batch ${index}`;
        const length = checkBatch(header, c.nodes, c.bufferCount, body, what);
        for (const top of c.topLevel) {
          if (header.nodeLength(top) !== length) {
            throw new IpcCheckError(`${what}: a column's length differs from its row count`);
          }
        }
        rows += length;
        batches++;
      } else if (header.headerType === HeaderType.DictionaryBatch) {
        const what = `dictionary batch ${index}`;
        const layout = c.dictionaries.get(header.dictionaryId);
        if (layout === undefined) {
          throw new IpcCheckError(`${what}: id ${header.dictionaryId} is not in the schema`);
        }
        checkBatch(header, layout.nodes, layout.bufferCount, body, what);
      } else {
        throw new IpcCheckError(
          `message ${index} has header type ${header.headerType}; only one Schema, then dictionary and record batches`,
        );
      }
      pos = bodyStart + bodyLength;
      index++;
    }
    if (schema === undefined) throw new IpcCheckError('empty stream: no Schema message');
    return compiled === undefined ? undefined : { schema, rows, batches };
  }

  #schema(meta: Uint8Array): { schema: Schema; compiled: CompiledSchema | undefined } {
    const key = Buffer.from(meta.buffer, meta.byteOffset, meta.byteLength).toString('latin1');
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    let entry: { schema: Schema; compiled: CompiledSchema | undefined };
    try {
      // Checked first: Arrow JS's decoder can run for ever on a corrupted schema.
      guardSchemaMessage(meta);
      const schema = Message.decode(meta).header() as Schema;
      // A schema Arrow JS decoded from well-framed garbage can still be incoherent (a
      // dictionary without index type, …): anything thrown here means "undecodable".
      entry = { schema, compiled: compileSchema(schema) };
    } catch (cause) {
      const detail = cause instanceof Error ? `: ${cause.message}` : '';
      throw new IpcCheckError(`undecodable Schema message${detail}`, { cause });
    }
    if (this.#cache.size >= this.#maxSchemas) {
      this.#cache.delete(this.#cache.keys().next().value as string);
    }
    this.#cache.set(key, entry);
    return entry;
  }
}
