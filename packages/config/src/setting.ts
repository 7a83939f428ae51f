import { formatBytes, formatDuration, parseBytes, parseDuration } from './units.js';

/** The processes a setting applies to; the reference table and `--help` are grouped by it. */
export type Service = 'acceptor' | 'writer' | 'start' | 'cli';

/**
 * One setting, defined once. The parser, `--help` and the README reference table are all
 * derived from these objects, so documentation cannot drift from behaviour.
 */
export interface Setting<T, Required extends boolean = boolean> {
  /** Environment variable, e.g. `SEDIMENT_GRPC_PORT`. */
  readonly env: string;
  /** Command-line flag derived from `env`, e.g. `--grpc-port`. */
  readonly flag: string;
  /** Type label for the reference table, e.g. `port`, `bytes`, `one of none, zstd`. */
  readonly kind: string;
  readonly description: string;
  readonly services: readonly Service[];
  readonly default: T | undefined;
  /** How the default reads in documentation (computed defaults explain themselves). */
  readonly defaultText: string;
  /** Secrets are never echoed in errors or logs. */
  readonly secret: boolean;
  /** Parses the raw text; throws `Error` with a reason (the caller adds the setting name). */
  parse(raw: string): T;
  /** Marker so `Config<…>` knows whether the value can be undefined. */
  readonly required: Required;
}

export interface SettingOptions<T> {
  readonly env: string;
  readonly description: string;
  readonly services: readonly Service[];
  readonly default?: T;
  readonly defaultText?: string;
  readonly secret?: boolean;
}

type WithDefault<T> = SettingOptions<T> & { readonly default: T };

/** `SEDIMENT_GRPC_PORT` → `--grpc-port`, `S3_ENDPOINT` → `--s3-endpoint`. */
export function flagFor(env: string): string {
  return `--${env
    .replace(/^SEDIMENT_/, '')
    .toLowerCase()
    .replace(/_/g, '-')}`;
}

function define<T>(
  options: SettingOptions<T>,
  kind: string,
  parse: (raw: string) => T,
  show: (value: T) => string,
): Setting<T> {
  return Object.freeze({
    env: options.env,
    flag: flagFor(options.env),
    kind,
    description: options.description,
    services: options.services,
    default: options.default,
    defaultText:
      options.defaultText ?? (options.default === undefined ? '(unset)' : show(options.default)),
    secret: options.secret ?? false,
    parse,
    required: options.default !== undefined,
  });
}

type Factory<T, Extra = object> = {
  (options: WithDefault<T> & Extra): Setting<T, true>;
  (options: SettingOptions<T> & Extra): Setting<T, false>;
};

export const string: Factory<string> = ((options: SettingOptions<string>) =>
  define(
    options,
    'string',
    (raw) => raw,
    (v) => (v === '' ? '""' : v),
  )) as Factory<string>;

export const int: Factory<number, { min?: number; max?: number }> = ((
  options: SettingOptions<number> & { min?: number; max?: number },
) =>
  define(
    options,
    'integer',
    (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error('expected an integer');
      return inRange(Number(raw), options.min, options.max);
    },
    String,
  )) as Factory<number, { min?: number; max?: number }>;

export const port: Factory<number> = ((options: SettingOptions<number>) =>
  define(
    options,
    'port',
    (raw) => {
      if (!/^\d+$/.test(raw.trim())) throw new Error('expected a TCP port number');
      return inRange(Number(raw), 0, 65535);
    },
    String,
  )) as Factory<number>;

export const bytes: Factory<number, { min?: number; max?: number }> = ((
  options: SettingOptions<number> & { min?: number; max?: number },
) =>
  define(
    options,
    'bytes',
    (raw) => {
      const value = parseBytes(raw);
      if (value === undefined) throw new Error('expected a size such as 4MiB, 512KiB or 1048576');
      return inRange(value, options.min, options.max);
    },
    formatBytes,
  )) as Factory<number, { min?: number; max?: number }>;

export const duration: Factory<number, { min?: number }> = ((
  options: SettingOptions<number> & { min?: number },
) =>
  define(
    options,
    'duration',
    (raw) => {
      const value = parseDuration(raw);
      if (value === undefined) throw new Error('expected a duration such as 100ms, 30s, 5m or 1h');
      return inRange(value, options.min, undefined);
    },
    formatDuration,
  )) as Factory<number, { min?: number }>;

export const bool: Factory<boolean> = ((options: SettingOptions<boolean>) =>
  define(
    options,
    'boolean',
    (raw) => {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new Error('expected true or false');
    },
    String,
  )) as Factory<boolean>;

/** Comma-separated list; blanks around items are trimmed, empty items dropped. */
export const list: Factory<readonly string[]> = ((options: SettingOptions<readonly string[]>) =>
  define(
    options,
    'comma-separated list',
    (raw) =>
      Object.freeze(
        raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
    (v) => (v.length === 0 ? '(empty)' : v.join(',')),
  )) as Factory<readonly string[]>;

export function oneOf<const V extends string>(
  values: readonly V[],
  options: WithDefault<V>,
): Setting<V, true>;
export function oneOf<const V extends string>(
  values: readonly V[],
  options: SettingOptions<V>,
): Setting<V, false>;
export function oneOf<const V extends string>(
  values: readonly V[],
  options: SettingOptions<V>,
): Setting<V> {
  return define(
    options,
    `one of ${values.join(', ')}`,
    (raw) => {
      const v = raw.trim() as V;
      if (!values.includes(v)) throw new Error(`expected one of ${values.join(', ')}`);
      return v;
    },
    String,
  );
}

function inRange(value: number, min: number | undefined, max: number | undefined): number {
  if (!Number.isSafeInteger(value)) throw new Error('number out of range');
  if (min !== undefined && value < min) throw new Error(`must be at least ${min}`);
  if (max !== undefined && value > max) throw new Error(`must be at most ${max}`);
  return value;
}
