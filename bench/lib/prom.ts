/** Minimal Prometheus text-format reading for benchmarks: sums of counters by name. */

/** Fetches `url` and returns every sample as `name{labels}` → value. Empty on failure. */
export async function scrapeMetrics(url: string, timeoutMs = 5_000): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return out;
    for (const line of (await res.text()).split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const sp = line.lastIndexOf(' ');
      const value = Number(line.slice(sp + 1));
      if (Number.isFinite(value)) out.set(line.slice(0, sp), value);
    }
  } catch {
    // The process is gone or busy: the caller reports missing figures.
  }
  return out;
}

/** Sum of every sample of metric `name` (all label sets), optionally filtered by a label text. */
export function sumMetric(
  samples: Map<string, number>,
  name: string,
  labelFilter?: string,
): number {
  let sum = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    if (labelFilter !== undefined && !key.includes(labelFilter)) continue;
    sum += value;
  }
  return sum;
}
