import { CorruptManifestError, InvalidArgumentError } from './errors.js';

/**
 * Manifest format v1 (opendata-ingest compatible), little-endian, entries then footer:
 *
 * ```
 * entry:  entry_len u32 (bytes after this field) | sequence u64 |
 *         location_len u16 | location utf8 |
 *         metadata_count u32 | metadata items:
 *             start_index u32 | ingestion_time_ms i64 | payload_len u32 | payload
 * footer: entry_count u32 | next_sequence u64 | epoch u64 | version u16 = 1   (22 bytes)
 * ```
 *
 * Bytes inside an entry after its last metadata item (written by a newer version) are
 * kept in `extra` and written back unchanged, so rewriting a manifest never drops them.
 */
export const MANIFEST_FORMAT_VERSION = 1;
export const MANIFEST_FOOTER_BYTES = 22;
const ENTRY_FIXED_BYTES = 8 + 2 + 4; // sequence, location_len, metadata_count
const ITEM_FIXED_BYTES = 4 + 8 + 4; // start_index, ingestion_time_ms, payload_len
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** One `ingest()` call inside a batch. */
export interface MetadataItem {
  /** Index of the call's first record in the batch. */
  readonly startIndex: number;
  /** Milliseconds since the Unix epoch when the call was made (i64 on disk). */
  readonly ingestionTimeMs: number;
  /** Opaque caller metadata. */
  readonly payload: Uint8Array;
}

export interface ManifestEntry {
  readonly sequence: bigint;
  /** Object key of the batch. */
  readonly location: string;
  readonly metadata: readonly MetadataItem[];
  /** Unknown trailing bytes of the entry (forward compatibility); preserved on rewrite. */
  readonly extra?: Uint8Array;
}

export interface Manifest {
  readonly entries: readonly ManifestEntry[];
  readonly nextSequence: bigint;
  readonly epoch: bigint;
}

export interface DecodedManifest extends Manifest {
  /** The raw bytes of all entries (everything before the footer), for cheap appends. */
  readonly entryBytes: Uint8Array;
}

/**
 * What appending needs of an existing manifest: its raw entry bytes and footer values.
 * Holding only this (not decoded entries, whose payloads are views into older buffers)
 * keeps a producer's cached manifest from pinning every manifest it ever read.
 */
export interface ManifestTail {
  readonly entryBytes: Uint8Array;
  readonly entryCount: number;
  /** Sequence of the last entry; undefined when there are none. */
  readonly lastSequence: bigint | undefined;
  readonly nextSequence: bigint;
  readonly epoch: bigint;
}

export function manifestTail(manifest: DecodedManifest): ManifestTail {
  return {
    entryBytes: manifest.entryBytes,
    entryCount: manifest.entries.length,
    lastSequence: manifest.entries.at(-1)?.sequence,
    nextSequence: manifest.nextSequence,
    epoch: manifest.epoch,
  };
}

/** What a missing manifest object means. */
export const EMPTY_MANIFEST: DecodedManifest = Object.freeze({
  entries: Object.freeze([]) as readonly ManifestEntry[],
  nextSequence: 0n,
  epoch: 0n,
  entryBytes: new Uint8Array(0),
});

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Encodes a complete manifest. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return appendManifest(EMPTY_MANIFEST, manifest.entries, {
    nextSequence: manifest.nextSequence,
    epoch: manifest.epoch,
    entryCount: manifest.entries.length,
  });
}

/**
 * Writes `base`'s raw entry bytes, then `added` entries, then a footer. The footer values
 * default to base's counts plus the added entries; `nextSequence` defaults to
 * `max(base.nextSequence, last added sequence + 1)`.
 * @throws InvalidArgumentError when a value does not fit its field.
 */
