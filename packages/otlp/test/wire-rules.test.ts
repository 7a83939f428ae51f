/**
 * Protobuf wire rules, on hand-crafted inputs: unknown fields of every wire type
 * (groups included) are skipped anywhere; packed and unpacked repeated scalars are
 * both read; fields in any order; malformed input is InvalidInputError, never
 * another exception.
 */
import {
  decodeLogs,
  decodeMetrics,
  decodeTraces,
  InvalidInputError,
  OutputTooLargeError,
} from '@sediment/otlp';
import { describe, expect, it } from 'vitest';
import { resultRows } from './support/arrow-rows.js';
import {
  type Bytes,
  cat,
  double,
  fixed32,
  fixed64,
  group,
  hexBytes,
  lenField,
  str,
  tag,
  unknownFields,
  varint,
  vField,
} from './support/wire.js';

const TID = hexBytes('0af7651916cd43dd8448eb211c80319c');
const SID = hexBytes('b7ad6b7169203331');
const enc = new TextEncoder();

const any = (...f: Bytes[]) => cat(...f);
const kv = (key: string, value: Bytes, extra: Bytes = new Uint8Array(0)) =>
  cat(str(1, key), extra, lenField(2, value));
const sv = (s: string) => str(1, s);

/** A span with everything, optionally with unknown fields sprinkled at every level. */
function span(unknown: boolean, reversed = false): Bytes {
  const u = unknown ? unknownFields() : new Uint8Array(0);
  const parts = [
    lenField(1, TID),
    lenField(2, SID),
    str(3, 'ts=1'),
    lenField(4, hexBytes('00000000000000aa')),
    str(5, 'GET /x'),
    vField(6, 2),
    fixed64(7, 1700000000123456789n),
    fixed64(8, 1700000000223456790n),
    // (one element so that reversing the field order keeps the attributes' order)
    cat(lenField(9, kv('a', any(sv('A'), u), u), u), lenField(9, kv('n', any(vField(3, -5n))))),
    vField(10, 1),
    lenField(11, fixed64(1, 5n), str(2, 'ev'), lenField(3, kv('k', sv('v'))), vField(4, 2), u),
    vField(12, 3),
    lenField(
      13,
      lenField(1, TID),
      lenField(2, SID),
      str(3, 'x=y'),
      lenField(4, kv('l', sv('1'))),
      vField(5, 4),
      fixed32(6, 0x301),
      u,
    ),
    vField(14, 5),
    lenField(15, str(2, 'oops'), vField(3, 2), u),
    fixed32(16, 0x101),
    u,
  ];
  return cat(...(reversed ? parts.reverse() : parts));
}

function traces(spanBytes: Bytes, unknown: boolean, resourceLast = false): Bytes {
  const u = unknown ? unknownFields() : new Uint8Array(0);
  const resource = lenField(1, lenField(1, kv('service.name', sv('svc'))), vField(2, 1), u);
  const scopeSpans = lenField(
    2,
    lenField(1, str(1, 'scope'), str(2, '1.0'), lenField(3, kv('s', sv('t'))), vField(4, 0), u),
    lenField(2, spanBytes),
    str(3, 'https://scope/schema'),
    u,
  );
  const rs = resourceLast
    ? cat(scopeSpans, str(3, 'https://res/schema'), u, resource)
    : cat(resource, scopeSpans, str(3, 'https://res/schema'), u);
  return cat(lenField(1, rs), u);
}

const rows = (bytes: Bytes) => resultRows(decodeTraces(bytes)).spans!;

function expectInvalid(f: () => unknown, message?: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidInputError);
  expect((err as InvalidInputError).code).toBe('OTLP_INVALID_INPUT');
  if (message) expect((err as Error).message).toMatch(message);
}

describe('unknown fields and field order', () => {
  const plain = rows(traces(span(false), false));

  it('decodes the hand-built span', () => {
    expect(plain).toHaveLength(1);
    const s = plain[0]!;
    expect(s.trace_id).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(s.parent_span_id).toBe('00000000000000aa');
    expect(s.span_attributes).toEqual([
      ['a', 'A'],
      ['n', '-5'],
    ]);
    expect(s.duration_ns).toBe('100000001');
    expect(s.flags).toBe(0x101);
    expect(s.status_code).toBe('Error');
    expect(s.resource_schema_url).toBe('https://res/schema');
  });

  it('skips unknown fields of every wire type (groups too) at every level', () => {
    expect(rows(traces(span(true), true))).toEqual(plain);
  });

  it('reads fields in any order (resource after scope_spans, span fields reversed)', () => {
    expect(rows(traces(span(false, true), false, true))).toEqual(plain);
  });

  it('a repeated scalar field: last one wins; a repeated Status: last one wins', () => {
    const s = cat(span(false), str(5, 'renamed'), lenField(15, vField(3, 1)));
    const r = rows(traces(s, false))[0]!;
    expect(r.span_name).toBe('renamed');
    expect(r.status_code).toBe('Ok');
    expect(r.status_message).toBe('');
  });

  it('an enum outside the known values keeps its number', () => {
    const s = cat(span(false), vField(6, -1n), lenField(15, vField(3, 7)));
    const r = rows(traces(s, false))[0]!;
    expect(r.span_kind).toBe('-1');
    expect(r.status_code).toBe('7');
  });
});

