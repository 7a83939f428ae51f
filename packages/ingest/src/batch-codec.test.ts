import { describe, expect, it } from 'vitest';
import { BATCH_FOOTER_BYTES, decodeBatch, encodeBatch, recordBlockSize } from './batch-codec.js';
import { CorruptBatchError, InvalidArgumentError } from './errors.js';

const te = new TextEncoder();
const bytes = (...values: number[]) => Uint8Array.from(values);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** records ["hi", ""], uncompressed: hand-computed from the v1 layout. */
// biome-ignore format: golden bytes laid out by field
const GOLDEN_NONE = bytes(
  // record 0: len 2, "hi"
  0x02, 0x00, 0x00, 0x00, 0x68, 0x69,
  // record 1: len 0
  0x00, 0x00, 0x00, 0x00,
  // footer: compression 0 | record_count 2 | version 1
  0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00,
);

/**
 * The same records as ONE zstd frame holding a single raw block, written by hand:
 * magic, frame header descriptor 0x20 (single segment, 1-byte content size), content
 * size 10, block header (last=1, type raw, size 10 → 1 | 10 << 3 = 0x51), the 10 bytes.
 */
// biome-ignore format: golden bytes laid out by field
const GOLDEN_ZSTD = bytes(
  // zstd magic, frame header descriptor, content size 10
  0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x0a,
  // block header: last block, raw, 10 bytes
  0x51, 0x00, 0x00,
  // the uncompressed record block of GOLDEN_NONE
  0x02, 0x00, 0x00, 0x00, 0x68, 0x69, 0x00, 0x00, 0x00, 0x00,
  // footer: compression 1 | record_count 2 | version 1
  0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00,
);

function expectCorrupt(input: Uint8Array, pattern: RegExp, options = {}): CorruptBatchError {
  let caught: unknown;
  try {
    decodeBatch(input, options);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CorruptBatchError);
  const err = caught as CorruptBatchError;
  expect(err.code).toBe('INGEST_CORRUPT_BATCH');
  expect(err.name).toBe('CorruptBatchError');
  expect(err.retryable).toBe(false);
  expect(err.message).toMatch(pattern);
  expect(err.message).toMatch(/at offset \d+/);
  return err;
}

