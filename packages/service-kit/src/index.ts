export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { createRegistry } from './metrics.js';
export {
  registerAdminRoutes,
  startAdminServer,
  type AdminRoutesOptions,
  type AdminServer,
  type Readiness,
} from './admin.js';
export { SUPERVISED_ENV, serviceSignals, waitForShutdownSignal } from './shutdown.js';
export { LOG_LEVELS, type LogLevel, logLevelSetting } from './settings.js';
