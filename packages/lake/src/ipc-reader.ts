/**
 * Reads an Arrow IPC stream into record batches (`Data<Struct>`) for the Parquet writer,
 * without Arrow JS's `RecordBatchReader`: batch headers are read in place
 * (ipc-flatbuffers.ts), and each column's `Data` is made straight from the body's
 * buffers, the way Arrow JS's `VectorLoader` makes it (same typed arrays, same empty
 * validity bitmap for columns without nulls, same copy for a misaligned buffer). Arrow
 * JS's reader spent about 13 % of the compactor's CPU on this (message objects, BigInt
 * conversions, visitor dispatch per column); the schema is still decoded by Arrow JS,
 * once per stream.
 *
 * Only what Sediment's tables use is read here: Bool, Int, Float, Utf8, Binary,
 * Timestamp, Struct, List, Map and Dictionary columns, uncompressed bodies, dictionaries
 * that replace (not extend) earlier ones. Anything else returns `undefined` and the
 * caller uses Arrow JS. Malformed input throws (`IpcHeaderError`, `IpcReadError`).
 */
import {
  Data,
  type DataType,
  type Dictionary,
  type Field,
  MessageHeader,
  makeVector,
  type Schema,
  Struct,
  Type,
  type Vector,
} from 'apache-arrow';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { type RawMessage, rawMessageAt } from './ipc.js';
import { type BatchHeader, guardSchemaMessage, HeaderType } from './ipc-flatbuffers.js';

/** Thrown for a stream whose messages do not fit their bytes or their schema. */
export class IpcReadError extends Error {
  override readonly name = 'IpcReadError';
  readonly code = 'IPC_READ_FAILED';
}

export interface IpcBatches {
  readonly schema: Schema;
  /** The record batches with at least one row, in stream order. */
  readonly batches: Data[];
}

const EMPTY = new Uint8Array(0);

/** Types whose `Data` is validity + one values buffer of `type.ArrayType`. */
const FIXED_WIDTH = new Set<Type>([Type.Bool, Type.Int, Type.Float, Type.Timestamp]);

/**
 * The schema and record batches of `input` (a whole stream, or its messages in order,
 * schema first), or `undefined` when the stream uses something this reader leaves to
 * Arrow JS.
 * @throws IpcHeaderError | IpcReadError for bytes that are not a well-formed stream
 */
export function readIpcBatches(input: Uint8Array | readonly Uint8Array[]): IpcBatches | undefined {
  const messages = input instanceof Uint8Array ? splitMessages(input) : input.map(oneMessage);
  const first = messages[0];
  if (!first) throw new IpcReadError('IPC stream without a schema message');
  // Arrow JS can run for ever on a corrupted schema flatbuffer: checked first.
  guardSchemaMessage(first.meta);
  const schemaMessage = Message.decode(first.meta);
  if (schemaMessage.headerType !== MessageHeader.Schema) {
    throw new IpcReadError('IPC stream does not start with a schema message');
  }
  const schema = schemaMessage.header() as Schema;
  if (!schema.fields.every((f) => supported(f.type))) return undefined;
  const dictionaryTypes = new Map<number, DataType>();
  collectDictionaries(schema.fields, dictionaryTypes);
  const dictionaries = new Map<number, Vector>();
  const rowType = new Struct(schema.fields);
  const batches: Data[] = [];
  for (let m = 1; m < messages.length; m++) {
    const { header, body } = messages[m]!;
    if (header.headerType === HeaderType.Schema) {
      throw new IpcReadError(`a second schema message at message ${m}`);
    }
    if (header.compressed || header.isDelta) return undefined;
    const loader = new Loader(header, body, dictionaries);
    if (header.headerType === HeaderType.DictionaryBatch) {
      const type = dictionaryTypes.get(header.dictionaryId);
      if (!type) throw new IpcReadError(`dictionary ${header.dictionaryId} is not in the schema`);
      dictionaries.set(header.dictionaryId, makeVector(loader.load(type)));
      loader.finish(m);
    } else if (header.headerType === HeaderType.RecordBatch) {
      const children = schema.fields.map((f) => loader.load(f.type));
      loader.finish(m);
      if (header.length > 0) {
        batches.push(new Data(rowType, 0, header.length, 0, undefined, children));
      }
    }
    // Other message types (tensors) carry no rows: skipped, as Arrow JS does.
  }
  return { schema, batches };
}

function supported(type: DataType): boolean {
  if (FIXED_WIDTH.has(type.typeId)) return true;
  switch (type.typeId) {
    case Type.Utf8:
    case Type.Binary:
      return true;
    case Type.Struct:
    case Type.List:
    case Type.Map:
      return (type.children as Field[]).every((c) => supported(c.type));
    case Type.Dictionary:
      return supported((type as Dictionary).dictionary);
    default:
      return false;
  }
}

