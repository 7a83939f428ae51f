/**
 * Row selection ("take") over Arrow JS `Data`: a new `Data` holding the rows at `indices`
 * (in that order), for every type the OTLP tables use and the other common ones:
 * Null, Bool, Int*, Uint*, Float*, Decimal, Date, Time, Timestamp, Duration, Interval,
 * FixedSizeBinary, Utf8/Binary (+Large, +View), Dictionary (indices taken, dictionary
 * shared), List, FixedSizeList, Map and Struct (recursively). Unions are refused with
 * `UnsupportedArrowTypeError` (the entry is then quarantined, see compactor).
 *
 * Only used when one queue entry spans several hours; the common case never copies.
 * Values are copied as 32-bit words or bytes, never through BigInt or per-row objects.
 */
import { Data, type DataType, Type } from 'apache-arrow';
import { UnsupportedArrowTypeError } from './errors.js';

type AnyData = Data<DataType>;

/** Takes `indices` (each in `[0, data.length)`) from `data`. The result has offset 0. */
export function takeData(data: AnyData, indices: Int32Array): AnyData {
  const n = indices.length;
  const { bitmap, nullCount } = takeValidity(data, indices);
  const type = data.type;
  switch (type.typeId) {
    case Type.Null:
      return new Data(type, 0, n, n);
    case Type.Bool:
      return new Data(type, 0, n, nullCount, [
        undefined,
        takeBits(data.values as Uint8Array, data.offset, indices),
        bitmap,
      ]);
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Duration:
    case Type.Interval:
    case Type.FixedSizeBinary:
      return new Data(type, 0, n, nullCount, [
        undefined,
        takeFixed(data.values, data.stride, indices),
        bitmap,
      ]);
    case Type.Dictionary:
      return new Data(
        type,
        0,
        n,
        nullCount,
        [undefined, takeFixed(data.values, 1, indices), bitmap],
        [],
        data.dictionary,
      );
    case Type.Utf8:
    case Type.Binary: {
      const { offsets, values } = takeVarBytes(
        data.valueOffsets as Int32Array,
        data.values as Uint8Array,
        indices,
      );
      return new Data(type, 0, n, nullCount, [offsets, values, bitmap]);
    }
    case Type.LargeUtf8:
    case Type.LargeBinary: {
      const { offsets, values } = takeLargeVarBytes(
        data.valueOffsets as unknown as BigInt64Array,
        data.values as Uint8Array,
        indices,
      );
      return new Data(type, 0, n, nullCount, [offsets as never, values, bitmap]);
    }
    case Type.Utf8View:
    case Type.BinaryView:
      return new Data(
        type,
        0,
        n,
        nullCount,
        [
          undefined,
          takeFixed(data.values, 16 / (data.values as Typed).BYTES_PER_ELEMENT, indices),
          bitmap,
        ],
        [],
        undefined,
        data.variadicBuffers,
      );
    case Type.List:
    case Type.Map: {
      const { offsets, childIndices } = takeListOffsets(data.valueOffsets as Int32Array, indices);
      const child = takeData(data.children[0]!, childIndices);
      return new Data(type, 0, n, nullCount, [offsets, undefined, bitmap], [child]);
    }
    case Type.FixedSizeList: {
      const size = (type as unknown as { listSize: number }).listSize;
      const childIndices = new Int32Array(n * size);
      for (let k = 0, p = 0; k < n; k++) {
        const base = indices[k]! * size;
        for (let j = 0; j < size; j++) childIndices[p++] = base + j;
      }
      return new Data(
        type,
        0,
        n,
        nullCount,
        [undefined, undefined, bitmap],
        [takeData(data.children[0]!, childIndices)],
      );
    }
    case Type.Struct:
      return new Data(
        type,
        0,
        n,
        nullCount,
        [undefined, undefined, bitmap],
        data.children.map((c) => takeData(c, indices)),
      );
    default:
      throw new UnsupportedArrowTypeError(String(type));
  }
}

function takeValidity(
  data: AnyData,
  indices: Int32Array,
): { bitmap: Uint8Array | undefined; nullCount: number } {
  if (data.typeId === Type.Null) return { bitmap: undefined, nullCount: indices.length };
  const src = data.nullBitmap;
  if (!src || src.length === 0 || data.nullCount === 0) return { bitmap: undefined, nullCount: 0 };
  const n = indices.length;
  const out = new Uint8Array(((n + 63) & ~63) >> 3);
  const off = data.offset;
  let valid = 0;
  for (let k = 0; k < n; k++) {
    const p = off + indices[k]!;
    if ((src[p >> 3]! >> (p & 7)) & 1) {
      out[k >> 3]! |= 1 << (k & 7);
      valid++;
    }
  }
  return { bitmap: out, nullCount: n - valid };
}

