/**
 * Parquet encoding off the main thread. Encoding a file takes from milliseconds to a few
 * seconds of CPU; in the writer service that would stall the event loop that answers
 * Arrow Flight puts. A worker thread runs `encodeParquetFile` instead; the joined IPC
 * stream goes in and the Parquet bytes come back as transferred buffers (no copies).
 *
 * The worker is an `eval` worker that imports parquet-encoder by absolute URL: the
 * built `.js` next to this module, or — when running from TypeScript sources (tests,
 * benchmarks) — the `.ts` file, through the loader the worker inherited from its parent
 * (`--import tsx/esm`) or, where there is none (vitest), after registering tsx's. Worker and
 * inline encoders run the same function, so they write the same bytes.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ParquetEncodeError, ParquetWorkerError } from './errors.js';
import { END_OF_STREAM } from './ipc.js';
import { encodeParquetFile, type IpcInput, type ParquetEncodeOptions } from './parquet-encoder.js';

/**
 * Encodes one IPC stream, joined or as its messages (schema first). May take ownership
 * of (detach) a joined stream's buffer; messages are only read until the promise settles.
 */
export interface ParquetEncoder {
  encode(input: IpcInput, options: ParquetEncodeOptions): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface ParquetEncoderOptions {
  /** Called when the sediment writer handed a file to parquet-wasm (reason). */
  readonly onFallback?: (reason: string) => void;
  /**
   * Worker encoder only: the Linux nice value (0–19) of the encoding thread. Encoding is
   * background work; above 0 the scheduler gives the CPU to the process's other threads
   * first (those answering requests) and the encoder every cycle they leave. Default 0
   * (unchanged). Applies to that thread alone (Linux `setpriority` on its thread id).
   */
  readonly nice?: number;
  /** Called once when `nice` could not be applied (not Linux, or refused), with why. */
  readonly onNiceFailed?: (reason: string) => void;
}

/** Highest nice value (lowest priority) Linux knows. */
export const MAX_NICE = 19;

/** Encodes on the calling thread (blocks it while encoding). */
export class InlineParquetEncoder implements ParquetEncoder {
  readonly #onFallback: ((reason: string) => void) | undefined;
  constructor(options: ParquetEncoderOptions = {}) {
    this.#onFallback = options.onFallback;
  }
  async encode(input: IpcInput, options: ParquetEncodeOptions): Promise<Uint8Array> {
    const r = encodeParquetFile(input, options);
    if (r.fallback !== undefined) this.#onFallback?.(r.fallback);
    return r.bytes;
  }
  async close(): Promise<void> {}
}

// Plain JavaScript that runs whether the eval'd code is treated as CommonJS or as an ES
// module (the worker inherits flags such as --input-type): dynamic import() only.
const WORKER_SOURCE = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  let mod;
  try {
    mod = await import(workerData.encoderUrl);
  } catch (err) {
    // TypeScript sources without a loader inherited from the parent: register tsx.
    if (!workerData.tsxUrl) throw err;
    (await import(workerData.tsxUrl)).register();
    // A new URL: the failed import stays cached under the old one.
    mod = await import(workerData.encoderUrl + '?tsx');
  }
  const { encodeParquetFile } = mod;
  const describe = (err) => (err instanceof Error ? err.message : String(err));
  if (workerData.nice > 0) {
    // Linux: /proc/thread-self is /proc/<pid>/task/<tid>, and setpriority() on a thread
    // id sets that thread's nice value alone.
    try {
      const { readlinkSync } = await import('node:fs');
      const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
      if (!(tid > 0)) throw new Error('no thread id in /proc/thread-self');
      (await import('node:os')).setPriority(tid, workerData.nice);
    } catch (err) {
      parentPort.postMessage({ id: -1, niceFailed: describe(err) });
    }
  }
  parentPort.on('message', (m) => {
    try {
      const r = encodeParquetFile(new Uint8Array(m.stream, 0, m.length), {
        rowGroupRows: m.rowGroupRows,
        dictionaryColumns: m.dictionaryColumns,
        keyValueMetadata: new Map(m.keyValueMetadata),
        writer: m.writer,
        zstdLevel: m.zstdLevel,
        parquetEncoding: m.parquetEncoding,
      });
      let out = r.bytes;
      if (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) out = out.slice();
      parentPort.postMessage({ id: m.id, ok: true, bytes: out.buffer, fallback: r.fallback }, [out.buffer]);
    } catch (err) {
      parentPort.postMessage({ id: m.id, ok: false, message: describe(err) });
    }
  });
})();
`;

function workerData(nice: number): {
  encoderUrl: string;
  tsxUrl: string | undefined;
  nice: number;
} {
  const ext = extname(fileURLToPath(import.meta.url));
  const encoderUrl = new URL(`./parquet-encoder${ext}`, import.meta.url).href;
  if (ext !== '.ts') return { encoderUrl, tsxUrl: undefined, nice };
  // Running from sources: the worker needs a TypeScript loader too.
  return { encoderUrl, tsxUrl: import.meta.resolve('tsx/esm/api'), nice };
}

/** The worker's answer to encode `id`, or (once, at start) why `nice` was not applied. */
type Reply =
  | {
      readonly id: number;
      readonly ok: boolean;
      readonly bytes?: ArrayBuffer;
      readonly message?: string;
      readonly fallback?: string;
    }
  | { readonly id: -1; readonly niceFailed: string };

/**
 * One worker thread, started on first use; files are encoded one after the other. A
 * crashed worker fails the files in flight with `ParquetWorkerError` (retryable: the
 * round is redone) and is replaced on the next call. It runs `encodeParquetFile`, as
 * the inline encoder does (a test checks both produce identical bytes).
 */
export class WorkerParquetEncoder implements ParquetEncoder {
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #pending = new Map<
    number,
    { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }
  >();
  #closed = false;
  readonly #onFallback: ((reason: string) => void) | undefined;
  readonly #nice: number;
  #onNiceFailed: ((reason: string) => void) | undefined;
  /** Shared input buffers not in use. */
  readonly #free: SharedArrayBuffer[] = [];

  /** @throws RangeError when `nice` is not an integer in 0..19. */
  constructor(options: ParquetEncoderOptions = {}) {
    this.#onFallback = options.onFallback;
    const nice = options.nice ?? 0;
    if (!Number.isInteger(nice) || nice < 0 || nice > MAX_NICE) {
      throw new RangeError(`nice must be an integer in 0..${MAX_NICE}, got ${String(nice)}`);
    }
    this.#nice = nice;
    this.#onNiceFailed = options.onNiceFailed;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: workerData(this.#nice) });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      if ('niceFailed' in reply) {
        // Once per encoder: a replaced worker fails the same way.
        this.#onNiceFailed?.(reply.niceFailed);
        this.#onNiceFailed = undefined;
        return;
      }
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.fallback !== undefined) this.#onFallback?.(reply.fallback);
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

  encode(input: IpcInput, options: ParquetEncodeOptions): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new ParquetWorkerError(new Error('encoder closed')));
    const worker = this.#start();
    const id = this.#nextId++;
    let stream: ArrayBuffer | SharedArrayBuffer;
    let length: number;
    let shared: SharedArrayBuffer | undefined;
    const transfer: ArrayBuffer[] = [];
    if (input instanceof Uint8Array) {
      // Transfer without copying when the view covers its whole buffer.
      const whole = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength;
      stream = whole ? (input.buffer as ArrayBuffer) : input.slice().buffer;
      length = input.byteLength;
      transfer.push(stream);
    } else {
      // Messages: joined into a pooled shared buffer, so that a file's input costs one
      // memcpy and no fresh allocation (page faults on tens of MB per file add up).
      length = END_OF_STREAM.length;
      for (const m of input) length += m.length;
      shared = this.#sharedBuffer(length);
      const view = new Uint8Array(shared, 0, length);
      let pos = 0;
      for (const m of input) {
        view.set(m, pos);
        pos += m.length;
      }
      view.set(END_OF_STREAM, pos);
      stream = shared;
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage(
        {
          id,
          stream,
          length,
          rowGroupRows: options.rowGroupRows,
          dictionaryColumns: [...options.dictionaryColumns],
          keyValueMetadata: [...(options.keyValueMetadata ?? new Map())],
          writer: options.writer,
          zstdLevel: options.zstdLevel,
          parquetEncoding: options.parquetEncoding,
        },
        transfer,
      );
    }).finally(() => {
      if (shared) this.#free.push(shared);
    });
  }

  /** A free pooled buffer of at least `n` bytes (the pool keeps the largest two). */
  #sharedBuffer(n: number): SharedArrayBuffer {
    this.#free.sort((a, b) => b.byteLength - a.byteLength);
    const fit = this.#free.findIndex((b) => b.byteLength >= n);
    if (fit >= 0) return this.#free.splice(fit, 1)[0]!;
    if (this.#free.length >= 2) this.#free.pop();
    return new SharedArrayBuffer(Math.max(n, 1 << 20));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }
}
