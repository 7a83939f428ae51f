/**
 * Counts items dropped because they are individually invalid (a span whose trace_id
 * is not 16 bytes, ...), and summarizes them in one human-readable message for the
 * OTLP partial_success reply. Paths are built only for the first item per reason.
 */
export class Rejections {
  count = 0;
  private readonly reasons = new Map<string, { count: number; firstPath: string }>();

  constructor(
    /** Plural noun of the rejected items: "spans", "log records", "data points". */
    private readonly noun: string,
  ) {}

  add(reason: string, path: () => string, count = 1): void {
    this.count += count;
    const r = this.reasons.get(reason);
    if (r === undefined) this.reasons.set(reason, { count, firstPath: path() });
    else r.count += count;
  }

  /** E.g. "3 spans rejected: trace_id must be 16 bytes (first at resource_spans[0]...)". */
  message(): string | undefined {
    if (this.count === 0) return undefined;
    const parts = [...this.reasons].map(([reason, r], i) =>
      i === 0 && this.reasons.size === 1
        ? `${reason} (first at ${r.firstPath})`
        : `${r.count} × ${reason} (first at ${r.firstPath})`,
    );
    return `${this.count} ${this.noun} rejected: ${parts.join('; ')}`;
  }
}
