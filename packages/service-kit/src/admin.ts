import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready, for operators (shown in the /readyz body). */
  readonly reason?: string;
}

export interface AdminRoutesOptions {
  readonly registry: Registry;
  /** Liveness: false only when the process is wedged and should be restarted. */
  readonly live?: () => boolean;
  /** Readiness: whether a load balancer should send traffic now. */
  readonly ready: () => Readiness | Promise<Readiness>;
}

/**
 * `/healthz` (liveness), `/readyz` (readiness, 503 with the reason when not ready) and
 * `/metrics` (Prometheus text format). Registered on the service's own HTTP server or on a
 * separate admin port.
 */
export function registerAdminRoutes(app: FastifyInstance, options: AdminRoutesOptions): void {
  app.get('/healthz', async (_req, reply) => {
    const live = options.live ? options.live() : true;
    return reply.code(live ? 200 : 503).send({ status: live ? 'ok' : 'unhealthy' });
  });
  app.get('/readyz', async (_req, reply) => {
    const state = await options.ready();
    return reply
      .code(state.ready ? 200 : 503)
      .send(
        state.ready
          ? { status: 'ready' }
          : { status: 'not ready', reason: state.reason ?? 'unknown' },
      );
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(body);
  });
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A standalone HTTP server with only the admin routes. */
export async function startAdminServer(
  options: AdminRoutesOptions & { readonly host: string; readonly port: number },
): Promise<AdminServer> {
  const app = Fastify({ logger: false });
  registerAdminRoutes(app, options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closed ??= app.close();
      return closed;
    },
  };
}
