/**
 * The error vocabulary every target connector speaks (docs/connector-contract.md): a permanent
 * rejection (`TargetRejectedError`, turned into a non-retryable failure by the activity layer) or a
 * retryable unavailability (`TargetUnavailableError`, or a plain `Error`; Temporal retries them).
 * Each connector maps its own protocol's failures onto these.
 */

export class TargetRejectedError extends Error {
  override readonly name = 'TargetRejected';
  readonly type = 'TargetRejected';
  /** The target's own code (LDAP result code, HTTP status) when the rejection came from the target. */
  readonly code: number | undefined;
  constructor(message: string, options?: { code?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code;
  }
}

/** A retryable failure: the target is down, busy, slow or unreachable. */
export class TargetUnavailableError extends Error {
  override readonly name = 'TargetUnavailable';
  readonly code: number | undefined;
  constructor(message: string, options?: { code?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code;
  }
}

/** An action that needs the account found it gone (deleted outside Tenure, or never there). */
export function accountGone(context: string, id: string, code?: number): TargetRejectedError {
  return new TargetRejectedError(
    `${context}: account ${id} could not be found, possibly deleted`,
    code === undefined ? undefined : { code },
  );
}

/**
 * Correlation finds at most one account per employee; more than one is for a person to sort out in
 * the target, never for Tenure to guess.
 */
export function onlyOne<T>(found: readonly T[], duplicates: (count: number) => string): T | null {
  if (found.length > 1) throw new TargetRejectedError(duplicates(found.length));
  return found[0] ?? null;
}