function collectDictionaries(fields: readonly Field[], out: Map<number, DataType>): void {
  for (const f of fields) {
    if (f.type.typeId === Type.Dictionary) {
      const d = f.type as Dictionary;
      out.set(d.id, d.dictionary);
    }
    if (f.type.children) collectDictionaries(f.type.children as Field[], out);
  }
}

/** Makes the `Data` of one batch's columns from its header and body, in schema order. */
class Loader {
  #node = 0;
  #buffer = 0;

  constructor(
    readonly header: BatchHeader,
    readonly body: Uint8Array,
    readonly dictionaries: ReadonlyMap<number, Vector>,
  ) {}

  load(type: DataType): Data {
    const h = this.header;
    if (this.#node >= h.nodeCount) throw new IpcReadError('fewer field nodes than columns');
    const length = h.nodeLength(this.#node);
    const nullCount = h.nodeNullCount(this.#node);
    this.#node++;
    const validity = this.#validity(nullCount);
    if (FIXED_WIDTH.has(type.typeId)) {
      const values = this.#typed(type.ArrayType as TypedArrayCtor);
      return new Data(type, 0, length, nullCount, [undefined, values, validity]);
    }
    switch (type.typeId) {
      case Type.Utf8:
      case Type.Binary: {
        const offsets = this.#typed(Int32Array);
        const values = this.#typed(Uint8Array);
        return new Data(type, 0, length, nullCount, [offsets, values, validity]);
      }
      case Type.List:
      case Type.Map: {
        const offsets = this.#typed(Int32Array);
        const child = this.load((type.children as Field[])[0]!.type);
        return new Data(type, 0, length, nullCount, [offsets, undefined, validity], [child]);
      }
      case Type.Struct: {
        const children = (type.children as Field[]).map((c) => this.load(c.type));
        return new Data(type, 0, length, nullCount, [undefined, undefined, validity], children);
      }
      case Type.Dictionary: {
        const d = type as Dictionary;
        const indices = this.#typed(d.indices.ArrayType as TypedArrayCtor);
        const dictionary = this.dictionaries.get(d.id);
        if (!dictionary) throw new IpcReadError(`dictionary ${d.id} used before it was sent`);
        return new Data(type, 0, length, nullCount, [undefined, indices, validity], [], dictionary);
      }
      default:
        throw new IpcReadError(`unsupported column type ${String(type)}`);
    }
  }

  /** Every node and buffer of the batch must have been used. */
  finish(message: number): void {
    if (this.#node !== this.header.nodeCount || this.#buffer !== this.header.bufferCount) {
      throw new IpcReadError(
        `message ${message}: ${this.header.nodeCount} field nodes and ${this.header.bufferCount} buffers do not match the schema`,
      );
    }
  }

  #bytes(): Uint8Array {
    const h = this.header;
    if (this.#buffer >= h.bufferCount) throw new IpcReadError('fewer buffers than columns need');
    const offset = h.bufferOffset(this.#buffer);
    const length = h.bufferLength(this.#buffer);
    this.#buffer++;
    if (offset < 0 || length < 0 || offset + length > this.body.length) {
      throw new IpcReadError('a buffer lies outside its message body');
    }
    return this.body.subarray(offset, offset + length);
  }

  #validity(nullCount: number): Uint8Array {
    const bytes = this.#bytes();
    return nullCount > 0 && bytes.length > 0 ? bytes : EMPTY;
  }

  #typed<T extends ArrayBufferView>(Ctor: TypedArrayCtor<T>): T {
    const bytes = this.#bytes();
    const width = Ctor.BYTES_PER_ELEMENT;
    const count = Math.floor(bytes.byteLength / width);
    if (bytes.byteOffset % width === 0) return new Ctor(bytes.buffer, bytes.byteOffset, count);
    // Misaligned (the body sits at an odd place in a larger buffer): copy, as Arrow JS does.
    const copy = new Uint8Array(count * width);
    copy.set(bytes.subarray(0, count * width));
    return new Ctor(copy.buffer, 0, count);
  }
}

interface TypedArrayCtor<T extends ArrayBufferView = ArrayBufferView> {
  readonly BYTES_PER_ELEMENT: number;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
}

const readFailure = (reason: string) => new IpcReadError(reason);

function splitMessages(bytes: Uint8Array): RawMessage[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RawMessage[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const next = rawMessageAt(bytes, view, pos, readFailure);
    if (!next) break; // end of stream
    out.push(next);
    pos = next.end;
  }
  return out;
}

function oneMessage(bytes: Uint8Array): RawMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const next = rawMessageAt(bytes, view, 0, readFailure);
  if (!next) throw new IpcReadError('an end-of-stream marker among the messages');
  return next;
}
