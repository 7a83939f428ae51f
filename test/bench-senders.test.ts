/**
 * The benchmark's OTLP gRPC senders (bench/e2e/otlp-senders.ts) report what the server
 * said: the hand-framed HTTP/2 sender the generator uses by default must read a real
 * acceptor's replies as the grpc-js one does — OK with the partial_success count,
 * UNAVAILABLE as retryable — or the benchmark would count acks that never happened.
 */
import { afterAll, describe, expect, test } from 'vitest';
import {
  createGrpcSender,
  createHttp2GrpcSender,
  type SendOutcome,
} from '../bench/e2e/otlp-senders.js';
import {
  freePort,
  startAcceptor,
  startWriter,
  tempStore,
} from '../services/acceptor/test/support.js';
import { encodeRequest } from './support/otlp-proto.js';
import { traceRequest } from './support/otlp-workload.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const SENDERS = { http2: createHttp2GrpcSender, 'grpc-js': createGrpcSender } as const;
const T0 = 1_711_924_800_000_000_000n;
let nextRequest = 1;

/** Three spans; `badIds` of them with an 8-byte trace id (rejected one by one). */
function traces(badIds: number): Buffer {
  const obj = traceRequest({ request: nextRequest++, rows: 3, startNs: T0 }) as {
    resourceSpans: { scopeSpans: { spans: { traceId: string }[] }[] }[];
  };
  for (let i = 0; i < badIds; i++) {
    obj.resourceSpans[0]!.scopeSpans[0]!.spans[i]!.traceId = '0102030405060708';
  }
  return Buffer.from(encodeRequest('traces', obj));
}

async function sendOne(
  kind: keyof typeof SENDERS,
  port: number,
  body: Buffer,
): Promise<SendOutcome> {
  const sender = SENDERS[kind]({ address: `127.0.0.1:${port}` });
  try {
    await sender.waitForReady(10_000);
    return await sender.send(body, 10_000);
  } finally {
    sender.close();
  }
}

describe('benchmark gRPC senders against a real acceptor', () => {
  test.each(Object.keys(SENDERS) as (keyof typeof SENDERS)[])(
    '%s: OK, the partial_success count, and UNAVAILABLE (retryable) without a writer',
    async (kind) => {
      const writer = await startWriter(await tempStore());
      cleanup.push(() => writer.close());
      const acceptor = await startAcceptor(`127.0.0.1:${writer.flightPort}`);
      cleanup.push(() => acceptor.close());
      expect(await sendOne(kind, acceptor.grpcPort, traces(0))).toEqual({ ok: true, rejected: 0 });
      expect(await sendOne(kind, acceptor.grpcPort, traces(2))).toEqual({ ok: true, rejected: 2 });

      const orphan = await startAcceptor(`127.0.0.1:${await freePort()}`, {
        SEDIMENT_WRITER_TIMEOUT: '300',
      });
      cleanup.push(() => orphan.close());
      expect(await sendOne(kind, orphan.grpcPort, traces(0))).toEqual({
        ok: false,
        status: 'UNAVAILABLE',
        retryable: true,
      });
    },
  );
});
