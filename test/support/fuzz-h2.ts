/**
 * Raw HTTP/2 over a TCP socket, for what node:http2 will not send: frames that break the
 * protocol, more streams than the server's SETTINGS_MAX_CONCURRENT_STREAMS, a connection
 * that never finishes its preface. Requests are HPACK-encoded as literals (no Huffman, no
 * indexing), which every decoder must accept; server frames are parsed only as far as the
 * tests need (type, flags, stream, RST_STREAM and GOAWAY codes) — response header blocks
 * are not decoded.
 */
import net from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8 } as const;

export const H2Error: Record<number, string> = {
  0: 'NO_ERROR',
  1: 'PROTOCOL_ERROR',
  2: 'INTERNAL_ERROR',
  3: 'FLOW_CONTROL_ERROR',
  4: 'SETTINGS_TIMEOUT',
  5: 'STREAM_CLOSED',
  6: 'FRAME_SIZE_ERROR',
  7: 'REFUSED_STREAM',
  8: 'CANCEL',
  9: 'COMPRESSION_ERROR',
  10: 'CONNECT_ERROR',
  11: 'ENHANCE_YOUR_CALM',
  12: 'INADEQUATE_SECURITY',
  13: 'HTTP_1_1_REQUIRED',
};

/** One frame: 9-byte header (24-bit length, type, flags, 31-bit stream id) + payload. */
export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = Buffer.alloc(0),
): Buffer {
  const out = Buffer.alloc(9 + payload.byteLength);
  out.writeUIntBE(payload.byteLength, 0, 3);
  out.writeUInt8(type, 3);
  out.writeUInt8(flags, 4);
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  out.set(payload, 9);
  return out;
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const bytes = [firstByteFlags | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A header block of "literal header field without indexing — new name" entries. */
export function headerBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(
      Buffer.from([0x00]),
      hpackInt(n.byteLength, 7, 0),
      n,
      hpackInt(v.byteLength, 7, 0),
      v,
    );
  }
  return Buffer.concat(parts);
}

/** A gRPC length-prefixed message (5-byte prefix: Compressed-Flag, 32-bit length). */
export function grpcFrame(
  payload: Uint8Array,
  flag = 0,
  declaredLength = payload.byteLength,
): Buffer {
  const out = Buffer.alloc(5 + payload.byteLength);
  out.writeUInt8(flag, 0);
  out.writeUInt32BE(declaredLength >>> 0, 1);
  out.set(payload, 5);
  return out;
}

export interface ParsedFrame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

export interface RawH2Result {
  readonly frames: ParsedFrame[];
  /** The socket closed (by either side) before `until` was satisfied or the timeout passed. */
  readonly closed: boolean;
  readonly timedOut: boolean;
  /** Error code of the first GOAWAY received, if any. */
  readonly goaway: string | undefined;
  /** RST_STREAM error codes received, by stream id. */
  readonly resets: Map<number, string>;
  /** Streams that received a HEADERS frame. */
  readonly answered: Set<number>;
}

/**
 * Opens a connection, writes `writes` in order (a number is a pause in ms), answers the
 * server's SETTINGS with an ACK unless `ackSettings` is false, and collects frames until
 * `until(result)` is true, the socket closes, or `timeoutMs` passes. The socket is then
 * destroyed.
 */
export function rawH2Exchange(
  port: number,
  writes: ReadonlyArray<Buffer | number>,
  options: {
    until?: (r: RawH2Result) => boolean;
    timeoutMs?: number;
    ackSettings?: boolean;
    host?: string;
  } = {},
): Promise<RawH2Result> {
  const frames: ParsedFrame[] = [];
  const resets = new Map<number, string>();
  const answered = new Set<number>();
  let goaway: string | undefined;
  let closed = false;
  let timedOut = false;
  const result = (): RawH2Result => ({ frames, closed, timedOut, goaway, resets, answered });
  return new Promise((resolve) => {
    const socket = net.connect(port, options.host ?? '127.0.0.1');
    let buffer: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result());
    };
    const timer = setTimeout(() => {
      timedOut = true;
      finish();
    }, options.timeoutMs ?? 10_000);
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.byteLength === 0 ? chunk : Buffer.concat([buffer, chunk]);
      while (buffer.byteLength >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.byteLength < 9 + length) break;
        const f: ParsedFrame = {
          type: buffer.readUInt8(3),
          flags: buffer.readUInt8(4),
          streamId: buffer.readUInt32BE(5) & 0x7fffffff,
          payload: buffer.subarray(9, 9 + length),
        };
        buffer = buffer.subarray(9 + length);
        frames.push(f);
        if (
          f.type === FrameType.SETTINGS &&
          !(f.flags & Flag.ACK) &&
          options.ackSettings !== false
        ) {
          if (!socket.destroyed) socket.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
        }
        if (f.type === FrameType.RST_STREAM && f.payload.byteLength >= 4) {
          resets.set(
            f.streamId,
            H2Error[f.payload.readUInt32BE(0)] ?? String(f.payload.readUInt32BE(0)),
          );
        }
        if (f.type === FrameType.GOAWAY && f.payload.byteLength >= 8 && goaway === undefined) {
          goaway = H2Error[f.payload.readUInt32BE(4)] ?? String(f.payload.readUInt32BE(4));
        }
        if (f.type === FrameType.HEADERS) answered.add(f.streamId);
      }
      if (options.until?.(result())) finish();
    });
    socket.on('connect', async () => {
      for (const w of writes) {
        if (done || socket.destroyed) return;
        if (typeof w === 'number') await new Promise((r) => setTimeout(r, w));
        else socket.write(w);
      }
    });
  });
}

/** Preface + an empty SETTINGS frame: the start of every client connection. */
export function clientStart(settings: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, settings)]);
}

/** The request headers of a gRPC call (pseudo-headers first). */
export function grpcRequestHeaders(
  path: string,
  extra: ReadonlyArray<readonly [string, string]> = [],
  authority = '127.0.0.1',
): Array<readonly [string, string]> {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', authority],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ];
}
