/**
 * Differential test of the OTLP/JSON decoder: the byte-level decoder (src/json-*.ts)
 * against the JSON.parse-based decoder it replaced (test/support/json-walk/), on
 * generated requests spelled every way JSON allows (support/json-variants.ts) and on
 * byte mutations of them. For every input both must agree exactly: both reject it
 * with InvalidInputError, or both return byte-identical tables, row and rejection
 * counts and rejection messages. `OTLP_DIFF_CASES` raises the count.
 */
import {
  type DecodeResult,
  decodeLogsJson,
  decodeMetricsJson,
  decodeTracesJson,
  InvalidInputError,
} from '@sediment/otlp';
import type protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { resultDifference } from './support/arrow-equal.js';
import { genLogs, genMetrics, genTraces, Rng, toOtlpJson } from './support/generator.js';
import { walkLogsJson } from './support/json-walk/json-logs.js';
import { walkMetricsJson } from './support/json-walk/json-metrics.js';
import { walkTracesJson } from './support/json-walk/json-traces.js';
import { shrink, VariantWriter } from './support/json-variants.js';
import { mutate } from './support/mutate.js';
import { LogsRequest, MetricsRequest, TraceRequest } from './support/proto.js';
import { sdkLogs, sdkMetrics, sdkTraces } from './support/sdk.js';

const CASES = Number(process.env.OTLP_DIFF_CASES ?? 10_000);

type Decode = (input: Uint8Array | string, o: { maxOutputBytes: number }) => DecodeResult;

interface Signal {
  name: string;
  type: protobuf.Type;
  gen: (r: Rng) => Record<string, unknown>;
  bytes: Decode;
  walk: Decode;
}

const SIGNALS: Signal[] = [
  {
    name: 'traces',
    type: TraceRequest,
    gen: genTraces,
    bytes: decodeTracesJson,
    walk: walkTracesJson,
  },
  { name: 'logs', type: LogsRequest, gen: genLogs, bytes: decodeLogsJson, walk: walkLogsJson },
  {
    name: 'metrics',
    type: MetricsRequest,
    gen: genMetrics,
    bytes: decodeMetricsJson,
    walk: walkMetricsJson,
  },
];

type Outcome = { result: DecodeResult } | { invalid: string };

function outcome(decode: Decode, input: Uint8Array | string): Outcome {
  try {
    return { result: decode(input, { maxOutputBytes: 2 ** 30 }) };
  } catch (e) {
    if (e instanceof InvalidInputError) return { invalid: e.message };
    throw e;
  }
}

interface Stats {
  accepted: number;
  invalid: number;
  rejectedItems: number;
}

/** Runs both decoders on `input`; returns a description of any disagreement. */
function disagreement(s: Signal, input: Uint8Array | string, stats: Stats): string | null {
  const a = outcome(s.bytes, input);
  const b = outcome(s.walk, input);
  if ('invalid' in a || 'invalid' in b) {
    if ('invalid' in a && 'invalid' in b) {
      stats.invalid++;
      return null;
    }
    return 'invalid' in a
      ? `byte decoder rejects (${a.invalid}), JSON.parse decoder accepts`
      : `byte decoder accepts, JSON.parse decoder rejects (${(b as { invalid: string }).invalid})`;
  }
  stats.accepted++;
  stats.rejectedItems += a.result.rejected;
  return resultDifference(a.result, b.result);
}

const show = (input: Uint8Array | string) => {
  const s = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  return s.length > 4000 ? `${s.slice(0, 4000)}…` : s;
};

