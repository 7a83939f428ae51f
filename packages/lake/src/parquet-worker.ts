/**
 * Parquet encoding off the main thread. Encoding a file takes from milliseconds to a few
 * seconds of CPU in synchronous wasm; in the writer service that would stall the event
 * loop that answers Arrow Flight puts. A worker thread runs parquet-wasm instead; the
 * joined IPC stream goes in and the Parquet bytes come back as transferred buffers (no
 * copies).
 *
 * The worker is an `eval` worker fed the source below, which imports parquet-wasm's
 * Node build by absolute URL: it needs no TypeScript loader, so it runs the same from
 * sources (tests, tsx) and from the build.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ParquetEncodeError, ParquetWorkerError } from './errors.js';
import { encodeParquet, PARQUET_CREATED_BY, type ParquetEncodeOptions } from './parquet-encoder.js';

/** Encodes one joined IPC stream. May take ownership of (detach) `stream`'s buffer. */
export interface ParquetEncoder {
  encode(stream: Uint8Array, options: ParquetEncodeOptions): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Encodes on the calling thread (blocks it while encoding). */
export class InlineParquetEncoder implements ParquetEncoder {
  async encode(stream: Uint8Array, options: ParquetEncodeOptions): Promise<Uint8Array> {
    return encodeParquet(stream, options);
  }
  async close(): Promise<void> {}
}

// Plain JavaScript that runs whether the eval'd code is treated as CommonJS or as an ES
// module (the worker inherits flags such as --input-type): dynamic import() only.
const WORKER_SOURCE = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  const mod = await import(workerData.parquetWasmUrl);
  const pw = mod.writeParquet ? mod : mod.default;
  const describe = (err) => (err instanceof Error ? err.message : String(err));
  parentPort.on('message', (m) => {
    let table;
    try {
      table = pw.Table.fromIPCStream(new Uint8Array(m.stream));
    } catch (err) {
      parentPort.postMessage({ id: m.id, ok: false, message: 'arrow-rs could not read the IPC stream: ' + describe(err) });
      return;
    }
    try {
      let b = new pw.WriterPropertiesBuilder()
        .setCompression(pw.Compression.ZSTD)
        .setDictionaryEnabled(false)
        .setStatisticsEnabled(pw.EnabledStatistics.Page)
        .setMaxRowGroupSize(m.rowGroupRows)
        .setCreatedBy(m.createdBy);
      for (const c of m.dictionaryColumns) b = b.setColumnDictionaryEnabled(c, true);
      if (m.keyValueMetadata.length > 0) b = b.setKeyValueMetadata(new Map(m.keyValueMetadata));
      let out = pw.writeParquet(table, b.build());
      if (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) out = out.slice();
      parentPort.postMessage({ id: m.id, ok: true, bytes: out.buffer }, [out.buffer]);
    } catch (err) {
      parentPort.postMessage({ id: m.id, ok: false, message: describe(err) });
    }
  });
})();
`;

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly bytes?: ArrayBuffer;
  readonly message?: string;
}

/**
 * One worker thread, started on first use; files are encoded one after the other. A
 * crashed worker fails the files in flight with `ParquetWorkerError` (retryable: the
 * round is redone) and is replaced on the next call. Writer settings mirror
 * `encodeParquet` (a test checks both produce identical bytes).
 */
export class WorkerParquetEncoder implements ParquetEncoder {
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #pending = new Map<
    number,
    { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }
  >();
  #closed = false;

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const parquetWasmUrl = pathToFileURL(
      createRequire(import.meta.url).resolve('parquet-wasm'),
    ).href;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { parquetWasmUrl } });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.ok) p.resolve(new Uint8Array(reply.bytes!));
      else p.reject(new ParquetEncodeError(reply.message ?? 'unknown error'));
    });
    const fail = (err: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const p of this.#pending.values()) p.reject(new ParquetWorkerError(err));
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`parquet worker exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  encode(stream: Uint8Array, options: ParquetEncodeOptions): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new ParquetWorkerError(new Error('encoder closed')));
    const worker = this.#start();
    const id = this.#nextId++;
    // Transfer without copying when the view covers its whole buffer (joinIpcStream's do).
    const whole = stream.byteOffset === 0 && stream.byteLength === stream.buffer.byteLength;
    const buffer = whole ? (stream.buffer as ArrayBuffer) : stream.slice().buffer;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage(
        {
          id,
          stream: buffer,
          rowGroupRows: options.rowGroupRows,
          dictionaryColumns: [...options.dictionaryColumns],
          keyValueMetadata: [...(options.keyValueMetadata ?? new Map())],
          createdBy: PARQUET_CREATED_BY,
        },
        [buffer],
      );
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }
}
