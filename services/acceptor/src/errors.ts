/**
 * What can go wrong while serving an OTLP request, as kinds that map to exactly one reply
 * per SPEC §7. Every module of the acceptor throws these; `reply-status.ts` is the one
 * place that turns them into gRPC codes and HTTP statuses.
 */
export type AcceptorErrorKind =
  /** Undecodable body, bad JSON, corrupt compression: the client must fix the request. */
  | 'invalid_argument'
  /** Body (compressed or decompressed) over the limit: never retried. */
  | 'payload_too_large'
  /** Content type or content encoding we do not speak. */
  | 'unsupported_media_type'
  /** Writer slow or down, object store down, too much in flight: retry later. */
  | 'unavailable'
  /** Missing or wrong credentials. */
  | 'unauthenticated'
  /** A bug or an unclassified failure: not retryable, logged with detail, answered without it. */
  | 'internal';

export class AcceptorError extends Error {
  override readonly name = 'AcceptorError';
  readonly kind: AcceptorErrorKind;
  readonly code: string;
  /** Suggested client delay for retryable kinds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: AcceptorErrorKind,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.code = `ACCEPTOR_${kind.toUpperCase()}`;
    this.retryAfterMs = options.retryAfterMs;
  }
}
