/**
 * Where requests are decoded and encoded as Arrow IPC: on the event loop, or in a pool of
 * decode threads (SEDIMENT_DECODE_THREADS). Decoding is most of an acceptor's CPU (≈ 8 ms
 * per 512-span request); on the event loop a burst of requests is decoded one after the
 * other while the gRPC/HTTP servers and the Flight client wait. With threads, the event
 * loop only moves bytes: each request body is handed to the least busy thread
 * (transferred, not copied, when it owns its buffer, or all of it but a gRPC message's
 * 5-byte prefix) and its IPC streams come back the same way.
 *
 * The threads are `eval` workers that import encode-request by absolute URL: the built
 * `.js` next to this module or, when running from TypeScript sources (tests), the `.ts`
 * file through tsx. Both paths run `encodeRequest`, so they produce the same bytes.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { IpcWriteOptions } from '@sediment/otlp';
import {
  type EncodedRequest,
  type EncodeMessage,
  type EncodeReply,
  encodeRequest,
  GRPC_PREFIX_BYTES,
  transferableRange,
} from './encode-request.js';
import { AcceptorError } from './errors.js';
import type { BodyFormat, Signal } from './signals.js';

export interface RequestEncoder {
  /**
   * Decodes `body` and encodes its tables. `body` is handed over: its buffer may be
   * detached (moved to a decode thread) when the view covers all of it.
   * @throws AcceptorError (`invalid_argument`, `payload_too_large`, `unavailable` when a
   *   decode thread died under the request)
   */
  encode(signal: Signal, body: Uint8Array, format: BodyFormat): Promise<EncodedRequest>;
  /**
   * Resolves once every decode thread has loaded the decoder, so that no request pays
   * for it; rejects when one cannot start.
   */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Decodes on the calling thread. */
