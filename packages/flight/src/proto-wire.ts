/**
 * Hand-written protobuf codec for the three Flight messages on the DoPut path:
 * FlightData, FlightDescriptor and PutResult (field numbers from proto/arrow/flight/Flight.proto).
 *
 * Why not protobufjs: FlightData carries the Arrow body (up to tens of MiB). Decoding here
 * returns `subarray` views of the received buffer (no copy of header, metadata or body), and
 * encoding writes the tag/length prefixes and copies each part once into one output buffer.
 * A test checks both directions against protobufjs built from our .proto file.
 *
 * Decoding follows proto3 rules: unknown fields are skipped, a repeated scalar field keeps
 * the last value, a repeated embedded message is merged. Anything that is not valid
 * protobuf throws FlightInvalidArgumentError.
 */
import { FlightInvalidArgumentError } from './errors.js';

/** FlightDescriptor.DescriptorType */
export const DescriptorType = { UNKNOWN: 0, PATH: 1, CMD: 2 } as const;

export interface FlightDescriptor {
  /** DescriptorType: 0 UNKNOWN, 1 PATH, 2 CMD (other values are kept as received). */
  type: number;
  cmd: Uint8Array;
  path: string[];
}

/** A decoded FlightData; the byte fields are views into the buffer it was decoded from. */
export interface FlightData {
  descriptor: FlightDescriptor | undefined;
  dataHeader: Uint8Array;
  appMetadata: Uint8Array;
  dataBody: Uint8Array;
}

/** What {@link encodeFlightData} writes; absent or empty byte fields are omitted (proto3). */
export interface FlightDataInit {
  descriptor?: FlightDescriptor | undefined;
  dataHeader?: Uint8Array | undefined;
  appMetadata?: Uint8Array | undefined;
  dataBody?: Uint8Array | undefined;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

// Field 1000, wire type 2: (1000 << 3) | 2 = 8002 = varint bytes C2 3E.
const TAG_DATA_BODY_0 = 0xc2;
const TAG_DATA_BODY_1 = 0x3e;

function invalid(what: string, message: string): never {
  throw new FlightInvalidArgumentError(`malformed ${what}: ${message}`);
}

/**
 * A cursor over one protobuf message. `pos` advances as fields are read. All reads are
 * bounds-checked against `end`.
 */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** True when the last varint read had bits above the low 32. */
  wide = false;

  /** Reads a varint and returns its low 32 bits, unsigned; sets `wide` if it had more. */
  varint(): number {
    const buf = this.buf;
    let lo = 0;
    let wide = false;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) invalid(this.what, 'truncated varint');
      const b = buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        if ((b & 0x70) !== 0) wide = true;
      } else if ((b & 0x7f) !== 0) wide = true;
      if ((b & 0x80) === 0) {
        this.wide = wide;
        return lo >>> 0;
      }
    }
    invalid(this.what, 'varint longer than 10 bytes');
  }

  /** A field tag (field numbers are below 2^29). */
  tag(): number {
    const t = this.varint();
    if (this.wide) invalid(this.what, 'tag out of range');
    if (t >>> 3 === 0) invalid(this.what, 'field number 0');
    return t;
  }

  skipVarint(): void {
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) invalid(this.what, 'truncated varint');
      if ((this.buf[this.pos++]! & 0x80) === 0) return;
    }
    invalid(this.what, 'varint longer than 10 bytes');
  }

  /** A length-delimited field's payload as a view. */
  bytes(): Uint8Array {
    const len = this.varint();
    if (this.wide) invalid(this.what, 'length out of range');
    const start = this.pos;
    if (len > this.end - start) invalid(this.what, 'length-delimited field runs past the end');
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.skipVarint();
        return;
      case WIRE_FIXED64:
        if (this.end - this.pos < 8) invalid(this.what, 'truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_FIXED32:
        if (this.end - this.pos < 4) invalid(this.what, 'truncated fixed32');
        this.pos += 4;
        return;
      default:
        invalid(this.what, `unsupported wire type ${wireType}`);
    }
  }
}

