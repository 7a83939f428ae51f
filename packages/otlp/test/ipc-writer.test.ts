/**
 * Differential test of the hand-written IPC stream writer (src/ipc-writer.ts, behind
 * `toIpcStream`) against apache-arrow's RecordBatchStreamWriter, the writer it replaced:
 * on decoded batches of all seven tables, both streams have the same messages, the same
 * schema message bytes, the same field nodes and buffer regions and byte-identical bodies,
 * and decode (apache-arrow, and arrow-rs through parquet-wasm) to the same values.
 */
import { createRequire } from 'node:module';
import {
  type DecodedTable,
  decodeLogs,
  decodeLogsJson,
  decodeMetrics,
  decodeTraces,
  fromIpcStream,
  SCHEMA_VERSION,
  SCHEMA_VERSION_METADATA_KEY,
  TABLE_METADATA_KEY,
  TABLE_NAMES,
  toIpcStream,
} from '@sediment/otlp';
import {
  CompressionType,
  compressionRegistry,
  MessageHeader,
  RecordBatch,
  RecordBatchReader,
  Schema,
} from 'apache-arrow';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { describe, expect, it } from 'vitest';
import { compress, decompress } from 'zstd-napi';
import { BodyAssembler } from '../src/ipc-writer.js';
import { dataDifference } from './support/arrow-equal.js';
import { arrowJsIpcStream } from './support/arrow-js-ipc.js';
import { batchRows } from './support/arrow-rows.js';
import { genLogs, genMetrics, genTraces, Rng, toOtlpJson } from './support/generator.js';
import { encode, LogsRequest, MetricsRequest, TraceRequest } from './support/proto.js';
import { sdkLogs, sdkMetrics, sdkTraces } from './support/sdk.js';

const SEEDS = Number(process.env.OTLP_GENERATOR_SEEDS ?? 60);

interface RawMessage {
  prefix: Uint8Array;
  header: Uint8Array;
  message: Message;
  body: Uint8Array;
}

/** Splits a stream in the current IPC format; expects the end-of-stream marker last. */
function messages(ipc: Uint8Array): RawMessage[] {
  const dv = new DataView(ipc.buffer, ipc.byteOffset, ipc.length);
  const out: RawMessage[] = [];
  let pos = 0;
  for (;;) {
    expect(pos % 8).toBe(0);
    expect(dv.getUint32(pos, true)).toBe(0xffffffff);
    const len = dv.getInt32(pos + 4, true);
    if (len === 0) {
      expect(pos + 8).toBe(ipc.length);
      return out;
    }
    expect(len % 8).toBe(0);
    const header = ipc.subarray(pos + 8, pos + 8 + len);
    const message = Message.decode(header);
    const bodyStart = pos + 8 + len;
    out.push({
      prefix: ipc.subarray(pos, pos + 8),
      header,
      message,
      body: ipc.subarray(bodyStart, bodyStart + message.bodyLength),
    });
    pos = bodyStart + message.bodyLength;
  }
}

function batchLayout(m: Message): unknown {
  const h = m.header() as unknown as {
    length: number;
    nodes: { length: number; nullCount: number }[];
    buffers: { offset: number; length: number }[];
    compression: unknown;
    data?: typeof h;
    id?: number;
    isDelta?: boolean;
  };
  const rb = m.headerType === MessageHeader.DictionaryBatch ? h.data! : h;
  return {
    version: m.version,
    type: m.headerType,
    bodyLength: m.bodyLength,
    id: h.id,
    isDelta: h.isDelta,
    length: rb.length,
    compression: rb.compression ?? null,
    nodes: rb.nodes.map((n) => [n.length, n.nullCount]),
    buffers: rb.buffers.map((b) => [b.offset, b.length]),
  };
}

