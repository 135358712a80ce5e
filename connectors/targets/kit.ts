/**
 * What every target connector shares (docs/connector-contract.md): one audit entry per change it
 * makes or leaves, written the same way by each, and the answers for an account that is gone.
 */
import type {
  AccountInspection,
  AccountReference,
  ActionResult,
  AuditEntry,
  CreateOptions,
  DesiredAccount,
  KnownAccount,
  Outcome,
  PermissionRef,
  TargetAction,
  TargetConnector,
} from '../types.js';
import { onlyOne } from './errors.js';

type Details = Record<string, unknown>;

/** Why an action found nothing to do on an account that is gone, per action. */
const GONE: Partial<Record<TargetAction, string>> = {
  disable: 'not found, possibly deleted; nothing to disable',
  delete: 'not found, possibly deleted already',
  revokePermission: 'not found, possibly deleted; nothing to revoke',
};

/** The contract of connectors/types.ts, with what every connector writes the same way filled in. */
export abstract class TargetConnectorBase implements TargetConnector {
  abstract readonly id: string;
  abstract correlate(employeeId: string): Promise<AccountReference | null>;
  abstract create(desired: DesiredAccount, options?: CreateOptions): Promise<ActionResult>;
  abstract update(ref: AccountReference, desired: DesiredAccount): Promise<ActionResult>;
  abstract enable(ref: AccountReference, known?: KnownAccount): Promise<ActionResult>;
  abstract disable(ref: AccountReference): Promise<ActionResult>;
  abstract delete(ref: AccountReference): Promise<ActionResult>;
  abstract grantPermission(
    ref: AccountReference,
    permission: PermissionRef,
    known?: KnownAccount,
  ): Promise<ActionResult>;
  abstract revokePermission(ref: AccountReference, permission: PermissionRef): Promise<ActionResult>;
  abstract listPermissions(ref: AccountReference): Promise<string[]>;
  abstract isTaken(
    candidate: { username: string; userPrincipalName: string; email: string },
    employeeId: string,
  ): Promise<boolean>;
  abstract close(): Promise<void>;

  /** The audit entry of one action on this target. */
  protected audit(action: TargetAction, outcome: Outcome, message: string, details?: Details): AuditEntry {
    return details
      ? { target: this.id, action, outcome, message, details }
      : { target: this.id, action, outcome, message };
  }

  /** The result of an action that wrote one audit entry. */
  protected result(
    account: AccountReference | null,
    action: TargetAction,
    outcome: Outcome,
    message: string,
    details?: Details,
  ): ActionResult {
    return { account, audit: [this.audit(action, outcome, message, details)] };
  }

  /** disable, delete or revokePermission on an account (or TOPdesk person) that is not there: nothing to do. */
  protected gone(action: 'disable' | 'delete' | 'revokePermission', details?: Details, what = 'account'): ActionResult {
    return this.result(null, action, 'notFound', `${what} ${GONE[action]}`, details);
  }
}

/**
 * A connector that correlates by searching the target for the employee number (AD, Entra ID,
 * HelloID): the one account found, or none; more than one is rejected, never guessed.
 */
export abstract class SearchingConnectorBase<A> extends TargetConnectorBase {
  /** The attribute holding the employee number and the place to fix duplicates, for the rejection. */
  protected abstract readonly correlation: { attribute: string; where: string };
  /** Every account (in scope) whose correlation attribute holds the employee number. */
  protected abstract findByEmployeeId(employeeId: string): Promise<A[]>;
  protected abstract reference(account: A): AccountReference;
  /** These targets can show an account as it is, for the checks before a delete or an adoption. */
  abstract inspect(ref: AccountReference): Promise<AccountInspection | null>;

  /** The one account of this employee number, or null. */
  protected async accountOf(employeeId: string): Promise<A | null> {
    const { attribute, where } = this.correlation;
    return onlyOne(
      await this.findByEmployeeId(employeeId),
      (n) => `multiple accounts (${n}) found with the same ${attribute}; correct this in ${where}`,
    );
  }

  async correlate(employeeId: string): Promise<AccountReference | null> {
    const found = await this.accountOf(employeeId);
    return found ? this.reference(found) : null;
  }
}
