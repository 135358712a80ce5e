/**
 * One Temporal Schedule per configured source (docs/temporal.md): `poll-<sourceId>` starts the
 * poll workflow every interval. Overlap SKIP (never two polls of a source at once) and a catch-up
 * window of one interval (an outage does not replay missed polls; the next poll sees everything).
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { POLL_WORKFLOW_TYPE, type PollInput } from '../common/messages.js';
import type { SourceSchedule } from '../common/tenure-config.js';
import { PollState, SourceId } from '../common/search-attributes.js';
import { LIFECYCLE_TASK_QUEUE } from '../common/task-queues.js';
import { descriptorOf } from '../connectors/targets/descriptors.js';
import { DEFAULT_TIME_ZONE } from '../domain/dates.js';

export type { SourceSchedule };

export interface ScheduleOptionsForSources {
  /** Task queue of the poll workflow. Default LIFECYCLE_TASK_QUEUE. */
  taskQueue?: string;
}

export type EnsureResult = 'created' | 'updated';

export function pollScheduleId(sourceId: string): string {
  return `poll-${sourceId}`;
}

/** Workflow id of scheduled polls; the server appends the scheduled time to it. */
export function pollWorkflowId(sourceId: string): string {
  return `poll-${sourceId}`;
}

function scheduleParts(source: SourceSchedule, taskQueue: string) {
  const args: [PollInput] = [{ sourceId: source.id }];
  return {
    spec: { intervals: [{ every: source.every }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: POLL_WORKFLOW_TYPE,
      workflowId: pollWorkflowId(source.id),
      taskQueue,
      args,
      typedSearchAttributes: [
        { key: SourceId, value: source.id },
        { key: PollState, value: 'running' },
      ],
      staticSummary: `Poll source ${source.id}`,
      // A poll that hangs must not block the next ones for ever (overlap SKIP).
      workflowExecutionTimeout: '6 hours',
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: source.every,
    },
    state: { note: `Polls HR source ${source.id} every ${source.every} (managed by Tenure)` },
  };
}

/** What `upsertSchedule` puts in place: the schedule's spec, action and policies, and its note. */
export interface ManagedSchedule {
  spec: ScheduleOptions['spec'];
  action: ScheduleOptions['action'];
  policies: NonNullable<ScheduleOptions['policies']>;
  note: string;
  memo?: Record<string, unknown>;
}

/**
 * Create a schedule Tenure manages, or bring an existing one in line (spec, action, policies),
 * keeping its paused state and an admin's note on a paused schedule. Idempotent; safe when another
 * process creates it at the same moment.
 */
export async function upsertSchedule(client: Client, scheduleId: string, want: ManagedSchedule): Promise<EnsureResult> {
  const handle = client.schedule.getHandle(scheduleId);
  const update = async (): Promise<EnsureResult> => {
    await handle.update((prev): ScheduleUpdateOptions => ({
      ...prev,
      spec: want.spec,
      action: want.action,
      policies: { ...prev.policies, ...want.policies },
      state: { ...prev.state, note: prev.state.paused ? prev.state.note : want.note },
    }));
    return 'updated';
  };
  try {
    await handle.describe();
    return await update();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  try {
    await client.schedule.create({
      scheduleId,
      spec: want.spec,
      action: want.action,
      policies: want.policies,
      state: { note: want.note },
      ...(want.memo ? { memo: want.memo } : {}),
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    return update(); // created concurrently by another process
  }
}

/**
 * Create the schedule of every source, or bring an existing one in line (spec, action, policies),
 * keeping its paused state. Idempotent. Schedules of sources no longer configured are left alone.
 */
export async function ensureSourceSchedules(
  client: Client,
  sources: readonly SourceSchedule[],
  options: ScheduleOptionsForSources = {},
): Promise<Record<string, EnsureResult>> {
  const taskQueue = options.taskQueue ?? LIFECYCLE_TASK_QUEUE;
  const results: Record<string, EnsureResult> = {};
  for (const source of sources) {
    const { state, ...parts } = scheduleParts(source, taskQueue);
    results[source.id] = await upsertSchedule(client, pollScheduleId(source.id), {
      ...parts,
      note: state.note,
      memo: { sourceId: source.id, every: source.every },
    });
  }
  return results;
}

export interface TriggeredPoll {
  /** The poll workflow started by this trigger, or the one already running (then nothing started). */
  workflowId?: string;
  runId?: string;
  /** A poll of the source was running already: overlap SKIP, no new poll. */
  alreadyRunning: boolean;
}

/**
 * Run the source's poll now (schedule trigger with overlap SKIP: while a poll of the source runs,
 * nothing new starts). Waits up to `waitMs` for the started workflow to show in the schedule.
 */
export async function triggerPoll(client: Client, sourceId: string, waitMs = 10_000): Promise<TriggeredPoll> {
  const handle = client.schedule.getHandle(pollScheduleId(sourceId));
  const before = await handle.describe();
  const running = before.info.runningActions[0];
  if (running) {
    return {
      workflowId: running.workflow.workflowId,
      runId: running.workflow.firstExecutionRunId,
      alreadyRunning: true,
    };
  }
  const seen = new Set(before.info.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
  await handle.trigger(ScheduleOverlapPolicy.SKIP);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const d = await handle.describe();
    const fresh = d.info.recentActions.find((a) => !seen.has(a.action.workflow.firstExecutionRunId));
    if (fresh) {
      return {
        workflowId: fresh.action.workflow.workflowId,
        runId: fresh.action.workflow.firstExecutionRunId,
        alreadyRunning: false,
      };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { alreadyRunning: false };
}

/** Delete the source's schedule (not its running poll). Missing is fine. */
export async function deleteSourceSchedule(client: Client, sourceId: string): Promise<void> {
  try {
    await client.schedule.getHandle(pollScheduleId(sourceId)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}

/** A file-based target exported at an interval (`1h`). */
export interface IntervalExport {
  id: string;
  every: string;
}
/** A file-based target exported once a day at a local time (`06:00` in `Europe/Amsterdam`). */
export interface DailyExport {
  id: string;
  at: string;
  timeZone: string;
}
export type ExportSchedule = IntervalExport | DailyExport;

function dailyAt(at: string): { hour: number; minute: number } {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(at);
  if (!m) throw new Error(`export time ${JSON.stringify(at)}: expected HH:MM`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/**
 * The export schedule of every enabled target whose descriptor's role is `file-export`: once a day
 * at TENURE_EXPORT_AT (default 06:00) in TENURE_EXPORT_TIME_ZONE, as the Spend Cloud importer
 * expects; at an interval only when TENURE_EXPORT_EVERY asks for one.
 */
export function exportSchedulesFor(
  targets: readonly { id: string; kind: string; enabled: boolean }[],
  env: NodeJS.ProcessEnv,
): ExportSchedule[] {
  const every = env.TENURE_EXPORT_EVERY?.trim();
  const at = env.TENURE_EXPORT_AT?.trim() || '06:00';
  const timeZone = env.TENURE_EXPORT_TIME_ZONE?.trim() || DEFAULT_TIME_ZONE;
  return targets
    .filter((t) => t.enabled && descriptorOf(t).role === 'file-export')
    .map((t) => (every ? { id: t.id, every } : { id: t.id, at, timeZone }));
}

/**
 * The scheduled full export of each file-based target (Spend Cloud): one schedule per target,
 * `export-<target>`, created or brought in line; idempotent like the source schedules.
 */
export async function ensureExportSchedules(
  client: Client,
  targets: readonly ExportSchedule[],
  options: ScheduleOptionsForSources = {},
): Promise<void> {
  const taskQueue = options.taskQueue ?? LIFECYCLE_TASK_QUEUE;
  for (const t of targets) {
    const daily = 'at' in t ? dailyAt(t.at) : undefined;
    const parts = {
      spec: daily
        ? { calendars: [{ hour: daily.hour, minute: daily.minute }], timezone: (t as DailyExport).timeZone }
        : { intervals: [{ every: (t as IntervalExport).every }] },
      action: {
        type: 'startWorkflow' as const,
        workflowType: 'exportTargetFilesWorkflow',
        workflowId: `export-${t.id}`,
        taskQueue,
        args: [{ target: t.id }],
        staticSummary: `Full export of target ${t.id}`,
        workflowExecutionTimeout: '2 hours',
      },
      // A daily export missed by an outage runs when the worker is back the same day.
      policies: {
        overlap: ScheduleOverlapPolicy.SKIP,
        catchupWindow: daily ? '12 hours' : (t as IntervalExport).every,
      },
    };
    await upsertSchedule(client, `export-${t.id}`, {
      ...parts,
      note: daily
        ? `Exports ${t.id} daily at ${(t as DailyExport).at} ${(t as DailyExport).timeZone} (managed by Tenure)`
        : `Exports ${t.id} every ${(t as IntervalExport).every} (managed by Tenure)`,
    });
  }
}

export const RETENTION_SCHEDULE_ID = 'tenure-retention';

/** The daily retention sweep (workflows/retention.ts); created or brought up to date. */
export async function ensureRetentionSchedule(
  client: Client,
  every = '1d',
  options: ScheduleOptionsForSources = {},
): Promise<void> {
  const taskQueue = options.taskQueue ?? LIFECYCLE_TASK_QUEUE;
  const parts = {
    spec: { intervals: [{ every }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'retentionSweep',
      workflowId: RETENTION_SCHEDULE_ID,
      taskQueue,
      args: [],
      staticSummary: 'Erase persons whose retention period has run out',
      workflowExecutionTimeout: '2 hours',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every },
  };
  await upsertSchedule(client, RETENTION_SCHEDULE_ID, {
    ...parts,
    note: `Retention sweep every ${every} (managed by Tenure)`,
  });
}
