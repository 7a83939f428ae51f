import { setTimeout as delay } from 'node:timers/promises';
import { TransientError } from './errors.js';
import { SeededRandom } from './prng.js';
import type { GetResult, ObjectMeta, ObjectStore, PutOptions, PutResult } from './types.js';

export type StoreOperation = 'put' | 'get' | 'head' | 'list' | 'delete';

export const STORE_OPERATIONS: readonly StoreOperation[] = ['put', 'get', 'head', 'list', 'delete'];

export interface FaultInjectionOptions {
  /** Seeds the generator: the same seed and call order give the same faults. */
  readonly seed: number;
  /** Probability per call of a `TransientError` thrown BEFORE the inner store is called. */
  readonly transientErrorRate?: number;
  /**
   * Probability per call of a lost reply: the inner store applies the call, then the
   * caller gets `TransientError` with `maybeApplied: true` (for reads `false`: nothing
   * was changed). For `list`, the listing breaks off after a random number of items.
   */
  readonly lostReplyRate?: number;
  /** Uniform extra latency per call, in milliseconds. */
  readonly latencyMs?: { readonly min: number; readonly max: number };
  /** Operations subject to injection; default all. */
  readonly operations?: readonly StoreOperation[];
  /** Replaces `setTimeout` for the injected latency (tests with a fake clock). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface FaultCounts {
  readonly calls: number;
  readonly transientErrors: number;
  readonly lostReplies: number;
  readonly delayedCalls: number;
  readonly totalDelayMs: number;
}

export interface FaultStats extends FaultCounts {
  readonly byOperation: Readonly<Record<StoreOperation, FaultCounts>>;
}

interface MutableCounts {
  calls: number;
  transientErrors: number;
  lostReplies: number;
  delayedCalls: number;
  totalDelayMs: number;
}

type Fault = 'none' | 'transient' | 'lost-reply';

interface Decision {
  readonly fault: Fault;
  readonly delayMs: number;
  /** For `list` lost replies: how many items get through. */
  readonly cut: number;
}

const NO_FAULT: Decision = { fault: 'none', delayMs: 0, cut: 0 };

/**
 * Wraps any store and injects seeded latency, transient errors (nothing applied) and
 * lost replies (applied, then reported as a `TransientError` with `maybeApplied`).
 * Every call to an enabled operation draws the same number of values from the
 * generator, so a seed reproduces a fault sequence for a given call order.
 */
