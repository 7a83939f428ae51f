import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { threadsAt as count, threadNices } from '../../../test/support/thread-nice.js';
import { spansBatch, toIpc } from '../test/fixtures/synthetic-tables.js';
import { EntryDecoder } from './entry-decoder.js';
import { ParquetEncodeError } from './errors.js';
import {
  joinIpcStream,
  type ParquetEncodeOptions,
  SEDIMENT_CREATED_BY,
} from './parquet-encoder.js';
import { InlineParquetEncoder, WorkerParquetEncoder } from './parquet-worker.js';

function stream(): { bytes: () => Uint8Array; options: ParquetEncodeOptions } {
  const d = new EntryDecoder({ allowedTables: null });
  const messages: Uint8Array[] = [];
  let schema: Uint8Array | undefined;
  let dictionaryColumns: readonly string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = d.decode(
      toIpc(spansBatch({ rows: 100, seed: i, edgeCases: true, timestamp: (j) => BigInt(j) })),
      0,
    );
    if (!r.ok) throw r.error;
    schema = r.schema.schemaMessage;
    dictionaryColumns = r.schema.dictionaryColumns;
    for (const p of r.pieces) messages.push(...p.messages);
  }
  return {
    bytes: () => joinIpcStream(schema!, messages),
    options: { rowGroupRows: 128, dictionaryColumns, keyValueMetadata: new Map([['k', 'v']]) },
  };
}

describe('Parquet encoders', () => {
  it('the worker writes byte-for-byte what the inline encoder writes', async () => {
    const s = stream();
    const worker = new WorkerParquetEncoder();
    try {
      const inline = await new InlineParquetEncoder().encode(s.bytes(), s.options);
      const [a, b] = await Promise.all([
        worker.encode(s.bytes(), s.options),
        worker.encode(s.bytes(), s.options),
      ]);
      expect(a.length).toBeGreaterThan(1000);
      // Written by the sediment writer (not a parquet-wasm fallback).
      expect(Buffer.from(inline).includes(SEDIMENT_CREATED_BY)).toBe(true);
      expect(Buffer.from(a).equals(Buffer.from(inline))).toBe(true);
      expect(Buffer.from(b).equals(Buffer.from(inline))).toBe(true);
    } finally {
      await worker.close();
    }
  });

  it('reports data arrow-rs rejects as ParquetEncodeError and keeps working', async () => {
    const s = stream();
    const worker = new WorkerParquetEncoder();
    try {
      const broken = () => s.bytes().fill(7, 400, 900); // corrupt the first record batch's header
      // (A stream given to the worker is transferred: each encoder gets its own copy.)
      await expect(worker.encode(broken(), s.options)).rejects.toBeInstanceOf(ParquetEncodeError);
      await expect(new InlineParquetEncoder().encode(broken(), s.options)).rejects.toBeInstanceOf(
        ParquetEncodeError,
      );
      expect((await worker.encode(s.bytes(), s.options)).length).toBeGreaterThan(1000);
    } finally {
      await worker.close();
    }
  });

  it.skipIf(process.platform !== 'linux')(
    'nice lowers the priority of the encoding thread alone; the default leaves it as is',
    async () => {
      const s = stream();
      const before = threadNices();
      const ownNice = os.getPriority();
      const niced = new WorkerParquetEncoder({
        nice: 7,
        onNiceFailed: (reason) => expect.fail(`nice not applied: ${reason}`),
      });
      const plain = new WorkerParquetEncoder();
      try {
        // The thread starts with the first file; its priority is set before it takes one.
        expect((await niced.encode(s.bytes(), s.options)).length).toBeGreaterThan(1000);
        expect((await plain.encode(s.bytes(), s.options)).length).toBeGreaterThan(1000);
        const during = threadNices();
        expect(count(during, 7)).toBe(count(before, 7) + 1);
        const tid = [...during].find(([t, n]) => n === 7 && before.get(t) !== 7)![0];
        expect(before.has(tid)).toBe(false); // a new thread: the worker, not an existing one
        expect(os.getPriority()).toBe(ownNice); // the calling thread keeps its priority
        // The un-niced encoder's thread runs at the priority it inherited.
        const fresh = [...during].filter(([t]) => !before.has(t) && t !== tid);
        expect(fresh.length).toBeGreaterThan(0);
        expect(fresh.every(([, n]) => n === ownNice)).toBe(true);
      } finally {
        await niced.close();
        await plain.close();
      }
      expect(count(threadNices(), 7)).toBe(count(before, 7));
    },
  );

  it('nice outside 0..19 is refused', () => {
    expect(() => new WorkerParquetEncoder({ nice: 20 })).toThrow(RangeError);
    expect(() => new WorkerParquetEncoder({ nice: -1 })).toThrow(RangeError);
    expect(() => new WorkerParquetEncoder({ nice: 1.5 })).toThrow(RangeError);
  });
});
