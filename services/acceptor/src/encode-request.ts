import { createHash } from 'node:crypto';
import {
  InvalidInputError,
  type IpcWriteOptions,
  OutputTooLargeError,
  toIpcStream,
} from '@sediment/otlp';
import { AcceptorError } from './errors.js';
import { type BodyFormat, SIGNALS, type Signal } from './signals.js';

/** One OTLP request turned into what the writers receive: one Arrow IPC stream per table. */
export interface EncodedRequest {
  /** Non-empty tables only. */
  readonly tables: readonly { readonly table: string; readonly ipc: Uint8Array }[];
  /** Rows over all tables. */
  readonly rows: number;
  /** Items dropped as individually invalid (partial_success). */
  readonly rejected: number;
  readonly rejectedMessage: string | undefined;
  /**
   * The request identity sent with every put: a hash of the exact request bytes (and its
   * signal and format), so the collector drops client retries of a stored request.
   */
  readonly requestId: Uint8Array;
}

/**
 * Decodes one request and encodes each table as an Arrow IPC stream. Pure CPU work with
 * no shared state but the decoder's reused column buffers: it runs on the event loop or
 * in a decode thread (decode-pool.ts), with the same results.
 * @throws AcceptorError `invalid_argument` (not a valid request) or `payload_too_large`
 *   (decodes into more column memory than allowed).
 */
export function encodeRequest(
  signal: Signal,
  body: Uint8Array,
  format: BodyFormat,
  ipc: IpcWriteOptions,
): EncodedRequest {
  let decoded: ReturnType<(typeof SIGNALS)[Signal]['decode']>;
  try {
    // Transient: the columns are views of the decoder's buffers, encoded below before
    // anything else is decoded on this thread.
    decoded = SIGNALS[signal].decode(body, format, { transient: true });
  } catch (err) {
    if (err instanceof InvalidInputError) {
      throw new AcceptorError('invalid_argument', err.message, { cause: err });
    }
    if (err instanceof OutputTooLargeError) {
      throw new AcceptorError('payload_too_large', err.message, { cause: err });
    }
    throw err;
  }
  const tables = decoded.tables.map(({ table, batch }) => ({
    table,
    ipc: toIpcStream(table, batch, ipc),
  }));
  const requestId =
    tables.length === 0
      ? new Uint8Array(0)
      : createHash('sha256')
          .update(signal)
          .update('\0')
          .update(format)
          .update('\0')
          .update(body)
          .digest()
          .subarray(0, 16);
  return {
    tables,
    rows: decoded.rows,
    rejected: decoded.rejected,
    rejectedMessage: decoded.rejectedMessage,
    requestId,
  };
}

/** A request posted to a decode thread. */
export interface EncodeMessage {
  readonly id: number;
  readonly signal: Signal;
  readonly format: BodyFormat;
  /** How the tables are written for the writers (body compression, zstd level). */
  readonly ipc: IpcWriteOptions;
  /** The request body; its buffer is transferred (see {@link transferableRange}). */
  readonly body: TransferableRange;
}

/**
 * The 5-byte prefix of a gRPC message, which may travel with a request body to a decode
 * thread: grpc-js hands a server the message as a view just past that prefix in the
 * buffer it assembled the frame in, so that buffer is transferred instead of a copy of the
 * body (267 KB for a bench request) being made on the event loop.
 */
export const GRPC_PREFIX_BYTES = 5;

/** A byte range in an ArrayBuffer that is handed to another thread whole. */
export interface TransferableRange {
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/**
 * The bytes of `bytes` in a buffer that can be transferred to another thread: the view's
 * own buffer when the view reaches its end and starts at most `prefixBytes` in (the
 * transfer detaches it), else a copy — a view into a larger buffer (a slab of Node's
 * Buffer pool, say) must not take the rest along.
 */
export function transferableRange(bytes: Uint8Array, prefixBytes = 0): TransferableRange {
  const { buffer, byteOffset, byteLength } = bytes;
  if (
    buffer instanceof ArrayBuffer &&
    byteOffset <= prefixBytes &&
    byteOffset + byteLength === buffer.byteLength
  ) {
    return { buffer, byteOffset, byteLength };
  }
  return { buffer: new Uint8Array(bytes).buffer as ArrayBuffer, byteOffset: 0, byteLength };
}

/** A decode thread's answer. */
export type EncodeReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly tables: readonly { readonly table: string; readonly ipc: ArrayBuffer }[];
      readonly rows: number;
      readonly rejected: number;
      readonly rejectedMessage: string | undefined;
      readonly requestId: ArrayBuffer;
    }
  | {
      readonly id: number;
      readonly ok: false;
      readonly kind: 'invalid_argument' | 'payload_too_large' | 'internal';
      readonly message: string;
    };

/** Runs {@link encodeRequest} for a decode thread: the reply and the buffers it hands over. */
export function serveEncodeMessage(m: EncodeMessage): {
  reply: EncodeReply;
  transfer: ArrayBuffer[];
} {
  try {
    const body = new Uint8Array(m.body.buffer, m.body.byteOffset, m.body.byteLength);
    const r = encodeRequest(m.signal, body, m.format, m.ipc);
    const transfer: ArrayBuffer[] = [];
    const own = (bytes: Uint8Array): ArrayBuffer => {
      const { buffer } = transferableRange(bytes);
      transfer.push(buffer);
      return buffer;
    };
    const reply: EncodeReply = {
      id: m.id,
      ok: true,
      tables: r.tables.map((t) => ({ table: t.table, ipc: own(t.ipc) })),
      rows: r.rows,
      rejected: r.rejected,
      rejectedMessage: r.rejectedMessage,
      requestId: own(r.requestId),
    };
    return { reply, transfer };
  } catch (err) {
    const kind =
      err instanceof AcceptorError &&
      (err.kind === 'invalid_argument' || err.kind === 'payload_too_large')
        ? err.kind
        : 'internal';
    const message = err instanceof Error ? err.message : String(err);
    return { reply: { id: m.id, ok: false, kind, message }, transfer: [] };
  }
}
