import type { Service, Setting } from './setting.js';

// biome-ignore lint/suspicious/noExplicitAny: a registry holds settings of every value type
export type SettingsRecord = Readonly<Record<string, Setting<any>>>;

/** The typed, frozen configuration object a settings record describes. */
export type Config<S extends SettingsRecord> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T, true>
    ? T
    : S[K] extends Setting<infer T, false>
      ? T | undefined
      : never;
};

export interface ParseInput {
  /** Environment (defaults to none: callers pass `process.env` explicitly, at the edge). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Command-line arguments after the command name. */
  readonly argv?: readonly string[];
}

export interface ParseResult<S extends SettingsRecord> {
  readonly config: Config<S>;
  /** Arguments that are not flags, in order (e.g. the SQL of `sediment query`). */
  readonly positionals: readonly string[];
  /** Where each value came from, for the start-up log. */
  readonly sources: Readonly<Record<keyof S, 'flag' | 'env' | 'default' | 'unset'>>;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/**
 * Parses flags (highest precedence), then environment variables, then defaults. An empty
 * environment variable counts as unset (Kubernetes and compose often set `FOO=`).
 * Every problem is collected and reported at once, each naming its variable and flag.
 * @throws ConfigError
 */
export function parseSettings<S extends SettingsRecord>(
  settings: S,
  input: ParseInput = {},
): ParseResult<S> {
  const env = input.env ?? {};
  const problems: string[] = [];
  const { flags, positionals } = splitArgv(settings, input.argv ?? [], problems);
  const config: Record<string, unknown> = {};
  const sources: Record<string, string> = {};

  for (const [key, setting] of Object.entries(settings)) {
    const fromFlag = flags.get(setting.flag);
    const fromEnv = env[setting.env];
    const raw = fromFlag ?? (fromEnv === '' ? undefined : fromEnv);
    if (raw === undefined) {
      config[key] = setting.default;
      sources[key] = setting.default === undefined ? 'unset' : 'default';
      continue;
    }
    try {
      config[key] = setting.parse(raw);
      sources[key] = fromFlag !== undefined ? 'flag' : 'env';
    } catch (err) {
      const shown = setting.secret ? '(secret)' : JSON.stringify(raw);
      const where = fromFlag !== undefined ? setting.flag : setting.env;
      problems.push(`${where}=${shown}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    config: Object.freeze(config) as Config<S>,
    positionals: Object.freeze(positionals),
    sources: Object.freeze(sources) as ParseResult<S>['sources'],
  };
}

function splitArgv(
  settings: SettingsRecord,
  argv: readonly string[],
  problems: string[],
): { flags: Map<string, string>; positionals: string[] } {
  const byFlag = new Map(Object.values(settings).map((s) => [s.flag, s] as const));
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg : arg.slice(0, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    let setting = byFlag.get(name);
    if (!setting && value === undefined && name.startsWith('--no-')) {
      const positive = byFlag.get(`--${name.slice(5)}`);
      if (positive?.kind === 'boolean') {
        setting = positive;
        name = positive.flag;
        value = 'false';
      }
    }
    if (!setting) {
      problems.push(`unknown option ${name}`);
      continue;
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (setting.kind === 'boolean' && (next === undefined || next.startsWith('--'))) {
        value = 'true';
      } else if (next === undefined) {
        problems.push(`${name} needs a value`);
        continue;
      } else {
        value = next;
        i++;
      }
    }
    flags.set(name, value);
  }
  return { flags, positionals };
}

/**
 * The environment a child process needs to see the same settings: every flag in `argv`
 * becomes its environment variable (flags win over the inherited environment, as they
 * do in `parseSettings`). Used by `sediment start` to pass options to its processes.
 * @throws ConfigError for unknown or incomplete flags.
 */
export function argvToEnv(
  settings: SettingsRecord,
  argv: readonly string[],
): Record<string, string> {
  const problems: string[] = [];
  const { flags } = splitArgv(settings, argv, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const byFlag = new Map(Object.values(settings).map((s) => [s.flag, s] as const));
  const env: Record<string, string> = {};
  for (const [flag, value] of flags) env[byFlag.get(flag)!.env] = value;
  return env;
}

/** The settings of `settings` that apply to `service`. */
export function settingsFor<S extends SettingsRecord>(
  settings: S,
  service: Service,
): SettingsRecord {
  return Object.fromEntries(
    Object.entries(settings).filter(([, s]) => s.services.includes(service)),
  );
}
