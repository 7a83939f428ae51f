import { Field, makeData, RecordBatch, RecordBatchReader, Schema, Struct } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { f64, recordBatch, ts, utf8 } from '../test/fixtures/arrow-build.js';
import { compressStream } from '../test/fixtures/ipc-compress.js';
import { rowsOf } from '../test/fixtures/oracle.js';
import { logsBatch, spansBatch, toIpc } from '../test/fixtures/synthetic-tables.js';
import { EntryDecoder } from './entry-decoder.js';
import { END_OF_STREAM, splitIpcStream } from './ipc.js';
import { decompressIpcStream } from './ipc-decompress.js';
import { readBatchHeader } from './ipc-flatbuffers.js';
import { OTLP_TABLES } from './layout.js';
import { joinIpcStream } from './parquet-encoder.js';

const H = 3_600_000_000_000n;
const hour0 = 475_000n; // 2024-03-09
const decoder = () => new EntryDecoder({ allowedTables: new Set(OTLP_TABLES) });

function readPieces(schemaMessage: Uint8Array, messages: readonly Uint8Array[]) {
  // As the Parquet encoder does: compressed bodies are decompressed first.
  const stream = decompressIpcStream(joinIpcStream(schemaMessage, messages), 1 << 30);
  return [...RecordBatchReader.from(stream)].flatMap((b) => rowsOf(b));
}

