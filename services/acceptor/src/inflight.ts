/**
 * A bound on the bytes the acceptor holds for requests in flight (decoded bodies and the
 * Arrow they become, while waiting for the writer's durable ack). Beyond the bound the
 * acceptor answers UNAVAILABLE / 503 + Retry-After instead of growing memory: OTLP
 * clients retry those, so nothing is lost. One request is always admitted when nothing
 * is in flight, so a request that alone exceeds the bound cannot starve.
 */
export class InflightBytes {
  readonly limit: number;
  #current = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get current(): number {
    return this.#current;
  }

  /** Reserves `bytes`; returns a release function (idempotent), or undefined when full. */
  tryAcquire(bytes: number): (() => void) | undefined {
    if (this.#current > 0 && this.#current + bytes > this.limit) return undefined;
    this.#current += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#current -= bytes;
    };
  }
}