/** `toIpcStream` writes what Arrow JS's stream writer writes for `t`, message by message. */
function sameMessages(t: DecodedTable, what: string): void {
  const ours = messages(toIpcStream(t.table, t.batch));
  const theirs = messages(arrowJsIpcStream(t.table, t.batch));
  expect(ours.length, what).toBe(theirs.length);
  expect(ours[0]!.message.headerType, what).toBe(MessageHeader.Schema);
  expect(Buffer.from(ours[0]!.header).equals(Buffer.from(theirs[0]!.header)), what).toBe(true);
  expect(ours[0]!.body.length).toBe(0);
  for (let m = 1; m < ours.length; m++) {
    const a = ours[m]!;
    const b = theirs[m]!;
    expect(batchLayout(a.message), `${what} message ${m}`).toEqual(batchLayout(b.message));
    expect(Buffer.from(a.body).equals(Buffer.from(b.body)), `${what} message ${m} body`).toBe(true);
  }
}

async function decodedTables(): Promise<DecodedTable[]> {
  const tables = [
    ...decodeTraces(sdkTraces().protobuf).tables,
    ...decodeLogs((await sdkLogs()).protobuf).tables,
    ...decodeMetrics((await sdkMetrics('cumulative')).protobuf).tables,
    ...decodeMetrics((await sdkMetrics('delta')).protobuf).tables,
  ];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = new Rng(seed);
    tables.push(...decodeTraces(encode(TraceRequest, genTraces(r))).tables);
    tables.push(...decodeMetrics(encode(MetricsRequest, genMetrics(r))).tables);
    const logs = genLogs(r);
    tables.push(...decodeLogs(encode(LogsRequest, logs)).tables);
    const json = JSON.stringify(toOtlpJson(LogsRequest, logs, r));
    tables.push(...decodeLogsJson(new TextEncoder().encode(json)).tables);
  }
  return tables;
}

