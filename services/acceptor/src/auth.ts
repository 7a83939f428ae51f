import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Bearer-token check against a configured token list. Tokens are kept only as SHA-256
 * digests and compared in constant time, so neither memory dumps nor timing reveal them;
 * they are never logged. An empty list disables authentication.
 */
export class TokenAuthenticator {
  readonly #digests: readonly Buffer[];

  constructor(tokens: readonly string[] | undefined) {
    this.#digests = (tokens ?? []).map(digest);
  }

  get enabled(): boolean {
    return this.#digests.length > 0;
  }

  /** True when auth is disabled or `authorization` is `Bearer <a configured token>`. */
  check(authorization: string | undefined): boolean {
    if (!this.enabled) return true;
    if (!authorization) return false;
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return false;
    const presented = digest(match[1]!);
    let ok = false;
    // Compare against every token (no early exit) so timing does not reveal which matched.
    for (const d of this.#digests) ok = timingSafeEqual(d, presented) || ok;
    return ok;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
