/**
 * Raises admin alerts from finished activities (metrics/activity-observer.ts): a poll that
 * checkThresholds held, and a write-back that has failed the set number of times in a row.
 */
import type pg from 'pg';
import type { ThresholdReason } from '../common/messages.js';
import type { ActivityEvent, ActivityObserver } from '../metrics/activity-observer.js';
import type { AdminAlerts } from './admin-alerts.js';

/** Quotes an argument for a POSIX shell when it needs it, so the printed command can be pasted. */
export function shellArg(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function alertObserver(alerts: AdminAlerts, pool: pg.Pool, writebackAttempts: number): ActivityObserver {
  return async (event: ActivityEvent) => {
    const call = event.args[0] as Record<string, unknown> | undefined;
    if (event.activityType === 'checkThresholds' && event.error === undefined) {
      const check = event.result as { held?: boolean } | undefined;
      if (check?.held && typeof call?.pollId === 'number') await raisePollHeld(alerts, pool, call.pollId);
    }
    if (event.activityType === 'writeBackToSource' && event.error !== undefined && event.attempt >= writebackAttempts) {
      const personKey = typeof call?.personKey === 'string' ? call.personKey : '';
      const message = event.error instanceof Error ? event.error.message : String(event.error);
      await alerts.raise({
        kind: 'writebackFailing',
        // One alert per failing write-back (all retries of one scheduled activity share its id).
        dedupeKey: `writebackFailing:${event.workflowId}:${event.runId}:${event.activityId}`,
        subjectKey: personKey,
        details: {
          personKey,
          sourceId: personKey.slice(0, Math.max(0, personKey.indexOf(':'))),
          workflowId: event.workflowId,
          attempt: event.attempt,
          error: message.replace(/\s+/g, ' ').slice(0, 300),
        },
      });
    }
  };
}

async function raisePollHeld(alerts: AdminAlerts, pool: pg.Pool, pollId: number): Promise<void> {
  const { rows } = await pool.query<{
    source: string;
    workflow_id: string;
    records_read: number;
    previous: number;
    added: number;
    changed: number;
    removed: number;
    ending_today: number;
    held_at: Date | null;
    held_reasons: ThresholdReason[] | null;
  }>(
    `select source, workflow_id, records_read, previous, added, changed, removed, ending_today, held_at, held_reasons
       from source_polls where id = $1`,
    [pollId],
  );
  const p = rows[0];
  if (!p) return;
  const wf = shellArg(p.workflow_id);
  await alerts.raise({
    kind: 'pollHeld',
    dedupeKey: `pollHeld:${pollId}`,
    subjectKey: String(pollId),
    details: {
      pollId,
      sourceId: p.source,
      workflowId: p.workflow_id,
      heldAt: (p.held_at ?? new Date()).toISOString(),
      reasons: (p.held_reasons ?? []).map((r) => r.message),
      limits: p.held_reasons ?? [],
      recordsRead: p.records_read,
      previous: p.previous,
      added: p.added,
      changed: p.changed,
      removed: p.removed,
      endingToday: p.ending_today,
      approveCommand: `tenure approve ${wf} --reason 'checked the changes'`,
      rejectCommand: `tenure reject ${wf} --reason 'import is wrong'`,
    },
  });
}
