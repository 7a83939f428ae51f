/**
 * Raw HTTP/1.x over a TCP socket, for requests no HTTP client library will send: lying
 * Content-Length, broken chunked framing, invalid methods, HTTP/1.0, pipelined requests,
 * bytes dribbled slowly, half-closed or reset connections. Responses are parsed just
 * enough to count them and read their status codes and bodies.
 */
import net from 'node:net';

/** A step of a raw exchange: bytes to write, or a pause in ms. */
export type Write = Buffer | number;

export interface RawHttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export interface RawHttpResult {
  readonly responses: RawHttpResponse[];
  /** The server closed the connection (or the socket errored) before `expect` responses. */
  readonly closed: boolean;
  /** The socket saw ECONNRESET / EPIPE (the server reset it, or wrote after our reset). */
  readonly reset: boolean;
  /** Neither enough responses nor a close within the timeout. */
  readonly timedOut: boolean;
  /** Bytes that arrived but do not parse as an HTTP response. */
  readonly garbage: boolean;
}

export interface RawHttpOptions {
  /** Responses to wait for before closing (default 1). */
  readonly expect?: number;
  /** After the writes: keep the socket open, half-close it (FIN), or reset it (RST). */
  readonly after?: 'keep' | 'half-close' | 'reset';
  readonly timeoutMs?: number;
  readonly host?: string;
}

/** Request bytes: `METHOD path version`, headers as given (no defaults), then `body`. */
export function rawRequest(
  method: string,
  path: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body: Uint8Array = Buffer.alloc(0),
  version = 'HTTP/1.1',
): Buffer {
  const head = `${method} ${path} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** `body` as chunked transfer coding, in pieces of `size` bytes, with the last chunk. */
export function chunked(body: Uint8Array, size: number, extension = ''): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.byteLength; i += size) {
    const piece = body.subarray(i, Math.min(body.byteLength, i + size));
    parts.push(
      Buffer.from(`${piece.byteLength.toString(16)}${extension}\r\n`),
      Buffer.from(piece),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/**
 * Parses as many complete responses as `buf` holds. Returns them and the number of
 * bytes consumed; `bad` when the bytes cannot be a response.
 */
export function parseResponses(
  buf: Buffer,
  closedBySender: boolean,
): { responses: RawHttpResponse[]; used: number; bad: boolean } {
  const responses: RawHttpResponse[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at, 'latin1');
    if (end < 0) {
      const rest = buf.subarray(at, Math.min(buf.byteLength, at + 7)).toString('latin1');
      return { responses, used: at, bad: rest.length > 0 && !'HTTP/1.'.startsWith(rest) };
    }
    const head = buf.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
    if (!m) return { responses, used: at, bad: true };
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const bodyStart = end + 4;
    let body: Buffer;
    let next: number;
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const pieces: Buffer[] = [];
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p, 'latin1');
        if (lineEnd < 0) break;
        const size = Number.parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) return { responses, used: at, bad: true };
        if (size === 0) {
          const trailerEnd = buf.indexOf('\r\n', lineEnd + 2, 'latin1');
          if (trailerEnd < 0) break;
          next = trailerEnd + 2;
          complete = true;
          break;
        }
        if (buf.byteLength < lineEnd + 2 + size + 2) break;
        pieces.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      if (!complete) return { responses, used: at, bad: false };
      body = Buffer.concat(pieces);
      next = next!;
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (buf.byteLength < bodyStart + length) return { responses, used: at, bad: false };
      body = buf.subarray(bodyStart, bodyStart + length);
      next = bodyStart + length;
    } else if (Number(m[1]) === 204 || Number(m[1]) === 304 || Number(m[1]) < 200) {
      body = Buffer.alloc(0);
      next = bodyStart;
    } else {
      // Delimited by the close.
      if (!closedBySender) return { responses, used: at, bad: false };
      body = buf.subarray(bodyStart);
      next = buf.byteLength;
    }
    responses.push({ status: Number(m[1]), headers, body });
    at = next;
  }
}

/** Runs one raw exchange on a fresh connection. */
export function rawHttpExchange(
  port: number,
  writes: ReadonlyArray<Write>,
  options: RawHttpOptions = {},
): Promise<RawHttpResult> {
  const expectCount = options.expect ?? 1;
  return new Promise((resolve) => {
    const socket = net.connect(port, options.host ?? '127.0.0.1');
    let received: Buffer = Buffer.alloc(0);
    let closed = false;
    let reset = false;
    let timedOut = false;
    let done = false;
    let parsed: ReturnType<typeof parseResponses> = { responses: [], used: 0, bad: false };
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      parsed = parseResponses(received, closed);
      socket.destroy();
      resolve({ responses: parsed.responses, closed, reset, timedOut, garbage: parsed.bad });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      finish();
    }, options.timeoutMs ?? 30_000);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
      closed = true;
      finish();
    });
    socket.on('end', () => {
      closed = true;
      finish();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('data', (chunk: Buffer) => {
      received = received.byteLength === 0 ? chunk : Buffer.concat([received, chunk]);
      const p = parseResponses(received, false);
      if (p.responses.length >= expectCount || p.bad) finish();
    });
    socket.on('connect', async () => {
      for (const w of writes) {
        if (done || socket.destroyed) return;
        if (typeof w === 'number') await new Promise((r) => setTimeout(r, w));
        else socket.write(w);
      }
      if (done || socket.destroyed) return;
      if (options.after === 'half-close') socket.end();
      else if (options.after === 'reset') {
        socket.resetAndDestroy();
        closed = true;
        finish();
      }
    });
  });
}