describe('IPC stream writer vs apache-arrow RecordBatchStreamWriter', async () => {
  const tables = await decodedTables();

  it('the inputs cover all seven tables, with nulls', () => {
    expect(new Set(tables.map((t) => t.table))).toEqual(new Set(TABLE_NAMES));
    expect(tables.some((t) => t.batch.data.children.some((c) => c.nullCount > 0))).toBe(true);
  });

  it('writes the same messages: schema bytes, field nodes, buffers and bodies', () => {
    for (const [i, t] of tables.entries()) {
      sameMessages(t, `table ${i} (${t.table}, ${t.batch.numRows} rows)`);
    }
  });

  it('lays out every table of every decoder itself, transient decodes (the acceptor’s) included, byte for byte as Arrow JS', () => {
    const covered = (t: DecodedTable) =>
      t.batch.data.children.every((c) => new BodyAssembler().visit(c)) &&
      [...t.batch.dictionaries.values()].every((d) =>
        d!.data.every((c) => new BodyAssembler().visit(c)),
      );
    for (const [i, t] of tables.entries()) expect(covered(t), `table ${i} (${t.table})`).toBe(true);
    const transient = { transient: true };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = new Rng(seed);
      const requests = [
        () => decodeTraces(encode(TraceRequest, genTraces(r)), transient),
        () => decodeMetrics(encode(MetricsRequest, genMetrics(r)), transient),
        () => decodeLogs(encode(LogsRequest, genLogs(r)), transient),
      ];
      // Each decode's tables are views of buffers the next decode reuses: checked at once.
      for (const decode of requests) {
        for (const t of decode().tables) {
          const what = `seed ${seed}, transient ${t.table}`;
          expect(covered(t), what).toBe(true);
          sameMessages(t, what);
        }
      }
    }
  });

  it('leaves shapes the decoders never build (a sliced batch) to Arrow JS’s assembler: same bytes', () => {
    const t = tables.find((x) => x.table === 'spans' && x.batch.numRows > 4)!;
    const sliced = t.batch.slice(1, t.batch.numRows - 1);
    expect(sliced.data.children.some((c) => new BodyAssembler().visit(c))).toBe(false);
    sameMessages({ ...t, batch: sliced }, 'sliced spans');
  });

  it('re-encodes the cached schema message when the schema changes', () => {
    const t = tables.find((x) => x.table === 'spans')!;
    const schemaBytes = (ipc: Uint8Array) => Buffer.from(messages(ipc)[0]!.header);
    const plain = schemaBytes(toIpcStream('spans', t.batch));
    const meta = new Map([['extra', 'x'], ...t.batch.schema.metadata]);
    const other = new RecordBatch(new Schema(t.batch.schema.fields, meta), t.batch.data);
    const changed = schemaBytes(toIpcStream('spans', other));
    expect(changed.equals(plain)).toBe(false);
    expect(changed.equals(schemaBytes(arrowJsIpcStream('spans', other)))).toBe(true);
    expect(schemaBytes(toIpcStream('spans', t.batch)).equals(plain)).toBe(true);
    // The same batch written under another table name carries that name.
    const named = messages(toIpcStream('logs', t.batch))[0]!.message.header() as Schema;
    expect(named.metadata.get(TABLE_METADATA_KEY)).toBe('logs');
  });

  it('decodes to the same values and buffers', () => {
    for (const [i, t] of tables.entries()) {
      const what = `table ${i} (${t.table})`;
      const back = fromIpcStream(toIpcStream(t.table, t.batch));
      expect(back.table).toBe(t.table);
      expect([...back.batch.schema.metadata]).toEqual([
        [TABLE_METADATA_KEY, t.table],
        [SCHEMA_VERSION_METADATA_KEY, SCHEMA_VERSION],
      ]);
      const old = RecordBatchReader.from(arrowJsIpcStream(t.table, t.batch)).readAll()[0]!;
      expect(dataDifference(back.batch.data, old.data, what)).toBeNull();
      expect(batchRows(back.batch), what).toEqual(batchRows(t.batch));
    }
  });

  it('arrow-rs (parquet-wasm) reads every stream', () => {
    const lakeRequire = createRequire(new URL('../../lake/package.json', import.meta.url));
    const pq = lakeRequire('parquet-wasm/node') as {
      Table: { fromIPCStream(b: Uint8Array): { numBatches: number; free(): void } };
    };
    for (const t of tables) {
      const table = pq.Table.fromIPCStream(toIpcStream(t.table, t.batch));
      expect(table.numBatches).toBe(1);
      table.free();
    }
  });

  it('zstd body compression: Arrow JS with its zstd codec reads the same values, every batch says ZSTD, and spans get smaller', () => {
    compressionRegistry.set(CompressionType.ZSTD, {
      encode: (b) => compress(b),
      decode: (b) => decompress(b),
    });
    let plainBytes = 0;
    let zstdBytes = 0;
    for (const [i, t] of tables.entries()) {
      const what = `table ${i} (${t.table})`;
      const z = toIpcStream(t.table, t.batch, { compression: 'zstd' });
      const ms = messages(z);
      expect(ms[0]!.message.headerType, what).toBe(MessageHeader.Schema);
      for (const m of ms.slice(1)) {
        expect((batchLayout(m.message) as { compression: unknown }).compression, what).toEqual(
          expect.objectContaining({ type: CompressionType.ZSTD }),
        );
      }
      const back = RecordBatchReader.from(z).readAll();
      expect(back.length, what).toBe(1);
      expect(batchRows(back[0]!), what).toEqual(batchRows(t.batch));
      if (t.table === 'spans') {
        plainBytes += toIpcStream(t.table, t.batch).length;
        zstdBytes += z.length;
      }
    }
    expect(zstdBytes).toBeLessThan(plainBytes);
  });

  it('zstdLevel: a negative (fast) level reads back the same values; spans land between plain and level 1 in size', () => {
    compressionRegistry.set(CompressionType.ZSTD, {
      encode: (b) => compress(b),
      decode: (b) => decompress(b),
    });
    const sizes = { plain: 0, level1: 0, fast: 0 };
    for (const [i, t] of tables.entries()) {
      const what = `table ${i} (${t.table})`;
      const fast = toIpcStream(t.table, t.batch, { compression: 'zstd', zstdLevel: -1 });
      const back = RecordBatchReader.from(fast).readAll();
      expect(back.length, what).toBe(1);
      expect(batchRows(back[0]!), what).toEqual(batchRows(t.batch));
      if (t.table === 'spans') {
        sizes.plain += toIpcStream(t.table, t.batch).length;
        sizes.level1 += toIpcStream(t.table, t.batch, { compression: 'zstd', zstdLevel: 1 }).length;
        sizes.fast += fast.length;
      }
    }
    expect(sizes.fast).toBeLessThan(sizes.plain);
    expect(sizes.fast).toBeGreaterThan(sizes.level1);
  });
});
