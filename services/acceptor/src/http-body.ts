import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import zstd from 'zstd-napi/binding.js';
import { AcceptorError } from './errors.js';
import type { InflightReservation } from './inflight.js';

export type ContentEncoding = 'identity' | 'gzip' | 'deflate' | 'zstd';

export interface BodyLimits {
  /** Largest body accepted as sent on the wire (compressed). */
  readonly maxWireBytes: number;
  /** Largest body accepted after decompression. */
  readonly maxBodyBytes: number;
}

/**
 * `Content-Encoding` header → the one encoding we apply. Stacked encodings
 * (`gzip, zstd`) are refused: no OTLP client sends them and each layer multiplies the
 * bomb risk. @throws AcceptorError unsupported_media_type
 */
export function parseContentEncoding(header: string | undefined): ContentEncoding {
  const value = (header ?? '').trim().toLowerCase();
  switch (value) {
    case '':
    case 'identity':
      return 'identity';
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    case 'zstd':
      return 'zstd';
    default:
      throw new AcceptorError(
        'unsupported_media_type',
        `unsupported Content-Encoding ${JSON.stringify(header)}: use gzip, deflate, zstd or none`,
      );
  }
}

/**
 * Where a request's bytes are charged while it is read and decompressed: the wire bytes as
 * they arrive, then the decompressed output as it grows. When the reservation cannot grow
 * (other requests hold the in-flight bound) reading stops with `unavailable`.
 */
export interface BodyBudget {
  readonly reservation: InflightReservation;
  /** Retry delay suggested with the `unavailable` reply. */
  readonly retryAfterMs: number;
}

/**
 * Reads a request body and decompresses it, enforcing both limits without ever holding
 * more than the limit in memory: the wire bytes are counted as they arrive (and a
 * Content-Length over the limit is refused before reading), and decompression stops as
 * soon as the output would pass `maxBodyBytes` — a 1 KiB gzip bomb that inflates to 1 GiB
 * costs at most `maxBodyBytes` of memory. With a `budget`, every byte held is also
 * charged to the in-flight bound as it arrives (wire bytes, then decompressed output; the
 * wire bytes are given back once decompressed): on return the reservation holds the
 * body's size.
 * @throws AcceptorError payload_too_large | invalid_argument | unavailable
 */
export async function readBody(
  stream: Readable,
  encoding: ContentEncoding,
  limits: BodyLimits,
  contentLength?: number,
  budget?: BodyBudget,
): Promise<Buffer> {
  const wireLimit =
    encoding === 'identity'
      ? Math.min(limits.maxWireBytes, limits.maxBodyBytes)
      : limits.maxWireBytes;
  if (contentLength !== undefined && contentLength > wireLimit) {
    stream.resume(); // drain so the connection can be reused
    throw tooLarge(`body of ${contentLength} bytes exceeds the limit of ${wireLimit} bytes`);
  }
  const wire = await readCapped(stream, wireLimit, budget);
  return decompress(wire, encoding, limits.maxBodyBytes, budget);
}

/**
 * Decompresses a complete body with an output cap, charging the output to `budget` as it
 * grows (on return the reservation holds the output's size). @throws AcceptorError
 */
export async function decompress(
  wire: Buffer,
  encoding: ContentEncoding,
  maxBodyBytes: number,
  budget?: BodyBudget,
): Promise<Buffer> {
  switch (encoding) {
    case 'identity':
      if (wire.byteLength > maxBodyBytes) throw tooLarge(`body exceeds ${maxBodyBytes} bytes`);
      return wire;
    case 'gzip':
      return inflateCapped(wire, 'gzip', maxBodyBytes, budget);
    case 'deflate':
      // RFC 9110 "deflate" is zlib-wrapped, but some clients send raw deflate: a valid
      // zlib header (RFC 1950: method 8, header checksum) tells them apart.
      return inflateCapped(wire, hasZlibHeader(wire) ? 'zlib' : 'raw', maxBodyBytes, budget);
    case 'zstd':
      return zstdCapped(wire, maxBodyBytes, budget);
  }
}

