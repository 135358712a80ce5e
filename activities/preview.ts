/**
 * The whole-tenant preview (`tenure preview`, and the check a rules apply makes before it puts a
 * version in force): for every person with a running employee workflow, the plan under the given
 * rules against what that workflow holds; for a fresh source read (go-live), persons without a
 * workflow are planned from nothing. Read-only: it queries workflows and reads the vault.
 */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { EMPLOYEE_WORKFLOW_TYPE, planInputQuery, type PlanInputView } from '../common/messages.js';
import { employeeWorkflowId, personKey, Person } from '../domain/model.js';
import type { Rules } from '../domain/rules.js';
import { planPerson } from './lifecycle.js';
import { NOTHING_HELD, PREVIEW_ACTIONS, planActions, type HeldState, type PreviewAction } from './preview-person.js';

export interface PreviewTotals {
  persons: number;
  /** Persons whose workflow would change something. */
  affected: number;
  excluded: number;
  /** Vault persons without a running employee workflow (not re-evaluated by an apply). */
  withoutWorkflow: number;
  /** Records that are not valid persons (vault rows that no longer validate). */
  invalid: number;
  /** `create`, `grant`, ... over every target. */
  byAction: Record<string, number>;
  /** Per target, per action: `{ ad: { grant: 12 } }`. */
  byTarget: Record<string, Record<string, number>>;
  /** Per `target action permission`: `ad grant dept-FIN` → 12. */
  byPermission: Record<string, number>;
}

export interface TenantPreview {
  ruleSetVersion: string;
  /** ISO instant the preview was planned for. */
  at: string;
  totals: PreviewTotals;
  /** Every action (up to `maxActions`), by person key then target. */
  actions: PreviewAction[];
}

export interface PreviewOptions {
  rules: Rules;
  /** Temporal: the running employee workflows and what they hold. Without it nothing is held. */
  client?: Pick<Client, 'workflow'>;
  /** Only employee workflows on this task queue count (one installation per queue). */
  taskQueue?: string;
  /** Persons from the vault (of these sources, or all) or from a fresh source read. */
  persons: { vault: Pick<pg.Pool, 'query'>; sources?: string[] } | { imported: Person[] };
  now?: number;
  /** Workflow queries in flight at once (default 16). */
  concurrency?: number;
  /** Keep at most this many actions (default: all); the totals always count every one. */
  maxActions?: number;
}

/** Person keys of the running employee workflows (visibility; one page per 1,000). */
export async function runningEmployees(client: Pick<Client, 'workflow'>, taskQueue?: string): Promise<Set<string>> {
  let query = `WorkflowType = '${EMPLOYEE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  if (taskQueue) query += ` AND TaskQueue = '${taskQueue.replace(/'/g, '')}'`;
  const keys = new Set<string>();
  for await (const w of client.workflow.list({ query, pageSize: 1000 })) {
    if (w.workflowId.startsWith('employee-')) keys.add(w.workflowId.slice('employee-'.length));
  }
  return keys;
}

/** Runs `fn` over `items` with at most `limit` in flight, in order of the items. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

async function vaultPersons(db: Pick<pg.Pool, 'query'>, sources?: string[]): Promise<{ key: string; data: unknown }[]> {
  const r = sources
    ? await db.query(`select person_key, data from persons where source = any($1) order by person_key`, [sources])
    : await db.query(`select person_key, data from persons order by person_key`);
  return r.rows.map((x) => ({ key: x.person_key as string, data: x.data }));
}

function emptyTotals(): PreviewTotals {
  return {
    persons: 0,
    affected: 0,
    excluded: 0,
    withoutWorkflow: 0,
    invalid: 0,
    byAction: Object.fromEntries(PREVIEW_ACTIONS.map((a) => [a, 0])),
    byTarget: {},
    byPermission: {},
  };
}

export async function previewTenant(opts: PreviewOptions): Promise<TenantPreview> {
  const now = opts.now ?? Date.now();
  const totals = emptyTotals();
  const actions: PreviewAction[] = [];
  const maxActions = opts.maxActions ?? Infinity;
  const running = opts.client ? await runningEmployees(opts.client, opts.taskQueue) : new Set<string>();

  const query = async (key: string): Promise<PlanInputView | undefined> => {
    if (!opts.client || !running.has(key)) return undefined;
    try {
      return await opts.client.workflow.getHandle(employeeWorkflowId(key)).query(planInputQuery);
    } catch (err) {
      // Closed since the listing (deleted, rescinded): nothing runs to act on.
      if (/not found|completed|closed/i.test((err as Error).message)) return undefined;
      throw err;
    }
  };

  const add = (person: Person, held: HeldState) => {
    const key = personKey(person);
    totals.persons += 1;
    if (held.excluded) {
      totals.excluded += 1;
      return;
    }
    const plan = planPerson(opts.rules, person, now);
    const list = planActions(key, plan, held, now);
    if (list.length) totals.affected += 1;
    for (const a of list) {
      totals.byAction[a.action] = (totals.byAction[a.action] ?? 0) + 1;
      const t = (totals.byTarget[a.target] ??= {});
      t[a.action] = (t[a.action] ?? 0) + 1;
      if (a.permission) {
        const k = `${a.target} ${a.action} ${a.permission}`;
        totals.byPermission[k] = (totals.byPermission[k] ?? 0) + 1;
      }
      if (actions.length < maxActions) actions.push(a);
    }
  };

  if ('imported' in opts.persons) {
    // Go-live or a fresh read: the source's view of each person; a running workflow adds what it holds.
    const persons = [...opts.persons.imported].sort((a, b) => cmp(personKey(a), personKey(b)));
    const views = await mapBounded(persons, opts.concurrency ?? 16, (p) => query(personKey(p)));
    persons.forEach((p, i) => add(p, views[i] ?? NOTHING_HELD));
  } else {
    // Who Tenure knows: only running workflows are re-evaluated, each with the person it holds.
    const rows = await vaultPersons(opts.persons.vault, opts.persons.sources);
    const withWorkflow = rows.filter((r) => !opts.client || running.has(r.key));
    totals.withoutWorkflow = rows.length - withWorkflow.length;
    const views = await mapBounded(withWorkflow, opts.concurrency ?? 16, (r) => query(r.key));
    withWorkflow.forEach((r, i) => {
      const view = views[i];
      if (opts.client && !view) {
        totals.withoutWorkflow += 1;
        return;
      }
      if (view && !view.person) {
        totals.persons += 1; // started but never given a person: its pass does nothing
        return;
      }
      const parsed = Person.safeParse(view?.person ?? r.data);
      if (!parsed.success) {
        totals.invalid += 1;
        return;
      }
      add(parsed.data, view ?? NOTHING_HELD);
    });
  }
  return { ruleSetVersion: opts.rules.version, at: new Date(now).toISOString(), totals, actions };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