export class FaultInjectingStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly description: string;
  readonly #random: SeededRandom;
  readonly #sleep: (ms: number) => Promise<void>;
  #transientRate: number;
  #lostRate: number;
  #latency: { readonly min: number; readonly max: number };
  #operations: ReadonlySet<StoreOperation>;
  #enabled = true;
  readonly #counts: Record<StoreOperation, MutableCounts>;

  constructor(inner: ObjectStore, options: FaultInjectionOptions) {
    this.inner = inner;
    this.description = `faulty(${inner.description})`;
    this.#random = new SeededRandom(options.seed);
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
    this.#transientRate = 0;
    this.#lostRate = 0;
    this.#latency = { min: 0, max: 0 };
    this.#operations = new Set(STORE_OPERATIONS);
    this.#counts = {
      put: zero(),
      get: zero(),
      head: zero(),
      list: zero(),
      delete: zero(),
    };
    this.configure(options);
  }

  /** Changes rates, latency or operations at run time (unset fields keep their value). */
  configure(options: Partial<Omit<FaultInjectionOptions, 'seed' | 'sleep'>>): void {
    const transient = options.transientErrorRate ?? this.#transientRate;
    const lost = options.lostReplyRate ?? this.#lostRate;
    for (const [name, rate] of [
      ['transientErrorRate', transient],
      ['lostReplyRate', lost],
    ] as const) {
      if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${rate}`);
    }
    if (transient + lost > 1) {
      throw new RangeError(
        `transientErrorRate + lostReplyRate must not exceed 1, got ${transient + lost}`,
      );
    }
    const latency = options.latencyMs ?? this.#latency;
    if (!(latency.min >= 0 && latency.max >= latency.min)) {
      throw new RangeError(
        `latencyMs must satisfy 0 <= min <= max, got ${JSON.stringify(latency)}`,
      );
    }
    this.#transientRate = transient;
    this.#lostRate = lost;
    this.#latency = { min: latency.min, max: latency.max };
    if (options.operations !== undefined) this.#operations = new Set(options.operations);
  }

  /** Turns injection on or off; while off, calls pass straight through (and draw nothing). */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** A snapshot of what was injected so far. */
  get stats(): FaultStats {
    const total = zero();
    const byOperation = {} as Record<StoreOperation, FaultCounts>;
    for (const op of STORE_OPERATIONS) {
      const c = this.#counts[op];
      byOperation[op] = { ...c };
      total.calls += c.calls;
      total.transientErrors += c.transientErrors;
      total.lostReplies += c.lostReplies;
      total.delayedCalls += c.delayedCalls;
      total.totalDelayMs += c.totalDelayMs;
    }
    return { ...total, byOperation };
  }

  resetStats(): void {
    for (const op of STORE_OPERATIONS) this.#counts[op] = zero();
  }

  async put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult> {
    const decision = await this.#before('put', key);
    const result = await this.inner.put(key, bytes, options);
    this.#after('put', key, decision);
    return result;
  }

  async get(key: string): Promise<GetResult> {
    const decision = await this.#before('get', key);
    const result = await this.inner.get(key);
    this.#after('get', key, decision);
    return result;
  }

  async head(key: string): Promise<ObjectMeta> {
    const decision = await this.#before('head', key);
    const result = await this.inner.head(key);
    this.#after('head', key, decision);
    return result;
  }

  async *list(prefix: string): AsyncIterable<ObjectMeta> {
    const decision = await this.#before('list', prefix);
    let yielded = 0;
    for await (const meta of this.inner.list(prefix)) {
      if (decision.fault === 'lost-reply' && yielded >= decision.cut)
        this.#after('list', prefix, decision);
      yield meta;
      yielded++;
    }
    this.#after('list', prefix, decision);
  }

  async delete(key: string): Promise<void> {
    const decision = await this.#before('delete', key);
    await this.inner.delete(key);
    this.#after('delete', key, decision);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Draws this call's fault, sleeps the injected latency, throws a pre-call fault. */
  async #before(op: StoreOperation, key: string): Promise<Decision> {
    if (!this.#enabled || !this.#operations.has(op)) return NO_FAULT;
    const counts = this.#counts[op];
    counts.calls++;
    const roll = this.#random.next();
    const latencyRoll = this.#random.next();
    const cutRoll = this.#random.next();
    const delayMs = this.#latency.min + latencyRoll * (this.#latency.max - this.#latency.min);
    const fault: Fault =
      roll < this.#transientRate
        ? 'transient'
        : roll < this.#transientRate + this.#lostRate
          ? 'lost-reply'
          : 'none';
    if (delayMs > 0) {
      counts.delayedCalls++;
      counts.totalDelayMs += delayMs;
      await this.#sleep(delayMs);
    }
    if (fault === 'transient') {
      counts.transientErrors++;
      throw new TransientError(
        `injected transient error before ${op} ${key}; nothing was applied`,
        {
          key,
          maybeApplied: false,
        },
      );
    }
    return { fault, delayMs, cut: Math.floor(cutRoll * 8) };
  }

  /** Throws the lost reply after the inner store did the work. */
  #after(op: StoreOperation, key: string, decision: Decision): void {
    if (decision.fault !== 'lost-reply') return;
    this.#counts[op].lostReplies++;
    const mutation = op === 'put' || op === 'delete';
    throw new TransientError(
      `injected lost reply after ${op} ${key}; ${mutation ? 'the request WAS applied' : 'nothing was changed'}`,
      { key, maybeApplied: mutation },
    );
  }
}

function zero(): MutableCounts {
  return { calls: 0, transientErrors: 0, lostReplies: 0, delayedCalls: 0, totalDelayMs: 0 };
}