function decodeDescriptorInto(target: FlightDescriptor, buf: Uint8Array): void {
  const r = new Reader(buf, 'FlightDescriptor');
  while (r.pos < r.end) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_VARINT) {
      target.type = r.varint() | 0;
    } else if (field === 2 && wire === WIRE_LEN) {
      target.cmd = r.bytes();
    } else if (field === 3 && wire === WIRE_LEN) {
      const raw = r.bytes();
      try {
        target.path.push(utf8Decoder.decode(raw));
      } catch {
        invalid(r.what, 'path element is not valid UTF-8');
      }
    } else {
      r.skip(wire);
    }
  }
}

/** Decodes a FlightDescriptor message. */
export function decodeFlightDescriptor(buf: Uint8Array): FlightDescriptor {
  const d: FlightDescriptor = { type: 0, cmd: EMPTY, path: [] };
  decodeDescriptorInto(d, buf);
  return d;
}

/**
 * Decodes one FlightData message. `dataHeader`, `appMetadata` and `dataBody` are views into
 * `buf` (empty when absent); keep `buf` alive as long as you use them.
 */
export function decodeFlightData(buf: Uint8Array): FlightData {
  const r = new Reader(buf, 'FlightData');
  let descriptor: FlightDescriptor | undefined;
  let dataHeader = EMPTY;
  let appMetadata = EMPTY;
  let dataBody = EMPTY;
  while (r.pos < r.end) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE_LEN && (field === 1 || field === 2 || field === 3 || field === 1000)) {
      const value = r.bytes();
      if (field === 1000) dataBody = value;
      else if (field === 2) dataHeader = value;
      else if (field === 3) appMetadata = value;
      else {
        descriptor ??= { type: 0, cmd: EMPTY, path: [] };
        decodeDescriptorInto(descriptor, value);
      }
    } else {
      r.skip(wire);
    }
  }
  return { descriptor, dataHeader, appMetadata, dataBody };
}

/** Decodes a PutResult message; `appMetadata` is a view into `buf`. */
export function decodePutResult(buf: Uint8Array): { appMetadata: Uint8Array } {
  const r = new Reader(buf, 'PutResult');
  let appMetadata = EMPTY;
  while (r.pos < r.end) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_LEN) appMetadata = r.bytes();
    else r.skip(wire);
  }
  return { appMetadata };
}

