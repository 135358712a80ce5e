/**
 * Per-target ownership settings (rules file: `targets[].options.ownership`, docs/ownership.md):
 * whether an existing account that correlates inside the target's scope is adopted, and which
 * permissions a full check may revoke.
 */
import { z } from 'zod';

export const OwnershipSettingsSchema = z.strictObject({
  /** `off`: an existing account that correlates is reported, never taken over; `inScope`: adopted. */
  adopt: z.enum(['off', 'inScope']).default('off'),
  /**
   * An adopted account keeps its login names (false, the default) or gets the generated ones (true);
   * either way the names it had stay reserved for the person.
   */
  renameAdopted: z.boolean().default(false),
  /**
   * Permissions a full check may revoke. Empty: only what Tenure itself granted (its own record),
   * besides the connector's own scope (AD: the groups OU).
   */
  managedPermissions: z.array(z.string().trim().min(1)).default([]),
});
export type OwnershipSettings = z.output<typeof OwnershipSettingsSchema>;

export const DEFAULT_OWNERSHIP: OwnershipSettings = { adopt: 'off', renameAdopted: false, managedPermissions: [] };

/** The ownership settings of one rules-file target; a bad value names the target and the field. */
export function ownershipSettingsOf(target: { id: string; options?: Record<string, unknown> }): OwnershipSettings {
  const raw = target.options?.ownership;
  if (raw === undefined) return DEFAULT_OWNERSHIP;
  const parsed = OwnershipSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${['ownership', ...i.path].join('.')}: ${i.message}`);
    throw new Error(`target '${target.id}': invalid options: ${problems.join('; ')}`);
  }
  return parsed.data;
}
