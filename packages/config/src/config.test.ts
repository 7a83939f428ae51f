import { describe, expect, test } from 'vitest';
import {
  argvToEnv,
  ConfigError,
  embedReference,
  parseBytes,
  parseDuration,
  parseSettings,
  renderReference,
  setting,
} from './index.js';

const settings = {
  grpcPort: setting.port({
    env: 'SEDIMENT_GRPC_PORT',
    default: 4317,
    description: 'gRPC port',
    services: ['acceptor'],
  }),
  maxBody: setting.bytes({
    env: 'SEDIMENT_MAX_BODY',
    default: 4 * 1024 * 1024,
    max: 1024 * 1024 * 1024,
    description: 'body limit',
    services: ['acceptor'],
  }),
  flush: setting.duration({
    env: 'SEDIMENT_FLUSH',
    default: 100,
    description: 'flush interval',
    services: ['writer'],
  }),
  tls: setting.bool({
    env: 'SEDIMENT_TLS',
    default: false,
    description: 'tls',
    services: ['acceptor'],
  }),
  compression: setting.oneOf(['none', 'zstd'], {
    env: 'SEDIMENT_COMPRESSION',
    default: 'zstd',
    description: 'codec',
    services: ['writer'],
  }),
  tokens: setting.list({
    env: 'SEDIMENT_TOKENS',
    description: 'tokens',
    services: ['acceptor'],
    secret: true,
  }),
  store: setting.string({
    env: 'SEDIMENT_STORE',
    default: 'memory:',
    description: 'store URL',
    services: ['writer'],
  }),
  workers: setting.int({
    env: 'SEDIMENT_WORKERS',
    default: 2,
    min: 1,
    max: 64,
    description: 'n',
    services: ['writer'],
  }),
} as const;

describe('parseSettings', () => {
  test('defaults when nothing is set, typed and frozen', () => {
    const { config, sources } = parseSettings(settings, {});
    expect(config).toEqual({
      grpcPort: 4317,
      maxBody: 4194304,
      flush: 100,
      tls: false,
      compression: 'zstd',
      tokens: undefined,
      store: 'memory:',
      workers: 2,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(sources.grpcPort).toBe('default');
    expect(sources.tokens).toBe('unset');
    // compile-time: required settings are not undefined
    const port: number = config.grpcPort;
    expect(port).toBe(4317);
  });

  test('flags beat env, env beats defaults, empty env is unset', () => {
    const { config, sources, positionals } = parseSettings(settings, {
      env: {
        SEDIMENT_GRPC_PORT: '5000',
        SEDIMENT_FLUSH: '2s',
        SEDIMENT_STORE: '',
        SEDIMENT_TOKENS: 'a, b,,c',
      },
      argv: [
        '--grpc-port',
        '6000',
        'select 1',
        '--tls',
        '--max-body=1MiB',
        '--compression',
        'none',
      ],
    });
    expect(config.grpcPort).toBe(6000);
    expect(sources.grpcPort).toBe('flag');
    expect(config.flush).toBe(2000);
    expect(sources.flush).toBe('env');
    expect(config.store).toBe('memory:');
    expect(config.tokens).toEqual(['a', 'b', 'c']);
    expect(config.tls).toBe(true);
    expect(config.maxBody).toBe(1048576);
    expect(config.compression).toBe('none');
    expect(positionals).toEqual(['select 1']);
  });

  test('--no-flag and -- separator', () => {
    const { config, positionals } = parseSettings(settings, {
      env: { SEDIMENT_TLS: 'true' },
      argv: ['--no-tls', '--', '--grpc-port'],
    });
    expect(config.tls).toBe(false);
    expect(positionals).toEqual(['--grpc-port']);
  });

  test('every problem is reported at once, naming the variable; secrets are not echoed', () => {
    let err: unknown;
    try {
      parseSettings(settings, {
        env: {
          SEDIMENT_GRPC_PORT: '70000',
          SEDIMENT_FLUSH: 'soon',
          SEDIMENT_WORKERS: '0',
          SEDIMENT_MAX_BODY: '2GiB',
        },
        argv: ['--compression', 'lz4', '--bogus', '1', '--tokens'],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toContain('SEDIMENT_GRPC_PORT="70000": must be at most 65535');
    expect(problems).toContain('SEDIMENT_FLUSH="soon": expected a duration');
    expect(problems).toContain('SEDIMENT_WORKERS="0": must be at least 1');
    expect(problems).toContain('SEDIMENT_MAX_BODY="2GiB": must be at most 1073741824');
    expect(problems).toContain('--compression="lz4": expected one of none, zstd');
    expect(problems).toContain('unknown option --bogus');
    expect(problems).toContain('--tokens needs a value');
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');

    const secret = {
      t: setting.int({ env: 'X_TOKEN', description: '', services: [], secret: true }),
    };
    expect(() => parseSettings(secret, { env: { X_TOKEN: 'hunter2' } })).toThrow(
      /X_TOKEN=\(secret\): expected an integer/,
    );
  });
});

describe('units', () => {
  test.each([
    ['64MiB', 64 * 1024 * 1024],
    ['64mb', 64_000_000],
    ['512k', 524288],
    ['1.5GiB', 1610612736],
    ['4096', 4096],
  ])('bytes %s', (text, bytes) => expect(parseBytes(text)).toBe(bytes));
  test.each([
    ['100ms', 100],
    ['30s', 30000],
    ['5m', 300000],
    ['1h', 3600000],
    ['250', 250],
    ['2d', 172800000],
  ])('duration %s', (text, ms) => expect(parseDuration(text)).toBe(ms));
  test.each(['', 'MiB', '-1', '1 parsec', '1e9'])('rejects %j', (text) => {
    expect(parseBytes(text)).toBeUndefined();
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('reference', () => {
  test('renders one row per setting with derived flag and formatted default', () => {
    const table = renderReference(settings);
    expect(table.split('\n')).toHaveLength(2 + Object.keys(settings).length);
    expect(table).toContain(
      '| `SEDIMENT_MAX_BODY` | `--max-body` | bytes | `4MiB` | acceptor | body limit |',
    );
    expect(table).toContain('| `SEDIMENT_FLUSH` | `--flush` | duration | `100ms` |');
    expect(table).toContain('| `SEDIMENT_TOKENS` | `--tokens` | comma-separated list | (unset) |');
  });
  test('embeds between markers and refuses documents without them', () => {
    const doc = 'a\n<!-- config:start -->\nold\n<!-- config:end -->\nb';
    expect(embedReference(doc, 'NEW')).toBe(
      'a\n<!-- config:start -->\nNEW\n<!-- config:end -->\nb',
    );
    expect(() => embedReference('no markers', 'x')).toThrow(/markers/);
  });
});

test('argvToEnv turns flags into the environment variables a child process reads', () => {
  expect(
    argvToEnv(settings, ['--grpc-port', '5000', '--tls', '--no-tls', '--max-body=2MiB']),
  ).toEqual({
    SEDIMENT_GRPC_PORT: '5000',
    SEDIMENT_TLS: 'false',
    SEDIMENT_MAX_BODY: '2MiB',
  });
  expect(() => argvToEnv(settings, ['--nope'])).toThrow(/unknown option --nope/);
});
