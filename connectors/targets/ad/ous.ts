/**
 * OUs: which OU an account belongs in, and making sure a derived location OU exists.
 *
 * ouFor (docs/targets/ad.md, "OUs"): the location's mapped OU, else the primary department's
 * mapped OU, else an OU named after the location under the employees OU (created when missing),
 * else the employees OU. Own keys only: a location named `constructor` or `__proto__` never hits
 * Object.prototype; a location matches its mapping case-insensitively when there is no exact match.
 */
import { escapeDNValue, normalizeDN, sameDN, splitDN } from '../../ldap-escape.js';
import { TargetRejectedError } from '../errors.js';
import type { AdConnection } from './connection.js';
import type { AdSettings } from './context.js';
import { ldapCode, mapLdapError } from './errors.js';

export interface OuSettings {
  employeesOU: string;
  locationOUs: Record<string, string>;
  departmentOUs?: Record<string, string>;
}

function lookup(map: Record<string, string> | undefined, key: string): string | undefined {
  const entries = Object.entries(map ?? {});
  return entries.find(([k]) => k === key)?.[1] ?? entries.find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
}

export function ouFor(c: OuSettings, location: string | undefined, departmentCode?: string): string {
  const loc = location?.trim() ?? '';
  const byLocation = loc ? lookup(c.locationOUs, loc) : undefined;
  if (byLocation) return byLocation;
  const dept = departmentCode?.trim();
  const byDepartment = dept ? lookup(c.departmentOUs, dept) : undefined;
  if (byDepartment) return byDepartment;
  if (!loc) return c.employeesOU;
  return `OU=${escapeDNValue(Array.from(loc).slice(0, 64).join('').trim())},${c.employeesOU}`;
}

/** The OUs of one connector, with the ones seen to exist remembered so they are not looked up again. */
export class AdOUs {
  readonly #config: AdSettings;
  readonly #ldap: AdConnection;
  readonly #known = new Set<string>();

  constructor(config: AdSettings, ldap: AdConnection) {
    this.#config = config;
    this.#ldap = ldap;
  }

  /** The OU for a location (else a department code). */
  locationOU(location: string | undefined, departmentCode?: string): string {
    return ouFor(this.#config, location, departmentCode);
  }

  /** Is the entry at this DN parked in the disabled OU? */
  inDisabledOU(dn: string): boolean {
    return sameDN(splitDN(dn).parent, this.#config.disabledOU);
  }

  isKnown(ou: string): boolean {
    return this.#known.has(normalizeDN(ou));
  }

  /** The directory showed that the OU exists (an add under it went through). */
  remember(ou: string): void {
    this.#known.add(normalizeDN(ou));
  }

  /** Create a location OU when missing (only those the connector derives, under employeesOU). */
  async ensure(ou: string): Promise<void> {
    if (this.isKnown(ou)) return;
    try {
      await this.#ldap.op('look up OU', (c) => c.search(ou, { scope: 'base', attributes: ['objectClass'] }));
    } catch (err) {
      if (ldapCode(err) !== 32) throw mapLdapError(err, 'look up OU');
      const derived = sameDN(splitDN(ou).parent, this.#config.employeesOU);
      if (!derived) throw new TargetRejectedError(`OU ${ou} does not exist`, { code: 32 });
      try {
        await this.#ldap.op('create OU', (c) => c.add(ou, { objectClass: ['top', 'organizationalUnit'] }));
      } catch (e2) {
        if (ldapCode(e2) === 32)
          throw new TargetRejectedError(`parent OU ${this.#config.employeesOU} does not exist`, { code: 32 });
        if (ldapCode(e2) !== 68) throw mapLdapError(e2, 'create OU');
      }
    }
    this.remember(ou);
  }
}
