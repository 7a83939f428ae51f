import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, test } from 'vitest';
import * as zstd from 'zstd-napi';
import { AcceptorError } from './errors.js';
import { decompress, parseContentEncoding, readBody } from './http-body.js';
import { InflightBytes } from './inflight.js';

const limits = { maxWireBytes: 1 << 20, maxBodyBytes: 4 << 20 };
const payload = Buffer.from('otlp '.repeat(10_000));

function body(...chunks: Buffer[]): Readable {
  return Readable.from(chunks);
}

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(AcceptorError);
    return (err as AcceptorError).kind;
  }
}

/** gzip of `size` zero bytes, streamed so the test itself never holds `size` bytes. */
async function gzipBomb(size: number): Promise<Buffer> {
  const gz = zlib.createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => gz.on('end', r));
  const zero = Buffer.alloc(1 << 20);
  for (let written = 0; written < size; written += zero.length) {
    if (!gz.write(zero)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

/** A zstd frame of RLE blocks: ~4 bytes per 128 KiB of output, so KiBs inflate to GiBs. */
function zstdRleBomb(blocks: number): Buffer {
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]); // magic, no FCS, window 2^(10+11)... see below
  // Frame header descriptor 0x00: single segment off, no checksum, no dict, no FCS.
  // Window descriptor 0x58: exponent 11 → window 2^21 = 2 MiB (≥ 128 KiB block size).
  const parts: Buffer[] = [header];
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    const blockSize = 128 * 1024;
    const h = (blockSize << 3) | (1 << 1) | last; // type 1 = RLE
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x00]));
  }
  return Buffer.concat(parts);
}

describe('parseContentEncoding', () => {
  test.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['identity', 'identity'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate', 'deflate'],
    [' zstd ', 'zstd'],
  ])('%j → %s', (header, encoding) => expect(parseContentEncoding(header)).toBe(encoding));
  test.each(['br', 'gzip, zstd', 'compress'])('refuses %j as unsupported', (header) => {
    expect(() => parseContentEncoding(header)).toThrowError(
      expect.objectContaining({ kind: 'unsupported_media_type' }),
    );
  });
});

describe('readBody', () => {
  test.each([
    ['identity', payload],
    ['gzip', zlib.gzipSync(payload)],
    ['deflate', zlib.deflateSync(payload)],
    ['deflate', zlib.deflateRawSync(payload)],
    ['zstd', zstd.compress(payload)],
  ] as const)('%s round-trips', async (encoding, wire) => {
    const half = Math.floor(wire.length / 2);
    const out = await readBody(body(wire.subarray(0, half), wire.subarray(half)), encoding, limits);
    expect(out.equals(payload)).toBe(true);
  });

  test('a Content-Length over the wire limit is refused before reading', async () => {
    const stream = body(Buffer.alloc(10));
    expect(await kindOf(readBody(stream, 'identity', limits, (1 << 20) + 1))).toBe(
      'payload_too_large',
    );
  });

  test('a streamed body over the wire limit is refused', async () => {
    const chunks = Array.from({ length: 5 }, () => Buffer.alloc(300_000));
    expect(await kindOf(readBody(body(...chunks), 'gzip', limits))).toBe('payload_too_large');
  });

  test('identity bodies are held to the decompressed limit too', async () => {
    const l = { maxWireBytes: 10_000, maxBodyBytes: 100 };
    expect(await kindOf(readBody(body(Buffer.alloc(101)), 'identity', l))).toBe(
      'payload_too_large',
    );
  });

  test.each([
    ['gzip', Buffer.from('not gzip at all')],
    ['gzip', zlib.gzipSync(payload).subarray(0, 50)],
    ['deflate', Buffer.from([1, 2, 3, 4, 5])],
    ['zstd', Buffer.from('not zstd')],
    ['zstd', zstd.compress(payload).subarray(0, 20)],
  ] as const)('corrupt %s is invalid_argument', async (encoding, wire) => {
    expect(await kindOf(readBody(body(wire), encoding, limits))).toBe('invalid_argument');
  });
});