function hasZlibHeader(b: Uint8Array): boolean {
  return b.byteLength >= 2 && (b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}

function overBudget(budget: BodyBudget): AcceptorError {
  return new AcceptorError(
    'unavailable',
    'acceptor is at its in-flight limit (too many request bytes being received and decoded); retry later',
    { retryAfterMs: budget.retryAfterMs },
  );
}

/**
 * Reads the whole stream, refusing it once it passes `limit` (or the budget). Past the
 * limit the rest is read and discarded, not destroyed: destroying an HTTP request resets
 * the connection, and the client then sees a network error instead of the 413 — OTLP
 * clients retry network errors, so a too-large request would be sent again and again.
 * The server's request timeout bounds how long a client can keep sending.
 */
function readCapped(stream: Readable, limit: number, budget?: BodyBudget): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const refuse = (err: AcceptorError) => {
      cleanup();
      chunks.length = 0;
      budget?.reservation.tryResize(0);
      stream.on('error', () => {}); // the rest is discarded; its errors no longer matter
      stream.resume();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > limit) {
        refuse(tooLarge(`body exceeds the limit of ${limit} bytes`));
        return;
      }
      if (budget && !budget.reservation.tryGrow(chunk.byteLength)) {
        refuse(overBudget(budget));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(
        new AcceptorError('invalid_argument', `request body not received in full: ${err.message}`, {
          cause: err,
        }),
      );
    };
    // A client that goes away mid-body ends the stream with 'close' (and 'error' only when
    // someone listens for it); either way the request is over.
    const onClose = () => onError(new Error('connection closed before the body ended'));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

const INFLATE_CHUNK = 64 * 1024;

/**
 * Streams `wire` through zlib, counting (and charging) the output chunk by chunk, and
 * stops the inflater as soon as the output passes `maxBodyBytes` or the budget.
 */
function inflateCapped(
  wire: Buffer,
  kind: 'gzip' | 'zlib' | 'raw',
  maxBodyBytes: number,
  budget?: BodyBudget,
): Promise<Buffer> {
  const name = kind === 'gzip' ? 'gzip' : 'deflate';
  const options = { chunkSize: INFLATE_CHUNK };
  const inflater =
    kind === 'gzip'
      ? zlib.createGunzip(options)
      : kind === 'zlib'
        ? zlib.createInflate(options)
        : zlib.createInflateRaw(options);
  const wireHeld = budget?.reservation.bytes ?? 0;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const fail = (err: AcceptorError) => {
      if (done) return;
      done = true;
      chunks.length = 0;
      inflater.destroy();
      budget?.reservation.tryResize(wireHeld);
      reject(err);
    };
    inflater.on('data', (chunk: Buffer) => {
      if (done) return;
      total += chunk.byteLength;
      if (total > maxBodyBytes) {
        fail(tooLarge(`${name} body inflates past the limit of ${maxBodyBytes} bytes`));
        return;
      }
      if (budget && !budget.reservation.tryGrow(chunk.byteLength)) {
        fail(overBudget(budget));
        return;
      }
      chunks.push(chunk);
    });
    inflater.on('error', (err: Error) => {
      fail(
        new AcceptorError('invalid_argument', `corrupt ${name} body: ${err.message}`, {
          cause: err,
        }),
      );
    });
    inflater.on('end', () => {
      if (done) return;
      done = true;
      const out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
      chunks.length = 0;
      budget?.reservation.tryResize(out.byteLength); // the wire bytes are no longer held
      resolve(out);
    });
    inflater.end(wire);
  });
}

// Window sizes above 2^27 (128 MiB) are refused: a frame may otherwise ask the decoder
// to allocate up to 2 GiB before producing a byte.
const ZSTD_WINDOW_LOG_MAX = 27;

function zstdCapped(wire: Buffer, maxBodyBytes: number, budget?: BodyBudget): Buffer {
  const dctx = new zstd.DCtx();
  dctx.setParameter(zstd.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  const chunkSize = zstd.dStreamOutSize();
  const chunks: Buffer[] = [];
  const wireHeld = budget?.reservation.bytes ?? 0;
  let total = 0;
  let src: Uint8Array = wire;
  let remaining = 1; // zstd's hint: 0 once a frame is complete
  try {
    for (;;) {
      const dst = Buffer.allocUnsafe(chunkSize);
      const [ret, produced, consumed] = dctx.decompressStream(dst, src);
      remaining = ret;
      if (produced > 0) {
        total += produced;
        if (total > maxBodyBytes) {
          throw tooLarge(`zstd body inflates past the limit of ${maxBodyBytes} bytes`);
        }
        if (budget && !budget.reservation.tryGrow(produced)) throw overBudget(budget);
        chunks.push(dst.subarray(0, produced));
      }
      src = src.subarray(consumed);
      if (src.byteLength === 0 && produced < chunkSize) break;
      if (consumed === 0 && produced === 0) break;
    }
    if (remaining !== 0)
      throw new AcceptorError('invalid_argument', 'corrupt zstd body: truncated frame');
  } catch (err) {
    chunks.length = 0;
    budget?.reservation.tryResize(wireHeld);
    if (err instanceof AcceptorError) throw err;
    throw new AcceptorError('invalid_argument', `corrupt zstd body: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const out = Buffer.concat(chunks, total);
  budget?.reservation.tryResize(out.byteLength);
  return out;
}

function tooLarge(message: string, cause?: unknown): AcceptorError {
  return new AcceptorError('payload_too_large', message, { cause });
}
