/**
 * Feeds TenureMetrics from finished activities: latency of every activity, target actions from
 * the audit lines target activities return, and poll figures from the vault's own poll row when a
 * poll finishes or is held (so a retried activity is counted once per poll).
 */
import type pg from 'pg';
import type { ThresholdReason } from '../common/messages.js';
import type { ActivityEvent, ActivityObserver } from './activity-observer.js';
import type { TenureMetrics } from './tenure-metrics.js';

interface AuditLine {
  action: string;
  outcome: string;
}

/** Remembers the last few thousand poll ids so a retried finishPoll or checkThresholds counts once. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 5000) {}
  /** True the first time an id is seen. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}

export function metricsObserver(metrics: TenureMetrics, pool: pg.Pool): ActivityObserver {
  const finished = new RecentIds();
  const held = new RecentIds();
  return async (event: ActivityEvent) => {
    metrics.activityDuration.observe(
      {
        activity: event.activityType,
        task_queue: event.taskQueue,
        outcome: event.error === undefined ? 'ok' : 'error',
      },
      event.durationSeconds,
    );
    const call = event.args[0] as Record<string, unknown> | undefined;
    if (typeof call?.target === 'string') countTargetActions(metrics, call.target, event);
    if (event.error !== undefined) return;
    const pollId = typeof call?.pollId === 'number' ? call.pollId : undefined;
    if (pollId === undefined) return;
    if (event.activityType === 'finishPoll' && finished.add(String(pollId)))
      await countFinishedPoll(metrics, pool, pollId);
    if (event.activityType === 'checkThresholds') {
      const check = event.result as { held?: boolean; reasons?: ThresholdReason[] } | undefined;
      if (check?.held && held.add(String(pollId))) {
        const source = await pollSource(pool, pollId);
        metrics.pollsHeld.inc({ source });
        for (const r of check.reasons ?? [])
          metrics.thresholdsTripped.inc({ source, scope: r.scope, metric: r.metric });
      }
    }
  };
}

function countTargetActions(metrics: TenureMetrics, target: string, event: ActivityEvent): void {
  if (event.error !== undefined) {
    metrics.targetActions.inc({ target, action: event.activityType, outcome: 'error' });
    return;
  }
  const lines = (event.result as { lines?: AuditLine[] } | null | undefined)?.lines;
  if (!Array.isArray(lines)) return;
  for (const line of lines) metrics.targetActions.inc({ target, action: line.action, outcome: line.outcome });
}

async function pollSource(pool: pg.Pool, pollId: number): Promise<string> {
  const { rows } = await pool.query<{ source: string }>('select source from source_polls where id = $1', [pollId]);
  return rows[0]?.source ?? 'unknown';
}

async function countFinishedPoll(metrics: TenureMetrics, pool: pg.Pool, pollId: number): Promise<void> {
  const { rows } = await pool.query<{
    source: string;
    outcome: string;
    seconds: number;
    records_read: number;
    added: number;
    changed: number;
    removed: number;
    errors: number;
  }>(
    `select source, outcome, extract(epoch from coalesce(finished_at, now()) - started_at)::float8 as seconds,
            records_read, added, changed, removed, errors
       from source_polls where id = $1`,
    [pollId],
  );
  const p = rows[0];
  if (!p) return;
  const source = p.source;
  metrics.polls.inc({ source, outcome: p.outcome });
  metrics.pollDuration.observe({ source, outcome: p.outcome }, Math.max(0, p.seconds));
  metrics.pollRecords.inc({ source }, p.records_read);
  metrics.pollErrors.inc({ source }, p.errors);
  metrics.pollChanges.inc({ source, kind: 'added' }, p.added);
  metrics.pollChanges.inc({ source, kind: 'changed' }, p.changed);
  metrics.pollChanges.inc({ source, kind: 'removed' }, p.removed);
}
