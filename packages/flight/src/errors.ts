/**
 * Flight errors. The same classes are used on both sides of the wire:
 *
 * - a DoPut handler on the server throws one of them and the server answers with the
 *   matching gRPC status (see {@link statusForError});
 * - the client turns a non-OK status back into the class for that code (see
 *   {@link errorFromStatus}), so the caller decides by `instanceof` or `code`, never by
 *   parsing messages.
 *
 * What the caller should do is carried by `retryable`:
 * - `FlightUnavailableError`, `FlightDeadlineExceededError`, and `FlightCallError` with
 *   ABORTED: transient. Retry later (the same request, with the same request id).
 * - `FlightInvalidArgumentError`, `FlightResourceExhaustedError`: the input is wrong or
 *   too big. Do not retry it; fix the input.
 * - `FlightUnauthenticatedError`, `FlightPermissionDeniedError`: fix the credentials.
 * - `FlightUnimplementedError`: the peer does not offer this RPC; stop.
 * - `FlightInternalError`: the peer failed in a way it did not classify; it logged the
 *   detail. Not retried automatically.
 * - `FlightCancelledError`: the caller cancelled (AbortSignal) or the client was closed.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

export type FlightErrorCode =
  | 'FLIGHT_INVALID_ARGUMENT'
  | 'FLIGHT_UNAUTHENTICATED'
  | 'FLIGHT_PERMISSION_DENIED'
  | 'FLIGHT_RESOURCE_EXHAUSTED'
  | 'FLIGHT_UNAVAILABLE'
  | 'FLIGHT_DEADLINE_EXCEEDED'
  | 'FLIGHT_CANCELLED'
  | 'FLIGHT_UNIMPLEMENTED'
  | 'FLIGHT_INTERNAL'
  | 'FLIGHT_CALL_FAILED';

export interface FlightErrorOptions {
  cause?: unknown;
  /** Client side: the target (`host:port` or resolver URI) that produced the error. */
  target?: string;
}

export abstract class FlightError extends Error {
  abstract readonly code: FlightErrorCode;
  /** The gRPC status code this error travels as. */
  abstract readonly grpcCode: GrpcStatus;
  /** True when sending the same request again later may succeed. */
  abstract readonly retryable: boolean;
  readonly target: string | undefined;

  constructor(message: string, options: FlightErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.target = options.target;
  }
}

/** Bad Arrow IPC framing, a malformed FlightData, a missing descriptor or path. Fix the input. */
export class FlightInvalidArgumentError extends FlightError {
  override readonly name = 'FlightInvalidArgumentError';
  readonly code = 'FLIGHT_INVALID_ARGUMENT' as const;
  readonly grpcCode = GrpcStatus.INVALID_ARGUMENT;
  readonly retryable = false;
}

/** Missing or wrong bearer token. Fix the credentials. */
export class FlightUnauthenticatedError extends FlightError {
  override readonly name = 'FlightUnauthenticatedError';
  readonly code = 'FLIGHT_UNAUTHENTICATED' as const;
  readonly grpcCode = GrpcStatus.UNAUTHENTICATED;
  readonly retryable = false;
}

/** Authenticated but not allowed. Fix the credentials or the request. */
export class FlightPermissionDeniedError extends FlightError {
  override readonly name = 'FlightPermissionDeniedError';
  readonly code = 'FLIGHT_PERMISSION_DENIED' as const;
  readonly grpcCode = GrpcStatus.PERMISSION_DENIED;
  readonly retryable = false;
}

/** The put (or one of its messages) exceeds a size limit. Split the input; do not retry as is. */
export class FlightResourceExhaustedError extends FlightError {
  override readonly name = 'FlightResourceExhaustedError';
  readonly code = 'FLIGHT_RESOURCE_EXHAUSTED' as const;
  readonly grpcCode = GrpcStatus.RESOURCE_EXHAUSTED;
  readonly retryable = false;
}

/**
 * The peer cannot take the request now: no writer reachable, connection lost, the writer's
 * queue or object store is down or full. Retry with backoff. When thrown by a client after
 * the whole stream was sent, the put MAY have been applied: retry with the same request id
 * (app_metadata) so the receiver can deduplicate.
 */
export class FlightUnavailableError extends FlightError {
  override readonly name = 'FlightUnavailableError';
  readonly code = 'FLIGHT_UNAVAILABLE' as const;
  readonly grpcCode = GrpcStatus.UNAVAILABLE;
  readonly retryable = true;
}

/** The deadline passed before the peer answered. The put may have been applied; retry with the same request id. */
export class FlightDeadlineExceededError extends FlightError {
  override readonly name = 'FlightDeadlineExceededError';
  readonly code = 'FLIGHT_DEADLINE_EXCEEDED' as const;
  readonly grpcCode = GrpcStatus.DEADLINE_EXCEEDED;
  readonly retryable = true;
}

