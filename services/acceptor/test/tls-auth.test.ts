/**
 * TLS, mTLS and bearer tokens on both OTLP ports, with certificates made by `openssl` at
 * test time: raw grpc-js and node:https clients, and the OpenTelemetry exporters
 * configured the way users configure them (CA, headers / metadata).
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { MemoryStore } from '@sediment/object-store';
import type { Writer } from '@sediment/writer';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ExportResult, sendTraces } from '../../../test/support/otel-sdk.js';
import { encodeRequest } from '../../../test/support/otlp-proto.js';
import { traceRequest } from '../../../test/support/otlp-workload.js';
import type { Acceptor } from '../src/index.js';
import {
  Code,
  decodeStatus,
  GrpcOtlpClient,
  postOtlp,
  removeTempDirs,
  startAcceptor,
  startWriter,
  trackTempDir,
} from './support.js';
import { makeTestPki, type TestPki } from './tls.js';

const T0 = 1_714_564_800_000_000_000n;
const TOKEN = 's3cret-token';
let request = 1;
const body = () =>
  encodeRequest('traces', traceRequest({ request: request++, rows: 2, startNs: T0 }));

let pki: TestPki;
let writer: Writer;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  pki = await makeTestPki();
  trackTempDir(pki.dir);
  writer = await startWriter(new MemoryStore());
});

afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await writer?.close();
  await removeTempDirs();
});

function grpcClient(port: number, tls: { cert?: Buffer; key?: Buffer } = {}, ca?: Buffer) {
  const client = new GrpcOtlpClient(port, {
    credentials: credentials.createSsl(ca ?? pki.ca, tls.key ?? null, tls.cert ?? null),
  });
  cleanup.push(() => client.close());
  return client;
}

function failed(results: ExportResult[]): boolean {
  return results.length > 0 && results.every((r) => r.code !== 0);
}

describe('TLS + bearer tokens', () => {
  let acceptor: Acceptor;

  beforeAll(async () => {
    acceptor = await startAcceptor(`127.0.0.1:${writer.flightPort}`, {
      SEDIMENT_TLS_CERT: pki.files.serverCert,
      SEDIMENT_TLS_KEY: pki.files.serverKey,
      SEDIMENT_AUTH_TOKENS: `other-token,${TOKEN}`,
    });
    cleanup.push(() => acceptor.close());
  });

  test('HTTPS: a client trusting the test CA with the right token is accepted; no or wrong token → 401', async () => {
    const tls = { ca: pki.ca };
    const ok = await postOtlp(acceptor.httpPort, 'traces', body(), {
      tls,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(ok.status).toBe(200);
    for (const headers of [{}, { authorization: 'Bearer nope' }] as Record<string, string>[]) {
      const r = await postOtlp(acceptor.httpPort, 'traces', body(), { tls, headers });
      expect(r.status).toBe(401);
      expect(decodeStatus(r.body).code).toBe(Code.UNAUTHENTICATED);
    }
    // A client that does not trust the CA refuses the server; plain HTTP gets no answer.
    await expect(
      postOtlp(acceptor.httpPort, 'traces', body(), { tls: { rejectUnauthorized: true } }),
    ).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    await expect(postOtlp(acceptor.httpPort, 'traces', body())).rejects.toThrow();
  });

  test('gRPC over TLS: right token OK; none or wrong → UNAUTHENTICATED; plaintext client → UNAVAILABLE', async () => {
    const client = grpcClient(acceptor.grpcPort);
    expect((await client.export('traces', body(), { token: TOKEN })).code).toBe(Code.OK);
    expect((await client.export('traces', body())).code).toBe(Code.UNAUTHENTICATED);
    expect((await client.export('traces', body(), { token: 'nope' })).code).toBe(
      Code.UNAUTHENTICATED,
    );
    const plain = new GrpcOtlpClient(acceptor.grpcPort);
    cleanup.push(() => plain.close());
    expect((await plain.export('traces', body(), { token: TOKEN, deadlineMs: 5_000 })).code).toBe(
      Code.UNAVAILABLE,
    );
  });

  test('OpenTelemetry exporters over TLS with the token in headers / metadata succeed; a wrong token fails', async () => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    const grpc = await sendTraces(
      new GrpcTraceExporter({
        url: `https://127.0.0.1:${acceptor.grpcPort}`,
        credentials: credentials.createSsl(pki.ca),
        metadata,
      }),
      'tls-grpc',
    );
    expect(grpc.results.map((r) => r.code)).toEqual([0]);
    const proto = await sendTraces(
      new ProtoTraceExporter({
        url: `https://127.0.0.1:${acceptor.httpPort}/v1/traces`,
        headers: { Authorization: `Bearer ${TOKEN}` },
        httpAgentOptions: { ca: pki.ca },
      }),
      'tls-http',
    );
    expect(proto.results.map((r) => r.code)).toEqual([0]);

    const wrong = await sendTraces(
      new ProtoTraceExporter({
        url: `https://127.0.0.1:${acceptor.httpPort}/v1/traces`,
        headers: { Authorization: 'Bearer wrong' },
        httpAgentOptions: { ca: pki.ca },
      }),
      'tls-http-wrong',
    );
    expect(failed(wrong.results)).toBe(true);
    expect(String(wrong.results[0]!.error)).toMatch(/401|Unauthorized/i);
  });
});

describe('mTLS (SEDIMENT_TLS_CLIENT_CA)', () => {
  let acceptor: Acceptor;

  beforeAll(async () => {
    acceptor = await startAcceptor(`127.0.0.1:${writer.flightPort}`, {
      SEDIMENT_TLS_CERT: pki.files.serverCert,
      SEDIMENT_TLS_KEY: pki.files.serverKey,
      SEDIMENT_TLS_CLIENT_CA: pki.files.caCert,
    });
    cleanup.push(() => acceptor.close());
  });

  test('HTTPS: a client certificate from the CA is accepted; none, or one from another CA, is refused', async () => {
    const ok = await postOtlp(acceptor.httpPort, 'traces', body(), {
      tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
    });
    expect(ok.status).toBe(200);
    await expect(
      postOtlp(acceptor.httpPort, 'traces', body(), { tls: { ca: pki.ca } }),
    ).rejects.toThrow();
    await expect(
      postOtlp(acceptor.httpPort, 'traces', body(), {
        tls: { ca: pki.ca, cert: pki.strangerCert, key: pki.strangerKey },
      }),
    ).rejects.toThrow();
  });

  test('gRPC: a client certificate from the CA → OK; none, or one from another CA → UNAVAILABLE (handshake refused)', async () => {
    const good = grpcClient(acceptor.grpcPort, { cert: pki.clientCert, key: pki.clientKey });
    expect((await good.export('traces', body())).code).toBe(Code.OK);
    const anonymous = grpcClient(acceptor.grpcPort);
    expect((await anonymous.export('traces', body(), { deadlineMs: 5_000 })).code).toBe(
      Code.UNAVAILABLE,
    );
    const stranger = grpcClient(acceptor.grpcPort, {
      cert: pki.strangerCert,
      key: pki.strangerKey,
    });
    expect((await stranger.export('traces', body(), { deadlineMs: 5_000 })).code).toBe(
      Code.UNAVAILABLE,
    );
  });
});
