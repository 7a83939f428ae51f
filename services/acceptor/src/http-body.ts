import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import zstd from 'zstd-napi/binding.js';
import { AcceptorError } from './errors.js';

export type ContentEncoding = 'identity' | 'gzip' | 'deflate' | 'zstd';

export interface BodyLimits {
  /** Largest body accepted as sent on the wire (compressed). */
  readonly maxWireBytes: number;
  /** Largest body accepted after decompression. */
  readonly maxBodyBytes: number;
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

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
 * Reads a request body and decompresses it, enforcing both limits without ever holding
 * more than the limit in memory: the wire bytes are counted as they arrive (and a
 * Content-Length over the limit is refused before reading), and decompression stops as
 * soon as the output would pass `maxBodyBytes` — a 1 KiB gzip bomb that inflates to 1 GiB
 * costs at most `maxBodyBytes` of memory.
 * @throws AcceptorError payload_too_large | invalid_argument
 */
export async function readBody(
  stream: Readable,
  encoding: ContentEncoding,
  limits: BodyLimits,
  contentLength?: number,
): Promise<Buffer> {
  const wireLimit =
    encoding === 'identity'
      ? Math.min(limits.maxWireBytes, limits.maxBodyBytes)
      : limits.maxWireBytes;
  if (contentLength !== undefined && contentLength > wireLimit) {
    stream.resume(); // drain so the connection can be reused
    throw tooLarge(`body of ${contentLength} bytes exceeds the limit of ${wireLimit} bytes`);
  }
  const wire = await readCapped(stream, wireLimit);
  return decompress(wire, encoding, limits.maxBodyBytes);
}

/** Decompresses a complete body with an output cap. @throws AcceptorError */
export async function decompress(
  wire: Buffer,
  encoding: ContentEncoding,
  maxBodyBytes: number,
): Promise<Buffer> {
  switch (encoding) {
    case 'identity':
      if (wire.byteLength > maxBodyBytes) throw tooLarge(`body exceeds ${maxBodyBytes} bytes`);
      return wire;
    case 'gzip':
      return zlibCapped(
        () => gunzip(wire, { maxOutputLength: maxBodyBytes }),
        'gzip',
        maxBodyBytes,
      );
    case 'deflate':
      // RFC 9110 "deflate" is zlib-wrapped, but some clients send raw deflate.
      return zlibCapped(
        () =>
          inflate(wire, { maxOutputLength: maxBodyBytes }).catch((err: NodeJS.ErrnoException) => {
            if (err.code === 'Z_DATA_ERROR')
              return inflateRaw(wire, { maxOutputLength: maxBodyBytes });
            throw err;
          }),
        'deflate',
        maxBodyBytes,
      );
    case 'zstd':
      return zstdCapped(wire, maxBodyBytes);
  }
}

/**
 * Reads the whole stream, refusing it once it passes `limit`. Past the limit the rest is
 * read and discarded, not destroyed: destroying an HTTP request resets the connection, and
 * the client then sees a network error instead of the 413 — OTLP clients retry network
 * errors, so a too-large request would be sent again and again. The server's request
 * timeout bounds how long a client can keep sending.
 */
function readCapped(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > limit) {
        cleanup();
        chunks.length = 0;
        stream.resume();
        reject(tooLarge(`body exceeds the limit of ${limit} bytes`));
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

async function zlibCapped(
  run: () => Promise<Buffer>,
  name: string,
  maxBodyBytes: number,
): Promise<Buffer> {
  try {
    return await run();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw tooLarge(`${name} body inflates past the limit of ${maxBodyBytes} bytes`, err);
    }
    throw new AcceptorError('invalid_argument', `corrupt ${name} body: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

// Window sizes above 2^27 (128 MiB) are refused: a frame may otherwise ask the decoder
// to allocate up to 2 GiB before producing a byte.
const ZSTD_WINDOW_LOG_MAX = 27;

function zstdCapped(wire: Buffer, maxBodyBytes: number): Buffer {
  const dctx = new zstd.DCtx();
  dctx.setParameter(zstd.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  const chunkSize = zstd.dStreamOutSize();
  const chunks: Buffer[] = [];
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
        chunks.push(dst.subarray(0, produced));
      }
      src = src.subarray(consumed);
      if (src.byteLength === 0 && produced < chunkSize) break;
      if (consumed === 0 && produced === 0) break;
    }
  } catch (err) {
    if (err instanceof AcceptorError) throw err;
    throw new AcceptorError('invalid_argument', `corrupt zstd body: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (remaining !== 0)
    throw new AcceptorError('invalid_argument', 'corrupt zstd body: truncated frame');
  return Buffer.concat(chunks, total);
}

function tooLarge(message: string, cause?: unknown): AcceptorError {
  return new AcceptorError('payload_too_large', message, { cause });
}
