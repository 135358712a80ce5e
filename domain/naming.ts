/**
 * Naming (docs/lifecycle.md section 3; docs/sources/model.md; docs/connector-contract.md). See docs/naming.md.
 *
 * Display names follow the Dutch naming convention (B, P, BP, PB). Usernames, UPNs and e-mail
 * local parts are generated from the known-as name and the *first* surname of the convention
 * (B/BP: own, P/PB: partner), folded to `[a-z0-9.-]`, and made unique by a documented iteration
 * that is shared by username, UPN and e-mail so the three always stay aligned.
 *
 * Pure and deterministic: safe to import in Temporal workflow code.
 */
import type { NameConvention, PersonName } from './model.js';

// ---------------------------------------------------------------------------------------------
// Display names

function squash(s: string | undefined): string {
  return (s ?? '').trim().replace(/\s+/g, ' ');
}

/** `Van den`: lower-case, then the first letter upper-case (a leading `'t` stays `'t`). */
function capitalisePrefix(prefix: string): string {
  const p = prefix.toLowerCase();
  return /^\p{L}/u.test(p) ? p.charAt(0).toUpperCase() + p.slice(1) : p;
}

interface Surname {
  prefix: string;
  family: string;
}

function ownSurname(name: PersonName): Surname {
  return { prefix: squash(name.familyNamePrefix), family: squash(name.familyName) };
}

function partnerSurname(name: PersonName): Surname | undefined {
  const family = squash(name.partnerName);
  return family ? { prefix: squash(name.partnerNamePrefix), family } : undefined;
}

/**
 * The surnames in convention order. A partner convention without a partner name falls back to
 * the own name (B), as does an unknown convention.
 */
function surnames(name: PersonName): Surname[] {
  const own = ownSurname(name);
  const partner = partnerSurname(name);
  const convention: NameConvention = name.convention ?? 'B';
  if (!partner) return [own];
  switch (convention) {
    case 'P':
      return [partner];
    case 'BP':
      return [own, partner];
    case 'PB':
      return [partner, own];
    default:
      return [own];
  }
}

function surnameText(s: Surname, capitalise: boolean): string {
  if (!s.prefix) return s.family;
  return `${capitalise ? capitalisePrefix(s.prefix) : s.prefix.toLowerCase()} ${s.family}`;
}

/**
 * The family-name part (AD `sn`): `Van den Berg - de Vries` for BP. The prefix that starts the
 * part is capitalised; a prefix inside it (after ` - `) stays lower-case.
 */
export function familyDisplayName(name: PersonName): string {
  return surnames(name)
    .map((s, i) => surnameText(s, i === 0))
    .join(' - ');
}

/**
 * Display name: known-as name followed by the family-name part, every prefix lower-case.
 * `Jan van den Berg` (B), `Jan de Vries` (P), `Jan van den Berg - de Vries` (BP),
 * `Jan de Vries - van den Berg` (PB).
 */
export function displayName(name: PersonName): string {
  const family = surnames(name)
    .map((s) => surnameText(s, false))
    .join(' - ');
  return [squash(name.nickName), family].filter(Boolean).join(' ');
}

/** The first surname of the convention (B/BP: own, P/PB: partner), used for usernames and mail. */
export function primarySurname(name: PersonName): { prefix: string; family: string } {
  return surnames(name)[0]!;
}

// ---------------------------------------------------------------------------------------------
// Folding

/** Letters NFKD does not decompose into ASCII. */
const SPECIAL_LETTERS: Record<string, string> = {
  ß: 'ss',
  ẞ: 'SS',
  ø: 'o',
  Ø: 'O',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'TH',
  ħ: 'h',
  Ħ: 'H',
  ı: 'i',
  ĳ: 'ij',
  Ĳ: 'IJ',
};
const SPECIAL_RE = new RegExp(`[${Object.keys(SPECIAL_LETTERS).join('')}]`, 'gu');

/** Removes diacritics, keeping case: `Çelik` → `Celik`, `Ødegaard` → `Odegaard`, `ß` → `ss`. */
export function removeDiacritics(s: string): string {
  return s
    .replace(SPECIAL_RE, (ch) => SPECIAL_LETTERS[ch] ?? ch)
    .normalize('NFKD')
    .replace(/\p{M}/gu, '');
}

