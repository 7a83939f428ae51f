/**
 * Arrow IPC stream framing ↔ Flight messages.
 *
 * An IPC stream is a sequence of encapsulated messages, then an end-of-stream marker:
 *
 * ```
 * message: 0xFFFFFFFF | int32 LE metadata length N | N bytes: Message flatbuffer + padding to 8 | body
 * EOS:     0xFFFFFFFF | 0x00000000
 * ```
 *
 * (Pre-1.0 "legacy" streams omit the 0xFFFFFFFF continuation word; we read both and always
 * write the current form.) Flight sends each message as one FlightData with
 * `data_header` = the flatbuffer and `data_body` = the body; the EOS marker is not sent.
 *
 * {@link splitIpcStream} cuts a stream into views (no copy); {@link IpcStreamBuilder}
 * validates messages as they arrive and writes them back into one stream buffer (one copy).
 * For a stream in the current format, split → build is byte-identical.
 */
import { type ArrowMessageInfo, MessageHeaderType, readArrowMessageInfo } from './arrow-message.js';
import { FlightInvalidArgumentError, FlightResourceExhaustedError } from './errors.js';

/** One encapsulated IPC message: views into the source buffer. */
export interface IpcMessage {
  /** The Message flatbuffer, including any trailing padding from the stream. */
  header: Uint8Array;
  /** The message body (`bodyLength` bytes; empty for a schema). */
  body: Uint8Array;
  /** {@link MessageHeaderType}: Schema, DictionaryBatch or RecordBatch. */
  headerType: number;
}

const CONTINUATION = 0xffffffff;
/** Bytes of the continuation word + length prefix in front of each message. */
const PREFIX_BYTES = 8;
/** Bytes of the end-of-stream marker. */
const EOS_BYTES = 8;
const ARROW_FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

function pad8(n: number): number {
  return (n + 7) & ~7;
}

function invalid(message: string): never {
  throw new FlightInvalidArgumentError(`invalid Arrow IPC stream: ${message}`);
}

/**
 * Checks the order of messages in one stream: exactly one Schema, first; then dictionary
 * and record batches. Throws FlightInvalidArgumentError otherwise.
 */
function checkOrder(index: number, headerType: number): void {
  if (index === 0) {
    if (headerType !== MessageHeaderType.Schema) invalid('the first message must be a Schema');
  } else if (headerType === MessageHeaderType.Schema) {
    invalid(`message ${index} is a second Schema`);
  }
}

/**
 * Splits an Arrow IPC stream (as written by apache-arrow's `RecordBatchStreamWriter` or
 * `tableToIPC(table, 'stream')`) into its messages. The result holds views into `ipc`.
 * Stops at the end-of-stream marker (a stream without one is accepted if it ends on a
 * message boundary). Throws FlightInvalidArgumentError for an IPC *file*, bad framing,
 * an unsupported message, or bytes after the end-of-stream marker.
 */
export function splitIpcStream(ipc: Uint8Array): IpcMessage[] {
  const len = ipc.length;
  const dv = new DataView(ipc.buffer, ipc.byteOffset, len);
  if (len >= 6 && ARROW_FILE_MAGIC.every((b, i) => ipc[i] === b)) {
    invalid('this is the Arrow IPC file format; send the stream format');
  }
  const messages: IpcMessage[] = [];
  let pos = 0;
  while (pos < len) {
    if (len - pos < 4) invalid(`truncated message prefix at byte ${pos}`);
    let metaLen = dv.getUint32(pos, true);
    if (metaLen === CONTINUATION) {
      if (len - pos < 8) invalid(`truncated message prefix at byte ${pos}`);
      metaLen = dv.getInt32(pos + 4, true);
      pos += 8;
    } else {
      metaLen = dv.getInt32(pos, true);
      pos += 4;
    }
    if (metaLen === 0) {
      if (pos !== len) invalid(`${len - pos} bytes after the end-of-stream marker`);
      break;
    }
    if (metaLen < 0 || metaLen > len - pos) invalid(`message at byte ${pos} runs past the end`);
    const header = ipc.subarray(pos, pos + metaLen);
    pos += metaLen;
    const info = readArrowMessageInfo(header);
    if (info.bodyLength > len - pos) invalid(`message body at byte ${pos} runs past the end`);
    checkOrder(messages.length, info.headerType);
    messages.push({
      header,
      body: ipc.subarray(pos, pos + info.bodyLength),
      headerType: info.headerType,
    });
    pos += info.bodyLength;
  }
  if (messages.length === 0) invalid('no Schema message');
  return messages;
}

