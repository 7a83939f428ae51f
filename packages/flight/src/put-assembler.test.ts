import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { describeTable, multiBatchStream, schemaOnlyStream } from '../test/fixtures.js';
import { FlightInvalidArgumentError, FlightResourceExhaustedError } from './errors.js';
import { splitIpcStream } from './ipc-framing.js';
import { DescriptorType, encodeFlightData, type FlightDescriptor } from './proto-wire.js';
import { DoPutAssembler } from './put-assembler.js';

const EMPTY = new Uint8Array(0);
const pathDescriptor = (...path: string[]): FlightDescriptor => ({
  type: DescriptorType.PATH,
  cmd: EMPTY,
  path,
});

/** FlightData frames for an IPC stream, descriptor on the first, optional metadata on the first. */
function frames(
  ipc: Uint8Array,
  descriptor: FlightDescriptor | undefined,
  appMetadata?: Uint8Array,
): Uint8Array[] {
  return splitIpcStream(ipc).map((m, i) =>
    encodeFlightData({
      descriptor: i === 0 ? descriptor : undefined,
      dataHeader: m.header,
      dataBody: m.body,
      appMetadata: i === 0 ? appMetadata : undefined,
    }),
  );
}

describe('DoPutAssembler', () => {
  it('reassembles the exact stream, path and app_metadata', () => {
    const ipc = multiBatchStream(3, 25);
    const a = new DoPutAssembler();
    for (const f of frames(ipc, pathDescriptor('spans'), Uint8Array.of(1, 2, 3))) a.push(f);
    const put = a.finish();
    expect(put.path).toEqual(['spans']);
    expect([...put.appMetadata!]).toEqual([1, 2, 3]);
    expect(Buffer.compare(Buffer.from(put.ipc), Buffer.from(ipc))).toBe(0);
    expect(put.recordBatchCount).toBe(3);
    expect(describeTable(tableFromIPC(put.ipc))).toBe(describeTable(tableFromIPC(ipc)));
  });

  it('accepts a schema-only put and a put without app_metadata', () => {
    const a = new DoPutAssembler();
    for (const f of frames(schemaOnlyStream(), pathDescriptor('logs'))) a.push(f);
    const put = a.finish();
    expect(put.appMetadata).toBeUndefined();
    expect(put.recordBatchCount).toBe(0);
    expect(tableFromIPC(put.ipc).numRows).toBe(0);
  });

  it('takes the first non-empty app_metadata, also from a metadata-only message', () => {
    const ipc = multiBatchStream(1, 5);
    const [first, ...rest] = frames(ipc, pathDescriptor('spans'));
    const a = new DoPutAssembler();
    a.push(first!);
    a.push(encodeFlightData({ appMetadata: Uint8Array.of(7) }));
    a.push(encodeFlightData({ appMetadata: Uint8Array.of(8) }));
    for (const f of rest) a.push(f);
    const put = a.finish();
    expect([...put.appMetadata!]).toEqual([7]);
    expect(Buffer.compare(Buffer.from(put.ipc), Buffer.from(ipc))).toBe(0);
  });

  it('a descriptor-only first message is fine (schema may follow)', () => {
    const ipc = multiBatchStream(1, 5);
    const a = new DoPutAssembler();
    a.push(encodeFlightData({ descriptor: pathDescriptor('t', 'x') }));
    for (const f of frames(ipc, undefined)) a.push(f);
    expect(a.finish().path).toEqual(['t', 'x']);
  });

  it('rejects a missing descriptor, CMD descriptors, empty paths, and incomplete puts', () => {
    const ipc = multiBatchStream(1, 5);
    const cases: [string, Uint8Array[]][] = [
      ['no descriptor', frames(ipc, undefined)],
      ['CMD', frames(ipc, { type: DescriptorType.CMD, cmd: Uint8Array.of(1), path: [] })],
      ['UNKNOWN type', frames(ipc, { type: 0, cmd: EMPTY, path: ['spans'] })],
      ['empty path', frames(ipc, pathDescriptor())],
      ['empty element', frames(ipc, pathDescriptor('spans', ''))],
      ['no schema', [encodeFlightData({ descriptor: pathDescriptor('spans') })]],
      [
        'body without header',
        [encodeFlightData({ descriptor: pathDescriptor('s'), dataBody: Uint8Array.of(1) })],
      ],
      [
        'garbage header',
        [encodeFlightData({ descriptor: pathDescriptor('s'), dataHeader: Uint8Array.of(1, 2, 3) })],
      ],
      ['not protobuf', [Uint8Array.of(0x0a, 0xff)]],
      ['nothing', []],
    ];
    for (const [name, list] of cases) {
      const a = new DoPutAssembler();
      expect(() => {
        for (const f of list) a.push(f);
        a.finish();
      }, name).toThrow(FlightInvalidArgumentError);
    }
  });

  it('enforces maxPutBytes with FlightResourceExhaustedError', () => {
    const ipc = multiBatchStream(4, 50);
    const a = new DoPutAssembler(ipc.length - 1);
    expect(() => {
      for (const f of frames(ipc, pathDescriptor('spans'))) a.push(f);
    }).toThrow(FlightResourceExhaustedError);
    const b = new DoPutAssembler(ipc.length);
    for (const f of frames(ipc, pathDescriptor('spans'))) b.push(f);
    expect(b.finish().ipc.length).toBe(ipc.length);
  });
});
