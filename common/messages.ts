/**
 * Message definitions (signals, updates, queries) and their payload types, shared by workflows,
 * pollers, the CLI and tests. Workflow-safe: imports nothing with side effects.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Person } from '../domain/model.js';
import type { ThresholdReason } from '../domain/thresholds.js';

export const EMPLOYEE_WORKFLOW_TYPE = 'employeeLifecycle';
export const POLL_WORKFLOW_TYPE = 'pollSource';

export type LifecycleState = 'pending' | 'prehire' | 'active' | 'leaver' | 'deleted' | 'rescinded';
export type ProvisioningHealth = 'ok' | 'retrying' | 'failed' | 'excluded';

// ------------------------------------------------------------------ employee: inputs

/** A new snapshot of the person from a source poll. Idempotent by `contentHash`. */
export interface PersonChanged {
  person: Person;
  contentHash: string;
  /** e.g. `poll file#12` — ends up in the audit log as the cause. */
  cause: string;
  /** `bulk`: part of a large poll, worked behind single changes (common/lanes.ts). Absent: interactive. */
  lane?: 'bulk';
}

/** The person disappeared from the source: all contracts end today. */
export interface PersonRemoved {
  personKey: string;
  cause: string;
  lane?: 'bulk';
}

export interface AdminRequest {
  /** Who asked (operator login), for the audit log. */
  requestedBy: string;
  reason?: string;
}

/** An account another person's attributes point at (their manager's) now exists: re-resolve. */
export interface ReferencesChanged {
  personKey: string;
  targets: string[];
  cause: string;
}

export const personChangedSignal = defineSignal<[PersonChanged]>('personChanged');
export const referencesChangedSignal = defineSignal<[ReferencesChanged]>('referencesChanged');
export const personRemovedSignal = defineSignal<[PersonRemoved]>('personRemoved');

// ------------------------------------------------------------------ employee: outputs

export interface EntitlementReason {
  rule: string;
  ruleSetVersion: string;
  contractId?: string;
  matched: Record<string, string>;
}

export interface DesiredPermission {
  target: string;
  name: string;
  dynamic: boolean;
  reasons: EntitlementReason[];
}

export interface TargetAccountView {
  target: string;
  accountId: string;
  locator: string;
  enabled: boolean;
  permissions: string[];
}

export interface PlannedAction {
  action: string;
  target: string;
  /** ISO instant. */
  at: string;
  /** Local wall time in the organisation's zone, for people: `2027-02-01 07:00`. */
  local: string;
  description: string;
}

export interface TakenAction {
  target: string;
  action: string;
  outcome: string;
  detail: string;
}

export interface StatusView {
  personKey: string;
  state: LifecycleState;
  excluded: boolean;
  health: ProvisioningHealth;
  displayName?: string;
  username?: string;
  email?: string;
  primaryContractId?: string;
  desired: DesiredPermission[];
  accounts: TargetAccountView[];
  lastError?: { at: string; target: string; action: string; message: string };
  /** The HR source write-back keeps failing (the accounts are not held up by it). */
  writeBackError?: { at: string; target: string; action: string; message: string };
  lastCause?: string;
  runId: string;
}

export interface ReprovisionResult {
  state: LifecycleState;
  actions: TakenAction[];
}

export const reprovisionUpdate = defineUpdate<ReprovisionResult, [AdminRequest]>('reprovision');
export const excludeUpdate = defineUpdate<StatusView, [AdminRequest]>('exclude');
export const includeUpdate = defineUpdate<ReprovisionResult, [AdminRequest]>('include');
export const statusQuery = defineQuery<StatusView>('status');
export const upcomingQuery = defineQuery<PlannedAction[]>('upcoming');

// ------------------------------------------------------------------ poll workflow

export interface PollInput {
  sourceId: string;
}

/** What an import read and how it compares with the accepted snapshot. */
export interface DiffCounts {
  recordsRead: number;
  personsValid: number;
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  /** Record errors of this import (source_record_errors rows). */
  errors: number;
}

export interface PollSummary extends DiffCounts {
  pollId: number;
  sourceId: string;
  signalled: number;
  outcome: 'accepted' | 'held' | 'rejected' | 'failed' | 'empty';
}

// ------------------------------------------------------------------ starting an employee workflow

/** First-run input; later runs (continue-as-new) also carry the state. */
export interface EmployeeWorkflowInput {
  personKey: string;
  /** Opaque to callers: the previous run's state (workflows/employee-state.ts). */
  carried?: unknown;
}

// ------------------------------------------------------------------ poll workflow: thresholds

/** One limit a poll went over (docs/lifecycle.md section 5). */
export type { ThresholdReason };

