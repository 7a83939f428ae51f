/**
 * TLS and bearer-token plumbing shared by the server and the client.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ChannelCredentials, type Metadata, ServerCredentials } from '@grpc/grpc-js';

/** PEM material for the server. */
export interface FlightServerTlsOptions {
  /** Certificate chain (PEM). */
  cert: string | Buffer;
  /** Private key (PEM). */
  key: string | Buffer;
  /** CA bundle (PEM) to verify client certificates (mutual TLS). */
  ca?: string | Buffer;
  /** Reject clients without a certificate signed by `ca`. Default false. */
  requireClientCert?: boolean;
}

/** TLS for the client. `true` = TLS with the system roots. */
export type FlightClientTlsOptions =
  | true
  | {
      /** CA bundle (PEM) that signed the servers' certificates; default the system roots. */
      ca?: string | Buffer;
      /** Client certificate chain (PEM) for mutual TLS. */
      cert?: string | Buffer;
      /** Client private key (PEM) for mutual TLS. */
      key?: string | Buffer;
      /** Name to verify the server certificate against, when it differs from the target host. */
      serverName?: string;
    };

const toBuffer = (v: string | Buffer | undefined): Buffer | null =>
  v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);

export function serverCredentials(tls: FlightServerTlsOptions | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    toBuffer(tls.ca),
    [{ cert_chain: toBuffer(tls.cert)!, private_key: toBuffer(tls.key)! }],
    tls.requireClientCert ?? false,
  );
}

export function channelCredentials(tls: FlightClientTlsOptions | undefined): ChannelCredentials {
  if (tls === undefined) return ChannelCredentials.createInsecure();
  if (tls === true) return ChannelCredentials.createSsl();
  return ChannelCredentials.createSsl(toBuffer(tls.ca), toBuffer(tls.key), toBuffer(tls.cert));
}

/** Channel options that go with {@link channelCredentials}. */
export function tlsChannelOptions(tls: FlightClientTlsOptions | undefined): Record<string, string> {
  if (tls === undefined || tls === true || tls.serverName === undefined) return {};
  return {
    'grpc.ssl_target_name_override': tls.serverName,
    'grpc.default_authority': tls.serverName,
  };
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks `authorization: Bearer <token>` against a list of accepted tokens in constant time
 * per token (several tokens allow rotation without downtime).
 */
export class BearerTokenVerifier {
  readonly #digests: Buffer[];

  constructor(tokens: readonly string[]) {
    if (tokens.length === 0 || tokens.some((t) => t.length === 0)) {
      throw new TypeError('auth.tokens must be a non-empty list of non-empty tokens');
    }
    this.#digests = tokens.map(digest);
  }

  /** True when the metadata carries one of the accepted tokens. */
  verify(metadata: Metadata): boolean {
    const values = metadata.get('authorization');
    if (values.length !== 1) return false;
    const value = values[0];
    if (typeof value !== 'string') return false;
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
    if (match === null) return false;
    const presented = digest(match[1]!);
    let ok = false;
    for (const d of this.#digests) ok = timingSafeEqual(d, presented) || ok;
    return ok;
  }
}
