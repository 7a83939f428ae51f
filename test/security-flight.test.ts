/**
 * The writer's Flight port takes data only from authenticated acceptors, and nothing a
 * client sends can make the writer or the lake write outside their prefixes.
 *
 * - SEDIMENT_FLIGHT_TOKENS: a DoPut without a token, with a wrong one or a malformed
 *   authorization is UNAUTHENTICATED; an acceptor given SEDIMENT_WRITER_TOKEN stores data
 *   end to end, one with a wrong token answers its clients UNAVAILABLE / 503;
 * - SEDIMENT_FLIGHT_TLS_CLIENT_CA (mTLS): a client without a certificate, or with one from
 *   another CA, is refused in the handshake; an acceptor with SEDIMENT_WRITER_TLS_* works;
 * - table names from the wire: descriptor paths like `../x`, `spans/../../etc`, `%2e%2e`,
 *   absolute paths, unicode lookalikes, NUL, several segments are INVALID_ARGUMENT, and a
 *   schema that names another table than its path too; after a drain every object in the
 *   store is under `ingest/` or under `lake/<one of the OTLP tables>/`, `lake/_commits/`,
 *   `lake/_quarantine/` — and nothing at all was written beside the store's root.
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FlightClient,
  FlightInvalidArgumentError,
  FlightUnauthenticatedError,
  FlightUnavailableError,
  silentFlightLogger,
} from '@sediment/flight';
import { LocalFsStore } from '@sediment/object-store';
import { decodeTraces, toIpcStream } from '@sediment/otlp';
import { createWriter, loadWriterConfig, type Writer } from '@sediment/writer';
import { RecordBatch, Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAcceptor, loadAcceptorConfig } from '../services/acceptor/src/index.js';
import { GrpcOtlpClient, postOtlp } from '../services/acceptor/test/support.js';
import { makeTestPki, type TestPki } from '../services/acceptor/test/tls.js';
import { requestJson } from './support/fuzz-cases.js';
import { encodeRequest } from './support/otlp-proto.js';

let next = 1;
const tracesBody = (producer = 'security-flight') =>
  Buffer.from(encodeRequest('traces', requestJson('traces', next++, 2, producer)));

function spansIpc(): { table: string; ipc: Uint8Array } {
  const { table, batch } = decodeTraces(tracesBody()).tables[0]!;
  return { table, ipc: toIpcStream(table, batch) };
}

const dirs: string[] = [];
const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A writer on a local-fs store at `<parent>/store`, with `env` added. */
async function writerWith(
  env: Record<string, string>,
): Promise<{ writer: Writer; parent: string; root: string }> {
  const parent = await mkdtemp(path.join(tmpdir(), 'sediment-security-'));
  dirs.push(parent);
  const root = path.join(parent, 'store');
  await mkdir(root);
  const writer = await createWriter(
    loadWriterConfig({
      SEDIMENT_STORE: `file://${root}`,
      SEDIMENT_FLIGHT_HOST: '127.0.0.1',
      SEDIMENT_FLIGHT_PORT: '0',
      SEDIMENT_WRITER_ADMIN_PORT: '0',
      SEDIMENT_FLUSH_INTERVAL: '20ms',
      SEDIMENT_LOG_LEVEL: 'silent',
      ...env,
    }),
  );
  cleanup.push(() => writer.close());
  return { writer, parent, root };
}

function flightClient(
  port: number,
  options: Partial<ConstructorParameters<typeof FlightClient>[0]> = {},
) {
  const client = new FlightClient({
    targets: [`127.0.0.1:${port}`],
    defaultDeadlineMs: 10_000,
    logger: silentFlightLogger,
    ...options,
  });
  cleanup.push(() => client.close());
  return client;
}

async function acceptorFor(writerPort: number, env: Record<string, string>) {
  const acceptor = await createAcceptor(
    loadAcceptorConfig({
      SEDIMENT_HOST: '127.0.0.1',
      SEDIMENT_GRPC_PORT: '0',
      SEDIMENT_HTTP_PORT: '0',
      SEDIMENT_LOG_LEVEL: 'silent',
      SEDIMENT_WRITERS: `127.0.0.1:${writerPort}`,
      SEDIMENT_WRITER_TIMEOUT: '3s',
      ...env,
    }),
  );
  cleanup.push(() => acceptor.close());
  return acceptor;
}

