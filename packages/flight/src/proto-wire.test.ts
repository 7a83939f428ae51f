import { describe, expect, it } from 'vitest';
import { rng } from '../test/fixtures.js';
import { loadFlightProto } from '../test/proto-root.js';
import { FlightInvalidArgumentError } from './errors.js';
import {
  DescriptorType,
  decodeFlightData,
  decodeFlightDescriptor,
  decodePutResult,
  encodeFlightData,
  encodeFlightDescriptor,
  encodePutResult,
  FlightDataFrame,
} from './proto-wire.js';

const pb = loadFlightProto();

function bytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

const hex = (b: Uint8Array | undefined | null) => Buffer.from(b ?? []).toString('hex');

describe('FlightData codec vs protobufjs (our Flight.proto)', () => {
  const cases = [
    { name: 'empty', init: {} },
    { name: 'body only', init: { dataBody: bytes(3, 1) } },
    { name: 'header only', init: { dataHeader: bytes(200, 2) } },
    {
      name: 'first message',
      init: {
        descriptor: { type: DescriptorType.PATH, cmd: new Uint8Array(0), path: ['spans'] },
        dataHeader: bytes(1304, 3),
        appMetadata: bytes(16, 4),
      },
    },
    {
      name: 'everything, large body (multi-byte varint lengths)',
      init: {
        descriptor: {
          type: DescriptorType.CMD,
          cmd: bytes(130, 5),
          path: ['a', 'ünï', '日本', ''],
        },
        dataHeader: bytes(17000, 6),
        appMetadata: bytes(1, 7),
        dataBody: bytes(3_000_000, 8),
      },
    },
  ];

  for (const c of cases) {
    it(`encode → protobufjs decode: ${c.name}`, () => {
      const wire = encodeFlightData(c.init);
      const m = pb.FlightData.toObject(pb.FlightData.decode(wire), { defaults: true }) as {
        flight_descriptor?: { type: number; cmd: Uint8Array; path: string[] };
        data_header: Uint8Array;
        app_metadata: Uint8Array;
        data_body: Uint8Array;
      };
      expect(hex(m.data_header)).toBe(hex(c.init.dataHeader));
      expect(hex(m.app_metadata)).toBe(hex(c.init.appMetadata));
      expect(hex(m.data_body)).toBe(hex(c.init.dataBody));
      if (c.init.descriptor === undefined) {
        expect(m.flight_descriptor ?? undefined).toBeUndefined();
      } else {
        expect(m.flight_descriptor!.type).toBe(c.init.descriptor.type);
        expect(hex(m.flight_descriptor!.cmd)).toBe(hex(c.init.descriptor.cmd));
        expect(m.flight_descriptor!.path).toEqual(c.init.descriptor.path);
      }
      // Canonical field order: protobufjs writes the same bytes.
      const again = pb.FlightData.encode(pb.FlightData.decode(wire)).finish();
      expect(hex(again)).toBe(hex(wire));
    });

    it(`FlightDataFrame writes the bytes of encodeFlightData, as grpc-js frames it: ${c.name}`, () => {
      const wire = encodeFlightData(c.init);
      const frame = new FlightDataFrame(c.init);
      expect(frame.length).toBe(wire.length);
      expect(hex(frame.toBuffer())).toBe(hex(wire));
      // grpc-js (compression-filter.js): allocUnsafe(length + 5), then message.copy(out, 5).
      const out = Buffer.alloc(frame.length + 5, 0xee);
      expect(frame.copy(out, 5)).toBe(wire.length);
      expect(hex(out.subarray(0, 5))).toBe('eeeeeeeeee');
      expect(hex(out.subarray(5))).toBe(hex(wire));
      expect(() => frame.copy(Buffer.alloc(frame.length + 4), 5)).toThrow(RangeError);
    });

    it(`protobufjs encode → decode (views, no copy): ${c.name}`, () => {
      const obj: Record<string, unknown> = {};
      if (c.init.descriptor) obj.flight_descriptor = c.init.descriptor;
      if (c.init.dataHeader) obj.data_header = c.init.dataHeader;
      if (c.init.appMetadata) obj.app_metadata = c.init.appMetadata;
      if (c.init.dataBody) obj.data_body = c.init.dataBody;
      const wire = pb.FlightData.encode(pb.FlightData.fromObject(obj)).finish();
      const d = decodeFlightData(wire);
      expect(hex(d.dataHeader)).toBe(hex(c.init.dataHeader));
      expect(hex(d.appMetadata)).toBe(hex(c.init.appMetadata));
      expect(hex(d.dataBody)).toBe(hex(c.init.dataBody));
      if (d.dataBody.length > 0) expect(d.dataBody.buffer).toBe(wire.buffer);
      if (c.init.descriptor === undefined) expect(d.descriptor).toBeUndefined();
      else {
        expect(d.descriptor!.type).toBe(c.init.descriptor.type);
        expect(d.descriptor!.path).toEqual(c.init.descriptor.path);
        expect(hex(d.descriptor!.cmd)).toBe(hex(c.init.descriptor.cmd));
      }
    });
  }

  it('skips unknown fields of every wire type and accepts any field order', () => {
    const w = new protobuf_Writer();
    w.bytesField(1000, Uint8Array.of(9, 9, 9));
    w.varintField(7, 300);
    w.fixed64Field(8);
    w.fixed32Field(9);
    w.bytesField(999, Uint8Array.of(1, 2));
    w.bytesField(3, Uint8Array.of(5));
    w.bytesField(2, Uint8Array.of(6, 6));
    const d = decodeFlightData(w.finish());
    expect([...d.dataBody]).toEqual([9, 9, 9]);
    expect([...d.appMetadata]).toEqual([5]);
    expect([...d.dataHeader]).toEqual([6, 6]);
  });

  it('merges a repeated descriptor field and keeps the last scalar', () => {
    const d1 = encodeFlightDescriptor({ type: 1, cmd: new Uint8Array(0), path: ['a'] });
    const d2 = encodeFlightDescriptor({ type: 1, cmd: new Uint8Array(0), path: ['b'] });
    const w = new protobuf_Writer();
    w.bytesField(1, d1);
    w.bytesField(2, Uint8Array.of(1));
    w.bytesField(1, d2);
    w.bytesField(2, Uint8Array.of(2));
    const d = decodeFlightData(w.finish());
    expect(d.descriptor!.path).toEqual(['a', 'b']);
    expect([...d.dataHeader]).toEqual([2]);
    const viaPb = pb.FlightData.decode(w.finish()) as unknown as {
      flight_descriptor: { path: string[] };
    };
    expect(viaPb.flight_descriptor.path).toEqual(['a', 'b']);
  });

  it('FlightDescriptor: negative enum values round-trip like protobufjs', () => {
    const wire = encodeFlightDescriptor({ type: -2, cmd: new Uint8Array(0), path: [] });
    const viaPb = pb.FlightDescriptor.decode(wire) as unknown as { type: number };
    expect(viaPb.type).toBe(-2);
    expect(decodeFlightDescriptor(pb.FlightDescriptor.encode({ type: -7 }).finish()).type).toBe(-7);
    expect(wire.length).toBe(11);
  });

  it('rejects invalid UTF-8 in a path element', () => {
    const w = new protobuf_Writer();
    w.bytesField(3, Uint8Array.of(0xff, 0xfe));
    expect(() => decodeFlightDescriptor(w.finish())).toThrow(FlightInvalidArgumentError);
  });

  it('PutResult both ways', () => {
    for (const meta of [new Uint8Array(0), bytes(1, 1), bytes(300, 2)]) {
      const ours = encodePutResult(meta);
      const theirs = pb.PutResult.encode({ app_metadata: meta }).finish();
      expect(hex(ours)).toBe(hex(theirs));
      expect(hex(decodePutResult(theirs).appMetadata)).toBe(hex(meta));
    }
    expect(encodePutResult(undefined).length).toBe(0);
  });

  it('truncations and random bytes raise FlightInvalidArgumentError, never anything else', () => {
    const wire = encodeFlightData({
      descriptor: { type: 1, cmd: new Uint8Array(0), path: ['spans', 'x'] },
      dataHeader: bytes(40, 1),
      appMetadata: bytes(8, 2),
      dataBody: bytes(200, 3),
    });
    for (let cut = 0; cut < wire.length; cut++) {
      try {
        decodeFlightData(wire.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(FlightInvalidArgumentError);
      }
    }
    const r = rng(42);
    for (let i = 0; i < 3000; i++) {
      const junk = bytes(1 + Math.floor(r() * 64), i);
      try {
        decodeFlightData(junk);
        decodePutResult(junk);
      } catch (err) {
        expect(err).toBeInstanceOf(FlightInvalidArgumentError);
      }
    }
  });

  it('rejects group wire types and 11-byte varints', () => {
    expect(() => decodeFlightData(Uint8Array.of((5 << 3) | 3))).toThrow(FlightInvalidArgumentError);
    expect(() =>
      decodeFlightData(
        Uint8Array.of(0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
      ),
    ).toThrow(FlightInvalidArgumentError);
    // A length that does not fit in 32 bits.
    expect(() => decodeFlightData(Uint8Array.of(0x12, 0x80, 0x80, 0x80, 0x80, 0x10))).toThrow(
      FlightInvalidArgumentError,
    );
  });
});

/** A tiny protobuf writer for hand-made test messages (odd field orders, unknown fields). */
class protobuf_Writer {
  readonly #parts: number[] = [];
  #varint(v: number) {
    let x = v;
    while (x >= 0x80) {
      this.#parts.push((x & 0x7f) | 0x80);
      x = Math.floor(x / 128);
    }
    this.#parts.push(x);
  }
  varintField(field: number, v: number) {
    this.#varint(field * 8);
    this.#varint(v);
  }
  fixed64Field(field: number) {
    this.#varint(field * 8 + 1);
    for (let i = 0; i < 8; i++) this.#parts.push(i);
  }
  fixed32Field(field: number) {
    this.#varint(field * 8 + 5);
    for (let i = 0; i < 4; i++) this.#parts.push(i);
  }
  bytesField(field: number, b: Uint8Array) {
    this.#varint(field * 8 + 2);
    this.#varint(b.length);
    this.#parts.push(...b);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}
