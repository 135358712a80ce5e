/**
 * What an account should hold, from the DesiredAccount and the settings, without touching the
 * directory: validation against AD's limits, the single-valued attributes, proxyAddresses and
 * the CN candidates.
 */
import type { DesiredAccount } from '../../types.js';
import type { AdSettings } from './context.js';
import { blank, type AdAccount } from './entry.js';
import { TargetRejectedError } from '../errors.js';

const MAX_CN = 64;
const MAX_EMPLOYEE_ID = 16;
const MAX_SAM = 20;
const SAM_FORBIDDEN = /["/\\[\]:;|=,+*?<>@]/;

type NameSettings = Pick<AdSettings, 'upnSuffix' | 'mailDomain'>;

/** Single-valued attributes written from DesiredAccount (besides cn, proxyAddresses, manager). */
export type SimpleAttr =
  | 'sAMAccountName'
  | 'userPrincipalName'
  | 'displayName'
  | 'givenName'
  | 'sn'
  | 'initials'
  | 'mail'
  | 'title'
  | 'department'
  | 'company'
  | 'physicalDeliveryOfficeName'
  | 'employeeID';

export function validateDesired(d: DesiredAccount): void {
  const problems: string[] = [];
  if (blank(d.employeeId)) problems.push('employeeId is empty');
  else if (d.employeeId.length > MAX_EMPLOYEE_ID)
    problems.push(`employeeId is longer than ${MAX_EMPLOYEE_ID} characters`);
  if (blank(d.username)) problems.push('username is empty');
  else if (d.username.length > MAX_SAM) problems.push(`username is longer than ${MAX_SAM} characters`);
  else if (SAM_FORBIDDEN.test(d.username) || /^[\s.]|[\s.]$/.test(d.username))
    problems.push('username contains characters AD does not allow');
  if (blank(d.displayName)) problems.push('displayName is empty');
  if (problems.length) throw new TargetRejectedError(`invalid account data: ${problems.join('; ')}`);
}

/** The CN for a display name: as is (spaces included; escaping handles them), cut to 64 characters without splitting a surrogate pair. */
function cnFrom(displayName: string): string {
  return Array.from(displayName).slice(0, MAX_CN).join('');
}

/** CN candidates: the display name, then "<display name> (<employeeID>)" when the first is taken in that OU. */
export function cnCandidates(displayName: string, employeeId: string): string[] {
  const base = cnFrom(displayName);
  const suffix = ` (${employeeId})`;
  const alt = cnFrom(
    Array.from(base)
      .slice(0, MAX_CN - Array.from(suffix).length)
      .join('') + suffix,
  );
  return alt === base ? [base] : [base, alt];
}

/** CN candidates in the disabled OU: the account's own CN, then one made unique by its GUID. */
export function disabledCnCandidates(a: AdAccount): string[] {
  return [
    a.cn,
    cnFrom(
      `${Array.from(a.cn)
        .slice(0, MAX_CN - 40)
        .join('')
        .trimEnd()} (${a.guid})`,
    ),
  ];
}

function upnOf(c: NameSettings, d: DesiredAccount): string {
  return d.userPrincipalName.includes('@') ? d.userPrincipalName : `${d.userPrincipalName}@${c.upnSuffix}`;
}

/** An address as written: with the mail domain appended when it has none (undefined when blank). */
export function mailAddress(c: NameSettings, address: string | undefined): string | undefined {
  if (blank(address)) return undefined;
  const a = address.trim();
  return a.includes('@') || !c.mailDomain ? a : `${a}@${c.mailDomain}`;
}

/** The configured extra attributes (attribute templates): only those names, never another. */
function desiredExtra(c: Pick<AdSettings, 'extraAttributes'>, d: DesiredAccount): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of c.extraAttributes) out[name] = d.extraAttributes?.[name];
  return out;
}

/** The single-valued attribute values the account should hold (undefined = no value). */
export function desiredSimple(
  c: NameSettings & Pick<AdSettings, 'extraAttributes'>,
  d: DesiredAccount,
): Record<SimpleAttr, string | undefined> {
  const v = (s: string | undefined) => (blank(s) ? undefined : s.trim());
  return {
    sAMAccountName: d.username.trim(),
    userPrincipalName: upnOf(c, d).trim(),
    displayName: d.displayName,
    givenName: v(d.givenName),
    sn: v(d.familyName),
    initials: v(d.initials),
    mail: mailAddress(c, d.email),
    title: v(d.title),
    department: v(d.department),
    company: v(d.company),
    physicalDeliveryOfficeName: v(d.location),
    employeeID: d.employeeId.trim(),
    ...desiredExtra(c, d),
  };
}

/**
 * proxyAddresses: `SMTP:<mail>` as primary, every alias and every address the account had before
 * (including the previous primary) as `smtp:`. Other address types (X500:, SIP:) are kept.
 */
export function desiredProxies(c: NameSettings, d: DesiredAccount, current: AdAccount | null): string[] {
  const primary = mailAddress(c, d.email);
  const out: string[] = [];
  const seen = new Set<string>();
  const push = (v: string) => {
    const k = v.toLowerCase();
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  };
  if (primary) push(`SMTP:${primary}`);
  const aliases: string[] = [...(d.emailAliases ?? [])];
  if (current) {
    for (const m of current.attrs.mail ?? []) aliases.push(m);
    for (const p of current.attrs.proxyAddresses ?? []) {
      if (/^smtp:/i.test(p)) aliases.push(p.slice(5));
      else push(p);
    }
  }
  for (const a of aliases) {
    const m = mailAddress(c, a);
    if (m && (!primary || m.toLowerCase() !== primary.toLowerCase())) push(`smtp:${m}`);
  }
  return out;
}
