import { describe, expect, it } from 'vitest';
import { CorruptManifestError, InvalidArgumentError } from './errors.js';
import {
  appendManifest,
  decodeManifest,
  EMPTY_MANIFEST,
  encodeManifest,
  type Manifest,
} from './manifest-codec.js';

const te = new TextEncoder();
const bytes = (...values: number[]) => Uint8Array.from(values);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One entry (sequence 5, location "b/1", one item: start 0, time 1000, payload "m"). */
const GOLDEN_ONE: Manifest = {
  entries: [
    {
      sequence: 5n,
      location: 'b/1',
      metadata: [{ startIndex: 0, ingestionTimeMs: 1000, payload: te.encode('m') }],
    },
  ],
  nextSequence: 6n,
  epoch: 2n,
};
// biome-ignore format: golden bytes laid out by field
const GOLDEN_ONE_BYTES = bytes(
  // entry_len = 8 + 2 + 3 + 4 + (4 + 8 + 4 + 1) = 34
  0x22, 0x00, 0x00, 0x00,
  // sequence 5
  0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  // location_len 3, "b/1"
  0x03, 0x00, 0x62, 0x2f, 0x31,
  // metadata_count 1
  0x01, 0x00, 0x00, 0x00,
  // start_index 0 | ingestion_time_ms 1000 | payload_len 1 | "m"
  0x00, 0x00, 0x00, 0x00,
  0xe8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x01, 0x00, 0x00, 0x00,
  0x6d,
  // footer: entry_count 1 | next_sequence 6 | epoch 2 | version 1
  0x01, 0x00, 0x00, 0x00,
  0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x01, 0x00,
);

/** Empty manifest with next_sequence 2^64 - 1 and epoch 2^63 + 1 (u64 extremes). */
// biome-ignore format: golden bytes laid out by field
const GOLDEN_EMPTY_BYTES = bytes(
  0x00, 0x00, 0x00, 0x00,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
  0x01, 0x00,
);

function plain(m: Manifest) {
  return {
    nextSequence: m.nextSequence,
    epoch: m.epoch,
    entries: m.entries.map((e) => ({
      sequence: e.sequence,
      location: e.location,
      extra: e.extra ? hex(e.extra) : undefined,
      metadata: e.metadata.map((i) => ({ ...i, payload: hex(i.payload) })),
    })),
  };
}

function expectCorrupt(input: Uint8Array, pattern: RegExp, offset?: number): void {
  let caught: unknown;
  try {
    decodeManifest(input);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CorruptManifestError);
  const err = caught as CorruptManifestError;
  expect(err.code).toBe('INGEST_CORRUPT_MANIFEST');
  expect(err.retryable).toBe(false);
  expect(err.message).toMatch(pattern);
  if (offset !== undefined) expect(err.offset).toBe(offset);
}