function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Writes a non-negative integer below 2^32 as a varint; returns the new position. */
function writeVarint(out: Uint8Array, pos: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

function lenFieldSize(tagBytes: number, len: number): number {
  return tagBytes + varintSize(len) + len;
}

function checkLength(len: number, what: string): void {
  if (len > 0xffffffff) throw new FlightInvalidArgumentError(`${what} is larger than 4 GiB`);
}

/** Encodes a FlightDescriptor (PATH elements as UTF-8). */
export function encodeFlightDescriptor(d: FlightDescriptor): Buffer {
  const parts = d.path.map((p) => utf8Encoder.encode(p));
  let size = 0;
  if (d.type !== 0) size += 1 + (d.type < 0 ? 10 : varintSize(d.type));
  if (d.cmd.length > 0) size += lenFieldSize(1, d.cmd.length);
  for (const p of parts) size += lenFieldSize(1, p.length);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (d.type !== 0) {
    out[pos++] = (1 << 3) | WIRE_VARINT;
    if (d.type < 0) {
      // Negative int32: ten-byte two's-complement varint.
      let lo = d.type >>> 0;
      for (let i = 0; i < 4; i++) {
        out[pos++] = (lo & 0x7f) | 0x80;
        lo >>>= 7;
      }
      out[pos++] = (lo & 0x0f) | 0x70 | 0x80;
      for (let i = 0; i < 4; i++) out[pos++] = 0xff;
      out[pos++] = 0x01;
    } else {
      pos = writeVarint(out, pos, d.type);
    }
  }
  if (d.cmd.length > 0) {
    out[pos++] = (2 << 3) | WIRE_LEN;
    pos = writeVarint(out, pos, d.cmd.length);
    out.set(d.cmd, pos);
    pos += d.cmd.length;
  }
  for (const p of parts) {
    out[pos++] = (3 << 3) | WIRE_LEN;
    pos = writeVarint(out, pos, p.length);
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/**
 * Encodes one FlightData into a single buffer: the descriptor, header and metadata, then
 * `data_body` (field 1000) last, each copied once. Empty fields are omitted.
 */
export function encodeFlightData(init: FlightDataInit): Buffer {
  const descriptor =
    init.descriptor === undefined ? undefined : encodeFlightDescriptor(init.descriptor);
  const header = init.dataHeader ?? EMPTY;
  const meta = init.appMetadata ?? EMPTY;
  const body = init.dataBody ?? EMPTY;
  checkLength(body.length, 'data_body');
  let size = 0;
  // An explicitly given descriptor is written even when empty: it marks the first message.
  if (descriptor !== undefined) size += lenFieldSize(1, descriptor.length);
  if (header.length > 0) size += lenFieldSize(1, header.length);
  if (meta.length > 0) size += lenFieldSize(1, meta.length);
  if (body.length > 0) size += lenFieldSize(2, body.length);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (descriptor !== undefined) {
    out[pos++] = (1 << 3) | WIRE_LEN;
    pos = writeVarint(out, pos, descriptor.length);
    out.set(descriptor, pos);
    pos += descriptor.length;
  }
  if (header.length > 0) {
    out[pos++] = (2 << 3) | WIRE_LEN;
    pos = writeVarint(out, pos, header.length);
    out.set(header, pos);
    pos += header.length;
  }
  if (meta.length > 0) {
    out[pos++] = (3 << 3) | WIRE_LEN;
    pos = writeVarint(out, pos, meta.length);
    out.set(meta, pos);
    pos += meta.length;
  }
  if (body.length > 0) {
    out[pos++] = TAG_DATA_BODY_0;
    out[pos++] = TAG_DATA_BODY_1;
    pos = writeVarint(out, pos, body.length);
    out.set(body, pos);
    pos += body.length;
  }
  return out;
}

/**
 * One FlightData laid out lazily, for grpc-js to frame: the fields before `data_body` are
 * encoded now (a few KB at most), the body stays a view of the caller's buffer, and
 * {@link copy} writes both into the destination.
 *
 * Why: grpc-js frames every outgoing message by allocating `length + 5` bytes and calling
 * `message.copy(frame, 5)` (compression-filter.js, identity encoding), so a FlightData
 * encoded into a Buffer first is copied twice. Given this object instead (through the
 * client's serializer), the Arrow body is copied once, straight into grpc-js's frame, and
 * the acceptor allocates no second ~600 KB buffer per put. Only `length` and
 * `copy(target, targetStart)` are used by grpc-js; a test checks that the bytes equal
 * {@link encodeFlightData}'s and the client round trips check grpc-js sends them. Do not
 * use it with a channel that compresses (zlib needs real bytes; the client checks).
 */
export class FlightDataFrame {
  /** Encoded size in bytes. */
  readonly length: number;
  readonly #prefix: Buffer;
  readonly #body: Uint8Array;

  constructor(init: FlightDataInit) {
    const body = init.dataBody ?? EMPTY;
    checkLength(body.length, 'data_body');
    const fields = encodeFlightData({ ...init, dataBody: undefined });
    if (body.length === 0) {
      this.#prefix = fields;
    } else {
      const prefix = Buffer.allocUnsafe(fields.length + 2 + varintSize(body.length));
      prefix.set(fields, 0);
      prefix[fields.length] = TAG_DATA_BODY_0;
      prefix[fields.length + 1] = TAG_DATA_BODY_1;
      writeVarint(prefix, fields.length + 2, body.length);
      this.#prefix = prefix;
    }
    this.#body = body;
    this.length = this.#prefix.length + body.length;
  }

  /** `Buffer#copy` semantics for the whole message: writes it at `targetStart`. */
  copy(target: Uint8Array, targetStart = 0): number {
    if (targetStart < 0 || target.length - targetStart < this.length) {
      throw new RangeError('FlightDataFrame.copy: target too small');
    }
    target.set(this.#prefix, targetStart);
    target.set(this.#body, targetStart + this.#prefix.length);
    return this.length;
  }

  /** The message as one Buffer (what {@link encodeFlightData} returns). */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.copy(out, 0);
    return out;
  }
}

/** Encodes a PutResult. */
export function encodePutResult(appMetadata: Uint8Array | undefined): Buffer {
  const meta = appMetadata ?? EMPTY;
  if (meta.length === 0) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(lenFieldSize(1, meta.length));
  out[0] = (1 << 3) | WIRE_LEN;
  const pos = writeVarint(out, 1, meta.length);
  out.set(meta, pos);
  return out;
}
