/**
 * Every latency sample kept (a growable Float64Array): exact percentiles at the end, no
 * allocation per sample. A 30 s run at a few thousand requests per second is well under
 * a megabyte.
 */
export class LatencyRecorder {
  #values = new Float64Array(1 << 14);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = ms;
  }

  /** Percentiles (0–100) in ms, nearest-rank; NaN when empty. */
  summary(percentiles: readonly number[] = [50, 90, 99, 99.9]): LatencySummary {
    const n = this.#count;
    const sorted = this.#values.slice(0, n).sort();
    const at = (p: number) =>
      n === 0 ? Number.NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i]!;
    const out: Record<string, number> = {};
    for (const p of percentiles) out[`p${p}`] = at(p);
    return {
      count: n,
      mean: n === 0 ? Number.NaN : sum / n,
      min: n === 0 ? Number.NaN : sorted[0]!,
      max: n === 0 ? Number.NaN : sorted[n - 1]!,
      percentiles: out,
    };
  }
}

export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  /** `p50`, `p99`, … in ms. */
  readonly percentiles: Readonly<Record<string, number>>;
}

/** `30s`, `1500ms`, `2m`, `45` (seconds) → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new RangeError(`not a duration: ${JSON.stringify(text)} (use 30s, 1500ms, 2m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
}

/** Median of the finite values of a list (mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
