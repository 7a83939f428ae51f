/**
 * Arrow IPC stream plumbing: splitting a stream into its messages without decoding the
 * bodies, and the facts about a schema the compactor needs (table, where the `timestamp`
 * buffers sit in a record batch body, dictionary ids, a canonical fingerprint).
 *
 * Message headers are decoded with Arrow JS's flatbuffer `Message` class
 * (`apache-arrow/ipc/metadata/message`, not part of its documented API: pinned by the
 * package's apache-arrow major version and covered by this package's tests).
 */
import { type DataType, type Field, MessageHeader, type Schema, Type } from 'apache-arrow';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { type BatchHeader, readBatchHeader } from './ipc-flatbuffers.js';

export interface IpcMessage {
  /** Byte range of the whole message (prefix + metadata + body) in the stream. */
  readonly start: number;
  readonly end: number;
  /** Byte range of the metadata (the flatbuffer `Message`) in the stream. */
  readonly metaStart: number;
  readonly metaEnd: number;
  /** Start of the body in the stream. */
  readonly bodyStart: number;
  readonly headerType: MessageHeader;
  readonly message: Message;
}

const CONTINUATION = -1;

/**
 * Where the metadata of the message at `pos` lies, after its prefix (the 8-byte
 * continuation form or the legacy 4-byte one); `null` at the end-of-stream marker.
 * Throws `fail(reason)` for a truncated prefix or a length that runs past the bytes.
 */
export function messageMetadata(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  fail: (reason: string) => Error = (reason) => new Error(reason),
): { start: number; end: number } | null {
  if (pos + 4 > bytes.length) throw fail(`truncated message prefix at ${pos}`);
  let metaLen = view.getInt32(pos, true);
  let prefix = 4;
  if (metaLen === CONTINUATION) {
    if (pos + 8 > bytes.length) throw fail(`truncated message prefix at ${pos}`);
    metaLen = view.getInt32(pos + 4, true);
    prefix = 8;
  }
  if (metaLen === 0) return null;
  if (metaLen < 0 || pos + prefix + metaLen > bytes.length) {
    throw fail(`bad message metadata length ${metaLen} at ${pos}`);
  }
  return { start: pos + prefix, end: pos + prefix + metaLen };
}

/** One message read in place: its metadata, its header (bounds-checked, no Arrow JS), its body. */
export interface RawMessage {
  readonly meta: Uint8Array;
  readonly header: BatchHeader;
  readonly body: Uint8Array;
  /** Where the next message starts. */
  readonly end: number;
}

/**
 * `[prefix][metadata][body]` at `pos`; `null` at the end-of-stream marker.
 * @throws `fail(reason)` for a bad prefix or a body past the bytes; IpcHeaderError for a
 *   malformed header
 */
export function rawMessageAt(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  fail: (reason: string) => Error,
): RawMessage | null {
  const at = messageMetadata(bytes, view, pos, fail);
  if (!at) return null;
  const meta = bytes.subarray(at.start, at.end);
  const header = readBatchHeader(meta);
  const end = at.end + header.bodyLength;
  if (end > bytes.length) throw fail(`truncated body at ${pos}`);
  return { meta, header, body: bytes.subarray(at.end, end), end };
}

/**
 * Splits an IPC stream into messages (schema, dictionary batches, record batches), up to
 * the end-of-stream marker or the end of the bytes. Throws on truncation or garbage.
 */
export function splitIpcStream(bytes: Uint8Array): IpcMessage[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: IpcMessage[] = [];
  let pos = 0;
  while (pos + 4 <= bytes.length) {
    const meta = messageMetadata(bytes, view, pos);
    if (!meta) return out; // end-of-stream marker
    const message = Message.decode(bytes.subarray(meta.start, meta.end));
    const bodyStart = meta.end;
    const end = bodyStart + Number(message.bodyLength);
    if (!(end <= bytes.length) || end < bodyStart)
      throw new Error(`truncated message body at ${pos}`);
    out.push({
      start: pos,
      end,
      metaStart: meta.start,
      metaEnd: meta.end,
      bodyStart,
      headerType: message.headerType,
      message,
    });
    pos = end;
  }
  if (pos !== bytes.length)
    throw new Error(`trailing ${bytes.length - pos} bytes after the last message`);
  return out;
}

