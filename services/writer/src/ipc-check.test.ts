import { FlightInvalidArgumentError } from '@sediment/flight';
import {
  Field,
  IntervalYearMonth,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
} from 'apache-arrow';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { describe, expect, it } from 'vitest';
import { prng } from '../../../test/support/otlp-workload.js';
import { requestPuts, type TablePut } from '../test/support.js';
import { IpcCheckError, IpcChecker } from './ipc-check.js';
import { createPutValidator } from './validate-put.js';

const T0 = 1_700_000_000_000_000_000n;

/** One put per table Sediment writes, small enough to fuzz quickly. */
function samplePuts(): TablePut[] {
  return [
    ...requestPuts('traces', { request: 1, rows: 7, startNs: T0 }),
    ...requestPuts('logs', { request: 2, rows: 5, startNs: T0 }),
    ...requestPuts('metrics', { request: 3, rows: 3, startNs: T0 }),
  ];
}

/** What the check replaces: Arrow JS decodes the stream and every value in it. */
function arrowDecodes(ipc: Uint8Array): number | undefined {
  try {
    const reader = RecordBatchReader.from(ipc);
    reader.open();
    let rows = 0;
    for (const batch of reader) {
      for (const child of batch.data.children) {
        if (child.length !== batch.numRows) return undefined;
      }
      batch.toArray();
      rows += batch.numRows;
    }
    return rows;
  } catch {
    return undefined;
  }
}

/** Indices where the IPC metadata (prefixes and headers, not the bodies) of a stream lies. */
function headerBytes(ipc: Uint8Array): number[] {
  const out: number[] = [];
  let pos = 0;
  for (const m of messages(ipc)) {
    const len = new DataView(m.buffer, m.byteOffset, 8).getInt32(4, true);
    for (let i = pos; i < pos + 8 + len; i++) out.push(i);
    pos += m.length;
  }
  return out;
}

function bodyLengthOf(meta: Uint8Array): number {
  return Number(Message.decode(meta).bodyLength);
}

