/**
 * Every error a user can see carries a stable code (PD_…) and a message that says what to do.
 * `status` is the HTTP status a web face should answer with; CLI faces map errors to exit code 1
 * (or 2 for PD_USAGE).
 */
export class PatchdeckError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PatchdeckError';
    this.code = code;
    this.status = options.status ?? 400;
    this.details = options.details;
  }
}

export function isPatchdeckError(value: unknown): value is PatchdeckError {
  return value instanceof PatchdeckError;
}
