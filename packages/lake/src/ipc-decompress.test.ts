/**
 * decompressIpcStream on streams compressed here, by the letter of Message.fbs, from plain
 * Arrow JS streams (zstd-napi frames, uncompressed length first), and read back by Arrow
 * JS with its zstd codec registered. Arrow JS's own writer cannot be the producer: it
 * writes the compressed length where the format wants the uncompressed one (21.2,
 * writer.mjs `_compressBodyBuffers`); its reader ignores the prefix.
 */
import {
  CompressionType,
  compressionRegistry,
  Dictionary,
  Float64,
  Int32,
  RecordBatchStreamWriter,
  Table,
  tableFromIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import {
  type DictionaryBatch as DictionaryBatchHeader,
  Message,
  type RecordBatch as RecordBatchHeader,
} from 'apache-arrow/ipc/metadata/message';
import { beforeAll, describe, expect, it } from 'vitest';
import { compress, decompress } from 'zstd-napi';
import { compressStream } from '../test/fixtures/ipc-compress.js';
import { splitIpcStream } from './ipc.js';
import {
  decompressIpcStream,
  IpcDecompressError,
  IpcDecompressLimitError,
} from './ipc-decompress.js';
import { HeaderType, readBatchHeader, writeBatchMessage } from './ipc-flatbuffers.js';

const ROWS = 2000;

function sample(): Table {
  const words = ['alpha', 'beta', 'gamma', null];
  return new Table({
    id: vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => (i % 17 === 0 ? null : i)),
      new Int32(),
    ),
    text: vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => (i % 5 === 0 ? null : `value ${i % 40} `.repeat(8))),
      new Utf8(),
    ),
    kind: vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => words[i % words.length]!),
      new Dictionary(new Utf8(), new Int32()),
    ),
    x: vectorFromArray(
      Array.from({ length: ROWS }, (_, i) => i / 7),
      new Float64(),
    ),
    tiny: vectorFromArray(
      Array.from({ length: ROWS }, () => 'a'),
      new Utf8(),
    ),
  });
}

function writeStream(table: Table, codec: CompressionType | null): Uint8Array {
  const plain = RecordBatchStreamWriter.writeAll(table).toUint8Array(true);
  return codec === null ? plain : compressStream(plain, codec);
}