describe('batch codec', () => {
  it('encodes the golden uncompressed bytes', () => {
    expect(hex(encodeBatch([te.encode('hi'), new Uint8Array(0)]))).toBe(hex(GOLDEN_NONE));
  });

  it('decodes the golden uncompressed bytes', () => {
    const decoded = decodeBatch(GOLDEN_NONE);
    expect(decoded.compression).toBe('none');
    expect(decoded.records.map((r) => Buffer.from(r).toString())).toEqual(['hi', '']);
  });

  it('decodes a hand-written zstd frame (raw block)', () => {
    const decoded = decodeBatch(GOLDEN_ZSTD);
    expect(decoded.compression).toBe('zstd');
    expect(decoded.records.map((r) => Buffer.from(r).toString())).toEqual(['hi', '']);
  });

  it('decodes a zstd frame without a content size (streaming path)', () => {
    // Frame header descriptor 0x00: no single segment, no content size; window byte 0x00.
    // biome-ignore format: golden bytes
    const frame = bytes(
      0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00,
      0x51, 0x00, 0x00,
      0x02, 0x00, 0x00, 0x00, 0x68, 0x69, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00,
    );
    const decoded = decodeBatch(frame);
    expect(decoded.records.map((r) => Buffer.from(r).toString())).toEqual(['hi', '']);
    expectCorrupt(frame, /more than 5 bytes/, { maxDecompressedBytes: 5 });
  });

  it('an empty batch is just the footer', () => {
    const encoded = encodeBatch([]);
    expect(hex(encoded)).toBe('00000000000100');
    expect(decodeBatch(encoded).records).toEqual([]);
    expect(decodeBatch(encodeBatch([], { compression: 'zstd' })).records).toEqual([]);
  });

  it('zstd output is one frame followed by the uncompressed footer', () => {
    const records = Array.from({ length: 100 }, (_, i) => te.encode(`record ${i} `.repeat(20)));
    const encoded = encodeBatch(records, { compression: 'zstd' });
    expect(hex(encoded.subarray(0, 4))).toBe('28b52ffd');
    expect(hex(encoded.subarray(encoded.length - 7))).toBe('01640000000100');
    expect(encoded.length).toBeLessThan(recordBlockSize(records) / 5);
    const decoded = decodeBatch(encoded);
    expect(decoded.records.map((r) => Buffer.from(r).toString())).toEqual(
      records.map((r) => Buffer.from(r).toString()),
    );
  });

  it('round-trips random records with both compressions', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let round = 0; round < 20; round++) {
      const records = Array.from({ length: rand() % 50 }, () =>
        Uint8Array.from({ length: rand() % 300 }, () => rand() & 0xff),
      );
      for (const compression of ['none', 'zstd'] as const) {
        const decoded = decodeBatch(encodeBatch(records, { compression }));
        expect(decoded.records.length).toBe(records.length);
        expect(decoded.records.map(hex)).toEqual(records.map(hex));
      }
    }
  });

  it('rejects every truncation of a valid batch', () => {
    for (const golden of [GOLDEN_NONE, GOLDEN_ZSTD]) {
      for (let n = 0; n < golden.length; n++) {
        expect(() => decodeBatch(golden.subarray(0, n)), `prefix ${n}`).toThrow(CorruptBatchError);
      }
    }
    const big = encodeBatch(
      Array.from({ length: 10 }, (_, i) => te.encode(`entry-${i}`.repeat(i))),
      { compression: 'zstd' },
    );
    for (let n = 0; n < big.length; n++) {
      expect(() => decodeBatch(big.subarray(0, n)), `prefix ${n}`).toThrow(CorruptBatchError);
    }
  });

  it('rejects a buffer smaller than the footer', () => {
    expectCorrupt(bytes(1, 0, 0), /truncated: 3 bytes/);
  });

  it('rejects an unknown version', () => {
    const bad = GOLDEN_NONE.slice();
    bad[bad.length - 2] = 2;
    const err = expectCorrupt(bad, /unsupported batch format version 2/);
    expect(err.offset).toBe(GOLDEN_NONE.length - 2);
  });

  it('rejects an unknown compression type', () => {
    const bad = GOLDEN_NONE.slice();
    bad[bad.length - BATCH_FOOTER_BYTES] = 2;
    expectCorrupt(bad, /unknown compression type 2/);
  });

  it('rejects a record length running past the end', () => {
    const bad = GOLDEN_NONE.slice();
    bad[0] = 200;
    const err = expectCorrupt(bad, /record 0 of 2: length 200 at offset 0 runs past/);
    expect(err.offset).toBe(0);
  });

  it('rejects a record count larger than the records present', () => {
    const bad = GOLDEN_NONE.slice();
    bad[bad.length - 6] = 3;
    const err = expectCorrupt(bad, /record 2 of 3: length prefix truncated at offset 10/);
    expect(err.offset).toBe(10);
  });

  it('rejects a record count smaller than the records present', () => {
    const bad = GOLDEN_NONE.slice();
    bad[bad.length - 6] = 1;
    expectCorrupt(bad, /footer says 1 records but 4 bytes follow the last one/);
  });

  it('rejects zstd garbage', () => {
    expectCorrupt(bytes(1, 2, 3, 4, 5, 6, 7, 8, 0x01, 0, 0, 0, 0, 0x01, 0x00), /not a zstd frame/);
  });

  it('rejects an empty zstd block', () => {
    expectCorrupt(bytes(0x01, 0, 0, 0, 0, 0x01, 0x00), /empty/);
  });

  it('rejects two zstd frames', () => {
    const frame = GOLDEN_ZSTD.subarray(0, GOLDEN_ZSTD.length - 7);
    const two = Buffer.concat([frame, frame, GOLDEN_ZSTD.subarray(GOLDEN_ZSTD.length - 7)]);
    expectCorrupt(two, /ONE zstd frame: the first frame ends at 19 of 38 bytes/);
  });

  it('rejects a zstd frame whose content does not match the record count', () => {
    const bad = GOLDEN_ZSTD.slice();
    bad[bad.length - 6] = 5;
    expectCorrupt(bad, /record 2 of 5: .* of the decompressed record block/);
  });

  it('rejects a zstd frame claiming more than the size limit', () => {
    expectCorrupt(GOLDEN_ZSTD, /over the 5 limit/, { maxDecompressedBytes: 5 });
  });

  it('rejects a corrupted zstd block body', () => {
    const encoded = encodeBatch(
      Array.from({ length: 50 }, (_, i) => te.encode(`payload number ${i} `.repeat(10))),
      { compression: 'zstd' },
    ).slice();
    for (let i = 12; i < encoded.length - 7; i += 3) encoded[i] = encoded[i]! ^ 0x5a;
    expectCorrupt(encoded, /zstd|record|footer/);
  });

  it('names the location in errors', () => {
    expectCorrupt(bytes(0), /corrupt batch ingest\/X\.batch at offset 0/, {
      location: 'ingest/X.batch',
    });
  });

  it('rejects unknown compression names on encode', () => {
    expect(() => encodeBatch([], { compression: 'gzip' as never })).toThrow(InvalidArgumentError);
  });
});
