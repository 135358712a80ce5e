/**
 * Which OU an account belongs in (docs/targets/ad.md, "OUs"): the location's mapped OU, else the
 * primary department's mapped OU, else an OU named after the location under the employees OU
 * (created when missing), else the employees OU. Own keys only: a location named `constructor` or
 * `__proto__` never hits Object.prototype; a location matches its mapping case-insensitively when
 * there is no exact match.
 */
import { escapeDNValue } from '../../ldap-escape.js';

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
