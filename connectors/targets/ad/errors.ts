/**
 * LDAP failures mapped for the activity layer (docs/targets/ad.md): transient problems stay plain
 * `Error`s (Temporal retries them); permanent rejections become `TargetRejectedError`, which the
 * activity layer turns into a non-retryable failure.
 */
import { ResultCodeError } from 'ldapts';
import { TargetRejectedError, TargetUnavailableError } from '../errors.js';

/** Result codes that mean "try again later". */
const TRANSIENT = new Set([
  1, // operationsError (server-side hiccup)
  3, // timeLimitExceeded
  51, // busy
  52, // unavailable
  80, // other
]);

/** Friendly text per permanent result code. */
const PERMANENT: Record<number, string> = {
  8: 'the directory requires a stronger (encrypted) connection',
  13: 'the directory requires confidentiality (use LDAPS or StartTLS)',
  16: 'no such attribute',
  17: 'undefined attribute type',
  19: 'constraint violation (password policy, value too long or invalid value)',
  20: 'attribute value already exists',
  21: 'invalid attribute syntax',
  32: 'no such object',
  34: 'invalid DN syntax',
  48: 'inappropriate authentication',
  49: 'invalid credentials for the service account',
  50: 'insufficient access rights for the service account',
  53: 'the directory is unwilling to perform the operation',
  64: 'naming violation',
  65: 'object class violation',
  66: 'not allowed on a non-leaf entry (the object has child objects)',
  67: 'not allowed on the RDN',
  68: 'an entry with that name already exists',
  69: 'object class modifications are prohibited',
};

/**
 * The directory's diagnostic without its free text: Samba and Windows quote the offending value
 * (a userPrincipalName, an e-mail address, a DN with the person's name) in the message, and error
 * messages end up in Temporal's history and in logs (so the ldapts error is not kept as `cause`
 * either). Only the leading AD error code is kept
 * (e.g. `0000202F` for a constraint violation); the LDAP result code names the problem.
 */
export function ldapDiagnostic(err: ResultCodeError): string {
  const ad = /^\s*([0-9A-Fa-f]{8})\s*:/.exec(err.message)?.[1];
  return ad ? `LDAP ${err.code}, AD error ${ad.toUpperCase()}` : `LDAP ${err.code}`;
}

export function ldapCode(err: unknown): number | undefined {
  if (err instanceof ResultCodeError) return err.code;
  return undefined;
}

/** Turn any error from ldapts into the error the connector throws. */
export function mapLdapError(err: unknown, context: string): Error {
  if (err instanceof TargetRejectedError || err instanceof TargetUnavailableError) return err;
  if (err instanceof ResultCodeError) {
    const code = err.code;
    if (TRANSIENT.has(code)) {
      return new TargetUnavailableError(`${context}: directory temporarily unavailable (${ldapDiagnostic(err)})`, {
        code,
      });
    }
    const friendly = PERMANENT[code] ?? 'rejected by the directory';
    return new TargetRejectedError(`${context}: ${friendly} (${ldapDiagnostic(err)})`, { code });
  }
  // Socket and TLS errors name hosts and ports, never a person.
  const msg = err instanceof Error ? err.message : String(err);
  // Connection refused/reset, TLS failures, timeouts: retryable.
  return new TargetUnavailableError(`${context}: directory unreachable (${msg})`, { cause: err });
}
