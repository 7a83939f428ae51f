import { Message, MessageHeader, tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  bulkStream,
  describeTable,
  kitchenSinkBatch,
  kitchenSinkSchema,
  multiBatchStream,
  rng,
  schemaOnlyStream,
  streamOf,
} from '../test/fixtures.js';
import { MessageHeaderType, readArrowMessageInfo } from './arrow-message.js';
import { FlightInvalidArgumentError, FlightResourceExhaustedError } from './errors.js';
import { buildIpcStream, IpcStreamBuilder, splitIpcStream } from './ipc-framing.js';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe('readArrowMessageInfo (hand-written flatbuffer reader) vs apache-arrow Message.decode', () => {
  it('agrees on every message of schema, dictionary and record batch kinds', () => {
    const kinds = new Set<number>();
    for (const stream of [multiBatchStream(3, 40), schemaOnlyStream(), bulkStream(100_000, 3)]) {
      for (const m of splitIpcStream(stream)) {
        const ours = readArrowMessageInfo(m.header);
        const theirs = Message.decode(m.header);
        expect(ours.headerType).toBe(theirs.headerType);
        expect(ours.bodyLength).toBe(theirs.bodyLength);
        expect(ours.version).toBe(theirs.version);
        kinds.add(ours.headerType);
      }
    }
    expect([...kinds].sort()).toEqual([
      MessageHeader.Schema,
      MessageHeader.DictionaryBatch,
      MessageHeader.RecordBatch,
    ]);
  });

  it('corrupted headers raise FlightInvalidArgumentError only (never RangeError)', () => {
    const headers = splitIpcStream(multiBatchStream(2, 10)).map((m) => m.header);
    const r = rng(7);
    let rejected = 0;
    for (let i = 0; i < 4000; i++) {
      const h = Uint8Array.from(headers[i % headers.length]!);
      const mode = i % 3;
      let input: Uint8Array = h;
      if (mode === 0) input = h.subarray(0, Math.floor(r() * h.length));
      else {
        const flips = 1 + Math.floor(r() * 4);
        for (let f = 0; f < flips; f++)
          h[Math.floor(r() * Math.min(h.length, mode === 1 ? 48 : h.length))]! ^=
            1 << Math.floor(r() * 8);
      }
      try {
        readArrowMessageInfo(input);
      } catch (err) {
        expect(err).toBeInstanceOf(FlightInvalidArgumentError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(1000);
  });
});

describe('splitIpcStream / IpcStreamBuilder', () => {
  const cases: [string, () => Uint8Array][] = [
    ['kitchen sink, 5 batches, changing dictionaries', () => multiBatchStream(5, 60)],
    ['one row', () => multiBatchStream(1, 1)],
    ['schema only', () => schemaOnlyStream()],
    ['bulk, 4 batches', () => bulkStream(1 << 20, 4)],
  ];
  for (const [name, make] of cases) {
    it(`split → build is byte-identical and decodes to the same table: ${name}`, () => {
      const ipc = make();
      const messages = splitIpcStream(ipc);
      expect(messages[0]!.headerType).toBe(MessageHeaderType.Schema);
      for (const m of messages) expect(m.body.buffer).toBe(ipc.buffer);
      const rebuilt = buildIpcStream(messages);
      expect(same(rebuilt, ipc)).toBe(true);
      expect(describeTable(tableFromIPC(rebuilt))).toBe(describeTable(tableFromIPC(ipc)));
    });
  }

  it('dictionary batch messages are carried as their own messages', () => {
    const types = splitIpcStream(multiBatchStream(3, 20)).map((m) => m.headerType);
    expect(
      types.filter((t) => t === MessageHeaderType.DictionaryBatch).length,
    ).toBeGreaterThanOrEqual(3);
    expect(types.filter((t) => t === MessageHeaderType.RecordBatch).length).toBe(3);
  });

  it('reads the legacy (pre-1.0, no continuation word) format and writes the current one', () => {
    const legacy = streamOf(
      kitchenSinkSchema(),
      [kitchenSinkBatch(30, 9), kitchenSinkBatch(5, 10)],
      true,
    );
    const modern = streamOf(kitchenSinkSchema(), [
      kitchenSinkBatch(30, 9),
      kitchenSinkBatch(5, 10),
    ]);
    expect(legacy[0]).not.toBe(0xff);
    const rebuilt = buildIpcStream(splitIpcStream(legacy));
    expect(describeTable(tableFromIPC(rebuilt))).toBe(describeTable(tableFromIPC(legacy)));
    // Current framing: continuation word first; the same messages as the current writer's.
    expect(new DataView(rebuilt.buffer, rebuilt.byteOffset).getUint32(0, true)).toBe(0xffffffff);
    expect(splitIpcStream(rebuilt).map((m) => m.body.length)).toEqual(
      splitIpcStream(modern).map((m) => m.body.length),
    );
  });

  it('accepts a stream without the end-of-stream marker', () => {
    const ipc = multiBatchStream(2, 5);
    const cut = ipc.subarray(0, ipc.length - 8);
    expect(splitIpcStream(cut).length).toBe(splitIpcStream(ipc).length);
  });

  it('pads headers that are not a multiple of 8 bytes', () => {
    const [schema, ...rest] = splitIpcStream(multiBatchStream(1, 5));
    // Strip the writer's padding: flatbuffers tolerate the missing tail.
    const trimmed = {
      header: schema!.header.subarray(0, schema!.header.length - 3),
      body: schema!.body,
    };
    const rebuilt = buildIpcStream([trimmed, ...rest]);
    expect(new DataView(rebuilt.buffer, rebuilt.byteOffset).getInt32(4, true) % 8).toBe(0);
    expect(tableFromIPC(rebuilt).numRows).toBe(5);
  });

  it('rejects what is not a valid stream', () => {
    const ipc = multiBatchStream(2, 5);
    const messages = splitIpcStream(ipc);
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['EOS only', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)],
      ['truncated inside a body', ipc.subarray(0, ipc.length - 20)],
      ['truncated prefix', ipc.subarray(0, 2)],
      ['bytes after EOS', Buffer.concat([ipc, Uint8Array.of(1, 2, 3)])],
      ['negative metadata length', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80)],
      ['Arrow file format', Buffer.concat([Buffer.from('ARROW1\0\0'), ipc])],
      ['record batch first', buildWithoutCheck([messages[3]!, messages[0]!])],
    ];
    for (const [name, input] of bad) {
      expect(() => splitIpcStream(input), name).toThrow(FlightInvalidArgumentError);
    }
  });

  it('builder rejects wrong order, body length mismatch, and streams over the limit', () => {
    const messages = splitIpcStream(multiBatchStream(1, 50));
    const schema = messages[0]!;
    const batch = messages[messages.length - 1]!;
    expect(() => new IpcStreamBuilder().add(batch.header, batch.body)).toThrow(
      FlightInvalidArgumentError,
    );
    const twoSchemas = new IpcStreamBuilder();
    twoSchemas.add(schema.header, schema.body);
    expect(() => twoSchemas.add(schema.header, schema.body)).toThrow(FlightInvalidArgumentError);
    const short = new IpcStreamBuilder();
    short.add(schema.header, schema.body);
    expect(() => short.add(batch.header, batch.body.subarray(1))).toThrow(
      /header says the body is/,
    );
    expect(() => new IpcStreamBuilder().finish()).toThrow(FlightInvalidArgumentError);
    const total = buildIpcStream(messages).length;
    const limited = new IpcStreamBuilder(total - 1);
    expect(() => {
      for (const m of messages) limited.add(m.header, m.body);
    }).toThrow(FlightResourceExhaustedError);
    const exact = new IpcStreamBuilder(total);
    for (const m of messages) exact.add(m.header, m.body);
    expect(exact.finish().length).toBe(total);
  });
});

/** Frames messages without the order check, to produce invalid streams. */
function buildWithoutCheck(messages: { header: Uint8Array; body: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of messages) {
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32LE(0xffffffff, 0);
    prefix.writeInt32LE(m.header.length, 4);
    parts.push(prefix, m.header, m.body);
  }
  return Buffer.concat(parts);
}
