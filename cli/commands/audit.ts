/**
 * `tenure audit <personKey> [--limit N] [--since T] [--until T] [--json]`: the person's audit log
 * from Postgres, oldest first (the latest N entries in the window).
 */
import { clean, json, localTimestamp, table, UsageError, type PostgresContext } from './common.js';

export interface AuditOptions {
  limit?: number;
  /** Inclusive lower bound: an ISO date or timestamp. */
  since?: string;
  /** Exclusive upper bound. */
  until?: string;
  json?: boolean;
}

export interface AuditEntry {
  id: string;
  at: string;
  target: string;
  action: string;
  outcome: string;
  cause: string;
  message: string;
  workflowId: string | null;
  runId: string | null;
}

export const DEFAULT_AUDIT_LIMIT = 50;
export const MAX_AUDIT_LIMIT = 10_000;

function parseInstant(flag: string, value: string | undefined): Date | null {
  if (value === undefined) return null;
  const ok = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value);
  const d = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (!ok || Number.isNaN(d.getTime()))
    throw new UsageError(`${flag}: not a date or timestamp: ${JSON.stringify(value)}`);
  return d;
}

export async function auditCommand(
  ctx: PostgresContext,
  personKey: string,
  opts: AuditOptions = {},
): Promise<AuditEntry[]> {
  const limit = opts.limit ?? DEFAULT_AUDIT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) {
    throw new UsageError(`--limit: a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
  }
  const since = parseInstant('--since', opts.since);
  const until = parseInstant('--until', opts.until);
  const { rows } = await ctx.pool.query<{
    id: string;
    at: Date;
    target: string;
    action: string;
    outcome: string;
    cause: string;
    message: string;
    workflow_id: string | null;
    run_id: string | null;
  }>(
    `select id, at, target, action, outcome, cause, message, workflow_id, run_id
       from (select * from audit_log
              where person_key = $1
                and ($2::timestamptz is null or at >= $2)
                and ($3::timestamptz is null or at < $3)
              order by at desc, id desc
              limit $4) latest
      order by at asc, id asc`,
    [personKey, since, until, limit],
  );
  const entries: AuditEntry[] = rows.map((r) => ({
    id: String(r.id),
    at: r.at.toISOString(),
    target: r.target,
    action: r.action,
    outcome: r.outcome,
    cause: r.cause,
    message: r.message,
    workflowId: r.workflow_id,
    runId: r.run_id,
  }));
  if (opts.json) json(ctx.out, entries);
  else if (entries.length === 0) ctx.out(`No audit entries for ${clean(personKey)}.`);
  else {
    for (const line of table(
      ['Time (local)', 'Target', 'Action', 'Outcome', 'Cause', 'Message'],
      entries.map((e) => [localTimestamp(e.at, ctx.timeZone), e.target, e.action, e.outcome, e.cause, e.message]),
    )) {
      ctx.out(line);
    }
    if (entries.length === limit) ctx.out(`(the latest ${limit} entries; use --limit or --since/--until for more)`);
  }
  return entries;
}
