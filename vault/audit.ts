/** The append-only audit log: every change Tenure makes to a target, with its cause. */
import type pg from 'pg';

export interface AuditRow {
  personKey: string;
  target: string;
  action: string;
  outcome: string;
  cause: string;
  workflowId?: string;
  runId?: string;
  message: string;
  details?: Record<string, unknown>;
}

export async function appendAudit(db: pg.Pool | pg.PoolClient, rows: AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values: unknown[] = [];
  const tuples = rows.map((r, i) => {
    values.push(
      r.personKey,
      r.target,
      r.action,
      r.outcome,
      r.cause,
      r.workflowId ?? null,
      r.runId ?? null,
      r.message,
      JSON.stringify(r.details ?? {}),
    );
    const b = i * 9;
    return `($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6},$${b + 7},$${b + 8},$${b + 9}::jsonb)`;
  });
  await db.query(
    `insert into audit_log(person_key, target, action, outcome, cause, workflow_id, run_id, message, details) values ${tuples.join(',')}`,
    values,
  );
}

export interface AuditRecord extends AuditRow {
  id: number;
  at: Date;
}

export async function auditTrail(db: pg.Pool, personKey: string, limit = 500): Promise<AuditRecord[]> {
  const r = await db.query(
    `select id, at, person_key, target, action, outcome, cause, workflow_id, run_id, message, details
       from audit_log where person_key = $1 order by at, id limit $2`,
    [personKey, limit],
  );
  return r.rows.map((x) => ({
    id: Number(x.id),
    at: x.at as Date,
    personKey: x.person_key as string,
    target: x.target as string,
    action: x.action as string,
    outcome: x.outcome as string,
    cause: x.cause as string,
    workflowId: x.workflow_id ?? undefined,
    runId: x.run_id ?? undefined,
    message: x.message as string,
    details: x.details as Record<string, unknown>,
  }));
}
