import {
  type Data,
  Field,
  FixedSizeList,
  Float64,
  Int16,
  Int32,
  LargeUtf8,
  makeData,
  Null,
  RecordBatch,
  RecordBatchReader,
  Struct,
  Table,
  tableToIPC,
  Union,
  UnionMode,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { bool, recordBatch, utf8 } from '../test/fixtures/arrow-build.js';
import { rowsOf, valueAt } from '../test/fixtures/oracle.js';
import {
  histogramBatch,
  logsBatch,
  rng,
  spansBatch,
  summaryBatch,
} from '../test/fixtures/synthetic-tables.js';
import { UnsupportedArrowTypeError } from './errors.js';
import { takeData } from './take.js';

function take(batch: RecordBatch, idx: number[]): RecordBatch {
  return new RecordBatch(batch.schema, takeData(batch.data as Data, Int32Array.from(idx)) as never);
}

function randomIndices(n: number, count: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => Math.floor(r() * n));
}

const base = 1_714_000_000_000_000_000n;
const generators = { spansBatch, logsBatch, histogramBatch, summaryBatch };

describe('takeData', () => {
  for (const [name, gen] of Object.entries(generators)) {
    it(`selects rows of ${name} (edge cases, nested, dictionaries) exactly`, () => {
      const batch = gen({
        rows: 300,
        seed: 11,
        edgeCases: true,
        timestamp: (i) => base + BigInt(i) * 7_777_777n,
      });
      const rows = rowsOf(batch);
      for (const idx of [
        [],
        [0],
        [299, 0, 150],
        randomIndices(300, 500, 3),
        Array.from({ length: 300 }, (_, i) => i),
      ]) {
        const out = take(batch, idx);
        expect(out.numRows).toBe(idx.length);
        expect(rowsOf(out)).toEqual(idx.map((i) => rows[i]));
      }
    });
  }

  it('respects offsets of sliced input (bitmaps, bools, offsets, children)', () => {
    const batch = spansBatch({
      rows: 200,
      seed: 5,
      edgeCases: true,
      timestamp: (i) => base - BigInt(i),
    });
    const sliced = batch.slice(37, 151);
    const rows = rowsOf(sliced);
    const idx = randomIndices(sliced.numRows, 200, 9);
    expect(rowsOf(take(sliced, idx))).toEqual(idx.map((i) => rows[i]));
    const b = recordBatch('t', [
      ['flag', bool([true, null, false, true, true, null, false, false, true, true])],
    ]).slice(3, 10);
    const bRows = rowsOf(b);
    expect(rowsOf(take(b, [6, 0, 1, 2]))).toEqual([bRows[6], bRows[0], bRows[1], bRows[2]]);
  });

  it('survives an IPC round trip of the result (what the compactor re-encodes)', () => {
    const batch = histogramBatch({
      rows: 100,
      seed: 2,
      edgeCases: true,
      timestamp: (i) => base + BigInt(i),
    });
    const idx = randomIndices(100, 64, 4);
    const out = take(batch, idx);
    const back = [...RecordBatchReader.from(tableToIPC(new Table([out]), 'stream'))];
    expect(back.flatMap((b) => rowsOf(b))).toEqual(rowsOf(out));
  });

  it('handles Null, LargeUtf8, Int16 and FixedSizeList<Float64>', () => {
    const n = 5;
    const nul = makeData({ type: new Null(), length: n });
    const plain = utf8(['a', null, 'ccc', '', 'ééé']);
    const large = makeData({
      type: new LargeUtf8(),
      length: n,
      nullCount: plain.nullCount,
      nullBitmap: plain.nullBitmap,
      valueOffsets: BigInt64Array.from(
        Array.from(plain.valueOffsets as Int32Array, (v) => BigInt(v)),
      ),
      data: plain.values,
    });
    const i16 = makeData({
      type: new Int16(),
      length: n,
      data: Int16Array.from([1, -2, 3, -32768, 32767]),
    });
    const child = makeData({
      type: new Float64(),
      length: n * 2,
      data: Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, Number.NaN]),
    });
    const fsl = makeData({
      type: new FixedSizeList(2, new Field('item', new Float64())),
      length: n,
      child,
    });
    const fields = [
      new Field('n', nul.type),
      new Field('large', large.type),
      new Field('i16', i16.type),
      new Field('fsl', fsl.type),
    ];
    const data = makeData({
      type: new Struct(fields),
      length: n,
      children: [nul, large, i16, fsl],
    });
    const idx = Int32Array.from([4, 4, 0, 2, 1]);
    const out = takeData(data as Data, idx);
    for (let k = 0; k < idx.length; k++) {
      expect(valueAt(out.children[0]!, k)).toBeNull();
      expect(out.children[1]!.type.toString()).toBe('LargeUtf8');
      const largeOut = new TextDecoder().decode(
        (out.children[1]!.values as Uint8Array).subarray(
          Number((out.children[1]!.valueOffsets as unknown as BigInt64Array)[k]),
          Number((out.children[1]!.valueOffsets as unknown as BigInt64Array)[k + 1]),
        ),
      );
      const src = valueAt(plain as Data, idx[k]!);
      expect(src === null ? '' : largeOut).toBe(src ?? '');
      expect(valueAt(out.children[2]!, k)).toBe(valueAt(i16 as Data, idx[k]!));
      expect(valueAt(out.children[3]!, k)).toEqual(valueAt(fsl as Data, idx[k]!));
    }
  });

  it('refuses unions with a typed error', () => {
    const type = new Union(UnionMode.Sparse, [0], [new Field('a', new Int32())]);
    const data = makeData({
      type,
      length: 1,
      typeIds: Int8Array.from([0]),
      children: [makeData({ type: new Int32(), length: 1, data: Int32Array.from([1]) })],
    });
    expect(() => takeData(data as Data, Int32Array.from([0]))).toThrow(UnsupportedArrowTypeError);
  });
});