describe('SEDIMENT_FLIGHT_TOKENS', () => {
  let writer: Writer;
  beforeAll(async () => {
    ({ writer } = await writerWith({ SEDIMENT_FLIGHT_TOKENS: 'acceptor-a,acceptor-b' }));
  });

  test('a DoPut without a token, with a wrong one or with a malformed authorization is UNAUTHENTICATED; the tokens are accepted', async () => {
    const { table, ipc } = spansIpc();
    for (const token of [undefined, 'wrong', 'acceptor-a ', 'ACCEPTOR-A', '']) {
      const client = flightClient(writer.flightPort, token === undefined ? {} : { token });
      const err = await client.doPut([table], ipc).catch((e: unknown) => e);
      expect(err, JSON.stringify(token)).toBeInstanceOf(FlightUnauthenticatedError);
    }
    for (const token of ['acceptor-a', 'acceptor-b']) {
      const ok = await flightClient(writer.flightPort, { token }).doPut([table], spansIpc().ipc);
      expect(ok).toBeDefined();
    }
  });

  test('an acceptor with SEDIMENT_WRITER_TOKEN stores data end to end; with a wrong token its clients get UNAVAILABLE / 503', async () => {
    const good = await acceptorFor(writer.flightPort, { SEDIMENT_WRITER_TOKEN: 'acceptor-b' });
    expect((await postOtlp(good.httpPort, 'traces', tracesBody())).status).toBe(200);
    const grpc = new GrpcOtlpClient(good.grpcPort);
    cleanup.push(() => grpc.close());
    expect((await grpc.export('traces', tracesBody())).code).toBe(0);

    const bad = await acceptorFor(writer.flightPort, { SEDIMENT_WRITER_TOKEN: 'stolen' });
    expect((await postOtlp(bad.httpPort, 'traces', tracesBody())).status).toBe(503);
    const none = await acceptorFor(writer.flightPort, {});
    const badGrpc = new GrpcOtlpClient(none.grpcPort);
    cleanup.push(() => badGrpc.close());
    expect((await badGrpc.export('traces', tracesBody())).code).toBe(14);
  });
});

