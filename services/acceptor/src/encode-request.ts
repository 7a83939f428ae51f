import { createHash } from 'node:crypto';
import {
  InvalidInputError,
  type IpcCompression,
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
  compression: IpcCompression,
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
    ipc: toIpcStream(table, batch, { compression }),
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
  readonly compression: IpcCompression;
  /** The request body, all of this buffer (see {@link transferable}). */
  readonly body: ArrayBuffer;
}

/**
 * The ArrayBuffer holding exactly `bytes`, to transfer to another thread: the view's own
 * when it covers all of it (the transfer detaches it), else a copy — a view into a larger
 * buffer (a slab of Node's Buffer pool, say) must not take the rest along. `new
 * Uint8Array(view)` copies; `Buffer#slice` would not.
 */
export function transferable(bytes: Uint8Array): ArrayBuffer {
  const whole =
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer;
  return (whole ? bytes : new Uint8Array(bytes)).buffer as ArrayBuffer;
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
    const r = encodeRequest(m.signal, new Uint8Array(m.body), m.format, m.compression);
    const transfer: ArrayBuffer[] = [];
    const own = (bytes: Uint8Array): ArrayBuffer => {
      const buffer = transferable(bytes);
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