describe('EntryDecoder', () => {
  it('passes an entry whose rows share one hour through without copying', () => {
    const batch = spansBatch({
      rows: 64,
      seed: 1,
      timestamp: (i) => hour0 * H + BigInt(i) * 1_000_000n,
    });
    const bytes = toIpc(batch);
    const d = decoder().decode(bytes, 0);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.slow).toBe(false);
    expect(d.schema.table).toBe('spans');
    expect(d.pieces).toHaveLength(1);
    const p = d.pieces[0]!;
    expect(p.hour).toBe(Number(hour0));
    expect(p.rows).toBe(64);
    for (const m of p.messages) expect(m.buffer).toBe(bytes.buffer); // views, not copies
    expect(p.range.min).toBe(hour0 * H);
    expect(p.range.max).toBe(hour0 * H + 63_000_000n);
    expect(readPieces(d.schema.schemaMessage, p.messages)).toEqual(rowsOf(batch));
  });

  it('reads entries with zstd-compressed bodies (as writers queue them) like their plain form', () => {
    const one = spansBatch({ rows: 64, seed: 2, timestamp: (i) => hour0 * H + BigInt(i) });
    const stamps = [hour0 * H - 1n, hour0 * H, hour0 * H + H];
    const spread = logsBatch({ rows: 3, seed: 4, timestamp: (i) => stamps[i]! });
    for (const batch of [one, spread]) {
      const plain = decoder().decode(toIpc(batch), 0);
      const packed = toIpc(batch);
      const compressed = compressStream(packed);
      expect(compressed.length).not.toBe(packed.length);
      const d = decoder().decode(compressed, 0);
      expect(d.ok && plain.ok).toBe(true);
      if (!d.ok || !plain.ok) return;
      expect(d.slow).toBe(plain.slow);
      // One hour: the compressed messages are passed on as they are (views of the entry),
      // sized as the plain ones for the file-size target.
      if (!d.slow) {
        for (const m of d.pieces[0]!.messages) expect(m.buffer).toBe(compressed.buffer);
        expect(d.pieces[0]!.bytes).toBeGreaterThan(0.9 * plain.pieces[0]!.bytes);
        expect(d.pieces[0]!.bytes).toBeLessThan(1.1 * plain.pieces[0]!.bytes);
      }
      expect(d.pieces.map((p) => [p.hour, p.rows])).toEqual(
        plain.pieces.map((p) => [p.hour, p.rows]),
      );
      for (const [k, p] of d.pieces.entries()) {
        expect(readPieces(d.schema.schemaMessage, p.messages)).toEqual(
          readPieces(plain.schema.schemaMessage, plain.pieces[k]!.messages),
        );
      }
    }
    // A broken timestamp frame is seen here (the slow path checks the whole entry and
    // refuses it); other frames are the Parquet encoder's to find (see compactor tests).
    const ref = decoder().decode(toIpc(one), 0);
    if (!ref.ok) throw ref.error;
    const broken = compressStream(toIpc(one));
    const m = splitIpcStream(broken).at(-1)!;
    const h = readBatchHeader(broken.subarray(m.metaStart, m.metaEnd));
    const at = m.bodyStart + h.bufferOffset(ref.schema.tsBuffer + 1);
    expect(new DataView(broken.buffer).getBigInt64(at, true)).toBeGreaterThan(0n); // a zstd frame
    broken.fill(0x5a, at + 8, at + 16);
    const bad = decoder().decode(broken, 0);
    expect(bad.ok ? 'ok' : bad.error.reason).toBe('ipc');
  });

  it('splits rows spanning hours (interleaved, exact boundaries, pre-1970) into per-hour pieces', () => {
    const stamps = [
      hour0 * H - 1n, // last ns of the previous hour
      hour0 * H, // first ns of the hour
      hour0 * H + H - 1n,
      hour0 * H + H,
      -1n, // 1969-12-31 23:59:59.999999999
      0n,
      hour0 * H + 5n,
    ];
    const batch = logsBatch({
      rows: stamps.length,
      seed: 3,
      edgeCases: true,
      timestamp: (i) => stamps[i]!,
    });
    const d = decoder().decode(toIpc(batch), 0);
    expect(d.ok && d.slow).toBe(true);
    if (!d.ok) return;
    const hours = d.pieces.map((p) => [p.hour, p.rows]);
    expect(hours).toEqual([
      [-1, 1],
      [0, 1],
      [Number(hour0) - 1, 1],
      [Number(hour0), 3],
      [Number(hour0) + 1, 1],
    ]);
    const all = rowsOf(batch);
    const want = (hour: bigint) =>
      all.filter((r) => {
        const t = r.timestamp as bigint;
        return (t >= 0n ? t / H : (t - H + 1n) / H) === hour;
      });
    const p = d.pieces.find((x) => x.hour === Number(hour0))!;
    expect(readPieces(d.schema.schemaMessage, p.messages)).toEqual(want(hour0));
    expect(p.range.min).toBe(hour0 * H);
    expect(p.range.max).toBe(hour0 * H + H - 1n);
    expect(readPieces(d.schema.schemaMessage, d.pieces[0]!.messages)).toEqual(want(-1n));
  });

  it('puts rows with a null timestamp in the fallback (ingestion) hour', () => {
    const batch = recordBatch('logs', [
      ['timestamp', ts([hour0 * H, null, hour0 * H + 1n])],
      ['body', utf8(['a', 'b', 'c'])],
    ]);
    const same = decoder().decode(toIpc(batch), Number(hour0));
    expect(same.ok && !same.slow && same.pieces.map((p) => p.rows)).toEqual([3]);
    const other = decoder().decode(toIpc(batch), 7);
    expect(other.ok && other.pieces.map((p) => [p.hour, p.rows])).toEqual([
      [7, 1],
      [Number(hour0), 2],
    ]);
  });

  it('gives schemas with the same layout one id and keeps different ones apart', () => {
    const dec = decoder();
    const a = dec.decode(toIpc(spansBatch({ rows: 4, seed: 1, timestamp: () => 0n })), 0);
    const b = dec.decode(toIpc(spansBatch({ rows: 9, seed: 2, timestamp: () => 0n })), 0);
    const c = dec.decode(toIpc(logsBatch({ rows: 9, seed: 2, timestamp: () => 0n })), 0);
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (!a.ok || !b.ok || !c.ok) return;
    expect(a.schema.id).toBe(b.schema.id);
    expect(c.schema.id).not.toBe(a.schema.id);
    expect(a.schema.dictionaryColumns).toContain('service_name');
  });

  it('rejects unwritable entries with a reason', () => {
    const dec = decoder();
    const reasons = (bytes: Uint8Array) => {
      const d = dec.decode(bytes, 0);
      return d.ok ? 'ok' : d.error.reason;
    };
    expect(reasons(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toBe('ipc');
    expect(reasons(new Uint8Array(0))).toBe('ipc');
    expect(reasons(END_OF_STREAM)).toBe('ipc');
    const good = toIpc(spansBatch({ rows: 3, seed: 1, timestamp: () => 0n }));
    expect(reasons(good.subarray(0, good.length - 20))).toBe('ipc');
    expect(reasons(toIpc(recordBatch('../etc', [['timestamp', ts([0n])]])))).toBe('table-name');
    expect(reasons(toIpc(recordBatch('Spans', [['timestamp', ts([0n])]])))).toBe('table-name');
    expect(reasons(toIpc(recordBatch('not_a_table', [['timestamp', ts([0n])]])))).toBe(
      'unknown-table',
    );
    expect(reasons(toIpc(recordBatch('spans', [['start', ts([0n])]])))).toBe('timestamp');
    expect(reasons(toIpc(recordBatch('spans', [['timestamp', f64([1])]])))).toBe('timestamp');
    const noTable = new Schema([new Field('timestamp', ts([0n]).type)]);
    const raw = new RecordBatch(
      noTable,
      makeData({ type: new Struct(noTable.fields), length: 1, children: [ts([0n])] }),
    );
    expect(reasons(toIpc(raw))).toBe('table-name');
    const any = new EntryDecoder({ allowedTables: null });
    const custom = any.decode(
      toIpc(
        recordBatch('my_table', [
          ['timestamp', ts([0n])],
          ['v', f64([1.5])],
        ]),
      ),
      0,
    );
    expect(custom.ok).toBe(true);
  });
});
