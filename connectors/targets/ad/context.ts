/**
 * What the AD modules share besides the LDAP connection: the settings without the bind password,
 * and the facade's way of writing audit entries (connectors/targets/kit.ts), bound to this target.
 */
import type { AccountReference, ActionResult, AuditEntry, Outcome, TargetAction } from '../../types.js';
import type { AdConfig } from './config.js';

export type AdSettings = Omit<AdConfig, 'bindPassword'>;

type Details = Record<string, unknown>;

export interface AdAudit {
  audit(action: TargetAction, outcome: Outcome, message: string, details?: Details): AuditEntry;
  result(
    account: AccountReference | null,
    action: TargetAction,
    outcome: Outcome,
    message: string,
    details?: Details,
  ): ActionResult;
  gone(action: 'disable' | 'delete' | 'revokePermission', details?: Details): ActionResult;
}
