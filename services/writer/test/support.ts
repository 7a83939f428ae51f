import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FlightClient } from '@sediment/flight';
import { LocalFsStore, type ObjectStore, S3Store } from '@sediment/object-store';
import { s3TestOptions } from '@sediment/object-store/testing';
import {
  decodeLogs,
  decodeMetrics,
  decodeTraces,
  type IpcWriteOptions,
  toIpcStream,
} from '@sediment/otlp';
import { encodeRequest, type Signal } from '../../../test/support/otlp-proto.js';
import {
  logsRequest,
  metricsRequest,
  traceRequest,
  type WorkloadOptions,
} from '../../../test/support/otlp-workload.js';
import { loadWriterConfig, type WriterConfig } from '../src/index.js';

/** Writer config for tests: ephemeral ports, quiet logs, knobs overridable through env. */
export function testWriterConfig(env: Record<string, string> = {}): WriterConfig {
  return loadWriterConfig({
    SEDIMENT_FLIGHT_HOST: '127.0.0.1',
    SEDIMENT_FLIGHT_PORT: '0',
    SEDIMENT_WRITER_ADMIN_PORT: '0',
    SEDIMENT_LOG_LEVEL: 'error',
    SEDIMENT_STORE: 'memory:',
    ...env,
  });
}

export interface StoreCase {
  readonly name: string;
  readonly open: () => Promise<ObjectStore>;
}

/** local-fs always; S3 when configured (loud skip otherwise, failure under SEDIMENT_CI). */
export function storeCases(): { cases: StoreCase[]; s3Skipped: boolean } {
  const cases: StoreCase[] = [
    {
      name: 'local-fs',
      open: async () =>
        new LocalFsStore({ root: await mkdtemp(path.join(tmpdir(), 'sediment-writer-')) }),
    },
  ];
  const s3 = s3TestOptions();
  if (s3) cases.push({ name: 's3', open: async () => new S3Store(s3) });
  return { cases, s3Skipped: !s3 };
}

const DECODERS = { traces: decodeTraces, metrics: decodeMetrics, logs: decodeLogs } as const;
const BUILDERS = { traces: traceRequest, metrics: metricsRequest, logs: logsRequest } as const;

export interface TablePut {
  readonly table: string;
  readonly ipc: Uint8Array;
  readonly rows: number;
  /** Request identity sent as DoPut app_metadata (what an acceptor derives from the body). */
  readonly requestId: Uint8Array;
}

/** An OTLP request as an acceptor turns it into DoPuts: one per table. */
export function requestPuts(
  signal: Signal,
  o: WorkloadOptions,
  ipcOptions?: IpcWriteOptions,
): TablePut[] {
  const body = encodeRequest(signal, BUILDERS[signal](o));
  const decoded = DECODERS[signal](body);
  if (decoded.rejected > 0) throw new Error(`workload rejected: ${decoded.rejectedMessage}`);
  return decoded.tables.map(({ table, batch }) => ({
    table,
    ipc: toIpcStream(table, batch, ipcOptions),
    rows: batch.numRows,
    requestId: createHash('sha256')
      .update(signal)
      .update(body)
      .update(table)
      .digest()
      .subarray(0, 16),
  }));
}

export async function put(client: FlightClient, p: TablePut, deadlineMs = 30_000): Promise<void> {
  await client.doPut([p.table], p.ipc, { appMetadata: p.requestId, deadlineMs });
}