describe('SEDIMENT_FLIGHT_TLS_CLIENT_CA (mutual TLS)', () => {
  let pki: TestPki;
  let writer: Writer;
  let clientCertFile: string;
  let clientKeyFile: string;
  let strangerCertFile: string;
  let strangerKeyFile: string;

  beforeAll(async () => {
    pki = await makeTestPki();
    dirs.push(pki.dir);
    clientCertFile = path.join(pki.dir, 'acceptor.crt');
    clientKeyFile = path.join(pki.dir, 'acceptor.key');
    strangerCertFile = path.join(pki.dir, 'stranger-acceptor.crt');
    strangerKeyFile = path.join(pki.dir, 'stranger-acceptor.key');
    await writeFile(clientCertFile, pki.clientCert);
    await writeFile(clientKeyFile, pki.clientKey);
    await writeFile(strangerCertFile, pki.strangerCert);
    await writeFile(strangerKeyFile, pki.strangerKey);
    ({ writer } = await writerWith({
      SEDIMENT_FLIGHT_TLS_CERT: pki.files.serverCert,
      SEDIMENT_FLIGHT_TLS_KEY: pki.files.serverKey,
      SEDIMENT_FLIGHT_TLS_CLIENT_CA: pki.files.caCert,
    }));
  });

  test('clients without a certificate, with one from another CA, or speaking plaintext are refused; the CA-signed one is accepted', async () => {
    const { table, ipc } = spansIpc();
    const refused = [
      flightClient(writer.flightPort, { tls: { ca: pki.ca } }),
      flightClient(writer.flightPort, {
        tls: { ca: pki.ca, cert: pki.strangerCert, key: pki.strangerKey },
      }),
      flightClient(writer.flightPort),
    ];
    for (const client of refused) {
      const err = await client.doPut([table], ipc, { deadlineMs: 5_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlightUnavailableError);
    }
    const ok = flightClient(writer.flightPort, {
      tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
    });
    expect(await ok.doPut([table], ipc)).toBeDefined();
  });

  test('an acceptor with SEDIMENT_WRITER_TLS_CA/CERT/KEY stores data end to end; one without a client certificate cannot', async () => {
    const good = await acceptorFor(writer.flightPort, {
      SEDIMENT_WRITER_TLS_CA: pki.files.caCert,
      SEDIMENT_WRITER_TLS_CERT: clientCertFile,
      SEDIMENT_WRITER_TLS_KEY: clientKeyFile,
    });
    expect((await postOtlp(good.httpPort, 'traces', tracesBody())).status).toBe(200);
    for (const env of [
      { SEDIMENT_WRITER_TLS_CA: pki.files.caCert } as Record<string, string>,
      {
        SEDIMENT_WRITER_TLS_CA: pki.files.caCert,
        SEDIMENT_WRITER_TLS_CERT: strangerCertFile,
        SEDIMENT_WRITER_TLS_KEY: strangerKeyFile,
      },
    ]) {
      const bad = await acceptorFor(writer.flightPort, env);
      expect((await postOtlp(bad.httpPort, 'traces', tracesBody())).status).toBe(503);
    }
  });
});

describe('table names from the wire cannot escape the store prefixes', () => {
  const HOSTILE_PATHS: string[][] = [
    ['../x'],
    ['spans/../../etc'],
    ['%2e%2e'],
    ['%2e%2e%2fetc'],
    ['..'],
    ['.'],
    [''],
    ['/etc/passwd'],
    ['/spans'],
    ['spans/'],
    ['spans\\..\\..\\x'],
    ['C:\\x'],
    ['\u0455pans'], // Cyrillic dze, looks like "s"
    ['spans\u200b'], // zero-width space
    ['ｓｐａｎｓ'], // full-width
    ['spans\u0000'],
    ['spans\u0000/../../x'],
    ['spans\n'],
    ['SPANS'],
    ['_commits'],
    ['_quarantine'],
    ['x'.repeat(64)],
    ['spans', 'x'],
    ['spans', '..'],
    [],
  ];

  test('hostile descriptor paths and schemas → INVALID_ARGUMENT; after the drain every object is under ingest/ or lake/<OTLP table>/ and nothing was written beside the store', async () => {
    const { writer, parent, root } = await writerWith({});
    const client = flightClient(writer.flightPort);
    const { ipc } = spansIpc();
    for (const p of HOSTILE_PATHS) {
      const err = await client.doPut(p, ipc).catch((e: unknown) => e);
      expect(err, JSON.stringify(p)).toBeInstanceOf(FlightInvalidArgumentError);
    }
    // A schema whose sediment.table metadata names another table than the descriptor.
    const t = tableFromIPC(ipc);
    for (const named of ['../evil', 'logs', 'spans/../../x']) {
      const metadata = new Map(t.schema.metadata);
      metadata.set('sediment.table', named);
      const schema = new Schema(t.schema.fields, metadata);
      const relabelled = new Table(
        schema,
        t.batches.map((b) => new RecordBatch(schema, b.data)),
      );
      const err = await client
        .doPut(['spans'], tableToIPC(relabelled, 'stream'))
        .catch((e: unknown) => e);
      expect(err, named).toBeInstanceOf(FlightInvalidArgumentError);
    }
    // Accepted: a real spans put, and a well-formed name that is no OTLP table (the
    // collector quarantines it: it never becomes a lake/<table>/ directory).
    expect(await client.doPut(['spans'], spansIpc().ipc)).toBeDefined();
    const custom = tableFromIPC(spansIpc().ipc);
    const metadata = new Map(custom.schema.metadata);
    metadata.set('sediment.table', 'zz_custom');
    const schema = new Schema(custom.schema.fields, metadata);
    const renamed = new Table(
      schema,
      custom.batches.map((b) => new RecordBatch(schema, b.data)),
    );
    expect(await client.doPut(['zz_custom'], tableToIPC(renamed, 'stream'))).toBeDefined();

    const report = await writer.drain();
    expect(report.clean).toBe(true);

    const keys: string[] = [];
    for await (const o of new LocalFsStore({ root }).list('')) keys.push(o.key);
    expect(keys.length).toBeGreaterThan(0);
    const allowed = [
      /^ingest\/[^/]+$/,
      /^lake\/(spans|logs|metrics_gauge|metrics_sum|metrics_histogram|metrics_exponential_histogram|metrics_summary)\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/[0-9A-Z]+\.parquet$/,
      /^lake\/_commits\/[^/]+$/,
      /^lake\/_quarantine\/[^/]+$/,
    ];
    for (const key of keys)
      expect(
        allowed.some((re) => re.test(key)),
        key,
      ).toBe(true);
    expect(keys.some((k) => k.startsWith('lake/spans/'))).toBe(true);
    expect(keys.some((k) => k.startsWith('lake/_quarantine/'))).toBe(true);
    expect(
      keys.some((k) => k.includes('zz_custom') || k.includes('evil') || k.includes('..')),
    ).toBe(false);

    // The filesystem agrees with the store's listing: beside the store root, nothing.
    expect(await readdir(parent)).toEqual(['store']);
    const walk = async (dir: string): Promise<string[]> => {
      const out: string[] = [];
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...(await walk(p)));
        else out.push(path.relative(root, p));
      }
      return out;
    };
    for (const file of await walk(root)) {
      expect(
        file.startsWith(`ingest${path.sep}`) ||
          file.startsWith(`lake${path.sep}`) ||
          file.startsWith('.'),
        file,
      ).toBe(true);
    }
    expect((await stat(path.join(parent, 'x')).catch(() => undefined)) === undefined).toBe(true);
  }, 120_000);
});
