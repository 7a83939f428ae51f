/**
 * A bound on the bytes the acceptor holds for requests in flight: bodies while they are
 * read and decompressed, then the decoded request and the Arrow it becomes while waiting
 * for the writer's durable ack. Beyond the bound the acceptor answers UNAVAILABLE / 503 +
 * Retry-After instead of growing memory: OTLP clients retry those, so nothing is lost.
 *
 * Each request holds one {@link InflightReservation} that grows as its body arrives and
 * inflates, so N concurrent compression bombs cost at most the bound, not N × the request
 * limit. A request that holds the only reservation is always allowed to grow (up to the
 * request limit, which the body reader enforces), so a request that alone exceeds the
 * bound cannot starve.
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

  /** A new, empty reservation; grow it with `tryResize`, end it with `release`. */
  reserve(): InflightReservation {
    return new InflightReservation(this, (delta) => {
      this.#current += delta;
    });
  }

  /** Reserves `bytes` at once; returns a release function (idempotent), or undefined when full. */
  tryAcquire(bytes: number): (() => void) | undefined {
    const r = this.reserve();
    if (!r.tryResize(bytes)) return undefined;
    return () => r.release();
  }
}

/** Bytes held by one request. Not thread-shared: one request's code drives it. */
export class InflightReservation {
  readonly #owner: InflightBytes;
  readonly #apply: (delta: number) => void;
  #bytes = 0;
  #released = false;

  constructor(owner: InflightBytes, apply: (delta: number) => void) {
    this.#owner = owner;
    this.#apply = apply;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Sets the reservation to `total` bytes. Shrinking always succeeds; growing fails
   * (returns false, changing nothing) when other requests hold bytes too and the total
   * would pass the bound. After `release` it only returns false.
   */
  tryResize(total: number): boolean {
    if (this.#released) return false;
    const delta = total - this.#bytes;
    if (delta > 0) {
      const others = this.#owner.current - this.#bytes;
      if (others > 0 && this.#owner.current + delta > this.#owner.limit) return false;
    }
    this.#bytes = total;
    this.#apply(delta);
    return true;
  }

  /** Adds `bytes` (see `tryResize`). */
  tryGrow(bytes: number): boolean {
    return this.tryResize(this.#bytes + bytes);
  }

  /**
   * Moves this reservation's bytes into a new one and leaves this one empty: for work that
   * outlives the request that reserved them (a decode whose client was already answered),
   * so that the bytes stay counted until that work ends.
   */
  detach(): InflightReservation {
    const moved = new InflightReservation(this.#owner, this.#apply);
    moved.#bytes = this.#bytes;
    this.#bytes = 0;
    return moved;
  }

  /** Returns every byte to the pool. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#apply(-this.#bytes);
    this.#bytes = 0;
  }
}
