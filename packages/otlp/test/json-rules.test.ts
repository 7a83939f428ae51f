/** OTLP/JSON specifics: both key spellings, numbers vs strings, enum names, hex ids, errors. */
import {
  decodeLogsJson,
  decodeMetricsJson,
  decodeTraces,
  decodeTracesJson,
  InvalidInputError,
} from '@sediment/otlp';
import { describe, expect, it } from 'vitest';
import { resultRows } from './support/arrow-rows.js';
import { encode, TraceRequest } from './support/proto.js';

const TID = '0af7651916cd43dd8448eb211c80319c';
const SID = 'b7ad6b7169203331';

const req = (span: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [{ scope: { name: 's' }, spans: [span] }],
      ...extra,
    },
  ],
});
const spanRows = (doc: unknown) => resultRows(decodeTracesJson(JSON.stringify(doc))).spans ?? [];

function invalid(doc: unknown, message?: RegExp): void {
  const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
  let err: unknown;
  try {
    decodeTracesJson(text);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidInputError);
  if (message) expect((err as Error).message).toMatch(message);
}

describe('OTLP/JSON decoding', () => {
  it('accepts lowerCamelCase and snake_case keys, enum names, 64-bit numbers and strings', () => {
    const camel = spanRows(
      req({
        traceId: TID,
        spanId: SID,
        parentSpanId: SID,
        name: 'n',
        kind: 'SPAN_KIND_SERVER',
        startTimeUnixNano: '1700000000000000001',
        endTimeUnixNano: 1700000000,
        status: { code: 'STATUS_CODE_ERROR', message: 'm' },
        droppedAttributesCount: '3',
        attributes: [{ key: 'i', value: { intValue: 42 } }],
      }),
    );
    const snake = spanRows(
      req({
        trace_id: TID.toUpperCase(),
        span_id: SID,
        parent_span_id: SID,
        name: 'n',
        kind: 2,
        start_time_unix_nano: 1700000000000000001n.toString(),
        end_time_unix_nano: '1700000000',
        status: { code: 2, message: 'm' },
        dropped_attributes_count: 3,
        attributes: [{ key: 'i', value: { int_value: '42' } }],
        unknown_field: { ignored: [1, 2] },
      }),
    );
    expect(snake).toEqual(camel);
    expect(camel[0]).toMatchObject({
      trace_id: TID,
      span_kind: 'Server',
      status_code: 'Error',
      timestamp: '1700000000000000001',
      end_timestamp: '1700000000',
      dropped_attributes_count: 3,
      span_attributes: [['i', '42']],
    });
  });

  it('renders AnyValues exactly like the protobuf path', () => {
    const attributes = [
      { key: 'd', value: { doubleValue: 'NaN' } },
      { key: 'd2', value: { doubleValue: '-Infinity' } },
      { key: 'd3', value: { doubleValue: 1e21 } },
      { key: 'i', value: { intValue: '-9223372036854775808' } },
      { key: 'b', value: { bytesValue: '_-8' } },
      { key: 'e', value: {} },
      { key: 'n' },
      {
        key: 'kv',
        value: {
          kvlistValue: {
            values: [
              { key: 'x', value: { intValue: 1 } },
              {
                key: 'y',
                value: {
                  arrayValue: { values: [{ doubleValue: 'Infinity' }, {}, { boolValue: true }] },
                },
              },
              { key: 'x', value: { stringValue: 'last "wins"' } },
            ],
          },
        },
      },
    ];
    const fromJson = spanRows(req({ traceId: TID, spanId: SID, attributes }))[0]!.span_attributes;
    expect(fromJson).toEqual([
      ['d', 'NaN'],
      ['d2', '-Infinity'],
      ['d3', '1e+21'],
      ['i', '-9223372036854775808'],
      ['b', '/+8='],
      ['e', null],
      ['n', null],
      ['kv', '{"y":["Infinity",null,true],"x":"last \\"wins\\""}'],
    ]);
    // The same request through protobuf renders identically.
    const proto = encode(TraceRequest, {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.from(TID, 'hex'),
                  spanId: Buffer.from(SID, 'hex'),
                  attributes: [
                    { key: 'd', value: { doubleValue: Number.NaN } },
                    { key: 'd2', value: { doubleValue: Number.NEGATIVE_INFINITY } },
                    { key: 'd3', value: { doubleValue: 1e21 } },
                    { key: 'i', value: { intValue: '-9223372036854775808' } },
                    { key: 'b', value: { bytesValue: Buffer.from([0xff, 0xef]) } },
                    { key: 'e', value: {} },
                    { key: 'n' },
                    {
                      key: 'kv',
                      value: {
                        kvlistValue: {
                          values: [
                            { key: 'x', value: { intValue: 1 } },
                            {
                              key: 'y',
                              value: {
                                arrayValue: {
                                  values: [
                                    { doubleValue: Number.POSITIVE_INFINITY },
                                    {},
                                    { boolValue: true },
                                  ],
                                },
                              },
                            },
                            { key: 'x', value: { stringValue: 'last "wins"' } },
                          ],
                        },
                      },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    expect(resultRows(decodeTraces(proto)).spans![0]!.span_attributes).toEqual(fromJson);
  });

  it('an AnyValue with several members set takes the first of string, bool, int, double, array, kvlist, bytes', () => {
    const attributes = [
      { key: 'a', value: { intValue: 1, stringValue: 'wins' } },
      { key: 'b', value: { doubleValue: 2.5, bool_value: false } },
      { key: 'c', value: { bytesValue: 'AA==', kvlistValue: { values: [] } } },
    ];
    expect(spanRows(req({ traceId: TID, spanId: SID, attributes }))[0]!.span_attributes).toEqual([
      ['a', 'wins'],
      ['b', 'false'],
      ['c', '{}'],
    ]);
  });

  it('rejects items with ids of the wrong length, like protobuf', () => {
    const res = decodeTracesJson(JSON.stringify(req({ traceId: TID.slice(2), spanId: SID })));
    expect(res.rows).toBe(0);
    expect(res.rejected).toBe(1);
    expect(res.rejectedMessage).toBe(
      '1 spans rejected: trace_id must be 16 bytes (first at resource_spans[0].scope_spans[0].spans[0])',
    );
  });

  it('undecodable bodies are InvalidInputError with a path', () => {
    invalid('{"resourceSpans": [', /invalid JSON/);
    invalid('[]', /must be a JSON object/);
    invalid('null', /must be a JSON object/);
    invalid({ resourceSpans: 5 }, /resource_spans: expected an array/);
    invalid({ resourceSpans: [null] }, /resource_spans\[0\]: expected an object/);
    invalid(
      req({ traceId: 'zz'.repeat(16), spanId: SID }),
      /spans\[0\]\.trace_id: expected hex digits/,
    );
    invalid(req({ traceId: `${TID}0`, spanId: SID }), /odd number of digits/);
    invalid(req({ traceId: TID, spanId: SID, kind: 'SERVER' }), /unknown enum value "SERVER"/);
    invalid(req({ traceId: TID, spanId: SID, kind: 'toString' }), /unknown enum value/);
    invalid(
      req({ traceId: TID, spanId: SID, startTimeUnixNano: '18446744073709551616' }),
      /unsigned 64-bit range/,
    );
    invalid(req({ traceId: TID, spanId: SID, startTimeUnixNano: -1 }), /unsigned 64-bit/);
    invalid(req({ traceId: TID, spanId: SID, startTimeUnixNano: '1e9' }), /decimal integer/);
    invalid(req({ traceId: TID, spanId: SID, flags: 1.5 }), /32-bit/);
    invalid(
      req({
        traceId: TID,
        spanId: SID,
        attributes: [{ key: 'k', value: { intValue: '9223372036854775808' } }],
      }),
      /signed 64-bit range/,
    );
    invalid(
      req({ traceId: TID, spanId: SID, attributes: [{ key: 'k', value: { bytesValue: 'a*b' } }] }),
      /base64/,
    );
    invalid(req({ traceId: TID, spanId: SID, name: 7 }), /name: expected a string/);
    invalid(req({ traceId: TID, spanId: SID, attributes: [{ key: 1 }] }), /key: expected a string/);
  });

  it('invalid UTF-8 bytes and lone surrogates are InvalidInputError', () => {
    const bytes = new TextEncoder().encode(
      JSON.stringify(req({ traceId: TID, spanId: SID, name: 'abc' })),
    );
    const i = bytes.indexOf(0x62); // 'b' of abc
    const bad = Uint8Array.from(bytes);
    bad[i] = 0xff;
    expect(() => decodeTracesJson(bad)).toThrow(InvalidInputError);
    invalid(
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TID}","spanId":"${SID}","name":"\\ud800"}]}]}]}`,
      /surrogate/,
    );
    invalid(
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TID}","spanId":"${SID}","attributes":[{"key":"k","value":{"arrayValue":{"values":[{"stringValue":"\\udc00"}]}}}]}]}]}]}`,
      /surrogate/,
    );
  });

  it('deeply nested values are InvalidInputError, not a stack overflow', () => {
    const depth = 5000;
    const nested = `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"leaf"}${']}}'.repeat(depth)}`;
    const doc = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TID}","spanId":"${SID}","attributes":[{"key":"k","value":${nested}}]}]}]}]}`;
    invalid(doc, /nested too deeply/);
    // 100 levels of AnyValue arrays are fine; JSON nesting beyond 1000 levels is not,
    // wherever it is (unknown fields included).
    const ok = `${'{"arrayValue":{"values":['.repeat(100)}${']}}'.repeat(100)}`;
    expect(
      spanRows(
        JSON.parse(
          `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TID}","spanId":"${SID}","attributes":[{"key":"k","value":${ok}}]}]}]}]}`,
        ),
      )[0]!.span_attributes,
    ).toEqual([['k', `${'['.repeat(100)}${']'.repeat(100)}`]]);
    invalid(`{"x":${'['.repeat(1001)}${']'.repeat(1001)}}`, /byte 1004: nested too deeply/);
    expect(decodeTracesJson(`{"x":${'['.repeat(999)}${']'.repeat(999)}}`).rows).toBe(0);
    invalid(`${'['.repeat(200_000)}${']'.repeat(200_000)}`, /must be a JSON object/);
  });

  it('is a strict JSON parser: precise errors with the byte offset', () => {
    invalid('', /byte 0: the body is empty/);
    invalid('  \n', /the body is empty/);
    invalid('"x"', /must be a JSON object/);
    invalid(
      '{"resourceSpans":[],}',
      /byte 20: unexpected '}', expected a key \(trailing comma\?\)/,
    );
    invalid('{"resourceSpans":[1,]}', /byte 20: trailing comma in an array/);
    invalid('{"a":tru}', /byte 5: invalid literal/);
    invalid('{"a":nul}', /invalid literal/);
    invalid('{"a":True}', /byte 5: unexpected 'T', expected a value/);
    invalid('{"a":"abc', /byte 9: unterminated string/);
    invalid('{"a":"a\tb"}', /byte 7: control character in a string/);
    invalid('{"a":"\\x"}', /byte 6: invalid escape/);
    invalid('{"a":"\\u12G4"}', /invalid \\u escape/);
    invalid('{"a":01}', /byte 6: leading zeros/);
    invalid('{"a":1.}', /digit after the decimal point/);
    invalid('{"a":1e}', /digit in the exponent/);
    invalid('{"a":-}', /byte 6: unexpected '}', expected a digit/);
    invalid('{"a":+1}', /expected a value/);
    invalid('{"a":.5}', /expected a value/);
    invalid('{"a" 1}', /byte 5: unexpected '1', expected ':'/);
    invalid('{"a":1 "b":2}', /expected ',' or '}'/);
    invalid('{"a":[1 2]}', /expected ',' or ']'/);
    invalid("{'a':1}", /expected a key/);
    invalid('{"a":1}}', /byte 7: unexpected data after the JSON object/);
    invalid('{"a":1} x', /unexpected data after the JSON object/);
    invalid('\ufeff{}', /must be a JSON object/); // no byte order mark
    invalid('{"a":NaN}', /expected a value/);
    invalid('{"a":Infinity}', /expected a value/);
    invalid('{"a":"\u0000"}'.replace('\\u0000', '\u0000'), /control character/);
    // Whitespace is space, tab, CR and LF only.
    expect(decodeTracesJson(' \t\r\n{ "resourceSpans" :\n[ ] }\r\n').rows).toBe(0);
    invalid('{\u00a0}', /expected a key/);
    // A JavaScript string with a lone surrogate has no UTF-8 form.
    invalid('{"x":"\ud800"}'.replace('\\ud800', '\ud800'), /lone UTF-16 surrogate/);
  });

  it('logs: severity names, body kinds, observed time fallback', () => {
    const rows = resultRows(
      decodeLogsJson(
        JSON.stringify({
          resource_logs: [
            {
              scope_logs: [
                {
                  log_records: [
                    {
                      observed_time_unix_nano: '77',
                      severity_number: 'SEVERITY_NUMBER_WARN2',
                      body: { kvlist_value: { values: [] } },
                    },
                    {
                      timeUnixNano: 5,
                      observedTimeUnixNano: 6,
                      severityNumber: 9,
                      body: { bytesValue: 'AAE=' },
                      eventName: 'e',
                    },
                  ],
                },
              ],
            },
          ],
        }),
      ),
    ).logs!;
    expect(rows.map((r) => [r.timestamp, r.severity_number, r.body, r.event_name])).toEqual([
      ['77', 14, '{}', ''],
      ['5', 9, 'AAE=', 'e'],
    ]);
  });

  it('metrics: a metric with two data fields is invalid; temporality by name', () => {
    const metric = (m: Record<string, unknown>) =>
      JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', ...m }] }] }] });
    expect(() =>
      decodeMetricsJson(metric({ gauge: { dataPoints: [] }, sum: { dataPoints: [] } })),
    ).toThrow(/more than one data field/);
    const rows = resultRows(
      decodeMetricsJson(
        metric({
          sum: {
            aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
            isMonotonic: true,
            dataPoints: [{ asInt: '-3', timeUnixNano: '9' }],
          },
        }),
      ),
    ).metrics_sum!;
    expect(rows[0]).toMatchObject({
      value: -3,
      value_int: '-3',
      aggregation_temporality: 1,
      is_monotonic: true,
      start_timestamp: null,
    });
  });
});
