/**
 * A tiny protobuf wire writer for hand-crafted test inputs (unknown fields, groups,
 * wrong wire types, packed vs unpacked, truncations): independent of src/.
 */
export type Bytes = Uint8Array;

export function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

export const cat = (...parts: Array<Bytes | number[]>): Bytes => {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
};

export const tag = (field: number, wire: number) => varint((field << 3) | wire);
export const vField = (field: number, v: number | bigint) => cat(tag(field, 0), varint(v));
export const lenField = (field: number, ...payload: Array<Bytes | number[]>) => {
  const p = cat(...payload);
  return cat(tag(field, 2), varint(p.length), p);
};
export const str = (field: number, s: string) => lenField(field, new TextEncoder().encode(s));
export const fixed64 = (field: number, v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return cat(tag(field, 1), b);
};
export const fixed32 = (field: number, v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return cat(tag(field, 5), b);
};
export const double = (field: number, d: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, d, true);
  return cat(tag(field, 1), b);
};
export const group = (field: number, ...inner: Array<Bytes | number[]>) =>
  cat(tag(field, 3), ...inner, tag(field, 4));

/** One unknown field of every wire type, including a group with nested content. */
export function unknownFields(base = 90): Bytes {
  return cat(
    vField(base, 300),
    fixed64(base + 1, 7n),
    str(base + 2, 'ignored'),
    fixed32(base + 3, 9),
    group(base + 4, vField(1, 1), str(2, 'x'), group(3, fixed32(1, 5)), fixed64(4, 1n)),
  );
}

export const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