const rows = (t: Table) =>
  JSON.stringify(t.toArray(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

/** Every batch message of the stream, with where its body starts. */
function batches(ipc: Uint8Array) {
  return splitIpcStream(ipc)
    .map((m) => ({ m, h: readBatchHeader(ipc.subarray(m.metaStart, m.metaEnd)) }))
    .filter(({ h }) => h.nodeCount > 0);
}

describe('decompressIpcStream', () => {
  let compressed: Uint8Array;
  const table = sample();

  beforeAll(() => {
    compressionRegistry.set(CompressionType.ZSTD, {
      encode: (b) => compress(b),
      decode: (b) => decompress(b),
    });
    compressed = writeStream(table, CompressionType.ZSTD);
  });

  it('turns zstd bodies into plain ones with the same values', () => {
    // The compressed stream itself is what Arrow JS (zstd codec registered) reads as `table`.
    expect(rows(tableFromIPC(compressed))).toBe(rows(table));
    const plain = decompressIpcStream(compressed, 1 << 30);
    expect(batches(compressed).every(({ h }) => h.compressed && h.codec === 1)).toBe(true);
    const out = batches(plain);
    expect(out.length).toBe(2); // the dictionary batch and the record batch
    for (const { h } of out) expect(h.compressed).toBe(false);
    expect(plain.length).toBeGreaterThan(compressed.length);
    expect(rows(tableFromIPC(plain))).toBe(rows(table));
    // Every buffer of the plain stream lies at an 8-byte aligned offset inside its body.
    for (const { m, h } of out) {
      for (let i = 0; i < h.bufferCount; i++) {
        expect(h.bufferOffset(i) % 8).toBe(0);
        expect(h.bufferOffset(i) + h.bufferLength(i)).toBeLessThanOrEqual(m.end - m.bodyStart);
      }
    }
  });

  it('writes the plain batch headers by hand: Arrow JS and readBatchHeader read the compressed headers’ nodes, new regions and ids', () => {
    const plain = decompressIpcStream(compressed, 1 << 30);
    const before = batches(compressed);
    const after = batches(plain);
    expect(after.map(({ h }) => h.headerType)).toEqual([
      HeaderType.DictionaryBatch,
      HeaderType.RecordBatch,
    ]);
    for (const [k, { m, h }] of after.entries()) {
      const old = before[k]!.h;
      const meta = plain.subarray(m.metaStart, m.metaEnd);
      const arrow = Message.decode(meta);
      expect(arrow.bodyLength).toBe(h.bodyLength);
      expect(arrow.bodyLength).toBe(m.end - m.bodyStart);
      let rb: RecordBatchHeader;
      if (arrow.isDictionaryBatch()) {
        const d = arrow.header() as DictionaryBatchHeader;
        expect(d.id).toBe(old.dictionaryId);
        expect(d.isDelta).toBe(false);
        rb = d.data;
      } else {
        expect(arrow.isRecordBatch()).toBe(true);
        rb = arrow.header() as RecordBatchHeader;
      }
      expect(rb.compression).toBeNull();
      expect(rb.length).toBe(old.length);
      const nodes = Array.from({ length: old.nodeCount }, (_, i) => [
        old.nodeLength(i),
        old.nodeNullCount(i),
      ]);
      expect(rb.nodes.map((n) => [n.length, n.nullCount])).toEqual(nodes);
      expect(rb.buffers.map((b) => [b.offset, b.length])).toEqual(
        Array.from({ length: h.bufferCount }, (_, i) => [h.bufferOffset(i), h.bufferLength(i)]),
      );
      expect([h.length, h.dictionaryId, h.compressed]).toEqual([
        old.length,
        old.dictionaryId,
        false,
      ]);
    }
    // A delta dictionary batch (never written by Sediment) is left to Arrow JS's encoder.
    const dictionary = before[0]!.h;
    expect(writeBatchMessage({ ...dictionary, isDelta: true }, [0, 8], 8)).toBeUndefined();
  });

  it('writes into the caller’s reused scratch: same bytes as a fresh array, padding zeroed', () => {
    const fresh = decompressIpcStream(compressed, 1 << 30);
    const scratch = new Uint8Array(fresh.length + 100).fill(0xee);
    const sizes: number[] = [];
    const out = decompressIpcStream(compressed, 1 << 30, (size) => {
      sizes.push(size);
      return scratch;
    });
    expect(sizes).toEqual([fresh.length]);
    expect(out.buffer).toBe(scratch.buffer);
    expect(out.length).toBe(fresh.length);
    expect(Buffer.from(out).equals(Buffer.from(fresh))).toBe(true);
    expect(() => decompressIpcStream(compressed, 1 << 30, () => new Uint8Array(8))).toThrow(
      RangeError,
    );
  });

  it('returns an uncompressed stream itself', () => {
    const plain = writeStream(table, null);
    expect(decompressIpcStream(plain, 1 << 30)).toBe(plain);
  });

  it('refuses a stream whose plain form exceeds the limit, before allocating it', () => {
    const plainSize = decompressIpcStream(compressed, 1 << 30).length;
    expect(() => decompressIpcStream(compressed, plainSize - 1)).toThrow(IpcDecompressLimitError);
    // A prefix claiming 1 TiB in a stream of a few kilobytes.
    const bomb = compressed.slice();
    const { m, h } = batches(bomb).at(-1)!;
    const i = firstCompressedBuffer(bomb, m.bodyStart, h);
    new DataView(bomb.buffer).setBigInt64(m.bodyStart + h.bufferOffset(i), 1n << 40n, true);
    expect(() => decompressIpcStream(bomb, 256 << 20)).toThrow(IpcDecompressLimitError);
  });

  it('refuses damaged headers as IpcDecompressError, never another error', () => {
    // Seeded corruption of the batch messages' metadata (flatbuffers read lazily).
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const metas = batches(compressed).map(({ m }) => [m.metaStart, m.metaEnd] as const);
    let refused = 0;
    for (let round = 0; round < 300; round++) {
      const damaged = compressed.slice();
      const [start, end] = metas[round % metas.length]!;
      for (let k = 0; k < 4; k++) damaged[start + (next() % (end - start))] = next() & 0xff;
      try {
        decompressIpcStream(damaged, 1 << 26);
      } catch (err) {
        expect(err).toBeInstanceOf(IpcDecompressError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  it('refuses prefixes that disagree with their frame, bad frames, other codecs, truncation', () => {
    const { m, h } = batches(compressed).at(-1)!;
    const i = firstCompressedBuffer(compressed, m.bodyStart, h);
    const at = m.bodyStart + h.bufferOffset(i);
    const claimed = Number(new DataView(compressed.buffer).getBigInt64(at, true));

    const longer = compressed.slice();
    new DataView(longer.buffer).setBigInt64(at, BigInt(claimed + 1), true);
    expect(() => decompressIpcStream(longer, 1 << 30)).toThrow(/decompressed to|ZSTD frame/);

    const garbage = compressed.slice();
    garbage.fill(0x5a, at + 8, at + 16); // the frame's magic number and header
    expect(() => decompressIpcStream(garbage, 1 << 30)).toThrow(IpcDecompressError);

    const negative = compressed.slice();
    new DataView(negative.buffer).setBigInt64(at, -5n, true);
    expect(() => decompressIpcStream(negative, 1 << 30)).toThrow(/claims -5 bytes/);

    expect(() => decompressIpcStream(compressed.subarray(0, at + 4), 1 << 30)).toThrow(
      IpcDecompressError,
    );

    const lz4 = writeStream(table, CompressionType.LZ4_FRAME);
    expect(() => decompressIpcStream(lz4, 1 << 30)).toThrow(/LZ4_FRAME is not supported/);
  });
});

/** Index of the first buffer stored as a zstd frame (prefix ≥ 0). */
function firstCompressedBuffer(
  ipc: Uint8Array,
  bodyStart: number,
  h: ReturnType<typeof readBatchHeader>,
): number {
  const dv = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  for (let i = 0; i < h.bufferCount; i++) {
    if (h.bufferLength(i) >= 8 && dv.getBigInt64(bodyStart + h.bufferOffset(i), true) > 0n) {
      return i;
    }
  }
  throw new Error('no compressed buffer');
}
