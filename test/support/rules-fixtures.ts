/**
 * The rules files the lifecycle tests, the replay-fixture recorder and the demo share: an AD
 * account for everyone, in `all-staff` and the group of their department, on timings in seconds.
 */

/** The `all staff` rule, as an item of a rules file's `rules:` list. */
export const ALL_STAFF_RULE = `  - name: all staff
    entitlements:
      ad:
        accountAccess: true
        permissions: [all-staff]
        dynamicPermissions: ["dept-{department.code}"]
`;

export interface SecondsTimings {
  /** `HH:MM` or `HH:MM:SS` on the wall clock. */
  enableAt: string;
  disableAt: string;
  createSecondsBeforeStart: number;
  deleteAfterSeconds: number;
}

/** A rules file with the AD target and the all-staff rule only. */
export function allStaffRules(version: string, t: SecondsTimings): string {
  return `
version: "${version}"
timeZone: Europe/Amsterdam
defaults:
  timings:
    enableAt: "${t.enableAt}"
    disableAt: "${t.disableAt}"
    createSecondsBeforeStart: ${t.createSecondsBeforeStart}
    deleteAfterSeconds: ${t.deleteAfterSeconds}
targets:
  - id: ad
    kind: ad
rules:
${ALL_STAFF_RULE}`;
}

/** Every target kind, in the order the employee workflow provisions them. */
export const ALL_TARGET_KINDS = ['ad', 'helloid', 'entra', 'topdesk', 'spendcloud'] as const;

/** A rules file granting everyone an account in every target; `topdesk` is its entitlement (tickets or not). */
export function allTargetsRules(version: string, topdesk = '{ accountAccess: true }'): string {
  return `
version: "${version}"
defaults: { timings: { deleteAfterDays: 36500 } }
targets:
${ALL_TARGET_KINDS.map((t) => `  - { id: ${t}, kind: ${t} }`).join('\n')}
rules:
  - name: all staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff], dynamicPermissions: ["dept-{department.code}"] }
      helloid: { accountAccess: true, dynamicPermissions: ["department_{department.code}"] }
      entra: { accountAccess: true, dynamicPermissions: ["dept-{department.code}"] }
      topdesk: ${topdesk}
      spendcloud: { accountAccess: true }
`;
}