/** The 8-byte end-of-stream marker. */
export const END_OF_STREAM = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** Nodes a field contributes to a record batch (itself and its descendants). */
function nodeCount(field: Field): number {
  const t = field.type as DataType;
  if (t.typeId === Type.Dictionary) return 1;
  let n = 1;
  for (const child of t.children ?? []) n += nodeCount(child);
  return n;
}

/**
 * Buffers a field contributes to a record batch body, or -1 when it depends on the batch
 * (variadic view buffers) or the type is not one we lay out ourselves.
 */
function bufferCount(field: Field): number {
  const t = field.type as DataType;
  let own: number;
  switch (t.typeId) {
    case Type.Null:
      return 0;
    case Type.Dictionary:
      return 2;
    case Type.Bool:
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Interval:
    case Type.Duration:
    case Type.FixedSizeBinary:
      return 2;
    case Type.Utf8:
    case Type.Binary:
    case Type.LargeUtf8:
    case Type.LargeBinary:
      return 3;
    case Type.List:
    case Type.Map:
      own = 2;
      break;
    case Type.FixedSizeList:
    case Type.Struct:
      own = 1;
      break;
    default:
      return -1;
  }
  for (const child of t.children ?? []) {
    const c = bufferCount(child);
    if (c < 0) return -1;
    own += c;
  }
  return own;
}

/** Every dictionary id used anywhere in the schema. */
export function dictionaryIds(schema: Schema): Set<number> {
  const ids = new Set<number>();
  const visit = (f: Field) => {
    const t = f.type as DataType;
    if (t.typeId === Type.Dictionary) {
      ids.add(Number((t as unknown as { id: number }).id));
      const valueType = (t as unknown as { dictionary: DataType }).dictionary;
      for (const c of valueType.children ?? []) visit(c);
    }
    for (const c of t.children ?? []) visit(c);
  };
  for (const f of schema.fields) visit(f);
  return ids;
}

function typeSignature(t: DataType): string {
  if (t.typeId === Type.Dictionary) {
    const d = t as unknown as {
      id: number;
      indices: DataType;
      dictionary: DataType;
      isOrdered: boolean;
    };
    return `Dictionary(${d.id},${typeSignature(d.indices)},${d.isOrdered ? 1 : 0},${typeSignature(d.dictionary)})`;
  }
  let s = `${Type[t.typeId]}:${String(t)}`;
  if (t.typeId === Type.Map)
    s += `:${(t as unknown as { keysSorted: boolean }).keysSorted ? 1 : 0}`;
  const children = t.children ?? [];
  if (children.length > 0) s += `[${children.map(fieldSignature).join(',')}]`;
  return s;
}

function metadataSignature(m: Map<string, string>): string {
  if (m.size === 0) return '';
  return JSON.stringify([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function fieldSignature(f: Field): string {
  return `${JSON.stringify(f.name)}:${f.nullable ? 1 : 0}:${typeSignature(f.type as DataType)}:${metadataSignature(f.metadata)}`;
}

/**
 * A canonical description of a schema: two schemas with the same fingerprint lay out
 * record-batch bodies identically, so their batches can follow one schema message in a
 * single stream.
 */
export function schemaFingerprint(schema: Schema): string {
  return `${schema.fields.map(fieldSignature).join('|')}#${metadataSignature(schema.metadata)}`;
}

/** Position of a top-level field's nodes and buffers in a record batch, or -1s. */
export function fieldLayout(schema: Schema, index: number): { node: number; buffer: number } {
  let node = 0;
  let buffer = 0;
  for (let i = 0; i < index; i++) {
    const f = schema.fields[i]!;
    const b = bufferCount(f);
    if (b < 0) return { node: -1, buffer: -1 };
    node += nodeCount(f);
    buffer += b;
  }
  return { node, buffer };
}

export { Message, MessageHeader };
