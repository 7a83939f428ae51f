/**
 * Seeded, deterministic fuzzing: random mutations and truncations of valid payloads
 * (SDK serializer output and generated requests) must each either decode or throw
 * InvalidInputError: never another exception, never a hang. Allocation is bounded
 * by construction (buffers grow only as values are written, capped by the output
 * budget), so every decode here runs with a tight `maxOutputBytes` too.
 */
import {
  type DecodeResult,
  decodeLogs,
  decodeLogsJson,
  decodeMetrics,
  decodeMetricsJson,
  decodeTraces,
  decodeTracesJson,
  fromIpcStream,
  InvalidInputError,
  toIpcStream,
} from '@sediment/otlp';
import { describe, expect, it } from 'vitest';
import { genLogs, genMetrics, genTraces, Rng, toOtlpJson } from './support/generator.js';
import { mutate } from './support/mutate.js';
import { encode, LogsRequest, MetricsRequest, TraceRequest } from './support/proto.js';
import { sdkLogs, sdkMetrics, sdkTraces } from './support/sdk.js';

const MUTATIONS = Number(process.env.OTLP_FUZZ_MUTATIONS ?? 12_000);

type Decoder = (b: Uint8Array, o: { maxOutputBytes: number }) => DecodeResult;
const PROTO: Decoder[] = [decodeTraces, decodeLogs, decodeMetrics];
const JSON_DECODERS: Decoder[] = [decodeTracesJson, decodeLogsJson, decodeMetricsJson];

interface Stats {
  ok: number;
  invalid: number;
}

function run(decoder: Decoder, input: Uint8Array, stats: Stats, label: string): void {
  let result: DecodeResult;
  try {
    // 4 MiB + 64 bytes per input byte: far beyond what valid small inputs need.
    result = decoder(input, { maxOutputBytes: 4 * 1024 * 1024 + 64 * input.length });
  } catch (e) {
    if (e instanceof InvalidInputError) {
      stats.invalid++;
      return;
    }
    throw new Error(`${label}: unexpected ${(e as Error)?.name}: ${(e as Error)?.message}`, {
      cause: e,
    });
  }
  stats.ok++;
  // Whatever decodes is a well-formed batch that survives the IPC round trip.
  for (const t of result.tables) {
    expect(t.batch.numRows).toBeGreaterThan(0);
    if (stats.ok % 97 === 0)
      expect(fromIpcStream(toIpcStream(t.table, t.batch)).batch.numRows).toBe(t.batch.numRows);
  }
}

describe('fuzzing', async () => {
  const sdk = [sdkTraces(), await sdkLogs(), await sdkMetrics('cumulative')];
  const gen = (seed: number) => {
    const r = new Rng(seed);
    return [
      { t: TraceRequest, o: genTraces(r) },
      { t: LogsRequest, o: genLogs(r) },
      { t: MetricsRequest, o: genMetrics(r) },
    ].map(({ t, o }) => ({
      proto: encode(t, o),
      json: new TextEncoder().encode(JSON.stringify(toOtlpJson(t, o, r))),
    }));
  };
  // Small generated requests only (the 10k-attribute ones would just slow this down).
  const corpus: Array<Array<{ proto: Uint8Array; json: Uint8Array }>> = [
    sdk.map((p) => ({ proto: p.protobuf, json: p.json })),
  ];
  for (let seed = 1; corpus.length < 8; seed++) {
    const c = gen(seed * 31);
    if (c.every((x) => x.proto.length < 20_000 && x.proto.length > 200)) corpus.push(c);
  }

  it(`${MUTATIONS} protobuf mutations decode or throw InvalidInputError`, () => {
    const r = new Rng(20240601);
    const stats: Stats = { ok: 0, invalid: 0 };
    for (let i = 0; i < MUTATIONS; i++) {
      const signal = i % 3;
      const seed = corpus[r.int(corpus.length)]![signal]!.proto;
      const input = mutate(r, seed);
      run(PROTO[signal]!, input, stats, `mutation ${i}`);
      // Also feed the bytes to a decoder of another signal now and then.
      if (i % 10 === 0) run(PROTO[(signal + 1) % 3]!, input, stats, `mutation ${i} (other signal)`);
    }
    expect(stats.ok).toBeGreaterThan(MUTATIONS / 20);
    expect(stats.invalid).toBeGreaterThan(MUTATIONS / 20);
  });

  it(`${Math.round(MUTATIONS / 4)} JSON mutations decode or throw InvalidInputError`, () => {
    const r = new Rng(77);
    const stats: Stats = { ok: 0, invalid: 0 };
    for (let i = 0; i < MUTATIONS / 4; i++) {
      const signal = i % 3;
      const seed = corpus[r.int(corpus.length)]![signal]!.json;
      run(JSON_DECODERS[signal]!, mutate(r, seed), stats, `json mutation ${i}`);
    }
    expect(stats.ok).toBeGreaterThan(0);
    expect(stats.invalid).toBeGreaterThan(0);
  });

  it('random bytes and every prefix of every corpus payload', () => {
    const r = new Rng(5);
    const stats: Stats = { ok: 0, invalid: 0 };
    for (let i = 0; i < 500; i++) {
      const input = r.bytes(r.int(300));
      for (const d of [...PROTO, ...JSON_DECODERS]) run(d, input, stats, `random ${i}`);
    }
    for (const [signal, p] of corpus[0]!.entries()) {
      for (let n = 0; n < p.proto.length; n += 1 + (n >> 6))
        run(PROTO[signal]!, p.proto.subarray(0, n), stats, `prefix ${n}`);
    }
    expect(stats.invalid).toBeGreaterThan(0);
  });
});
