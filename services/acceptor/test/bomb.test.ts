/**
 * Compression bombs against a real acceptor process: ~1 MiB bodies that inflate to 1 GiB
 * are refused (413 / RESOURCE_EXHAUSTED) and the process's peak resident memory, read
 * from /proc/<pid>/status, grows by a small multiple of the request limit — nowhere near
 * the 1 GiB the bodies would become.
 */
import zlib from 'node:zlib';
import { MemoryStore } from '@sediment/object-store';
import type { Writer } from '@sediment/writer';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { compress as zstdCompress } from 'zstd-napi';
import { encodeRequest } from '../../../test/support/otlp-proto.js';
import { traceRequest } from '../../../test/support/otlp-workload.js';
import {
  type AcceptorProcess,
  Code,
  decodeStatus,
  GRPC_PATHS,
  GrpcOtlpClient,
  postOtlp,
  processMemory,
  rawGrpcCall,
  spawnAcceptor,
  startWriter,
} from './support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const LIMIT = 32 * MiB; // the default SEDIMENT_MAX_REQUEST_SIZE

/**
 * Many identical members, each 1 MiB of zeros at maximum compression: a valid gzip
 * stream (RFC 1952 allows concatenated members) that inflates to `total` bytes.
 */
function gzipBomb(total: number): Buffer {
  const member = zlib.gzipSync(Buffer.alloc(MiB), { level: 9 });
  return Buffer.concat(Array.from({ length: total / MiB }, () => member));
}

/** Concatenated zstd frames of 1 MiB of zeros each. */
function zstdBomb(total: number): Buffer {
  const frame = zstdCompress(Buffer.alloc(MiB));
  return Buffer.concat(Array.from({ length: total / MiB }, () => frame));
}

let writer: Writer;
let acceptor: AcceptorProcess;

beforeAll(async () => {
  writer = await startWriter(new MemoryStore());
  acceptor = await spawnAcceptor({ SEDIMENT_WRITERS: `127.0.0.1:${writer.flightPort}` });
});

afterAll(async () => {
  acceptor?.kill();
  await writer?.close();
});

test('gzip and zstd bombs (1 GiB inflated) → 413 / RESOURCE_EXHAUSTED; acceptor memory stays bounded', async () => {
  const gz = gzipBomb(GiB);
  const zs = zstdBomb(GiB);
  expect(gz.byteLength).toBeLessThan(2 * MiB);
  expect(zs.byteLength).toBeLessThan(MiB);

  // Warm up every path (decoders, Flight, both servers) before taking the baseline.
  const grpc = new GrpcOtlpClient(acceptor.grpcPort);
  try {
    const warm = encodeRequest('traces', traceRequest({ request: 1, rows: 50, startNs: 1n }));
    expect((await grpc.export('traces', warm)).code).toBe(Code.OK);
    expect(
      (
        await postOtlp(acceptor.httpPort, 'traces', zlib.gzipSync(warm), {
          headers: { 'content-encoding': 'gzip' },
        })
      ).status,
    ).toBe(200);
    const before = await processMemory(acceptor.pid);

    // One at a time, each encoding …
    for (const [encoding, body] of [
      ['gzip', gz],
      ['zstd', zs],
      ['gzip', gz],
    ] as const) {
      const reply = await postOtlp(acceptor.httpPort, 'traces', body, {
        headers: { 'content-encoding': encoding },
      });
      expect(reply.status).toBe(413);
      const status = decodeStatus(reply.body);
      expect(status.code).toBe(Code.RESOURCE_EXHAUSTED);
      expect(status.message).toMatch(`inflates past the limit of ${LIMIT} bytes`);
    }
    // … over gRPC (grpc-encoding: gzip, message flagged compressed) …
    const viaGrpc = await rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.traces, gz, {
      encoding: 'gzip',
      compressed: true,
    });
    expect(viaGrpc.grpcStatus).toBe(Code.RESOURCE_EXHAUSTED);
    expect(viaGrpc.grpcMessage).toMatch(`gzip body inflates past the limit of ${LIMIT} bytes`);
    const sequential = await processMemory(acceptor.pid);
    // One bomb at a time costs a few request limits of memory (the capped output, the
    // wire body, garbage not yet collected), not the 1 GiB.
    expect(sequential.peak - before.peak).toBeLessThan(5 * LIMIT);

    // … and eight at once, four per port.
    const concurrent = await Promise.all([
      ...Array.from({ length: 4 }, () =>
        postOtlp(acceptor.httpPort, 'logs', gz, { headers: { 'content-encoding': 'gzip' } }).then(
          (r) => r.status,
        ),
      ),
      ...Array.from({ length: 4 }, () =>
        rawGrpcCall(acceptor.grpcPort, GRPC_PATHS.logs, gz, {
          encoding: 'gzip',
          compressed: true,
        }).then((r) => r.grpcStatus),
      ),
    ]);
    // Each is refused as too large — or, when the others already hold the in-flight
    // bound (256 MiB by default) while inflating, as UNAVAILABLE / 503 to retry later.
    expect(concurrent.slice(0, 4).every((s) => s === 413 || s === 503)).toBe(true);
    expect(concurrent.slice(4).every((s) => s === 8 || s === 14)).toBe(true);

    const after = await processMemory(acceptor.pid);
    const growth = after.peak - before.peak;
    const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
    console.log(
      `acceptor peak RSS: baseline ${mib(before.peak)}; after 4 sequential bombs ` +
        `+${mib(sequential.peak - before.peak)}; after 8 concurrent +${mib(growth)}`,
    );
    // Concurrent bombs together hold at most the in-flight bound (256 MiB) while being
    // refused, plus allocator slack — well under the 1 GiB one of them would inflate to.
    expect(growth).toBeLessThan(8 * LIMIT + 4 * LIMIT);
    expect(growth).toBeLessThan(GiB / 2);

    // Still serving.
    const again = encodeRequest('traces', traceRequest({ request: 2, rows: 5, startNs: 1n }));
    expect((await grpc.export('traces', again)).code).toBe(Code.OK);
    expect((await postOtlp(acceptor.httpPort, 'traces', again)).status).toBe(200);
  } finally {
    grpc.close();
  }
  expect(acceptor.child.exitCode).toBeNull();
}, 120_000);

