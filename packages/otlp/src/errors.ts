/**
 * Errors of the OTLP decoders. Both mean "fix the input": retrying the same bytes
 * gives the same answer.
 *
 * - `InvalidInputError`: the request cannot be decoded at all (bad protobuf wire
 *   format, truncated message, invalid UTF-8 in a string field, malformed JSON...).
 *   Answer INVALID_ARGUMENT / HTTP 400; nothing of the request is kept.
 * - `OutputTooLargeError`: the request decodes, but its rows would take more memory
 *   than the caller allowed (`maxOutputBytes`). OTLP repeats resource and scope
 *   attributes on every row, so a small request can expand a lot. Answer
 *   RESOURCE_EXHAUSTED / HTTP 413 (not retryable as is: split the request).
 */
export type OtlpErrorCode = 'OTLP_INVALID_INPUT' | 'OTLP_OUTPUT_TOO_LARGE';

export abstract class OtlpError extends Error {
  abstract readonly code: OtlpErrorCode;
  /** Always false: the same request fails the same way. */
  readonly retryable = false;
}

export class InvalidInputError extends OtlpError {
  override readonly name = 'InvalidInputError';
  readonly code = 'OTLP_INVALID_INPUT' as const;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

export class OutputTooLargeError extends OtlpError {
  override readonly name = 'OutputTooLargeError';
  readonly code = 'OTLP_OUTPUT_TOO_LARGE' as const;
  /** The limit that was exceeded, in bytes. */
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(
      `decoded request would exceed ${limitBytes} bytes of column memory; send smaller requests`,
    );
    this.limitBytes = limitBytes;
  }
}

/** Type guard that also works across package copies (checks the stable code). */
export function isInvalidInputError(err: unknown): err is InvalidInputError {
  return err instanceof Error && (err as { code?: unknown }).code === 'OTLP_INVALID_INPUT';
}
