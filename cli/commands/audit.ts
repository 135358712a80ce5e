/**
 * `tenure audit [<personKey>] [--target T] [--action A] [--outcome O] [--rules-version V]
 * [--limit N] [--since T] [--until T] [--json | --csv]`: the audit log from Postgres, of one person
 * or across persons, oldest first (the latest N entries that match).
 */
import { safeCell } from '../../connectors/targets/spendcloud/csv.js';
import { clean, json, localTimestamp, table, UsageError, type PostgresContext } from './common.js';

export interface AuditOptions {
  limit?: number;
  /** Inclusive lower bound: an ISO date or timestamp. */
  since?: string;
  /** Exclusive upper bound. */
  until?: string;
  target?: string;
  action?: string;
  outcome?: string;
  /** Entries whose cause names this rules version (grants and revokes by a rule). */
  rulesVersion?: string;
  json?: boolean;
  /** CSV with a header row, every cell quoted and guarded against formula injection. */
  csv?: boolean;
}

export interface AuditEntry {
  id: string;
  at: string;
  personKey: string;
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

// eslint-disable-next-line no-control-regex -- one line, no control characters
const FILTER_VALUE = /^[^\u0000-\u001f]{1,200}$/;

function filterValue(flag: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!FILTER_VALUE.test(value)) throw new UsageError(`${flag}: 1-200 characters on one line`);
  return value;
}

/** `%`, `_` and `\` taken literally in a LIKE pattern. */
function likeLiteral(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const CSV_COLUMNS = ['at', 'personKey', 'target', 'action', 'outcome', 'cause', 'message', 'workflowId'] as const;

export function auditCsv(entries: AuditEntry[]): string[] {
  const cell = (v: string | null) => `"${safeCell(v).replace(/"/g, '""')}"`;
  return [
    CSV_COLUMNS.map((c) => cell(c)).join(','),
    ...entries.map((e) => CSV_COLUMNS.map((c) => cell(e[c])).join(',')),
  ];
}

export async function auditCommand(
  ctx: PostgresContext,
  personKey: string | undefined,
  opts: AuditOptions = {},
): Promise<AuditEntry[]> {
  const limit = opts.limit ?? DEFAULT_AUDIT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) {
    throw new UsageError(`--limit: a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
  }
  if (opts.json && opts.csv) throw new UsageError('--json and --csv: choose one');
  const since = parseInstant('--since', opts.since);
  const until = parseInstant('--until', opts.until);
  const target = filterValue('--target', opts.target);
  const action = filterValue('--action', opts.action);
  const outcome = filterValue('--outcome', opts.outcome);
  const version = filterValue('--rules-version', opts.rulesVersion);
  const { rows } = await ctx.pool.query<{
    id: string;
    at: Date;
    person_key: string;
    target: string;
    action: string;
    outcome: string;
    cause: string;
    message: string;
    workflow_id: string | null;
    run_id: string | null;
  }>(
    `select id, at, person_key, target, action, outcome, cause, message, workflow_id, run_id
       from (select * from audit_log
              where ($1::text is null or person_key = $1)
                and ($2::timestamptz is null or at >= $2)
                and ($3::timestamptz is null or at < $3)
                and ($5::text is null or target = $5)
                and ($6::text is null or action = $6)
                and ($7::text is null or outcome = $7)
                and ($8::text is null or cause like $8)
              order by at desc, id desc
              limit $4) latest
      order by at asc, id asc`,
    [
      personKey ?? null,
      since,
      until,
      limit,
      target,
      action,
      outcome,
      // The cause of a rule's grant or revoke reads `rule "NAME" (VERSION)`.
      version === null ? null : `%(${likeLiteral(version)})%`,
    ],
  );
  const entries: AuditEntry[] = rows.map((r) => ({
    id: String(r.id),
    at: r.at.toISOString(),
    personKey: r.person_key,
    target: r.target,
    action: r.action,
    outcome: r.outcome,
    cause: r.cause,
    message: r.message,
    workflowId: r.workflow_id,
    runId: r.run_id,
  }));
  if (opts.json) json(ctx.out, entries);
  else if (opts.csv) for (const line of auditCsv(entries)) ctx.out(line);
  else if (entries.length === 0)
    ctx.out(personKey ? `No audit entries for ${clean(personKey)}.` : 'No audit entries match.');
  else {
    const many = personKey === undefined;
    for (const line of table(
      [...['Time (local)'], ...(many ? ['Person'] : []), 'Target', 'Action', 'Outcome', 'Cause', 'Message'],
      entries.map((e) => [
        localTimestamp(e.at, ctx.timeZone),
        ...(many ? [e.personKey] : []),
        e.target,
        e.action,
        e.outcome,
        e.cause,
        e.message,
      ]),
    )) {
      ctx.out(line);
    }
    if (entries.length === limit) ctx.out(`(the latest ${limit} entries; use --limit or --since/--until for more)`);
  }
  return entries;
}
