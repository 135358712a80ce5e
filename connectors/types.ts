/**
 * The connector contracts (docs/connector-contract.md). Every source and target implements one of
 * these; the workflow and activities only ever talk to these interfaces.
 */
import type { Department, Person, SourceRecordError } from '../domain/model.js';

// ---------------------------------------------------------------- sources

export type { SourceRecordError };

export interface SourceImport {
  persons: Person[];
  departments: Department[];
  errors: SourceRecordError[];
  /** Records read in total (valid + invalid), to tell an empty or truncated import. */
  recordsRead: number;
}

export interface WriteBackValues {
  username?: string;
  userPrincipalName?: string;
  businessEmail?: string;
}

export interface SourceConnector {
  readonly id: string;
  /** Fetch everything, validate every record, map to the uniform model. Never throws on a bad record. */
  fetchAll(): Promise<SourceImport>;
  /** Optional: write generated identifiers back. Writing the value already there is success. */
  writeBack?(personSourceKey: string, values: WriteBackValues): Promise<'written' | 'unchanged'>;
}

// ---------------------------------------------------------------- targets

export type TargetAction =
  | 'correlate'
  | 'create'
  | 'update'
  | 'rename'
  | 'move'
  | 'enable'
  | 'disable'
  | 'delete'
  | 'grantPermission'
  | 'revokePermission';

export type Outcome = 'success' | 'unchanged' | 'notFound' | 'failed';

/** One line for the audit log; the activity adds person, cause, workflow and run id. */
export interface AuditEntry {
  target: string;
  action: TargetAction;
  outcome: Outcome;
  message: string;
  /** Attribute names changed, old/new values only where not personal (never passwords). */
  details?: Record<string, unknown>;
}

/** Where the account lives in the target: enough to find it again without searching. */
export interface AccountReference {
  /** Stable id in the target (AD objectGUID, Graph id, ...). */
  id: string;
  /** Human-readable locator (AD distinguishedName, UPN, ...). */
  locator: string;
}

/** What a target says about an account right now: read again just before a delete or an adoption. */
export interface AccountInspection {
  enabled: boolean;
  /** The correlation value the account carries now (AD employeeID), if any. */
  correlationValue?: string;
  /** Inside the scopes the connector may correlate in and change (AD: the search and managed OUs). */
  inScope: boolean;
  /** The account's own login names, kept when the account is adopted. */
  names: { username?: string; userPrincipalName?: string; email?: string };
}

export interface ActionResult {
  account: AccountReference | null;
  audit: AuditEntry[];
  /** The account's enabled state after the action, when the connector knows it (a create that enabled in the add). */
  enabled?: boolean;
}

/** How a create may go (both hints are optional; a connector that ignores them stays correct). */
export interface CreateOptions {
  /** The caller correlated just now and found no account: the connector need not look again. */
  absent?: boolean;
  /** Create the account enabled in the same call when the target allows it (AD over LDAPS). */
  enabled?: boolean;
}

/**
 * An account the same connector created earlier in the same reconcile step: where it is
 * (`ref.locator`), that it is in scope, and whether it is enabled are known, so a grant or an
 * enable need not read it again first.
 */
export interface KnownAccount {
  createdNow: true;
  enabled: boolean;
}

/** What a target should hold for a person: computed from the vault, the rules and naming. */
export interface DesiredAccount {
  personKey: string;
  /** The correlation value (employee number / employeeID). */
  employeeId: string;
  username: string;
  userPrincipalName: string;
  email: string;
  /** Previous e-mail addresses kept as aliases. */
  emailAliases: string[];
  displayName: string;
  givenName: string;
  familyName: string;
  initials?: string;
  title?: string;
  department?: string;
  departmentCode?: string;
  company?: string;
  location?: string;
  /** The manager's account locator in this target, when the manager has one. */
  managerLocator?: string;
  /** Person and primary-contract fields a source's field mapping filled, for attribute templates. */
  mobilePhone?: string;
  businessPhone?: string;
  /** `M`, `V` or `X` (domain/model.ts Gender). */
  gender?: string;
  contractType?: string;
  hoursPerWeek?: number;
  /** Custom person fields, and the primary contract's custom fields. */
  custom?: Record<string, string>;
  contractCustom?: Record<string, string>;
  /**
   * Target-specific attributes from the target's `attributes` templates (AD: LDAP attribute name →
   * value, undefined = cleared); only the names the connector was configured with are written.
   */
  extraAttributes?: Record<string, string | undefined>;
}

export interface PermissionRef {
  /** Target-side name, e.g. `dept-FIN` or `CN=Staff,...`. */
  name: string;
  /** Create the permission when missing (dynamic department groups). */
  createIfMissing?: boolean;
}

export interface TargetConnector {
  readonly id: string;
  /**
   * Find the person's account by the correlation value, only inside the connector's configured
   * scopes (an account outside them is never a match). Always called first.
   */
  correlate(employeeId: string): Promise<AccountReference | null>;
  /** The account as it is now, for the checks before a delete or an adoption; null when gone. */
  inspect?(ref: AccountReference): Promise<AccountInspection | null>;
  /**
   * Read-only: why `create` would be refused for a person without an account in scope (AD: the only
   * match lies outside the search OUs and AD_OUT_OF_SCOPE_MATCH=report), or null when it would create.
   */
  createRefusal?(employeeId: string): Promise<string | null>;
  /** Create disabled (or enabled when asked and allowed); if the account exists already (retry), correlate and return it. */
  create(desired: DesiredAccount, options?: CreateOptions): Promise<ActionResult>;
  /** Write only attributes that differ; rename and move when needed. */
  update(ref: AccountReference, desired: DesiredAccount): Promise<ActionResult>;
  enable(ref: AccountReference, known?: KnownAccount): Promise<ActionResult>;
  /**
   * Sets a new password on the account (the day-one password: activities/day-one-password.ts), and
   * with `mustChange` the user must change it at the next logon. The password is never logged,
   * audited or returned, and no error thrown here carries it.
   */
  setInitialPassword?(ref: AccountReference, password: string, opts: { mustChange: boolean }): Promise<void>;
  /**
   * Issues a one-time sign-in code instead of a password (Entra ID: a Temporary Access Pass),
   * replacing an earlier one; returned to the caller only, never logged or audited.
   */
  issueTemporaryAccessPass?(
    ref: AccountReference,
    opts: { lifetimeMinutes: number },
  ): Promise<{ pass: string; validUntil: string }>;
  disable(ref: AccountReference): Promise<ActionResult>;
  delete(ref: AccountReference): Promise<ActionResult>;
  grantPermission(ref: AccountReference, permission: PermissionRef, known?: KnownAccount): Promise<ActionResult>;
  revokePermission(ref: AccountReference, permission: PermissionRef): Promise<ActionResult>;
  /** Which permissions the account currently holds among those this engine manages. */
  listPermissions(ref: AccountReference): Promise<string[]>;
  /** Is a username / UPN / mail already used by someone else in this target? */
  isTaken(
    candidate: { username: string; userPrincipalName: string; email: string },
    employeeId: string,
  ): Promise<boolean>;
  close(): Promise<void>;
}
