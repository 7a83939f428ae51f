export {
  type AdminRoutesOptions,
  type AdminServer,
  type Readiness,
  registerAdminRoutes,
  startAdminServer,
} from './admin.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { createRegistry } from './metrics.js';
export { SERVICE_NODE_FLAGS, serviceNodeArgs } from './node-flags.js';
export { LOG_LEVELS, type LogLevel, logLevelSetting } from './settings.js';
export { SUPERVISED_ENV, serviceSignals, waitForShutdownSignal } from './shutdown.js';
