/**
 * A minimal, bounds-checked reader for the Arrow IPC `Message` flatbuffer (Message.fbs):
 *
 * ```
 * table Message {
 *   version: MetadataVersion (short)      // vtable slot 0
 *   header: MessageHeader (union)         // slot 1 = type tag (ubyte), slot 2 = offset
 *   bodyLength: long                      // slot 3
 *   custom_metadata: [KeyValue]           // slot 4 (not read here)
 * }
 * ```
 *
 * It reads only what framing needs (version, header type, body length) and checks that
 * every offset it follows stays inside the buffer, so garbage from the network raises
 * FlightInvalidArgumentError and never a RangeError. It does not validate the schema or
 * batch tables themselves: the writer stores the stream as received and the consumer
 * decodes it with apache-arrow.
 */
import { FlightInvalidArgumentError } from './errors.js';

/** Message.fbs `MessageHeader` union tags. */
export const MessageHeaderType = {
  NONE: 0,
  Schema: 1,
  DictionaryBatch: 2,
  RecordBatch: 3,
  Tensor: 4,
  SparseTensor: 5,
} as const;

/** Schema.fbs `MetadataVersion`: V4 (Arrow 0.8–0.17) and V5 (Arrow ≥ 1.0) are accepted. */
export const MetadataVersion = { V4: 3, V5: 4 } as const;

export interface ArrowMessageInfo {
  version: number;
  headerType: number;
  bodyLength: number;
}

function bad(message: string): never {
  throw new FlightInvalidArgumentError(`malformed Arrow IPC message header: ${message}`);
}

/**
 * Reads version, header type and body length from a Message flatbuffer (the bytes after the
 * IPC length prefix; trailing padding is allowed). Throws FlightInvalidArgumentError for
 * anything that is not a well-formed V4/V5 Schema, DictionaryBatch or RecordBatch message.
 */
export function readArrowMessageInfo(fb: Uint8Array): ArrowMessageInfo {
  const len = fb.length;
  if (len < 12) bad(`${len} bytes is too short for a flatbuffer table`);
  const dv = new DataView(fb.buffer, fb.byteOffset, len);
  const table = dv.getUint32(0, true);
  if (table < 4 || table > len - 4) bad('root table offset out of range');
  const vtable = table - dv.getInt32(table, true);
  if (vtable < 0 || vtable > len - 4) bad('vtable offset out of range');
  const vtableSize = dv.getUint16(vtable, true);
  const tableSize = dv.getUint16(vtable + 2, true);
  if (vtableSize < 4 || (vtableSize & 1) !== 0 || vtable + vtableSize > len) bad('bad vtable size');
  if (tableSize < 4 || table + tableSize > len) bad('bad table size');

  /** Offset of field `slot` inside the table, 0 when absent. */
  const field = (slot: number, width: number): number => {
    const entry = 4 + 2 * slot;
    if (entry + 2 > vtableSize) return 0;
    const off = dv.getUint16(vtable + entry, true);
    if (off !== 0 && (off < 4 || off + width > tableSize)) bad(`field ${slot} out of range`);
    return off;
  };

  const versionOff = field(0, 2);
  const version = versionOff === 0 ? 0 : dv.getInt16(table + versionOff, true);
  if (version !== MetadataVersion.V4 && version !== MetadataVersion.V5) {
    bad(`unsupported metadata version ${version} (expected V4 or V5)`);
  }

  const typeOff = field(1, 1);
  const headerType = typeOff === 0 ? 0 : dv.getUint8(table + typeOff);
  if (
    headerType !== MessageHeaderType.Schema &&
    headerType !== MessageHeaderType.DictionaryBatch &&
    headerType !== MessageHeaderType.RecordBatch
  ) {
    bad(`unsupported header type ${headerType} (expected Schema, DictionaryBatch or RecordBatch)`);
  }
  const headerOff = field(2, 4);
  if (headerOff === 0) bad('header table missing');
  const headerPos = table + headerOff;
  const headerTable = headerPos + dv.getUint32(headerPos, true);
  if (headerTable > len - 4) bad('header table offset out of range');
  const headerVtable = headerTable - dv.getInt32(headerTable, true);
  if (headerVtable < 0 || headerVtable > len - 4) bad('header vtable offset out of range');

  const bodyOff = field(3, 8);
  let bodyLength = 0;
  if (bodyOff !== 0) {
    const lo = dv.getUint32(table + bodyOff, true);
    const hi = dv.getInt32(table + bodyOff + 4, true);
    if (hi < 0 || hi >= 0x200000) bad('body length out of range');
    bodyLength = hi * 0x100000000 + lo;
  }
  if (headerType === MessageHeaderType.Schema && bodyLength !== 0)
    bad('schema message with a body');
  return { version, headerType, bodyLength };
}
