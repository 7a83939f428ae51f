import { GrpcCode } from '@sediment/otlp';
import type { AcceptorErrorKind } from './errors.js';

export interface ReplyStatus {
  readonly grpcCode: number;
  readonly httpStatus: number;
  /** Retryable replies carry RetryInfo (gRPC) / Retry-After (HTTP). */
  readonly retryable: boolean;
}

/**
 * The single place where failure kinds become wire statuses (SPEC §7). Anything
 * retryable is UNAVAILABLE / 503, never 500: OTLP clients drop data on a 500.
 */
export const REPLY_STATUS: Readonly<Record<AcceptorErrorKind, ReplyStatus>> = {
  invalid_argument: { grpcCode: GrpcCode.INVALID_ARGUMENT, httpStatus: 400, retryable: false },
  payload_too_large: { grpcCode: GrpcCode.RESOURCE_EXHAUSTED, httpStatus: 413, retryable: false },
  unsupported_media_type: { grpcCode: GrpcCode.UNIMPLEMENTED, httpStatus: 415, retryable: false },
  unavailable: { grpcCode: GrpcCode.UNAVAILABLE, httpStatus: 503, retryable: true },
  unauthenticated: { grpcCode: GrpcCode.UNAUTHENTICATED, httpStatus: 401, retryable: false },
  internal: { grpcCode: GrpcCode.INTERNAL, httpStatus: 500, retryable: false },
};

const GRPC_NAMES = new Map<number, string>(
  Object.entries(GrpcCode).map(([name, code]) => [code, name]),
);

export function grpcCodeName(code: number): string {
  return GRPC_NAMES.get(code) ?? String(code);
}
