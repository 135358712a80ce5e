/**
 * Pacing of a bulk poll (docs/temporal.md "Lanes and pacing"). A poll with many changes signals
 * them in small batches and, between batches, waits until the work already handed out has mostly
 * been done: the tasks waiting on the employee queue and on every target queue together are
 * fewer than the in-flight limit. So persons finish as they go instead of all at the end, the
 * worker's workflow cache holds the persons being worked on, and a later single change (a higher
 * priority) finds short queues.
 */
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { DEFAULT_BULK_FROM } from '../common/lanes.js';
import { inActivity } from './activity-context.js';

export interface BulkPacingSettings {
  /** A poll with at least this many changes is bulk. */
  bulkFrom: number;
  /** Tasks waiting on Tenure's queues at most, before the next batch is signalled. */
  inFlight: number;
  /** The longest one wait lasts; then the next batch goes anyway (queues that do not drain mean stopped workers: more signals do no harm). */
  maxWaitMs: number;
}

export const DEFAULT_BULK_IN_FLIGHT = 200;
const MAX_WAIT_MS = 10 * 60_000;

const Count = (name: string, max: number) =>
  z.coerce
    .number({ message: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(1, `${name} must be at least 1`)
    .max(max, `${name} must be at most ${max}`);

/** TENURE_BULK_FROM and TENURE_BULK_IN_FLIGHT; the in-flight limit never above the workflow cache. */
export function bulkPacingFromEnv(env: NodeJS.ProcessEnv, maxCachedWorkflows: number): BulkPacingSettings {
  const from = Count('TENURE_BULK_FROM', 1_000_000).safeParse(env.TENURE_BULK_FROM ?? DEFAULT_BULK_FROM);
  if (!from.success) throw new Error(from.error.issues[0]?.message);
  const inFlight = Count('TENURE_BULK_IN_FLIGHT', 100_000).safeParse(
    env.TENURE_BULK_IN_FLIGHT ?? DEFAULT_BULK_IN_FLIGHT,
  );
  if (!inFlight.success) throw new Error(inFlight.error.issues[0]?.message);
  // With no cache (0) every task replays anyway: the limit stays as set.
  const cap = maxCachedWorkflows > 0 ? Math.min(inFlight.data, maxCachedWorkflows) : inFlight.data;
  return { bulkFrom: from.data, inFlight: cap, maxWaitMs: MAX_WAIT_MS };
}

const WORKFLOW_TASKS = 1;
const ACTIVITY_TASKS = 2;

/** Tasks waiting (not yet handed to a worker) on the queues, as the server estimates them. */
export async function queuedTasks(
  client: Pick<Client, 'workflowService' | 'options'>,
  queues: { workflows: string[]; activities: string[] },
): Promise<number> {
  const ask = async (name: string, taskQueueType: number) => {
    const r = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name, kind: 1 },
      taskQueueType,
      reportStats: true,
    });
    return Number(r.stats?.approximateBacklogCount?.toString() ?? 0);
  };
  const counts = await Promise.all([
    ...queues.workflows.map((q) => ask(q, WORKFLOW_TASKS)),
    ...queues.activities.map((q) => ask(q, ACTIVITY_TASKS)),
  ]);
  return counts.reduce((a, b) => a + b, 0);
}

export interface CapacityResult {
  /** Tasks waiting when the wait ended. */
  queued: number;
  waitedMs: number;
  /** The wait ran out (maxWaitMs) with the queues still full. */
  gaveUp: boolean;
}

/** Waits until fewer than `inFlight` tasks are queued, heartbeating; bounded by `maxWaitMs`. */
export async function awaitQueuesBelow(
  settings: BulkPacingSettings,
  measure: () => Promise<number>,
  pollEveryMs = 1000,
): Promise<CapacityResult> {
  const started = Date.now();
  const ctx = inActivity();
  for (;;) {
    const queued = await measure();
    const waitedMs = Date.now() - started;
    if (queued < settings.inFlight) return { queued, waitedMs, gaveUp: false };
    if (waitedMs >= settings.maxWaitMs) return { queued, waitedMs, gaveUp: true };
    ctx?.heartbeat({ queued });
    if (ctx) await ctx.sleep(pollEveryMs);
    else await new Promise((r) => setTimeout(r, pollEveryMs));
  }
}
