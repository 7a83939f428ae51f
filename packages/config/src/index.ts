export * as setting from './setting.js';
export { flagFor, type Service, type Setting, type SettingOptions } from './setting.js';
export {
  argvToEnv,
  ConfigError,
  parseSettings,
  settingsFor,
  type Config,
  type ParseInput,
  type ParseResult,
  type SettingsRecord,
} from './parse.js';
export { embedReference, renderHelp, renderReference } from './reference.js';
export { formatBytes, formatDuration, parseBytes, parseDuration } from './units.js';
