/**
 * Transport rules for every connection that carries credentials or personal data: HTTPS for every
 * SaaS API, LDAPS or StartTLS for the directory, certificate verification on. Plain http://,
 * ldap:// without StartTLS and AD_TLS_INSECURE are accepted only when the test-only switch
 * TENURE_ALLOW_INSECURE_TRANSPORT=1 is set (the simulators and the test directory run on
 * loopback). Errors name the setting, never a credential.
 */

export const INSECURE_TRANSPORT_SWITCH = 'TENURE_ALLOW_INSECURE_TRANSPORT';

/** True only for the explicit test switch; anything else (unset, 'true', 'yes') is false. */
export function insecureTransportAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[INSECURE_TRANSPORT_SWITCH] === '1';
}

export class InsecureTransportError extends Error {
  override readonly name = 'InsecureTransport';
}

/**
 * Throws unless `url` is https:// (or http:// with the test switch). `what` names the setting or
 * call, e.g. `TOPDESK_URL` or `Graph token request`. Only scheme and host are quoted.
 */
export function requireHttps(what: string, url: string, env: NodeJS.ProcessEnv = process.env): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InsecureTransportError(`${what}: not a URL`);
  }
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol === 'http:' && insecureTransportAllowed(env)) return;
  throw new InsecureTransportError(
    `${what}: ${parsed.protocol}//${parsed.host} is not allowed; use https:// ` +
      `(plain http:// only in tests, with ${INSECURE_TRANSPORT_SWITCH}=1)`,
  );
}

/** True when a fetch failed because the server answered with a redirect under `redirect: 'error'`. */
export function isRefusedRedirect(err: unknown): boolean {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof Error && /redirect/i.test(cause.message);
}
