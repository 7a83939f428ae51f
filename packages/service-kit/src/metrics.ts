import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A fresh Prometheus registry for one service instance (never prom-client's global one,
 * so several services can live in one process, as they do in tests and `sediment start`).
 * Process metrics (CPU, RSS, event-loop lag, GC) are included with a `sediment_` prefix.
 */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'sediment_' });
  return registry;
}