export function appendManifest(
  base: DecodedManifest | ManifestTail,
  added: readonly ManifestEntry[],
  footer: { nextSequence?: bigint; epoch?: bigint; entryCount?: number } = {},
): Uint8Array {
  const tail = 'entries' in base ? manifestTail(base) : base;
  const encodedLocations = added.map((e) => utf8.encode(e.location));
  let size = base.entryBytes.byteLength + MANIFEST_FOOTER_BYTES;
  for (let i = 0; i < added.length; i++) size += 4 + entryBodySize(added[i]!, encodedLocations[i]!);
  const out = Buffer.allocUnsafe(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set(base.entryBytes, 0);
  let o = base.entryBytes.byteLength;
  let lastSequence = tail.lastSequence ?? -1n;
  for (let i = 0; i < added.length; i++) {
    const entry = added[i]!;
    const location = encodedLocations[i]!;
    checkU64(entry.sequence, 'sequence');
    if (entry.sequence <= lastSequence) {
      throw new InvalidArgumentError(
        `manifest sequences must increase: ${entry.sequence} follows ${lastSequence}`,
      );
    }
    lastSequence = entry.sequence;
    view.setUint32(o, entryBodySize(entry, location), true);
    view.setBigUint64(o + 4, entry.sequence, true);
    view.setUint16(o + 12, location.byteLength, true);
    out.set(location, o + 14);
    o += 14 + location.byteLength;
    view.setUint32(o, entry.metadata.length, true);
    o += 4;
    for (const item of entry.metadata) {
      checkU32(item.startIndex, 'start_index');
      checkU32(item.payload.byteLength, 'payload_len');
      view.setUint32(o, item.startIndex, true);
      writeI64(view, o + 4, item.ingestionTimeMs);
      view.setUint32(o + 12, item.payload.byteLength, true);
      out.set(item.payload, o + 16);
      o += ITEM_FIXED_BYTES + item.payload.byteLength;
    }
    if (entry.extra) {
      out.set(entry.extra, o);
      o += entry.extra.byteLength;
    }
  }
  const entryCount = footer.entryCount ?? tail.entryCount + added.length;
  let nextSequence = footer.nextSequence ?? base.nextSequence;
  if (footer.nextSequence === undefined && lastSequence >= nextSequence) {
    nextSequence = lastSequence + 1n;
  }
  const epoch = footer.epoch ?? base.epoch;
  if (lastSequence >= nextSequence) {
    throw new InvalidArgumentError(
      `next_sequence ${nextSequence} must be above the last entry's sequence ${lastSequence}`,
    );
  }
  checkU32(entryCount, 'entry_count');
  checkU64(nextSequence, 'next_sequence');
  checkU64(epoch, 'epoch');
  view.setUint32(o, entryCount, true);
  view.setBigUint64(o + 4, nextSequence, true);
  view.setBigUint64(o + 12, epoch, true);
  view.setUint16(o + 20, MANIFEST_FORMAT_VERSION, true);
  return out;
}

function entryBodySize(entry: ManifestEntry, location: Uint8Array): number {
  if (location.byteLength > 0xffff) {
    throw new InvalidArgumentError(
      `manifest location is ${location.byteLength} UTF-8 bytes; at most 65535`,
    );
  }
  if (entry.metadata.length > 0xffff_ffff) {
    throw new InvalidArgumentError('too many metadata items in one manifest entry');
  }
  let size = ENTRY_FIXED_BYTES + location.byteLength + (entry.extra?.byteLength ?? 0);
  for (const item of entry.metadata) size += ITEM_FIXED_BYTES + item.payload.byteLength;
  if (size > 0xffff_ffff) throw new InvalidArgumentError('manifest entry larger than 4 GiB');
  return size;
}

function checkU32(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new InvalidArgumentError(`${field} ${value} does not fit in a u32`);
  }
}

function checkU64(value: bigint, field: string): void {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new InvalidArgumentError(`${field} ${String(value)} does not fit in a u64`);
  }
}

function writeI64(view: DataView, o: number, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`ingestion_time_ms ${value} is not a safe integer`);
  }
  const hi = Math.floor(value / 0x1_0000_0000);
  view.setUint32(o, value - hi * 0x1_0000_0000, true);
  view.setInt32(o + 4, hi, true);
}

/**
 * Decodes a v1 manifest and checks its invariants: every entry fits inside the object,
 * locations are valid UTF-8, `entry_count` matches, sequences strictly increase and stay
 * below `next_sequence`. Entries' payloads are views into `bytes`.
 * @throws CorruptManifestError naming the problem and its byte offset.
 */