/** The call was cancelled by the caller (AbortSignal), by `close()`, or by the peer. */
export class FlightCancelledError extends FlightError {
  override readonly name = 'FlightCancelledError';
  readonly code = 'FLIGHT_CANCELLED' as const;
  readonly grpcCode = GrpcStatus.CANCELLED;
  readonly retryable = false;
}

/** The peer does not implement this RPC. Stop. */
export class FlightUnimplementedError extends FlightError {
  override readonly name = 'FlightUnimplementedError';
  readonly code = 'FLIGHT_UNIMPLEMENTED' as const;
  readonly grpcCode = GrpcStatus.UNIMPLEMENTED;
  readonly retryable = false;
}

/** The peer failed and did not classify the failure; its logs have the detail. */
export class FlightInternalError extends FlightError {
  override readonly name = 'FlightInternalError';
  readonly code = 'FLIGHT_INTERNAL' as const;
  readonly grpcCode = GrpcStatus.INTERNAL;
  readonly retryable = false;
}

/** Any other non-OK status (UNKNOWN, ABORTED, DATA_LOSS, …), kept with its gRPC code. */
export class FlightCallError extends FlightError {
  override readonly name = 'FlightCallError';
  readonly code = 'FLIGHT_CALL_FAILED' as const;
  readonly grpcCode: GrpcStatus;
  readonly retryable: boolean;
  constructor(grpcCode: GrpcStatus, message: string, options: FlightErrorOptions = {}) {
    super(message, options);
    this.grpcCode = grpcCode;
    this.retryable = grpcCode === GrpcStatus.ABORTED;
  }
}

export function isFlightError(err: unknown): err is FlightError {
  return err instanceof FlightError;
}

/** True for errors a caller may retry (the same request, with the same request id). */
export function isRetryableFlightError(err: unknown): boolean {
  return err instanceof FlightError && err.retryable;
}

/** The name of a gRPC status code, e.g. `UNAVAILABLE`. */
export function grpcCodeName(code: number): string {
  return (GrpcStatus as unknown as Record<number, string>)[code] ?? `CODE_${code}`;
}

/**
 * The error class for a non-OK gRPC status received by a client. `details` is the status
 * message the peer sent.
 */
export function errorFromStatus(
  code: number,
  details: string,
  options: FlightErrorOptions = {},
): FlightError {
  const where = options.target === undefined ? '' : ` from ${options.target}`;
  const message = `${grpcCodeName(code)}${where}: ${details}`;
  switch (code) {
    case GrpcStatus.INVALID_ARGUMENT:
      return new FlightInvalidArgumentError(message, options);
    case GrpcStatus.UNAUTHENTICATED:
      return new FlightUnauthenticatedError(message, options);
    case GrpcStatus.PERMISSION_DENIED:
      return new FlightPermissionDeniedError(message, options);
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new FlightResourceExhaustedError(message, options);
    case GrpcStatus.UNAVAILABLE:
      return new FlightUnavailableError(message, options);
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new FlightDeadlineExceededError(message, options);
    case GrpcStatus.CANCELLED:
      return new FlightCancelledError(message, options);
    case GrpcStatus.UNIMPLEMENTED:
      return new FlightUnimplementedError(message, options);
    case GrpcStatus.INTERNAL:
      return new FlightInternalError(message, options);
    default:
      return new FlightCallError(code, message, options);
  }
}

/** A status to send: the gRPC code and the message the client will see. */
export interface FlightStatus {
  code: GrpcStatus;
  details: string;
  /** False when the error was not classified: the server logs its detail. */
  classified: boolean;
}

/**
 * The one place where server-side errors become gRPC statuses.
 *
 * - a {@link FlightError} travels as its own code and message;
 * - an error from another layer that says `retryable: true` (the object store's and the
 *   queue's transient errors do) becomes UNAVAILABLE with a generic message: the client
 *   should retry, and it needs no internals;
 * - anything else becomes INTERNAL with a generic message (never a stack or a path).
 */
export function statusForError(err: unknown): FlightStatus {
  if (err instanceof FlightError) {
    return { code: err.grpcCode, details: err.message, classified: true };
  }
  if (
    typeof err === 'object' &&
    err !== null &&
    (err as { retryable?: unknown }).retryable === true
  ) {
    return {
      code: GrpcStatus.UNAVAILABLE,
      details: 'temporarily unavailable, retry later',
      classified: false,
    };
  }
  return { code: GrpcStatus.INTERNAL, details: 'internal error', classified: false };
}
