/**
 * Real servers on 127.0.0.1:0 for the Flight integration tests.
 */
import { createHash } from 'node:crypto';
import {
  createFlightServer,
  type DoPutRequest,
  FlightClient,
  type FlightClientOptions,
  type FlightServer,
  type FlightServerOptions,
  silentFlightLogger,
} from '../src/index.js';

export interface RecordedPut {
  path: string[];
  ipc: Uint8Array;
  appMetadata: Uint8Array | undefined;
  recordBatchCount: number;
  peer: string;
}

export interface TestServer {
  server: FlightServer;
  port: number;
  target: string;
  puts: RecordedPut[];
}

/**
 * Starts a Flight server whose handler records each put and answers with
 * `ack:<sha256 of the ipc>` (unless `onDoPut` is given).
 */
export async function startServer(
  options: Partial<FlightServerOptions> = {},
  port = 0,
): Promise<TestServer> {
  const puts: RecordedPut[] = [];
  const server = createFlightServer({
    logger: silentFlightLogger,
    ...options,
    onDoPut: async (put: DoPutRequest) => {
      puts.push({
        path: put.path,
        ipc: put.ipc,
        appMetadata: put.appMetadata,
        recordBatchCount: put.recordBatchCount,
        peer: put.peer,
      });
      if (options.onDoPut) return options.onDoPut(put);
      return ackFor(put.ipc);
    },
  });
  const bound = await server.listen('127.0.0.1', port);
  return { server, port: bound, target: `127.0.0.1:${bound}`, puts };
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export function ackFor(ipc: Uint8Array): Uint8Array {
  return Buffer.from(`ack:${sha256(ipc)}`);
}

export function client(
  options: Partial<FlightClientOptions> & Pick<FlightClientOptions, 'targets'>,
): FlightClient {
  return new FlightClient({ logger: silentFlightLogger, ...options });
}

export const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : Buffer.from(b).toString('utf8');

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `check()` is true, polling; fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
