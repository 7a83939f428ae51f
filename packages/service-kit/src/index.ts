export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { createRegistry } from './metrics.js';
export {
  registerAdminRoutes,
  startAdminServer,
  type AdminRoutesOptions,
  type AdminServer,
  type Readiness,
} from './admin.js';
export { waitForShutdownSignal } from './shutdown.js';