describe('decompression bombs stay bounded', () => {
  test('gzip of 1 GiB of zeros → payload_too_large, memory bounded by the limit', async () => {
    const bomb = await gzipBomb(1 << 30);
    expect(bomb.length).toBeLessThan(1100 * 1024);
    const before = process.memoryUsage();
    const kind = await kindOf(decompress(bomb, 'gzip', 8 << 20));
    const after = process.memoryUsage();
    expect(kind).toBe('payload_too_large');
    expect(
      after.arrayBuffers + after.external - before.arrayBuffers - before.external,
    ).toBeLessThan(128 << 20);
  }, 120_000);

  test('zstd: 32 KiB of RLE blocks (1 GiB) → payload_too_large, memory bounded', async () => {
    const bomb = zstdRleBomb(8192);
    expect(bomb.length).toBeLessThan(33 * 1024);
    // sanity: the bomb is a valid frame (a small one decodes to zeros)
    expect(zstd.decompress(zstdRleBomb(2)).length).toBe(256 * 1024);
    const before = process.memoryUsage();
    const kind = await kindOf(decompress(bomb, 'zstd', 8 << 20));
    const after = process.memoryUsage();
    expect(kind).toBe('payload_too_large');
    expect(
      after.arrayBuffers + after.external - before.arrayBuffers - before.external,
    ).toBeLessThan(128 << 20);
  });

  test('zstd frames asking for a huge window are refused', async () => {
    // window descriptor exponent 21 → 2^31 window
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0x01, 0x00, 0x00]);
    expect(await kindOf(decompress(frame, 'zstd', 8 << 20))).toBe('invalid_argument');
  });
});

describe('bodies are charged to the in-flight bound as they are read and inflated', () => {
  test('on success the reservation holds exactly the body (the wire bytes are given back)', async () => {
    const pool = new InflightBytes(1 << 30);
    for (const [encoding, wire] of [
      ['identity', payload],
      ['gzip', zlib.gzipSync(payload)],
      ['deflate', zlib.deflateRawSync(payload)],
      ['zstd', zstd.compress(payload)],
    ] as const) {
      const reservation = pool.reserve();
      const out = await readBody(body(wire), encoding, limits, undefined, {
        reservation,
        retryAfterMs: 1,
      });
      expect(out.equals(payload)).toBe(true);
      expect(reservation.bytes).toBe(payload.byteLength);
      reservation.release();
    }
    expect(pool.current).toBe(0);
  });

  test.each(['gzip', 'zstd'] as const)(
    '%s output that would pass the bound while others hold it → unavailable, the inflated bytes given back',
    async (encoding) => {
      const pool = new InflightBytes(2 << 20);
      const other = pool.reserve();
      expect(other.tryGrow(1 << 20)).toBe(true);
      const reservation = pool.reserve();
      const wire =
        encoding === 'gzip'
          ? zlib.gzipSync(Buffer.alloc(3 << 20))
          : zstd.compress(Buffer.alloc(3 << 20));
      const err = await readBody(body(wire), encoding, limits, undefined, {
        reservation,
        retryAfterMs: 750,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'unavailable', retryAfterMs: 750 });
      // What was inflated is given back; the wire body the caller still holds stays charged.
      expect(reservation.bytes).toBe(wire.byteLength);
      reservation.release();
      other.release();
      expect(pool.current).toBe(0);
    },
  );

  test('wire bytes past the bound → unavailable while reading, the rest is drained', async () => {
    const pool = new InflightBytes(100_000);
    const other = pool.reserve();
    other.tryGrow(50_000);
    const reservation = pool.reserve();
    const stream = body(...Array.from({ length: 10 }, () => Buffer.alloc(20_000)));
    const err = await readBody(stream, 'identity', limits, undefined, {
      reservation,
      retryAfterMs: 1,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable' });
    expect(reservation.bytes).toBe(0);
  });
});