describe('OTLP/JSON byte decoder vs JSON.parse decoder', async () => {
  const sdk = [sdkTraces(), await sdkLogs(), await sdkMetrics('cumulative')];

  it(`${CASES} generated, re-spelled and mutated payloads: same output, same accept/reject`, () => {
    const stats: Stats = { accepted: 0, invalid: 0, rejectedItems: 0 };
    const r = new Rng(4242);
    const rates = [0, 0.5, 1, 1, 2, 4];
    let cases = 0;
    for (let i = 0; cases < CASES; i++) {
      const s = SIGNALS[i % 3]!;
      const obj =
        i % 50 === 0
          ? JSON.parse(new TextDecoder().decode(sdk[i % 3]!.json))
          : shrink(toOtlpJson(s.type, s.gen(r), r), r);
      // Each request spelled twice, each spelling also with byte mutations.
      const inputs: Array<Uint8Array | string> = [];
      for (let k = 0; k < 2; k++) {
        const text = new VariantWriter(r, { rate: rates[(2 * i + k) % rates.length]! }).write(obj);
        if (text.length > 30_000) continue; // the rare 10 000-attribute list: slow, not useful
        const bytes = new TextEncoder().encode(text);
        inputs.push(bytes, mutate(r, bytes));
        if (k === 0) inputs.push(i % 5 === 0 ? text : mutate(r, mutate(r, bytes)));
      }
      for (const input of inputs) {
        const d = disagreement(s, input, stats);
        if (d !== null) expect.fail(`${s.name} case ${cases}: ${d}\ninput: ${show(input)}`);
        cases++;
      }
    }
    // Both outcomes, and rejected items, must be well represented.
    expect(stats.accepted).toBeGreaterThan(CASES / 8);
    expect(stats.invalid).toBeGreaterThan(CASES / 8);
    expect(stats.rejectedItems).toBeGreaterThan(CASES / 40);
  });

  it('agree on hand-picked edge cases', () => {
    const TID = '0af7651916cd43dd8448eb211c80319c';
    const SID = 'b7ad6b7169203331';
    const span = (members: string) =>
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TID}","spanId":"${SID}"${members}}]}]}]}`;
    const attr = (value: string) => span(`,"attributes":[{"key":"k","value":${value}}]`);
    const docs = [
      // keys and strings with escapes
      span(',"n\\u0061me":"x"'),
      span(',"name":"\\ud83d\\ude00 \\u00e9\\n\\/"'),
      span(',"name":"\\ud800"'),
      span(',"unknown":"\\ud800"'),
      span(',"name":"\\u0000"'),
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TID.slice(2)}\\u0030\\u0030","spanId":"${SID}"}]}]}]}`,
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TID}","spanId":"\\u0010${SID.slice(1)}"}]}]}]}`,
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'é'.repeat(16)}","spanId":"${SID}","name":7}]}]}]}`,
      // duplicate keys, both spellings, nulls
      span(',"name":5,"name":"later wins"'),
      span(',"startTimeUnixNano":null,"start_time_unix_nano":"7"'),
      span(',"startTimeUnixNano":"8","start_time_unix_nano":"junk"'),
      span(',"traceId":""'),
      span(',"traceId":"","attributes":[{"key":"k","value":{"intValue":"bad"}}]'),
      span(',"attributes":[1],"attributes":[]'),
      // numbers
      span(',"kind":1e0,"flags":1.0,"droppedAttributesCount":"3"'),
      span(',"flags":-0'),
      span(',"flags":4294967296'),
      span(',"startTimeUnixNano":1e19,"endTimeUnixNano":18446744073709551615'),
      span(',"startTimeUnixNano":18446744073709551616'),
      span(',"startTimeUnixNano":"\\u0031\\u0032"'),
      attr('{"intValue":-0}'),
      attr('{"intValue":9007199254740993}'),
      attr('{"intValue":1e3}'),
      attr('{"intValue":"007"}'),
      attr('{"intValue":"-0"}'),
      attr('{"doubleValue":" 1.5 "}'),
      attr('{"doubleValue":"0x10"}'),
      attr('{"doubleValue":"+Infinity"}'),
      attr('{"doubleValue":1e400}'),
      attr('{"doubleValue":-1e-400}'),
      attr('{"doubleValue":0.1000000000000000055511151231257827}'),
      attr('{"doubleValue":123456789012345678901234567890}'),
      // AnyValue member precedence and nesting
      attr('{"boolValue":true,"intValue":5}'),
      attr('{"string_value":"s","intValue":5}'),
      attr('{"stringValue":null,"string_value":"s"}'),
      attr('{"bytesValue":"QR=="}'),
      attr('{"bytes_value":"-_8"}'),
      attr('{"kvlistValue":{"values":[null,{"key":"a","value":{"intValue":"x"}},{"key":"a"}]}}'),
      attr(
        '{"kvlistValue":{"values":[{"key":"\\u0061"},{"key":"a","value":{"stringValue":"\\""}}]}}',
      ),
      attr('{"arrayValue":{"values":[null,{},{"doubleValue":"NaN"},{"stringValue":"\\u001f"}]}}'),
      attr('{"arrayValue":null}'),
      attr('[]'),
      // enums
      span(',"kind":"SPAN_KIND_\\u0053ERVER"'),
      span(',"kind":"7"'),
      span(',"kind":"hasOwnProperty"'),
      span(',"status":{"code":"STATUS_CODE_OK","message":7}'),
      // structure
      '{}',
      '{"resourceSpans":null}',
      '{"resourceSpans":[]} ',
      '{"resourceSpans":[{}]}\n',
    ];
    const stats: Stats = { accepted: 0, invalid: 0, rejectedItems: 0 };
    for (const doc of docs) {
      for (const input of [doc, new TextEncoder().encode(doc)]) {
        const d = disagreement(SIGNALS[0]!, input, stats);
        if (d !== null) expect.fail(`${d}\ninput: ${doc}`);
      }
    }
    expect(stats.accepted).toBeGreaterThan(10);
    expect(stats.invalid).toBeGreaterThan(10);
  });
});
