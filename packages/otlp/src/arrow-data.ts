import { Data, type DataType, type Vector } from 'apache-arrow';

/**
 * Arrow `Data` straight from buffers we built and validated ourselves. `makeData`
 * re-derives and converts every buffer through a visitor (~5× the cost per column);
 * the decoders already hold exactly the typed arrays Arrow wants.
 */
type Buffers = [
  Int32Array | undefined,
  ArrayBufferView | undefined,
  Uint8Array | undefined,
  undefined?,
];

function data<T extends DataType>(
  type: T,
  length: number,
  nullCount: number,
  buffers: Buffers,
  children: Data[] = [],
  dictionary?: Vector,
): Data<T> {
  // The constructor takes the buffers positionally (offsets, values, validity, type ids).
  return new Data(type, 0, length, nullCount, buffers as never, children, dictionary);
}

/** Fixed-width values (ints, floats, timestamps, bools as a bitmap). */
export function fixedData<T extends DataType>(
  type: T,
  length: number,
  values: ArrayBufferView,
  nullCount = 0,
  nullBitmap?: Uint8Array,
): Data<T> {
  return data(type, length, nullCount, [undefined, values, nullBitmap]);
}

/** Utf8: offsets (length + 1) and bytes. */
export function utf8Data<T extends DataType>(
  type: T,
  length: number,
  offsets: Int32Array,
  bytes: Uint8Array,
  nullCount = 0,
  nullBitmap?: Uint8Array,
): Data<T> {
  return data(type, length, nullCount, [offsets, bytes, nullBitmap]);
}

/** Dictionary-encoded: Int32 indices plus the dictionary's values. */
export function dictData<T extends DataType>(
  type: T,
  length: number,
  indices: Int32Array,
  dictionary: Vector,
  nullCount = 0,
  nullBitmap?: Uint8Array,
): Data<T> {
  return data(type, length, nullCount, [undefined, indices, nullBitmap], [], dictionary);
}

/** List or Map: offsets (length + 1) into one child. */
export function listData<T extends DataType>(
  type: T,
  length: number,
  offsets: Int32Array,
  child: Data,
): Data<T> {
  return data(type, length, 0, [offsets, undefined, undefined], [child]);
}

/** Struct of equally long, non-null children. */
export function structData<T extends DataType>(type: T, length: number, children: Data[]): Data<T> {
  return data(type, length, 0, [undefined, undefined, undefined], children);
}
