/**
 * Human units for settings: sizes (`64MiB`, `512k`, `1GB`, plain bytes) and durations
 * (`100ms`, `30s`, `5m`, `1h`, plain milliseconds). Binary and decimal size suffixes are
 * both accepted because operators write both; the reference table prints binary units.
 */

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = {
  '': 1,
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

function parseWithUnits(text: string, units: Record<string, number>): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return undefined;
  const factor = units[match[2]!.toLowerCase()];
  if (factor === undefined) return undefined;
  const value = Math.round(Number(match[1]) * factor);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Bytes from `64MiB`, `1.5GB`, `4096`; undefined when malformed. */
export function parseBytes(text: string): number | undefined {
  return parseWithUnits(text, SIZE_UNITS);
}

/** Milliseconds from `100ms`, `30s`, `5m`, `1h`, `250`; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  return parseWithUnits(text, DURATION_UNITS);
}

/** `67108864` → `64MiB`; exact binary units only, else plain bytes. */
export function formatBytes(bytes: number): string {
  for (const [suffix, factor] of [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${suffix}`;
  }
  return `${bytes}`;
}

/** `90000` → `90s`; exact units only, else milliseconds. */
export function formatDuration(ms: number): string {
  for (const [suffix, factor] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= factor && ms % factor === 0) return `${ms / factor}${suffix}`;
  }
  return `${ms}ms`;
}