describe('malformed input is InvalidInputError', () => {
  const good = traces(span(false), false);

  it('every truncation of a valid request', () => {
    for (let n = 1; n < good.length; n++) {
      const cut = good.subarray(0, n);
      try {
        decodeTraces(cut);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidInputError);
      }
    }
    expectInvalid(() => decodeTraces(good.subarray(0, good.length - 1)), /truncated|past the end/);
  });

  it('a known field with the wrong wire type', () => {
    expectInvalid(
      () => decodeTraces(traces(cat(span(false), vField(5, 1)), false)),
      /field 5 has the wrong wire type/,
    );
    expectInvalid(() => decodeTraces(cat(vField(1, 3))), /wrong wire type/);
  });

  it('field number 0, wire types 6 and 7, stray end-group, mismatched group', () => {
    expectInvalid(() => decodeTraces(new Uint8Array([0x00, 0x01])), /field number 0/);
    expectInvalid(() => decodeTraces(cat(tag(20, 6))), /invalid wire type 6/);
    expectInvalid(() => decodeTraces(cat(tag(20, 7))), /invalid wire type 7/);
    expectInvalid(() => decodeTraces(cat(tag(20, 4))), /end-group/);
    expectInvalid(() => decodeTraces(cat(tag(20, 3), tag(21, 4))), /end-group tag for field 21/);
    expectInvalid(() => decodeTraces(cat(tag(20, 3), vField(1, 1))), /truncated/);
  });

  it('varints longer than 10 bytes or overflowing 64 bits', () => {
    expectInvalid(
      () => decodeTraces(cat(tag(20, 0), Array(10).fill(0xff), [0x01])),
      /overflows|truncated/,
    );
    expectInvalid(
      () => decodeTraces(cat(tag(20, 0), Array(9).fill(0xff), [0x02])),
      /overflows 64 bits/,
    );
    expect(decodeTraces(cat(tag(20, 0), Array(9).fill(0xff), [0x01])).rows).toBe(0);
  });

  it('a length prefix larger than the rest of the message', () => {
    expectInvalid(() => decodeTraces(cat(tag(1, 2), varint(2 ** 31), [1, 2, 3])), /truncated/);
    expectInvalid(() => decodeTraces(cat(tag(1, 2), varint(2n ** 64n - 1n))), /truncated/);
  });

  it('groups nested deeper than 100 levels', () => {
    let g: Bytes = new Uint8Array(0);
    for (let i = 0; i < 200; i++) g = group(20, g);
    expectInvalid(() => decodeTraces(g), /nested too deeply/);
  });

  it('AnyValue arrays nested deeper than 100 levels', () => {
    let v: Bytes = sv('leaf');
    for (let i = 0; i < 150; i++) v = lenField(5, lenField(1, v));
    const s = cat(lenField(1, TID), lenField(2, SID), lenField(9, kv('deep', v)));
    expectInvalid(() => decodeTraces(traces(s, false)), /nested too deeply/);
  });
});