/**
 * The in-flight bound covers bodies while they are read and inflated, not only decoded
 * requests waiting for the writer: sixteen bombs at once against an acceptor with a
 * 64 MiB bound cost about that much, where each alone may inflate to the 32 MiB request
 * limit (16 × 32 MiB = 512 MiB without the bound). The ones that find the bound full get
 * 503 / UNAVAILABLE with a retry delay.
 */
test('concurrent bombs are charged to SEDIMENT_MAX_INFLIGHT_BYTES while they inflate: peak memory ≈ the bound, the rest get 503 / UNAVAILABLE', async () => {
  const INFLIGHT = 64 * MiB;
  const bounded = await spawnAcceptor({
    SEDIMENT_WRITERS: `127.0.0.1:${writer.flightPort}`,
    SEDIMENT_MAX_INFLIGHT_BYTES: String(INFLIGHT),
  });
  const grpc = new GrpcOtlpClient(bounded.grpcPort);
  try {
    const gz = gzipBomb(GiB / 4); // 256 MiB inflated: past the 32 MiB limit either way
    const warm = encodeRequest('traces', traceRequest({ request: 3, rows: 50, startNs: 1n }));
    expect((await grpc.export('traces', warm)).code).toBe(Code.OK);
    expect(
      (
        await postOtlp(bounded.httpPort, 'traces', zlib.gzipSync(warm), {
          headers: { 'content-encoding': 'gzip' },
        })
      ).status,
    ).toBe(200);
    const before = await processMemory(bounded.pid);
    const replies = await Promise.all([
      ...Array.from({ length: 8 }, () =>
        postOtlp(bounded.httpPort, 'logs', gz, { headers: { 'content-encoding': 'gzip' } }).then(
          (r) => r.status,
        ),
      ),
      ...Array.from({ length: 8 }, () =>
        rawGrpcCall(bounded.grpcPort, GRPC_PATHS.logs, gz, {
          encoding: 'gzip',
          compressed: true,
        }).then((r) => r.grpcStatus),
      ),
    ]);
    const after = await processMemory(bounded.pid);
    const growth = after.peak - before.peak;
    console.log(
      `16 concurrent bombs, 64 MiB in-flight bound: replies ${JSON.stringify(replies)}; peak RSS +${(growth / MiB).toFixed(0)} MiB`,
    );
    const http = replies.slice(0, 8);
    const viaGrpc = replies.slice(8);
    expect(http.every((s) => s === 413 || s === 503)).toBe(true);
    expect(viaGrpc.every((s) => s === Code.RESOURCE_EXHAUSTED || s === Code.UNAVAILABLE)).toBe(
      true,
    );
    // The bound turned some away instead of letting all sixteen inflate at once …
    expect(replies.filter((s) => s === 503 || s === Code.UNAVAILABLE).length).toBeGreaterThan(0);
    // … so the peak grew by about the bound (plus garbage not yet collected), nowhere near
    // the 512 MiB that sixteen inflating bodies would hold.
    expect(growth).toBeLessThan(INFLIGHT + 3 * LIMIT);
    // Still serving, with nothing left charged.
    const again = encodeRequest('traces', traceRequest({ request: 4, rows: 5, startNs: 1n }));
    expect((await grpc.export('traces', again)).code).toBe(Code.OK);
    expect((await postOtlp(bounded.httpPort, 'traces', again)).status).toBe(200);
  } finally {
    grpc.close();
    bounded.kill();
  }
}, 120_000);