describe('IpcChecker', () => {
  it('accepts every table the OTLP decoder writes, with Arrow JS row counts', () => {
    const checker = new IpcChecker();
    const puts = samplePuts();
    expect(puts.map((p) => p.table).sort()).toEqual(
      expect.arrayContaining([
        'logs',
        'spans',
        'metrics_gauge',
        'metrics_sum',
        'metrics_histogram',
      ]),
    );
    for (const p of puts) {
      const result = checker.check(p.ipc);
      expect(result, p.table).toBeDefined();
      expect(result!.rows).toBe(p.rows);
      expect(result!.rows).toBe(arrowDecodes(p.ipc));
      expect(result!.schema.metadata.get('sediment.table')).toBe(p.table);
      // Second time: the compiled schema comes from the cache, same answer.
      expect(checker.check(p.ipc)!.rows).toBe(p.rows);
    }
  });

  it('whatever it accepts from thousands of corrupted streams, Arrow JS decodes too', () => {
    const checker = new IpcChecker();
    const rnd = prng(7);
    let accepted = 0;
    let rejected = 0;
    for (const p of samplePuts()) {
      const headers = headerBytes(p.ipc);
      for (let i = 0; i < 400; i++) {
        const bytes = p.ipc.slice();
        const mode = i % 4;
        if (mode === 3) {
          // Truncation anywhere.
          const cut = Math.floor(rnd() * bytes.length);
          const short = bytes.subarray(0, cut);
          expectConsistent(checker, short);
          continue;
        }
        // 1–3 byte flips, mostly in the metadata where the structure lives.
        const flips = 1 + Math.floor(rnd() * 3);
        for (let f = 0; f < flips; f++) {
          const at =
            mode === 2
              ? Math.floor(rnd() * bytes.length)
              : headers[Math.floor(rnd() * headers.length)]!;
          bytes[at] = Math.floor(rnd() * 256);
        }
        if (expectConsistent(checker, bytes)) accepted++;
        else rejected++;
      }
    }
    // Both outcomes happen, so the property is exercised both ways.
    expect(accepted).toBeGreaterThan(50);
    expect(rejected).toBeGreaterThan(50);
  });

  it('rejects a batch of another schema, a second Schema, and bytes after the end marker', () => {
    const checker = new IpcChecker();
    const [spans] = requestPuts('traces', { request: 1, rows: 4, startNs: T0 });
    const [logs] = requestPuts('logs', { request: 1, rows: 4, startNs: T0 });
    const spanMessages = messages(spans!.ipc);
    const logMessages = messages(logs!.ipc);
    const eos = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

    // spans schema + spans dictionaries + a logs record batch
    const mixed = concat([...spanMessages.slice(0, -1), logMessages.at(-1)!, eos]);
    expect(() => checker.check(mixed)).toThrow(IpcCheckError);
    expect(() => checker.check(mixed)).toThrow(/field nodes|dictionary|buffers/);

    const twoSchemas = concat([spanMessages[0]!, ...spanMessages, eos]);
    expect(() => checker.check(twoSchemas)).toThrow(/only one Schema/);

    const trailing = concat([spans!.ipc, new Uint8Array([1, 2, 3])]);
    expect(() => checker.check(trailing)).toThrow(/after the end-of-stream/);

    expect(() => checker.check(spans!.ipc.subarray(0, spans!.ipc.length - 40))).toThrow(
      /runs past the end/,
    );
    expect(() => checker.check(new Uint8Array(0))).toThrow(/no Schema/);
  });

  it('a corrupted byte anywhere in a schema is rejected or accepted, never hangs', () => {
    // One such flip made Arrow JS's own schema decoder loop for ever.
    const checker = new IpcChecker();
    const [spans] = requestPuts('traces', { request: 1, rows: 4, startNs: T0 });
    const schemaEnd = messages(spans!.ipc)[0]!.length;
    let rejected = 0;
    for (let at = 8; at < schemaEnd; at++) {
      for (const value of [0, 195]) {
        const bytes = spans!.ipc.slice();
        if (bytes[at] === value) continue;
        bytes[at] = value;
        if (!expectConsistent(checker, bytes)) rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(100);
  });

  it('leaves types it has no layout for to a full decode', () => {
    const schema = new Schema([new Field('months', new IntervalYearMonth(), false)]);
    const months = makeData({
      type: new IntervalYearMonth(),
      length: 3,
      data: new Int32Array([1, 2, 3]),
    });
    const batch = new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: 3, nullCount: 0, children: [months] }),
    );
    const writer = new RecordBatchStreamWriter();
    writer.write(batch);
    writer.finish();
    const ipc = writer.toUint8Array(true);
    expect(new IpcChecker().check(ipc)).toBeUndefined();
    expect(createPutValidator()(['intervals'], ipc)).toEqual({
      table: 'intervals',
      rows: 3,
      batches: 1,
    });
    expect(() => createPutValidator()(['intervals'], ipc.subarray(0, ipc.length - 20))).toThrow(
      FlightInvalidArgumentError,
    );
  });
});

/** The check accepts ⇒ Arrow JS decodes with the same row count. Returns whether accepted. */
function expectConsistent(checker: IpcChecker, bytes: Uint8Array): boolean {
  let rows: number | undefined;
  try {
    rows = checker.check(bytes)?.rows;
  } catch (err) {
    expect(err).toBeInstanceOf(IpcCheckError);
    return false;
  }
  if (rows === undefined) return false; // full decode path: not this module's decision
  expect(arrowDecodes(bytes)).toBe(rows);
  return true;
}

/** The framed messages of a stream (without the end marker). */
function messages(ipc: Uint8Array): Uint8Array[] {
  const view = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos + 8 <= ipc.length) {
    const len = view.getInt32(pos + 4, true);
    if (len <= 0) break;
    const end = pos + 8 + len + bodyLengthOf(ipc.subarray(pos + 8, pos + 8 + len));
    out.push(ipc.subarray(pos, end));
    pos = end;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
