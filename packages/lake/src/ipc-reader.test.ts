import {
  type Data,
  DateDay,
  Field,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { recordBatch, ts } from '../test/fixtures/arrow-build.js';
import { rng, spansBatch, TABLE_GENERATORS, toIpc } from '../test/fixtures/synthetic-tables.js';
import { joinedMessages, joinedStream } from '../test/helpers/joined-ipc.js';
import { IpcHeaderError } from './ipc-flatbuffers.js';
import { IpcReadError, readIpcBatches } from './ipc-reader.js';
import { ParquetWriter } from './parquet-writer.js';

const H = 3_600_000_000_000n;
function entriesOf(
  gen: (typeof TABLE_GENERATORS)[keyof typeof TABLE_GENERATORS],
  n: number,
  edgeCases: boolean,
) {
  return Array.from({ length: n }, (_, i) =>
    toIpc(
      gen({
        rows: 1 + ((i * 37) % 90),
        seed: 100 + i,
        edgeCases,
        timestamp: (j) => 480_000n * H + BigInt(i * 100 + j),
      }),
    ),
  );
}

/** What Arrow JS's reader makes of the same stream. */
function arrowJs(input: Uint8Array): Data[] {
  const out: Data[] = [];
  for (const b of RecordBatchReader.from(input)) if (b.numRows > 0) out.push(b.data as Data);
  return out;
}

const bytesOf = (v: ArrayBufferView | undefined) =>
  v ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : '';

/** Every property of `Data` the Parquet writer reads, recursively. */
function sameData(ours: Data, theirs: Data, path: string): void {
  expect(String(ours.type), path).toBe(String(theirs.type));
  expect([ours.offset, ours.length, ours.nullCount], path).toEqual([
    theirs.offset,
    theirs.length,
    theirs.nullCount,
  ]);
  expect(ours.values?.constructor, `${path} values type`).toBe(theirs.values?.constructor);
  expect(bytesOf(ours.values), `${path} values`).toBe(bytesOf(theirs.values));
  expect(bytesOf(ours.valueOffsets), `${path} offsets`).toBe(bytesOf(theirs.valueOffsets));
  if (theirs.nullCount > 0) {
    expect(bytesOf(ours.nullBitmap), `${path} validity`).toBe(bytesOf(theirs.nullBitmap));
  }
  expect(ours.children.length, path).toBe(theirs.children.length);
  for (const [i, c] of ours.children.entries()) sameData(c, theirs.children[i]!, `${path}.${i}`);
  if (theirs.dictionary) {
    expect(ours.dictionary?.data.length, `${path} dictionary`).toBe(1);
    sameData(ours.dictionary!.data[0]!, theirs.dictionary.data[0]!, `${path} dictionary`);
  }
}

describe('IPC reader (Arrow JS not involved)', () => {
  for (const [name, gen] of Object.entries(TABLE_GENERATORS)) {
    for (const edgeCases of [false, true]) {
      it(`reads ${name}${edgeCases ? ' (edge cases)' : ''} exactly as Arrow JS does, and the Parquet bytes are the same`, () => {
        const entries = entriesOf(gen, 12, edgeCases);
        const messages = joinedMessages(entries);
        const stream = joinedStream(entries);
        // The same stream at an odd address: buffers are misaligned and must be copied.
        const odd = new Uint8Array(stream.length + 1).subarray(1);
        odd.set(stream);
        const theirs = arrowJs(stream);
        expect(theirs.length).toBe(12);
        for (const input of [stream, messages, odd]) {
          const ours = readIpcBatches(input);
          expect(ours).toBeDefined();
          expect(ours!.schema.fields.map(String)).toEqual(theirsSchema(stream));
          expect(ours!.batches.length).toBe(theirs.length);
          for (const [i, b] of ours!.batches.entries()) sameData(b, theirs[i]!, `batch ${i}`);
        }
        const writer = new ParquetWriter();
        const options = { rowGroupRows: 500, createdBy: 'test' };
        const expected = writer.writeStream(stream, options, 'arrow-js');
        for (const input of [stream, messages, odd]) {
          expect(Buffer.from(writer.writeStream(input, options)).equals(expected)).toBe(true);
        }
      });
    }
  }

  it('leaves types it does not read (Date here) to Arrow JS', () => {
    const rows = 3;
    const days = makeData({ type: new DateDay(), length: rows, data: new Int32Array([1, 2, 3]) });
    const batch = recordBatch('odd', [['timestamp', ts([1n, 2n, 3n])]]);
    const fields = [...batch.schema.fields, new Field('d', new DateDay(), false)];
    const schema = new Schema(fields, batch.schema.metadata);
    const data = makeData({
      type: new Struct(fields),
      length: rows,
      children: [...batch.data.children, days],
    });
    const stream = RecordBatchStreamWriter.writeAll([new RecordBatch(schema, data)]).toUint8Array(
      true,
    );
    expect(readIpcBatches(stream)).toBeUndefined();
    // ... which reads it.
    expect(arrowJs(stream).map((d) => d.length)).toEqual([rows]);
  });

  it('throws a typed error, never hangs, for truncated and corrupted streams', () => {
    const stream = joinedStream(entriesOf(spansBatch, 3, true));
    const r = rng(5);
    let threw = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const bytes = stream.slice(0, trial % 3 === 0 ? Math.floor(r() * stream.length) : undefined);
      if (trial % 3 !== 0) {
        for (let k = 0; k < 1 + Math.floor(r() * 4); k++) {
          bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
        }
      }
      try {
        readIpcBatches(bytes);
      } catch (err) {
        // Arrow JS decodes the schema message: its errors are plain Errors.
        const typed = err instanceof IpcHeaderError || err instanceof IpcReadError;
        if (!typed) expect(err, String(err)).toBeInstanceOf(Error);
        threw++;
      }
    }
    expect(threw).toBeGreaterThan(1000);
  });
});

function theirsSchema(stream: Uint8Array): string[] {
  const reader = RecordBatchReader.from(stream);
  reader.open();
  return reader.schema.fields.map(String);
}
