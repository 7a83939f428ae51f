/**
 * No grpc-js channelz anywhere on the OTLP → Flight path: the acceptor's OTLP gRPC server,
 * its Flight client and the writer's Flight server all run with `grpc.enable_channelz: 0`
 * (channelz builds a per-call tracker of closures and timestamps, and nothing here serves
 * it). Proved on grpc-js's own registry after a real export through a real writer.
 */
import { getChannelzHandlers } from '@sediment/flight/grpc-js';
import type { Writer } from '@sediment/writer';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { encodeRequest } from '../../../test/support/otlp-proto.js';
import { traceRequest } from '../../../test/support/otlp-workload.js';
import type { Acceptor } from '../src/index.js';
import {
  Code,
  GrpcOtlpClient,
  removeTempDirs,
  startAcceptor,
  startWriter,
  tempStore,
} from './support.js';

let writer: Writer;
let acceptor: Acceptor;
let grpc: GrpcOtlpClient;

beforeAll(async () => {
  writer = await startWriter(await tempStore());
  acceptor = await startAcceptor(`127.0.0.1:${writer.flightPort}`);
  // The test's own client opts out too, so the registry shows only Sediment's parts.
  grpc = new GrpcOtlpClient(acceptor.grpcPort, {
    channelOptions: { 'grpc.enable_channelz': 0 },
  });
});

afterAll(async () => {
  grpc.close();
  await acceptor.close();
  await writer.close();
  await removeTempDirs();
});

function registered(method: 'GetServers' | 'GetTopChannels'): Promise<number> {
  const handler = getChannelzHandlers()[method] as unknown as (
    call: { request: Record<string, number> },
    cb: (err: unknown, res: { server?: unknown[]; channel?: unknown[] }) => void,
  ) => void;
  return new Promise((resolve, reject) =>
    handler({ request: { start_server_id: 0, start_channel_id: 0 } }, (err, res) =>
      err ? reject(err) : resolve((res.server ?? res.channel ?? []).length),
    ),
  );
}

test('an export through acceptor and writer registers no channelz server or channel', async () => {
  const body = encodeRequest('traces', traceRequest({ request: 1, rows: 3, startNs: 1n << 60n }));
  const reply = await grpc.export('traces', body);
  expect(reply.code).toBe(Code.OK);
  expect(await registered('GetServers')).toBe(0);
  expect(await registered('GetTopChannels')).toBe(0);
});
