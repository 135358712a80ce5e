/**
 * `tenure persons [--state S] [--health H] [--department CODE]`: running employee workflows from
 * Temporal visibility, with their lifecycle state, provisioning health and department.
 */
import { EMPLOYEE_WORKFLOW_TYPE } from '../../common/messages.js';
import { Department, EmployeeId, LifecycleState, ProvisioningHealth } from '../../common/search-attributes.js';
import { HEALTH_STATES, LIFECYCLE_STATES } from '../../metrics/tenure-metrics.js';
import { json, table, UsageError, type TemporalContext } from './common.js';

export interface PersonsOptions {
  state?: string;
  health?: string;
  department?: string;
  limit?: number;
  json?: boolean;
}

export interface PersonRow {
  personKey: string;
  state: string;
  health: string;
  department: string;
}

export function personsQuery(opts: PersonsOptions): string {
  const parts = [`WorkflowType = '${EMPLOYEE_WORKFLOW_TYPE}'`, `ExecutionStatus = 'Running'`];
  if (opts.state !== undefined) {
    if (!(LIFECYCLE_STATES as readonly string[]).includes(opts.state))
      throw new UsageError(`--state: one of ${LIFECYCLE_STATES.join(', ')}`);
    parts.push(`LifecycleState = '${opts.state}'`);
  }
  if (opts.health !== undefined) {
    // `failing` is what admins ask for: failed or still retrying.
    if (opts.health === 'failing') parts.push(`ProvisioningHealth IN ('failed', 'retrying')`);
    else if ((HEALTH_STATES as readonly string[]).includes(opts.health))
      parts.push(`ProvisioningHealth = '${opts.health}'`);
    else throw new UsageError(`--health: failing or one of ${HEALTH_STATES.join(', ')}`);
  }
  if (opts.department !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/.test(opts.department))
      throw new UsageError('--department: a department code (letters, digits, . _ / -)');
    parts.push(`Department = '${opts.department}'`);
  }
  return parts.join(' AND ');
}

export async function personsCommand(ctx: TemporalContext, opts: PersonsOptions): Promise<PersonRow[]> {
  const limit = opts.limit ?? 1000;
  const rows: PersonRow[] = [];
  for await (const wf of ctx.client.workflow.list({ query: personsQuery(opts) })) {
    const sa = wf.typedSearchAttributes;
    rows.push({
      personKey: sa.get(EmployeeId) ?? wf.workflowId.replace(/^employee-/, ''),
      state: sa.get(LifecycleState) ?? '',
      health: sa.get(ProvisioningHealth) ?? '',
      department: sa.get(Department) ?? '',
    });
    if (rows.length >= limit) break;
  }
  rows.sort((a, b) => a.personKey.localeCompare(b.personKey));
  if (opts.json) json(ctx.out, rows);
  else if (rows.length === 0) ctx.out('No persons match.');
  else {
    for (const line of table(
      ['Person', 'State', 'Health', 'Department'],
      rows.map((r) => [r.personKey, r.state, r.health, r.department]),
    ))
      ctx.out(line);
    ctx.out(`${rows.length} persons${rows.length >= limit ? ` (the first ${limit}; --limit for more)` : ''}.`);
  }
  return rows;
}
