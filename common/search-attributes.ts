/**
 * Tenure's custom search attributes (docs/temporal.md), shared by workflows, activities,
 * schedules, the CLI and tests. Workflow-safe.
 *
 * Search attribute values are stored unencrypted and show in the UI, the CLI and logs: opaque keys
 * and codes only, never names, e-mail addresses or other personal data.
 *
 * They must be registered in the namespace before use; scripts/services/temporal.sh registers
 * exactly this list (keep the two in step).
 */
import { defineSearchAttributeKey } from '@temporalio/common';

/** The person key, e.g. `file:1001`. */
export const EmployeeId = defineSearchAttributeKey('EmployeeId', 'KEYWORD');
/** common/messages.ts LifecycleState. */
export const LifecycleState = defineSearchAttributeKey('LifecycleState', 'KEYWORD');
/** Department code of the primary contract. */
export const Department = defineSearchAttributeKey('Department', 'KEYWORD');
export const StartDate = defineSearchAttributeKey('StartDate', 'DATETIME');
export const EndDate = defineSearchAttributeKey('EndDate', 'DATETIME');
/** common/messages.ts ProvisioningHealth. */
export const ProvisioningHealth = defineSearchAttributeKey('ProvisioningHealth', 'KEYWORD');
/** The source id, on poll workflows (and on employee workflows a poll started). */
export const SourceId = defineSearchAttributeKey('SourceId', 'KEYWORD');
/** running | accepted | empty | held | rejected | failed, on poll workflows. */
export const PollState = defineSearchAttributeKey('PollState', 'KEYWORD');

export type PollStateValue = 'running' | 'accepted' | 'empty' | 'held' | 'rejected' | 'failed';
