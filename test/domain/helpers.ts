import { Person, type PersonInput } from '../../domain/model.js';

/** A valid person with sensible defaults; `contracts` given as partial contract inputs. */
export function person(overrides: Partial<PersonInput> = {}): Person {
  return Person.parse({
    source: 'file',
    key: '100234',
    name: { nickName: 'Jan', familyName: 'Berg', familyNamePrefix: 'van den' },
    contracts: [],
    ...overrides,
  });
}

export function contract(id: string, startDate: string, endDate?: string, extra: Record<string, unknown> = {}) {
  return { id, startDate, ...(endDate ? { endDate } : {}), department: { code: 'FIN', name: 'Finance' }, ...extra };
}

/** An example rules file used by several tests (keep line numbers stable: rules.test.ts points into it). */
export const EXAMPLE = `# Tenure rules
version: "2027.1"
timeZone: Europe/Amsterdam
primaryContract: [sequence, fte desc, startDate]
defaults:
  timings:
    createDaysBeforeStart: 14
targets:
  - id: ad
    kind: ad
  - id: topdesk
    kind: topdesk
    timings: { createDaysBeforeStart: 7, deleteAfterDays: 30 }
  - id: demo
    kind: ad
    enabled: false
    timings: { createSecondsBeforeStart: 120, deleteAfterSeconds: 300 }
rules:
  - name: employees
    entitlements:
      ad:
        accountAccess: true
        permissions: [all-staff]
        dynamicPermissions: ["dept-{department.code}", "loc-{location}"]
      topdesk: { account: true, accountAccess: true }
  - name: finance controllers
    conditions:
      department: [FIN, FIN-AP]
      title: [CTRL]
      person: { location: [AMS] }
    entitlements:
      ad: { permissions: [sap-finance] }
  - name: laptop order
    conditions: { daysBeforeStart: 30, daysAfterEnd: 0 }
    entitlements:
      topdesk: { permissions: [laptop-order] }
`;
