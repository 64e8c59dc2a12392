// What a failed Temporal call says, read the same way by the receiver, the approvals and the CLI:
// the gRPC status code (on the error or one it wraps) and gRPC's own words for it.

/** gRPC status codes Rebound tells apart. */
export const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  UNAVAILABLE: 14,
} as const;

/** The gRPC status code of an error or of any error it wraps. */
export function grpcCode(error: unknown): number | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The innermost message of an error chain, without gRPC's status prefix ("5 NOT_FOUND: "). */
export function grpcMessage(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error && e.cause instanceof Error; depth++) e = e.cause;
  return (e instanceof Error ? e.message : String(e)).replace(/^\d+ [A-Z_]+: /, '');
}