describe('manifest codec', () => {
  it('encodes the golden bytes', () => {
    expect(hex(encodeManifest(GOLDEN_ONE))).toBe(hex(GOLDEN_ONE_BYTES));
    expect(
      hex(encodeManifest({ entries: [], nextSequence: 2n ** 64n - 1n, epoch: 2n ** 63n + 1n })),
    ).toBe(hex(GOLDEN_EMPTY_BYTES));
  });

  it('decodes the golden bytes', () => {
    expect(plain(decodeManifest(GOLDEN_ONE_BYTES))).toEqual(plain(GOLDEN_ONE));
    const empty = decodeManifest(GOLDEN_EMPTY_BYTES);
    expect(empty.entries).toEqual([]);
    expect(empty.nextSequence).toBe(2n ** 64n - 1n);
    expect(empty.epoch).toBe(2n ** 63n + 1n);
  });

  it('round-trips several entries, negative and large times, empty payloads', () => {
    const m: Manifest = {
      entries: [
        { sequence: 0n, location: 'ingest/A.batch', metadata: [] },
        {
          sequence: 1n,
          location: 'ingest/ünïcødé.batch',
          metadata: [
            { startIndex: 0, ingestionTimeMs: -1, payload: new Uint8Array(0) },
            { startIndex: 3, ingestionTimeMs: Number.MAX_SAFE_INTEGER, payload: te.encode('x') },
            {
              startIndex: 0xffff_ffff,
              ingestionTimeMs: -Number.MAX_SAFE_INTEGER,
              payload: te.encode('yz'),
            },
          ],
        },
        { sequence: 2n ** 64n - 2n, location: 'z', metadata: [] },
      ],
      nextSequence: 2n ** 64n - 1n,
      epoch: 0n,
    };
    expect(plain(decodeManifest(encodeManifest(m)))).toEqual(plain(m));
  });

  it('keeps unknown trailing entry bytes and writes them back', () => {
    // The golden entry with 3 extra bytes inside it (entry_len 37) as a newer writer would.
    const withExtra = Buffer.concat([
      bytes(0x25, 0x00, 0x00, 0x00),
      GOLDEN_ONE_BYTES.subarray(4, 38),
      bytes(0xaa, 0xbb, 0xcc),
      GOLDEN_ONE_BYTES.subarray(38),
    ]);
    const decoded = decodeManifest(withExtra);
    expect(hex(decoded.entries[0]!.extra!)).toBe('aabbcc');
    expect(plain(decoded).entries[0]!.metadata).toEqual(plain(GOLDEN_ONE).entries[0]!.metadata);
    expect(hex(encodeManifest(decoded))).toBe(hex(withExtra));
  });

  it('appends by splicing the raw entry bytes', () => {
    const base = decodeManifest(GOLDEN_ONE_BYTES);
    const out = appendManifest(base, [{ sequence: 6n, location: 'b/2', metadata: [] }]);
    const decoded = decodeManifest(out);
    expect(decoded.entries.map((e) => e.sequence)).toEqual([5n, 6n]);
    expect(decoded.nextSequence).toBe(7n);
    expect(decoded.epoch).toBe(2n);
    expect(hex(out.subarray(0, 38))).toBe(hex(GOLDEN_ONE_BYTES.subarray(0, 38)));
    // epoch bump without entries
    expect(decodeManifest(appendManifest(base, [], { epoch: 3n })).epoch).toBe(3n);
  });

  it('the missing-manifest value is empty, epoch 0, next_sequence 0', () => {
    expect(EMPTY_MANIFEST.entries).toEqual([]);
    expect(EMPTY_MANIFEST.epoch).toBe(0n);
    expect(EMPTY_MANIFEST.nextSequence).toBe(0n);
  });

  it('rejects every truncation', () => {
    for (const golden of [GOLDEN_ONE_BYTES, GOLDEN_EMPTY_BYTES]) {
      for (let n = 0; n < golden.length; n++) {
        expect(() => decodeManifest(golden.subarray(0, n)), `prefix ${n}`).toThrow(
          CorruptManifestError,
        );
      }
    }
  });

  it('rejects a buffer smaller than the footer', () => {
    expectCorrupt(bytes(1, 2, 3), /truncated: 3 bytes, the footer alone is 22/, 0);
  });

  it('rejects an unknown version', () => {
    const bad = GOLDEN_ONE_BYTES.slice();
    bad[bad.length - 2] = 9;
    expectCorrupt(bad, /unsupported manifest format version 9/, bad.length - 2);
  });

  it('rejects an entry_len past the footer', () => {
    const bad = GOLDEN_ONE_BYTES.slice();
    bad[0] = 0x23;
    expectCorrupt(bad, /entry 0: entry_len 35 runs past the footer \(34 bytes left\)/, 0);
  });

  it('rejects an entry_len below the fixed fields', () => {
    const bad = Buffer.concat([bytes(2, 0, 0, 0, 0, 0), GOLDEN_EMPTY_BYTES]);
    bad.writeUInt32LE(1, 6); // entry_count 1
    expectCorrupt(bad, /entry_len 2 is below the minimum 14/, 0);
  });

  it('rejects a location running past the entry', () => {
    const bad = GOLDEN_ONE_BYTES.slice();
    bad[12] = 40;
    expectCorrupt(bad, /location_len 40 runs past the entry end/, 12);
  });

  it('rejects a location that is not UTF-8', () => {
    const bad = GOLDEN_ONE_BYTES.slice();
    bad[14] = 0xff;
    expectCorrupt(bad, /location is not valid UTF-8/, 14);
  });

  it('rejects a metadata count that cannot fit', () => {
    const bad = GOLDEN_ONE_BYTES.slice();
    bad[17] = 2;
    expectCorrupt(bad, /metadata_count 2 cannot fit/, 17);
  });

  it('rejects a payload running past the entry', () => {
    const bad = GOLDEN_ONE_BYTES.slice();
    bad[33] = 2;
    expectCorrupt(bad, /payload_len 2 runs past the entry end/, 33);
  });

  it('rejects an entry_count that does not match', () => {
    const bad = GOLDEN_ONE_BYTES.slice();
    bad[38] = 2;
    expectCorrupt(bad, /footer entry_count is 2 but 1 entries were found/, 38);
  });

  it('rejects sequences at or above next_sequence', () => {
    const bad = GOLDEN_ONE_BYTES.slice();
    bad[42] = 5; // next_sequence 5
    expectCorrupt(bad, /sequence 5 is not below next_sequence 5/, 4);
  });

  it('rejects sequences that do not increase', () => {
    const two = encodeManifest({
      entries: [
        { sequence: 3n, location: 'a', metadata: [] },
        { sequence: 4n, location: 'b', metadata: [] },
      ],
      nextSequence: 9n,
      epoch: 0n,
    });
    two[23] = 3; // second entry (at 19) sequence → 3
    expectCorrupt(two, /entry 1: sequence 3 does not increase \(after 3\)/);
  });

  it('rejects ingestion times beyond ±2^53', () => {
    const bad = GOLDEN_ONE_BYTES.slice();
    bad[32] = 0x01; // high word 2^24 → time ≥ 2^56
    expectCorrupt(bad, /ingestion_time_ms outside/, 25);
  });

  it('refuses to encode values that do not fit', () => {
    const one = (over: object) => ({
      entries: [{ sequence: 1n, location: 'a', metadata: [], ...over }],
      nextSequence: 2n,
      epoch: 0n,
    });
    expect(() => encodeManifest(one({ location: 'x'.repeat(70000) }))).toThrow(
      InvalidArgumentError,
    );
    expect(() => encodeManifest(one({ sequence: -1n }))).toThrow(InvalidArgumentError);
    expect(() =>
      encodeManifest(one({ metadata: [{ startIndex: -1, ingestionTimeMs: 0, payload: bytes() }] })),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      encodeManifest(
        one({ metadata: [{ startIndex: 0, ingestionTimeMs: 0.5, payload: bytes() }] }),
      ),
    ).toThrow(InvalidArgumentError);
    expect(() => encodeManifest({ ...one({}), nextSequence: 1n })).toThrow(/next_sequence 1/);
    expect(() => encodeManifest({ ...one({}), epoch: 2n ** 64n })).toThrow(/epoch/);
  });
});