describe('UTF-8', () => {
  const bad: Array<[string, number[]]> = [
    ['lone continuation byte', [0x80]],
    ['truncated sequence', [0x61, 0xc3]],
    ['overlong encoding', [0xc0, 0x80]],
    ['UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['invalid byte', [0x61, 0xff]],
  ];
  const withName = (name: number[]) =>
    traces(cat(lenField(1, TID), lenField(2, SID), lenField(5, name)), false);

  it.each(bad)('rejects a string field with %s', (_, bytes) => {
    expectInvalid(() => decodeTraces(withName(bytes)), /invalid UTF-8/);
  });

  it('finds invalid UTF-8 wherever a string is', () => {
    const x = [0x61, 0xff];
    const spanWith = (...f: Bytes[]) =>
      traces(cat(lenField(1, TID), lenField(2, SID), ...f), false);
    expectInvalid(() =>
      decodeTraces(spanWith(lenField(9, cat(lenField(1, x), lenField(2, sv('v')))))),
    );
    expectInvalid(() => decodeTraces(spanWith(lenField(9, kv('k', lenField(1, x))))));
    expectInvalid(() =>
      decodeTraces(spanWith(lenField(9, kv('k', lenField(5, lenField(1, lenField(1, x))))))),
    ); // nested
    expectInvalid(() => decodeTraces(spanWith(lenField(11, lenField(2, x)))));
    expectInvalid(() => decodeTraces(spanWith(lenField(15, lenField(2, x)))));
    expectInvalid(() => decodeTraces(spanWith(lenField(3, x))));
    // In the resource or scope of a request that has no spans at all.
    expectInvalid(() =>
      decodeTraces(lenField(1, lenField(1, lenField(1, kv('k', lenField(1, x)))))),
    );
    expectInvalid(() => decodeTraces(lenField(1, lenField(2, lenField(1, lenField(1, x))))));
  });

  it('accepts every valid UTF-8 shape and arbitrary bytes in bytes fields', () => {
    const name = enc.encode('a\u00e9\u20ac\u{1F600}\u0000');
    const s = cat(
      lenField(1, TID),
      lenField(2, SID),
      lenField(5, name),
      lenField(9, kv('b', lenField(7, [0xff, 0x80, 0]))),
    );
    const r = rows(traces(s, false))[0]!;
    expect(r.span_name).toBe('a\u00e9\u20ac\u{1F600}\u0000');
    expect(r.span_attributes).toEqual([['b', '/4AA']]);
  });
});

describe('item validation', () => {
  const spanWith = (tid: Bytes, sid: Bytes, pid?: Bytes) =>
    cat(
      lenField(1, tid),
      lenField(2, sid),
      ...(pid ? [lenField(4, pid)] : []),
      str(5, 'n'),
      lenField(9, kv('k', sv('v'))),
      lenField(11, str(2, 'e')),
    );

  it('drops bad spans, keeps the good ones, explains in one message', () => {
    const scope = lenField(
      2,
      lenField(2, spanWith(TID, SID)),
      lenField(2, spanWith(TID.subarray(0, 15), SID)),
      lenField(2, spanWith(new Uint8Array(16), SID)),
      lenField(2, spanWith(TID, new Uint8Array(8))),
      lenField(2, spanWith(TID, SID.subarray(1))),
      lenField(2, spanWith(TID, SID, new Uint8Array(3))),
      lenField(2, spanWith(TID, SID.subarray(0, 0))),
      lenField(2, spanWith(TID, SID, new Uint8Array(8))),
    );
    const res = decodeTraces(lenField(1, scope));
    expect(res.rows).toBe(2);
    expect(res.rejected).toBe(6);
    expect(res.rejectedMessage).toBe(
      '6 spans rejected: 1 × trace_id must be 16 bytes (first at resource_spans[0].scope_spans[0].spans[1]); ' +
        '1 × trace_id must not be all zeros (first at resource_spans[0].scope_spans[0].spans[2]); ' +
        '1 × span_id must not be all zeros (first at resource_spans[0].scope_spans[0].spans[3]); ' +
        '2 × span_id must be 8 bytes (first at resource_spans[0].scope_spans[0].spans[4]); ' +
        '1 × parent_span_id must be empty or 8 bytes (first at resource_spans[0].scope_spans[0].spans[5])',
    );
    const r = resultRows(res).spans!;
    // Rejected spans leave nothing behind in the nested columns.
    expect(r.map((x) => [x.span_attributes, (x.events as unknown[]).length])).toEqual([
      [[['k', 'v']], 1],
      [[['k', 'v']], 1],
    ]);
    expect(r[1]!.parent_span_id).toBeNull();
  });

  it('a single reason reads naturally', () => {
    const scope = lenField(
      2,
      lenField(2, spanWith(TID.subarray(1), SID)),
      lenField(2, spanWith(TID.subarray(1), SID)),
    );
    expect(decodeTraces(lenField(1, scope)).rejectedMessage).toBe(
      '2 spans rejected: trace_id must be 16 bytes (first at resource_spans[0].scope_spans[0].spans[0])',
    );
  });

  it('logs with ids of the wrong length are rejected; all-zero ids read as absent', () => {
    const rec = (...f: Bytes[]) => lenField(2, fixed64(11, 5n), ...f);
    const req = lenField(
      1,
      lenField(
        2,
        rec(lenField(9, TID)),
        rec(lenField(9, TID.subarray(2))),
        rec(lenField(10, SID.subarray(2))),
        rec(lenField(9, new Uint8Array(16)), lenField(10, new Uint8Array(8))),
      ),
    );
    const res = decodeLogs(req);
    expect(res.rows).toBe(2);
    expect(res.rejected).toBe(2);
    const r = resultRows(res).logs!;
    expect(r.map((x) => [x.trace_id, x.span_id, x.timestamp])).toEqual([
      ['0af7651916cd43dd8448eb211c80319c', null, '5'],
      [null, null, '5'],
    ]);
  });
});

describe('repeated scalars: packed and unpacked', () => {
  // request { resource_metrics { scope_metrics { metrics { name, histogram { data_points } } } } }
  const metric = (...f: Bytes[]) => lenField(1, lenField(2, lenField(2, str(1, 'm'), ...f)));
  const histogramPoint = (...f: Bytes[]) =>
    metric(lenField(9, lenField(1, fixed64(3, 9n), ...f), vField(2, 2)));
  const packedFixed = (field: number, vals: bigint[]) =>
    lenField(field, ...vals.map((v) => fixed64(1, v).subarray(1)));
  const packedDouble = (field: number, vals: number[]) =>
    lenField(field, ...vals.map((v) => double(1, v).subarray(1)));

  it('histogram bucket_counts and explicit_bounds in both encodings, mixed', () => {
    const packed = histogramPoint(packedFixed(6, [1n, 2n, 3n]), packedDouble(7, [0.5, 1.5]));
    const unpacked = histogramPoint(
      fixed64(6, 1n),
      double(7, 0.5),
      fixed64(6, 2n),
      double(7, 1.5),
      fixed64(6, 3n),
    );
    const mixed = histogramPoint(
      packedFixed(6, [1n]),
      fixed64(6, 2n),
      packedFixed(6, [3n]),
      double(7, 0.5),
      packedDouble(7, [1.5]),
    );
    const rowsOf = (b: Bytes) => resultRows(decodeMetrics(b)).metrics_histogram!;
    const expected = rowsOf(packed);
    expect(expected[0]!.bucket_counts).toEqual(['1', '2', '3']);
    expect(expected[0]!.explicit_bounds).toEqual([0.5, 1.5]);
    expect(expected[0]!.aggregation_temporality).toBe(2);
    expect(rowsOf(unpacked)).toEqual(expected);
    expect(rowsOf(mixed)).toEqual(expected);
  });

  it('a packed fixed64 run whose length is not a multiple of 8 is invalid', () => {
    expectInvalid(() => decodeMetrics(histogramPoint(lenField(6, [1, 2, 3]))), /multiple of 8/);
  });

  it('exponential histogram bucket counts (uint64 varints) in both encodings', () => {
    const point = (buckets: Bytes) =>
      metric(lenField(10, lenField(1, vField(6, 3), lenField(8, buckets))));
    const packed = point(
      cat(vField(1, 5), lenField(2, varint(1), varint(300), varint(2n ** 64n - 1n))),
    );
    const unpacked = point(
      cat(vField(2, 1), vField(2, 300), vField(1, 5), vField(2, 2n ** 64n - 1n)),
    );
    const a = resultRows(decodeMetrics(packed)).metrics_exponential_histogram!;
    expect(a[0]!.positive_bucket_counts).toEqual(['1', '300', '-1']);
    expect(a[0]!.positive_offset).toBe(-3);
    expect(a[0]!.scale).toBe(-2);
    expect(resultRows(decodeMetrics(unpacked)).metrics_exponential_histogram).toEqual(a);
  });
});

describe('output limit', () => {
  it('a request that expands beyond maxOutputBytes fails with OutputTooLargeError', () => {
    const bigResource = lenField(
      1,
      ...Array.from({ length: 2000 }, (_, i) => lenField(1, kv(`key.${i}`, sv('v'.repeat(50))))),
    );
    const spans = Array.from({ length: 2000 }, () =>
      lenField(2, lenField(1, TID), lenField(2, SID)),
    );
    const req = lenField(1, bigResource, lenField(2, ...spans));
    expect(() => decodeTraces(req, { maxOutputBytes: 50 * 1024 * 1024 })).toThrow(
      OutputTooLargeError,
    );
    expect(decodeTraces(req.subarray(0, req.length), { maxOutputBytes: 2 ** 31 }).rows).toBe(2000);
  });
});

describe('empty input', () => {
  it('an empty request has no tables and no rows', () => {
    expect(decodeTraces(new Uint8Array(0))).toEqual({ tables: [], rows: 0, rejected: 0 });
    expect(decodeLogs(new Uint8Array(0)).rows).toBe(0);
    expect(decodeMetrics(new Uint8Array(0)).tables).toEqual([]);
  });
});
