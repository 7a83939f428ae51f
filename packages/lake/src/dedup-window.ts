/**
 * Idempotency keys of committed requests, kept for `windowMs` after their commit.
 *
 * A key is scoped by table: one OTLP request may become several ingest() calls (one per
 * metrics table) under the same key, and a retry of the request must skip each of them.
 * Memory: one Map entry per (table, key) inside the window, about 100 bytes + the
 * base64 key (e.g. ~150 B for a 32-byte key): 1,000 requests/s × 10 min ≈ 90 MB.
 */
export class DedupWindow {
  readonly windowMs: number;
  /** `${table}\0${base64}` → commit time (ms). Insertion order ≈ commit order. */
  readonly #keys = new Map<string, number>();

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  static id(table: string, keyBase64: string): string {
    return `${table}\u0000${keyBase64}`;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** True when the key was committed less than `windowMs` before `nowMs`. */
  has(id: string, nowMs: number): boolean {
    const at = this.#keys.get(id);
    return at !== undefined && nowMs - at < this.windowMs;
  }

  add(table: string, keyBase64: string, commitMs: number): void {
    if (this.windowMs <= 0) return;
    const id = DedupWindow.id(table, keyBase64);
    this.#keys.delete(id); // re-insert at the end: keeps the order ≈ commit time
    this.#keys.set(id, commitMs);
  }

  /** Drops keys that left the window. */
  prune(nowMs: number): void {
    for (const [id, at] of this.#keys) {
      if (nowMs - at < this.windowMs) break;
      this.#keys.delete(id);
    }
  }

  /** Keys still inside the window, for a checkpoint. */
  entries(nowMs: number): [string, string, number][] {
    const out: [string, string, number][] = [];
    for (const [id, at] of this.#keys) {
      if (nowMs - at >= this.windowMs) continue;
      const sep = id.indexOf('\u0000');
      out.push([id.slice(0, sep), id.slice(sep + 1), at]);
    }
    return out;
  }
}