/**
 * Folds a name part for a username: diacritics removed, lower-case, spaces, apostrophes, dots
 * and every other character outside `[a-z0-9-]` dropped; hyphens (double names) kept but never
 * doubled, leading or trailing. `van der` → `vander`, `'t Hart` → `thart`, `Anne-Marie` →
 * `anne-marie`.
 */
export function foldNamePart(s: string): string {
  return removeDiacritics(s)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
}

// ---------------------------------------------------------------------------------------------
// Username / UPN / e-mail iteration

/** sAMAccountName limit (pre-Windows 2000 logon name). */
export const MAX_USERNAME_LENGTH = 20;
/** RFC 5321 limit of an e-mail local part (also used for the UPN prefix). */
export const MAX_LOCAL_PART_LENGTH = 64;
/** HelloID's limit for AD (docs/connector-contract.md). */
export const DEFAULT_MAX_ITERATIONS = 50;
/** Base used when the name folds to nothing at all. */
export const DEFAULT_FALLBACK = 'user';

/**
 * Local parts that belong to a role, a mail system or a built-in directory account, never to a
 * person (RFC 2142 role mailboxes, mail and web infrastructure, AD built-ins). Compared without
 * case, on the whole local part and on the username.
 */
export const DEFAULT_RESERVED_LOCAL_PARTS: readonly string[] = [
  'abuse',
  'admin',
  'administrator',
  'autoconfig',
  'autodiscover',
  'billing',
  'contact',
  'defaultaccount',
  'dmarc',
  'ftp',
  'guest',
  'helpdesk',
  'hostmaster',
  'hr',
  'info',
  'it',
  'krbtgt',
  'list',
  'listmaster',
  'localhost',
  'mailer-daemon',
  'majordomo',
  'marketing',
  'news',
  'no-reply',
  'nobody',
  'noc',
  'noreply',
  'office',
  'postmaster',
  'privacy',
  'root',
  'sales',
  'security',
  'ssl-admin',
  'ssladmin',
  'support',
  'sysadmin',
  'usenet',
  'uucp',
  'webmaster',
  'wpad',
  'www',
];

/**
 * How a username (and the UPN and e-mail local part with it) is built (rules file
 * `naming.usernamePattern`, docs/naming.md):
 * - `initial.surname` (default): `j.devries`, then `ja.devries`, `jan.devries`, then `j.devries2`, ...
 * - `given.surname`: `jan.devries`, then `jan.devries2`, `jan.devries3`, ...
 * - `initialsurname`: `jdevries`, then `jadevries`, `jandevries`, then `jdevries2`, ...
 * - `surname.initial`: `devries.j`, then `devries.ja`, `devries.jan`, then `devries.j2`, ...
 */
export const USERNAME_PATTERNS = ['initial.surname', 'given.surname', 'initialsurname', 'surname.initial'] as const;
export type UsernamePattern = (typeof USERNAME_PATTERNS)[number];

export interface CandidateOptions {
  /** Default `initial.surname`. */
  pattern?: UsernamePattern | undefined;
  /** Domain of the e-mail address, e.g. `example.org`. */
  mailDomain: string;
  /** UPN suffix; defaults to `mailDomain`. */
  upnSuffix?: string | undefined;
  /** Number of candidates to produce at most (default 50). */
  maxIterations?: number | undefined;
  /**
   * Base for a name that folds to nothing (e.g. only non-Latin letters), folded like a name
   * part; default `user`. Callers may pass something person-specific such as `e100234`.
   */
  fallback?: string | undefined;
  /**
   * Extra local parts never to issue (configuration: TENURE_RESERVED_LOCAL_PARTS), on top of
   * DEFAULT_RESERVED_LOCAL_PARTS, which always apply.
   */
  reservedLocalParts?: readonly string[] | undefined;
}

export interface IdentityCandidate {
  /** sAMAccountName, at most 20 characters, `[a-z0-9.-]`. */
  username: string;
  /** `<local>@<upnSuffix>`: the same local part as the e-mail. */
  userPrincipalName: string;
  /** `<local>@<mailDomain>`. */
  email: string;
  /** 0-based position in the iteration sequence; the same index yields all three values. */
  iteration: number;
}

/** Cuts `base` so that `base + suffix` fits `max`, without a trailing `.` or `-` before the suffix. */
function fit(base: string, suffix: string, max: number): string {
  const cut = base.slice(0, Math.max(1, max - suffix.length)).replace(/[.-]+$/, '');
  return cut + suffix;
}

