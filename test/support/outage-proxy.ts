/**
 * A TCP proxy the outage suites put between a writer and its object store (or anything
 * else), and then "cut":
 *
 * - `reset`: every open connection is reset (RST), and new connections are accepted and
 *   reset at once — the peer sees fast errors (ECONNRESET, "socket hang up"), like a
 *   crashed server or a load balancer with no healthy backend.
 * - `blackhole`: open connections stop carrying bytes in either direction and new
 *   connections are accepted but never forwarded — the peer's requests hang until its
 *   own timeouts fire, like a partition or a dropped route.
 *
 * `restore()` forwards new connections again; connections that were blackholed are reset
 * then (a middlebox that lost their state answers their next packet with RST), so the peer
 * reconnects instead of waiting for a reply that can no longer come.
 */
import net from 'node:net';

export type CutMode = 'reset' | 'blackhole';

export interface ProxyStats {
  /** Client connections accepted. */
  readonly connections: number;
  /** Connections reset by a cut (open ones and new ones while cut). */
  readonly reset: number;
  /** Connections that went into (or were opened in) a blackhole. */
  readonly blackholed: number;
  /** Bytes dropped in a blackhole (both directions). */
  readonly droppedBytes: number;
}

interface Pair {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  blackholed: boolean;
}

export class CuttableTcpProxy {
  readonly #upstream: { readonly host: string; readonly port: number };
  readonly #server: net.Server;
  readonly #pairs = new Set<Pair>();
  #mode: 'pass' | CutMode = 'pass';
  #port = 0;
  #stats = { connections: 0, reset: 0, blackholed: 0, droppedBytes: 0 };

  constructor(upstream: { host: string; port: number }) {
    this.#upstream = upstream;
    this.#server = net.createServer((client) => this.#accept(client));
  }

  /** Listens on 127.0.0.1 (an ephemeral port by default); resolves with the port. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  get mode(): 'pass' | CutMode {
    return this.#mode;
  }

  stats(): ProxyStats {
    return { ...this.#stats };
  }

  /** Cuts the link (see the module comment for what each mode does to open connections). */
  cut(mode: CutMode): void {
    this.#mode = mode;
    for (const pair of this.#pairs) {
      if (mode === 'reset') this.#reset(pair);
      else if (!pair.blackholed) {
        pair.blackholed = true;
        this.#stats.blackholed++;
      }
    }
  }

  /** Forwards again; blackholed connections are reset so their peers reconnect. */
  restore(): void {
    this.#mode = 'pass';
    for (const pair of this.#pairs) if (pair.blackholed) this.#reset(pair);
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) this.#reset(pair);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    this.#stats.connections++;
    const pair: Pair = { client, upstream: undefined, blackholed: false };
    this.#pairs.add(pair);
    client.on('close', () => {
      pair.upstream?.destroy();
      this.#pairs.delete(pair);
    });
    client.on('error', () => {
      pair.upstream?.destroy();
    });
    if (this.#mode === 'reset') {
      this.#reset(pair);
      return;
    }
    if (this.#mode === 'blackhole') {
      pair.blackholed = true;
      this.#stats.blackholed++;
    }
    const upstream = net.connect(this.#upstream.port, this.#upstream.host);
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      if (!pair.blackholed) client.destroy();
    });
    // Forwarded by hand, not piped, so a blackhole can swallow bytes mid-stream.
    const forward = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk: Buffer) => {
        if (pair.blackholed) {
          this.#stats.droppedBytes += chunk.byteLength;
          return;
        }
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => {
        if (!pair.blackholed) to.end();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
  }

  #reset(pair: Pair): void {
    this.#pairs.delete(pair);
    this.#stats.reset++;
    pair.upstream?.destroy();
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
  }
}