export function decodeManifest(
  bytes: Uint8Array,
  options: { path?: string } = {},
): DecodedManifest {
  const fail = (reason: string, offset: number, cause?: unknown): never => {
    throw new CorruptManifestError(reason, offset, { path: options.path, cause });
  };
  const size = bytes.byteLength;
  if (size < MANIFEST_FOOTER_BYTES) {
    fail(`truncated: ${size} bytes, the footer alone is ${MANIFEST_FOOTER_BYTES}`, 0);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, size);
  const f = size - MANIFEST_FOOTER_BYTES;
  const version = view.getUint16(f + 20, true);
  if (version !== MANIFEST_FORMAT_VERSION) {
    fail(`unsupported manifest format version ${version} (this reader knows 1)`, f + 20);
  }
  const entryCount = view.getUint32(f, true);
  const nextSequence = view.getBigUint64(f + 4, true);
  const epoch = view.getBigUint64(f + 12, true);

  const entries: ManifestEntry[] = [];
  let o = 0;
  let previous = -1n;
  while (o < f) {
    const entryStart = o;
    if (f - o < 4) fail(`entry ${entries.length}: entry_len truncated`, o);
    const entryLen = view.getUint32(o, true);
    o += 4;
    const end = o + entryLen;
    if (entryLen > f - o) {
      fail(
        `entry ${entries.length}: entry_len ${entryLen} runs past the footer ` +
          `(${f - o} bytes left)`,
        entryStart,
      );
    }
    if (entryLen < ENTRY_FIXED_BYTES) {
      fail(`entry ${entries.length}: entry_len ${entryLen} is below the minimum 14`, entryStart);
    }
    const sequence = view.getBigUint64(o, true);
    if (sequence <= previous) {
      fail(
        `entry ${entries.length}: sequence ${sequence} does not increase (after ${previous})`,
        o,
      );
    }
    if (sequence >= nextSequence) {
      fail(
        `entry ${entries.length}: sequence ${sequence} is not below next_sequence ${nextSequence}`,
        o,
      );
    }
    previous = sequence;
    const locationLen = view.getUint16(o + 8, true);
    o += 10;
    if (locationLen + 4 > end - o) {
      fail(
        `entry ${entries.length}: location_len ${locationLen} runs past the entry end ` +
          `(${end - o} bytes left)`,
        o - 2,
      );
    }
    let location: string;
    try {
      location = utf8Strict.decode(bytes.subarray(o, o + locationLen));
    } catch (err) {
      return fail(`entry ${entries.length}: location is not valid UTF-8`, o, err);
    }
    o += locationLen;
    const metadataCount = view.getUint32(o, true);
    o += 4;
    if (metadataCount > (end - o) / ITEM_FIXED_BYTES) {
      fail(
        `entry ${entries.length}: metadata_count ${metadataCount} cannot fit in the ` +
          `${end - o} bytes left in the entry`,
        o - 4,
      );
    }
    const metadata = new Array<MetadataItem>(metadataCount);
    for (let i = 0; i < metadataCount; i++) {
      if (end - o < ITEM_FIXED_BYTES) {
        fail(`entry ${entries.length}, metadata item ${i}: truncated`, o);
      }
      const startIndex = view.getUint32(o, true);
      const lo = view.getUint32(o + 4, true);
      const hi = view.getInt32(o + 8, true);
      if (hi >= 0x20_0000 || hi < -0x20_0000) {
        fail(`entry ${entries.length}, metadata item ${i}: ingestion_time_ms outside ±2^53`, o + 4);
      }
      const payloadLen = view.getUint32(o + 12, true);
      o += ITEM_FIXED_BYTES;
      if (payloadLen > end - o) {
        fail(
          `entry ${entries.length}, metadata item ${i}: payload_len ${payloadLen} runs past ` +
            `the entry end (${end - o} bytes left)`,
          o - 4,
        );
      }
      metadata[i] = {
        startIndex,
        ingestionTimeMs: hi * 0x1_0000_0000 + lo,
        payload: bytes.subarray(o, o + payloadLen),
      };
      o += payloadLen;
    }
    entries.push(
      o < end
        ? { sequence, location, metadata, extra: bytes.subarray(o, end) }
        : { sequence, location, metadata },
    );
    o = end;
  }
  if (entries.length !== entryCount) {
    fail(`footer entry_count is ${entryCount} but ${entries.length} entries were found`, f);
  }
  return { entries, nextSequence, epoch, entryBytes: bytes.subarray(0, f) };
}
