/** Renders query results: aligned text for people, CSV and JSON lines for scripts. */

export type OutputFormat = 'table' | 'csv' | 'json';

const MAX_CELL = 60;

function text(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export function renderRows(
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  format: OutputFormat,
): string {
  switch (format) {
    case 'json':
      return rows
        .map((r) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null]))))
        .join('\n');
    case 'csv': {
      const esc = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
      return [
        columns.map(esc).join(','),
        ...rows.map((r) =>
          r.map((v) => esc(v === null || v === undefined ? '' : text(v))).join(','),
        ),
      ].join('\n');
    }
    case 'table': {
      const cells = rows.map((r) =>
        r.map((v) => {
          const s = text(v).replace(/\s+/g, ' ');
          return s.length > MAX_CELL ? `${s.slice(0, MAX_CELL - 1)}…` : s;
        }),
      );
      const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
      const line = (vals: readonly string[]) =>
        vals
          .map((v, i) => v.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
      return [
        line(columns),
        line(widths.map((w) => '-'.repeat(w))),
        ...cells.map(line),
        `(${rows.length} row${rows.length === 1 ? '' : 's'})`,
      ].join('\n');
    }
  }
}

/** A one-line progress indicator on stderr (only when stderr is a terminal). */
export function progress(label: string): (done: number, total: number, bytes: number) => void {
  if (!process.stderr.isTTY) return () => {};
  return (done, total, bytes) => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} files, ${(bytes / 1e6).toFixed(1)} MB`,
    );
    if (done === total) process.stderr.write('\n');
  };
}
