/**
 * Task queue names, shared by workers, workflows and clients. Plain constants: workflow code
 * imports this module and cannot read the environment. Isolate installations by namespace.
 */

/** Employee and poll workflows, and the vault, source and notification activities. */
export const LIFECYCLE_TASK_QUEUE = 'tenure-lifecycle';

/**
 * Active Directory activities get their own queue so the directory's write rate (Samba and AD
 * serialise writes) is bounded in one place, independent of the workflow load.
 */
export const AD_TASK_QUEUE = 'tenure-target-ad';