/**
 * Collects IPC messages (e.g. from FlightData) and writes them as one IPC stream in the
 * current format: continuation word, length, flatbuffer zero-padded to 8 bytes, body; then
 * the end-of-stream marker. Each message is validated when added; the parts are kept as
 * views until {@link finish} copies them once into the result.
 */
export class IpcStreamBuilder {
  readonly #maxBytes: number;
  readonly #headers: Uint8Array[] = [];
  readonly #bodies: Uint8Array[] = [];
  #byteLength = EOS_BYTES;
  #batches = 0;

  /** @param maxBytes limit on the size of the finished stream (FlightResourceExhaustedError beyond). */
  constructor(maxBytes = Number.POSITIVE_INFINITY) {
    this.#maxBytes = maxBytes;
  }

  /** Size in bytes the finished stream will have. */
  get byteLength(): number {
    return this.#byteLength;
  }

  /** Messages added so far. */
  get messageCount(): number {
    return this.#headers.length;
  }

  /** Record batch messages added so far. */
  get recordBatchCount(): number {
    return this.#batches;
  }

  /**
   * Adds one message. Throws FlightInvalidArgumentError when the header is malformed, the
   * body length disagrees with the header, or the order is wrong (Schema first, once);
   * FlightResourceExhaustedError when the stream would exceed the limit.
   */
  add(header: Uint8Array, body: Uint8Array): ArrowMessageInfo {
    const info = readArrowMessageInfo(header);
    if (info.bodyLength !== body.length) {
      invalid(
        `message ${this.#headers.length}: header says the body is ${info.bodyLength} bytes, got ${body.length}`,
      );
    }
    checkOrder(this.#headers.length, info.headerType);
    const size = PREFIX_BYTES + pad8(header.length) + body.length;
    if (this.#byteLength + size > this.#maxBytes) {
      throw new FlightResourceExhaustedError(
        `Arrow IPC stream exceeds the limit of ${this.#maxBytes} bytes; send smaller puts`,
      );
    }
    this.#byteLength += size;
    this.#headers.push(header);
    this.#bodies.push(body);
    if (info.headerType === MessageHeaderType.RecordBatch) this.#batches++;
    return info;
  }

  /** Writes the stream. Throws FlightInvalidArgumentError if no message (no Schema) was added. */
  finish(): Uint8Array {
    const count = this.#headers.length;
    if (count === 0) invalid('no Schema message');
    const out = Buffer.allocUnsafe(this.#byteLength);
    const dv = new DataView(out.buffer, out.byteOffset, out.length);
    let pos = 0;
    for (let i = 0; i < count; i++) {
      const header = this.#headers[i]!;
      const body = this.#bodies[i]!;
      const padded = pad8(header.length);
      dv.setUint32(pos, CONTINUATION, true);
      dv.setInt32(pos + 4, padded, true);
      pos += PREFIX_BYTES;
      out.set(header, pos);
      out.fill(0, pos + header.length, pos + padded);
      pos += padded;
      out.set(body, pos);
      pos += body.length;
    }
    dv.setUint32(pos, CONTINUATION, true);
    dv.setUint32(pos + 4, 0, true);
    return out;
  }
}

/** Writes messages (e.g. from {@link splitIpcStream}) as one IPC stream; see {@link IpcStreamBuilder}. */
export function buildIpcStream(
  messages: readonly { header: Uint8Array; body: Uint8Array }[],
): Uint8Array {
  const builder = new IpcStreamBuilder();
  for (const m of messages) builder.add(m.header, m.body);
  return builder.finish();
}
