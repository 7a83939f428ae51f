import { type Config, parseSettings } from '@sediment/config';
import { acceptorSettings } from './settings.js';

export type AcceptorConfig = Config<typeof acceptorSettings>;

/**
 * Parses the acceptor's settings once, at the edge.
 * @throws ConfigError naming every invalid variable or flag.
 */
export function loadAcceptorConfig(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[] = [],
): AcceptorConfig {
  return parseSettings(acceptorSettings, { env, argv }).config;
}