function takeBits(src: Uint8Array, offset: number, indices: Int32Array): Uint8Array {
  const n = indices.length;
  const out = new Uint8Array(((n + 63) & ~63) >> 3);
  for (let k = 0; k < n; k++) {
    const p = offset + indices[k]!;
    if ((src[p >> 3]! >> (p & 7)) & 1) out[k >> 3]! |= 1 << (k & 7);
  }
  return out;
}

type Typed = ArrayBufferView & { readonly length: number; readonly BYTES_PER_ELEMENT: number };

/**
 * Copies fixed-width values (`stride` elements of `values`' type per row) as 32-bit
 * words when the width and alignment allow, else bytes. Never reads BigInt elements.
 */
function takeFixed<T>(values: T, stride: number, indices: Int32Array): T {
  const src = values as unknown as Typed;
  const width = src.BYTES_PER_ELEMENT * stride;
  const n = indices.length;
  const out = new ArrayBuffer(n * width);
  if (width % 4 === 0 && src.byteOffset % 4 === 0) {
    const words = width >> 2;
    const s = new Int32Array(src.buffer, src.byteOffset, src.byteLength >> 2);
    const d = new Int32Array(out);
    if (words === 1) {
      for (let k = 0; k < n; k++) d[k] = s[indices[k]!]!;
    } else if (words === 2) {
      for (let k = 0; k < n; k++) {
        const i = indices[k]! << 1;
        d[k << 1] = s[i]!;
        d[(k << 1) + 1] = s[i + 1]!;
      }
    } else {
      for (let k = 0; k < n; k++) {
        const i = indices[k]! * words;
        for (let j = 0; j < words; j++) d[k * words + j] = s[i + j]!;
      }
    }
  } else {
    const s = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    const d = new Uint8Array(out);
    for (let k = 0; k < n; k++) {
      const i = indices[k]! * width;
      for (let j = 0; j < width; j++) d[k * width + j] = s[i + j]!;
    }
  }
  const Ctor = (values as unknown as { constructor: new (b: ArrayBuffer) => T }).constructor;
  return new Ctor(out);
}

function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  const len = end - start;
  if (len > 32) dst.set(src.subarray(start, end), at);
  else for (let j = 0; j < len; j++) dst[at + j] = src[start + j]!;
}

function takeVarBytes(
  offsets: Int32Array,
  values: Uint8Array,
  indices: Int32Array,
): { offsets: Int32Array; values: Uint8Array } {
  const n = indices.length;
  const outOffsets = new Int32Array(n + 1);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    total += offsets[i + 1]! - offsets[i]!;
    outOffsets[k + 1] = total;
  }
  const out = new Uint8Array(total);
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    copyBytes(values, offsets[i]!, offsets[i + 1]!, out, outOffsets[k]!);
  }
  return { offsets: outOffsets, values: out };
}

/** 64-bit offsets read as two 32-bit halves (offsets past 2^53 cannot exist in memory). */
function takeLargeVarBytes(
  offsets: BigInt64Array,
  values: Uint8Array,
  indices: Int32Array,
): { offsets: BigInt64Array; values: Uint8Array } {
  const words = new Uint32Array(offsets.buffer, offsets.byteOffset, offsets.length * 2);
  const at = (i: number) => words[2 * i]! + words[2 * i + 1]! * 4294967296;
  const n = indices.length;
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    starts[k] = at(i);
    ends[k] = at(i + 1);
    total += ends[k]! - starts[k]!;
  }
  const outOffsets = new BigInt64Array(n + 1);
  const outWords = new Uint32Array(outOffsets.buffer);
  const out = new Uint8Array(total);
  let pos = 0;
  for (let k = 0; k < n; k++) {
    copyBytes(values, starts[k]!, ends[k]!, out, pos);
    pos += ends[k]! - starts[k]!;
    outWords[2 * (k + 1)] = pos % 4294967296;
    outWords[2 * (k + 1) + 1] = Math.floor(pos / 4294967296);
  }
  return { offsets: outOffsets, values: out };
}

function takeListOffsets(
  offsets: Int32Array,
  indices: Int32Array,
): { offsets: Int32Array; childIndices: Int32Array } {
  const n = indices.length;
  const outOffsets = new Int32Array(n + 1);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    total += offsets[i + 1]! - offsets[i]!;
    outOffsets[k + 1] = total;
  }
  const childIndices = new Int32Array(total);
  let p = 0;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    for (let j = offsets[i]!, e = offsets[i + 1]!; j < e; j++) childIndices[p++] = j;
  }
  return { offsets: outOffsets, childIndices };
}
