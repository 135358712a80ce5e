/**
 * Who asks, for the audit log. `--by` (or TENURE_OPERATOR) is self-declared, so the operating
 * system account that ran the command is always recorded next to it: `alice (os user deploy)`.
 * When the two agree, or nothing is declared, the OS user alone.
 */
import { userInfo } from 'node:os';

export function osUserName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

export function requester(declared: string | undefined, env: NodeJS.ProcessEnv, os = osUserName()): string {
  const claim = declared ?? (env.TENURE_OPERATOR || undefined);
  // An explicitly empty --by stays empty: the command refuses it with a usage error.
  if (claim === undefined) return os;
  if (claim.trim() === '' || claim.trim() === os) return claim.trim();
  return `${claim.trim()} (os user ${os})`;
}