/**
 * The un-truncated local parts in iteration order (before length limits and de-duplication):
 * 1. `j.devries`, `ja.devries`, `jan.devries`: one more letter of the known-as name each time
 *    (a prefix ending in a hyphen is skipped: `anne-m.jansen` follows `anne.jansen`);
 * 2. then `j.devries2`, `j.devries3`, ...: the first letter and a number, starting at 2.
 * A name without a usable surname gives `jan`, `jan2`, ...; without a usable known-as name
 * `devries`, `devries2`, ...; with neither, the fallback (`user`, `user2`, ...).
 */
function* localParts(
  name: PersonName,
  fallback: string,
  pattern: UsernamePattern = 'initial.surname',
): Generator<[base: string, suffix: string]> {
  const given =
    foldNamePart(name.nickName ?? '') || foldNamePart(name.given ?? '') || foldNamePart(name.initials ?? '');
  const s = primarySurname(name);
  const family = foldNamePart(`${s.prefix}${s.family}`);
  if (given && family) {
    const join = (stem: string) =>
      pattern === 'surname.initial'
        ? `${family}.${stem}`
        : pattern === 'initialsurname'
          ? `${stem}${family}`
          : `${stem}.${family}`;
    if (pattern === 'given.surname') {
      yield [join(given), ''];
      for (let n = 2; ; n++) yield [join(given), String(n)];
    }
    for (let k = 1; k <= given.length; k++) {
      const stem = given.slice(0, k);
      if (!stem.endsWith('-')) yield [join(stem), ''];
    }
    for (let n = 2; ; n++) yield [join(given.charAt(0)), String(n)];
  }
  const single = given || family || foldNamePart(fallback) || DEFAULT_FALLBACK;
  yield [single, ''];
  for (let n = 2; ; n++) yield [single, String(n)];
}

/**
 * Username, UPN and e-mail candidates in iteration order; at most `maxIterations` (default 50).
 * Numbers are kept when a candidate has to be shortened (`fit`): `verylongfamilyname2` becomes
 * `j.verylongfamilynam2`. A candidate whose username repeats an earlier one (possible only after
 * shortening) is skipped and does not consume an iteration index.
 */
export function* identityCandidates(name: PersonName, opts: CandidateOptions): Generator<IdentityCandidate> {
  const max = opts.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const upnSuffix = opts.upnSuffix ?? opts.mailDomain;
  const seen = new Set<string>();
  const reserved = new Set(
    [...DEFAULT_RESERVED_LOCAL_PARTS, ...(opts.reservedLocalParts ?? [])].map((r) => r.trim().toLowerCase()),
  );
  let iteration = 0;
  let guard = 0;
  for (const [base, suffix] of localParts(name, opts.fallback ?? DEFAULT_FALLBACK, opts.pattern)) {
    if (iteration >= max || guard++ > max * 10 + 100) return;
    const username = fit(base, suffix, MAX_USERNAME_LENGTH);
    if (seen.has(username)) continue;
    seen.add(username);
    const mailLocal = fit(base, suffix, MAX_LOCAL_PART_LENGTH);
    // A role mailbox is never a person's, whatever the name folds to: skipped without using an index.
    if (reserved.has(username) || reserved.has(mailLocal)) continue;
    yield {
      username,
      userPrincipalName: `${mailLocal}@${upnSuffix}`,
      email: `${mailLocal}@${opts.mailDomain}`,
      iteration: iteration++,
    };
  }
}

export interface GenerateOptions extends CandidateOptions {
  /**
   * True when any of the candidate's username, UPN or e-mail is in use (in any target that
   * checks uniqueness) or reserved for another person.
   */
  isTaken: (candidate: IdentityCandidate) => boolean | Promise<boolean>;
}

export class NoFreeIdentityError extends Error {
  constructor(readonly tried: number) {
    super(`no free username after ${tried} iterations`);
    this.name = 'NoFreeIdentityError';
  }
}

/** Walks `identityCandidates` and returns the first candidate that `isTaken` reports free. */
export async function generateIdentity(name: PersonName, opts: GenerateOptions): Promise<IdentityCandidate> {
  let tried = 0;
  for (const candidate of identityCandidates(name, opts)) {
    tried++;
    if (!(await opts.isTaken(candidate))) return candidate;
  }
  throw new NoFreeIdentityError(tried);
}
