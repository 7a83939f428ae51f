export { EXIT, runCli } from './cli.js';
export { ALL_SETTINGS, configReference } from './config-reference.js';
export { runStart, START_USAGE, startSettings } from './start.js';
export { USAGE } from './usage.js';