/** The `heldPoll` query: what a held poll would do and why it waits. */
export interface HeldPollView {
  pollId: number;
  sourceId: string;
  workflowId: string;
  /** ISO instant the poll started holding. */
  heldAt: string;
  reasons: ThresholdReason[];
  recordsRead: number;
  /** Persons in the last accepted snapshot. */
  previous: number;
  added: number;
  changed: number;
  removed: number;
  /** Persons whose employment ends today or within `endingHorizonDays` by this import (removed included). */
  endingToday: number;
  /** The horizon of `endingToday` in days (absent in polls held before the horizon existed: 0). */
  endingHorizonDays?: number;
  /** The source's first poll (go-live). */
  firstPoll?: boolean;
  /** A whole-tenant preview of what approving would do, when one is attached (PollPreview). */
  preview?: PollPreview;
}

/**
 * A preview attached to a held poll (the hook for `tenure preview`): small enough for a workflow
 * history, so totals and a pointer to the full listing, never the persons themselves.
 */
export interface PollPreview {
  /** One line for people: `12 accounts to create in ad, 3 to disable`. */
  summary: string;
  /** Counts by action (and target), e.g. `{ 'ad/create': 12 }`. */
  totals: Record<string, number>;
  /** Where the full preview can be read (a vault id, a file), when stored. */
  location?: string;
}

/** What the `approve` / `reject` updates return. */
export interface PollDecision {
  pollId: number;
  sourceId: string;
  workflowId: string;
  decision: 'approved' | 'rejected';
  decidedBy: string;
  reason?: string;
  /** ISO instant (workflow time). */
  decidedAt: string;
  /** Changes that will be signalled (approved) or that were not (rejected). */
  changes: number;
}

/** Admin: signal the held poll's changes and accept its snapshot. Validator: requestedBy required, poll held. */
export const approvePollUpdate = defineUpdate<PollDecision, [AdminRequest]>('approve');
/** Admin: accept nothing of the held poll; the last snapshot stays. Validator as approve. */
export const rejectPollUpdate = defineUpdate<PollDecision, [AdminRequest]>('reject');
/** The held poll's reasons and counts; null while the poll is not held. */
export const heldPollQuery = defineQuery<HeldPollView | null>('heldPoll');

// ------------------------------------------------------------------ rules versions (apply)

/** A new rules version is in force: re-evaluate now. Handled once per apply (by `applyId`). */
export interface RulesChanged {
  /** The apply workflow's id: a re-sent signal of the same apply is ignored. */
  applyId: string;
  /** The rules version label now in force. */
  version: string;
  /** For the audit log, e.g. `rules version 2027.2 applied by alice: new finance group`. */
  cause: string;
}

export const rulesChangedSignal = defineSignal<[RulesChanged]>('rulesChanged');

/** What preview and explain need from an employee workflow: the person and what it holds. */
export interface PlanInputView {
  personKey: string;
  person?: Person;
  excluded: boolean;
  state: LifecycleState;
  accounts: Record<
    string,
    {
      enabled: boolean;
      everEnabled: boolean;
      permissions: string[];
      /** How Tenure came to hold it, and its own first disable moment (epoch ms). */
      origin?: 'created' | 'adopted';
      disabledAt?: number;
    }
  >;
  /** The entitlements of the last plan, with their reasons (what a revoke takes away). */
  desired: DesiredPermission[];
  ruleSetVersion?: string;
}

export const planInputQuery = defineQuery<PlanInputView>('planInput');

export const RULES_APPLY_WORKFLOW_TYPE = 'rulesApply';

export type RulesApplyPhase = 'preview' | 'held' | 'activate' | 'signal' | 'done' | 'rejected';

/** The rules-apply workflow's progress (query `rulesApplyProgress`, and its current details). */
export interface RulesApplyProgress {
  workflowId: string;
  versionId: number;
  version: string;
  phase: RulesApplyPhase;
  /** Persons with a running employee workflow when the preview was taken. */
  total: number;
  signalled: number;
  /** Persons without a running employee workflow (left, deleted, never started). */
  skipped: number;
  /** Totals of the preview, e.g. `{ "ad grant": 12 }`, and the limits it went over. */
  previewTotals: Record<string, number>;
  heldReasons: RulesThresholdReason[];
  decision?: RulesApplyDecision;
}

export interface RulesThresholdReason {
  metric: 'revoke' | 'disable' | 'delete';
  value: number;
  base: number;
  limit: number;
  unit: 'actions' | 'percent';
  message: string;
}

export interface RulesApplyDecision {
  workflowId: string;
  version: string;
  decision: 'approved' | 'rejected';
  decidedBy: string;
  reason?: string;
  decidedAt: string;
}

export const rulesApplyProgressQuery = defineQuery<RulesApplyProgress>('rulesApplyProgress');
/** Same update names as a held poll, so `tenure approve` / `reject` work the same way. */
export const approveRulesApplyUpdate = defineUpdate<RulesApplyDecision, [AdminRequest]>('approve');
export const rejectRulesApplyUpdate = defineUpdate<RulesApplyDecision, [AdminRequest]>('reject');
