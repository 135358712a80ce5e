/** A user entry as the AD modules see it: the attributes read, the flags, the reference. */
import type { Entry } from 'ldapts';
import type { AccountReference } from '../../types.js';
import { rdnValue, splitDN } from '../../ldap-escape.js';
import { guidFromBytes } from './guid.js';

/** userAccountControl bits (KB 305144). */
export const UAC = {
  ACCOUNTDISABLE: 0x2,
  PASSWD_NOTREQD: 0x20,
  NORMAL_ACCOUNT: 0x200,
  DONT_EXPIRE_PASSWORD: 0x10000,
} as const;

/** Attributes the connector reads and compares. */
const ACCOUNT_ATTRIBUTES = [
  'distinguishedName',
  'cn',
  'objectGUID',
  'sAMAccountName',
  'userPrincipalName',
  'displayName',
  'givenName',
  'sn',
  'initials',
  'mail',
  'proxyAddresses',
  'title',
  'department',
  'company',
  'physicalDeliveryOfficeName',
  'manager',
  'employeeID',
  'userAccountControl',
];

export interface AdAccount {
  dn: string;
  guid: string;
  cn: string;
  uac: number;
  attrs: Record<string, string[]>;
}

export function blank(s: string | undefined | null): s is undefined | null | '' {
  return s === undefined || s === null || s.trim() === '';
}

function values(entry: Entry, name: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!key) return [];
  const v = entry[key];
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

export function first(entry: Entry, name: string): string | undefined {
  return values(entry, name)[0];
}

/** The attributes read for an account: the built-in ones and the configured extra ones. */
export function accountAttributes(extra: readonly string[]): string[] {
  return [...ACCOUNT_ATTRIBUTES, ...extra];
}

export function toAccount(entry: Entry, extra: readonly string[] = []): AdAccount {
  const raw = entry.objectGUID;
  const buf = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) && Buffer.isBuffer(raw[0]) ? raw[0] : undefined;
  if (!buf) throw new Error('directory returned an account without objectGUID');
  const attrs: Record<string, string[]> = {};
  for (const a of accountAttributes(extra)) if (a !== 'objectGUID') attrs[a] = values(entry, a);
  return {
    dn: first(entry, 'distinguishedName') ?? entry.dn,
    guid: guidFromBytes(buf),
    cn: first(entry, 'cn') ?? rdnValue(splitDN(entry.dn).rdn),
    uac: Number(first(entry, 'userAccountControl') ?? '0'),
    attrs,
  };
}

export function refOf(a: AdAccount): AccountReference {
  return { id: a.guid, locator: a.dn };
}
