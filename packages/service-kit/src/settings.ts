import { setting } from '@sediment/config';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The log-level setting every Sediment process reads. */
export const logLevelSetting = setting.oneOf(LOG_LEVELS, {
  env: 'SEDIMENT_LOG_LEVEL',
  default: 'info',
  description: 'Log level (JSON lines on stdout).',
  services: ['writer', 'acceptor', 'start', 'cli'],
});
