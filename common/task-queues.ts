/**
 * Task queue names, shared by workers, workflows and clients. Workflow code imports this module
 * and cannot read the environment, so the names derive from the workflow's own task queue.
 */

/** Employee and poll workflows, and the vault, source and notification activities. */
export const LIFECYCLE_TASK_QUEUE = 'tenure-lifecycle';

/**
 * Each target's activities get their own queue, next to the lifecycle queue the workflow runs
 * on, so a directory's write rate (Samba and AD serialise writes) is bounded in one place.
 */
export function targetTaskQueue(lifecycleQueue: string, target: string): string {
  return `${lifecycleQueue}-target-${target}`;
}

export const AD_TASK_QUEUE = targetTaskQueue(LIFECYCLE_TASK_QUEUE, 'ad');