export class InlineRequestEncoder implements RequestEncoder {
  readonly #ipc: IpcWriteOptions;
  constructor(ipc: IpcWriteOptions) {
    this.#ipc = ipc;
  }
  async encode(signal: Signal, body: Uint8Array, format: BodyFormat): Promise<EncodedRequest> {
    return encodeRequest(signal, body, format, this.#ipc);
  }
  async ready(): Promise<void> {}
  async close(): Promise<void> {}
}

// Plain JavaScript that runs whether the eval'd code is treated as CommonJS or as an ES
// module: dynamic import() only.
const WORKER_SOURCE = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  let mod;
  try {
    mod = await import(workerData.moduleUrl);
  } catch (err) {
    // TypeScript sources without a loader inherited from the parent: register tsx.
    if (!workerData.tsxUrl) throw err;
    (await import(workerData.tsxUrl)).register();
    mod = await import(workerData.moduleUrl + '?tsx');
  }
  parentPort.on('message', (m) => {
    const { reply, transfer } = mod.serveEncodeMessage(m);
    parentPort.postMessage(reply, transfer);
  });
  parentPort.postMessage({ ready: true });
})();
`;

function workerData(): { moduleUrl: string; tsxUrl: string | undefined } {
  const ext = extname(fileURLToPath(import.meta.url));
  const moduleUrl = new URL(`./encode-request${ext}`, import.meta.url).href;
  if (ext !== '.ts') return { moduleUrl, tsxUrl: undefined };
  return { moduleUrl, tsxUrl: import.meta.resolve('tsx/esm/api') };
}

/**
 * Young-generation cap of a decode thread. Left to V8, it grows towards 48 MiB under a
 * burst of requests (a writer outage: clients retrying) and keeps it, so the acceptor's
 * resident memory kept rising after the load it had already seen (outage test: +52–70
 * MiB over the warm-up peak, once 77 against its 72 MiB bound; with 8 MiB: +40–49). What
 * survives a decode is the reused column buffers (outside the V8 heap), so a small young
 * generation costs no measurable CPU (e2e: 13.7 vs 15.5 µs per span, one run each).
 */
const YOUNG_GENERATION_MB = 8;

interface Pending {
  readonly resolve: (r: EncodedRequest) => void;
  readonly reject: (e: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /** Settles when the thread has loaded the decoder (or failed to). */
  readonly loaded: Promise<void>;
  isLoaded: boolean;
}

/** What a decode thread posts: a reply to a request, or once, that it is ready. */
type ThreadMessage = EncodeReply | { readonly ready: true };

/**
 * `threads` decode threads, started at once. Each request goes to the thread with
 * the fewest requests in flight. A thread that dies fails its requests in flight with
 * `unavailable` (the client retries; nothing was acked) and is replaced on the next call.
 */
export class WorkerRequestEncoder implements RequestEncoder {
  readonly #ipc: IpcWriteOptions;
  readonly #threads: (Thread | undefined)[];
  #nextId = 0;
  #closed = false;

  readonly #retryAfterMs: number | undefined;

  /** @param retryAfterMs the retry hint of the `unavailable` errors this encoder raises. */
  constructor(threads: number, ipc: IpcWriteOptions, retryAfterMs?: number) {
    if (!(Number.isInteger(threads) && threads >= 1)) {
      throw new RangeError(`decode threads must be a positive integer, got ${threads}`);
    }
    this.#ipc = ipc;
    this.#retryAfterMs = retryAfterMs;
    this.#threads = Array.from({ length: threads }, () => undefined);
    // Started now: a thread takes tens of milliseconds to load the decoder, which must not
    // come out of the first requests' deadlines.
    for (let i = 0; i < threads; i++) this.#threads[i] = this.#start(i);
  }

  /** Requests in flight per thread (tests, metrics). */
  get load(): number[] {
    return this.#threads.map((t) => t?.pending.size ?? 0);
  }

  /** Threads that have loaded the decoder (tests). */
  get loaded(): number {
    return this.#threads.filter((t) => t?.isLoaded).length;
  }

  async ready(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t?.loaded));
  }

  encode(signal: Signal, body: Uint8Array, format: BodyFormat): Promise<EncodedRequest> {
    if (this.#closed) {
      return Promise.reject(this.#unavailable('acceptor is shutting down'));
    }
    const thread = this.#pick();
    const id = this.#nextId++;
    const message: EncodeMessage = {
      id,
      signal,
      format,
      ipc: this.#ipc,
      body: transferableRange(body, GRPC_PREFIX_BYTES),
    };
    return new Promise<EncodedRequest>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage(message, [message.body.buffer]);
    });
  }

  #pick(): Thread {
    let best = -1;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.#threads.length; i++) {
      const load = this.#threads[i]?.pending.size ?? 0;
      if (load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    }
    const thread = this.#threads[best] ?? this.#start(best);
    this.#threads[best] = thread;
    return thread;
  }

  #start(slot: number): Thread {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: workerData(),
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    worker.unref();
    let onLoaded!: () => void;
    let onLoadFailed!: (err: Error) => void;
    const loaded = new Promise<void>((resolve, reject) => {
      onLoaded = resolve;
      onLoadFailed = reject;
    });
    loaded.catch(() => {}); // awaited by ready() only; a replacement thread's is not
    const thread: Thread = { worker, pending: new Map(), loaded, isLoaded: false };
    worker.on('message', (reply: ThreadMessage) => {
      if ('ready' in reply) {
        thread.isLoaded = true;
        onLoaded();
        return;
      }
      const p = thread.pending.get(reply.id);
      if (!p) return;
      thread.pending.delete(reply.id);
      if (reply.ok) {
        p.resolve({
          tables: reply.tables.map((t) => ({ table: t.table, ipc: new Uint8Array(t.ipc) })),
          rows: reply.rows,
          rejected: reply.rejected,
          rejectedMessage: reply.rejectedMessage,
          requestId: new Uint8Array(reply.requestId),
        });
      } else {
        p.reject(new AcceptorError(reply.kind, reply.message));
      }
    });
    const fail = (err: Error) => {
      onLoadFailed(err);
      if (this.#threads[slot] === thread) this.#threads[slot] = undefined;
      for (const p of thread.pending.values()) {
        p.reject(this.#unavailable('a decode thread failed; retry', err));
      }
      thread.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`decode thread exited with code ${code}`)));
    return thread;
  }

  #unavailable(message: string, cause?: Error): AcceptorError {
    return new AcceptorError('unavailable', message, {
      ...(cause === undefined ? {} : { cause }),
      ...(this.#retryAfterMs === undefined ? {} : { retryAfterMs: this.#retryAfterMs }),
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#threads.flatMap((t) => (t ? [t.worker] : []));
    this.#threads.fill(undefined);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * `threads` = 0: on the event loop; otherwise a pool of that many decode threads, whose
 * `unavailable` errors carry `retryAfterMs`.
 */
export function createRequestEncoder(
  threads: number,
  ipc: IpcWriteOptions,
  retryAfterMs?: number,
): RequestEncoder {
  return threads === 0
    ? new InlineRequestEncoder(ipc)
    : new WorkerRequestEncoder(threads, ipc, retryAfterMs);
}
