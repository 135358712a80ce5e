/**
 * The whole-tenant preview (`tenure preview`, and the check a rules apply makes before it puts a
 * version in force): for every person with a running employee workflow, the plan under the given
 * rules against what Tenure's record in the vault says the person holds (the accounts it created or
 * adopted, their state, the permissions it granted); for a fresh source read (go-live), persons
 * without a workflow are planned from nothing. Read-only: one visibility listing, vault reads.
 */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { EMPLOYEE_WORKFLOW_TYPE } from '../common/messages.js';
import { ProvisioningHealth } from '../common/search-attributes.js';
import { personKey, Person } from '../domain/model.js';
import { heldAccountsOf } from '../vault/accounts.js';
import type { Rules } from '../domain/rules.js';
import { planPerson, type CorrelationValue } from './lifecycle.js';
import {
  NOTHING_HELD,
  PREVIEW_ACTIONS,
  planActions,
  type FoundAccount,
  type HeldState,
  type PreviewAction,
} from './preview-person.js';

export interface PreviewTotals {
  persons: number;
  /** Persons whose workflow would change something. */
  affected: number;
  excluded: number;
  /** Vault persons without a running employee workflow (not re-evaluated by an apply). */
  withoutWorkflow: number;
  /** Records that are not valid persons (vault rows that no longer validate). */
  invalid: number;
  /** Creates shown without looking for an existing account (the look-up's time budget ran out). */
  createsNotLookedUp?: number;
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
  /**
   * Temporal: which employee workflows run (a vault person without one is not re-evaluated) and
   * which are excluded, from one visibility listing.
   */
  client?: Pick<Client, 'workflow'>;
  /** Tenure's record of the accounts and grants each person holds (default: the vault of `persons`). */
  held?: Pick<pg.Pool, 'query'>;
  /** The rules in force, which the workflows last planned with: the reasons a revoke names. */
  heldRules?: Rules;
  /** Only employee workflows on this task queue count (one installation per queue). */
  taskQueue?: string;
  /** Persons from the vault (of these sources, or all) or from a fresh source read. */
  persons: { vault: Pick<pg.Pool, 'query'>; sources?: string[] } | { imported: Person[] };
  now?: number;
  /** Account look-ups in flight at once (default 16). */
  concurrency?: number;
  /** Keep at most this many actions in the result (default: all); the totals always count every one. */
  maxActions?: number;
  /** Every action, in order, as it is planned (for a CSV written while planning). */
  onAction?: (action: PreviewAction) => void;
  /** The person's correlation value in the targets (as the workers compute it; default the bare key). */
  correlationValue?: CorrelationValue;
  /**
   * Read-only look-up of the existing account a create would meet (adopt, or a refusal that is
   * reported). Without it every missing account shows as a create.
   */
  accounts?: AccountLookup;
  /** Epoch ms after which no more look-ups are made (the rest show as creates and are counted). */
  lookupUntil?: number;
}

/** What a create of this person's account in this target would meet; null: a plain create. */
export type AccountLookup = (personKey: string, target: string, employeeId: string) => Promise<FoundAccount | null>;

/** A running employee workflow as the visibility listing shows it. */
interface Listed {
  excluded: boolean;
}

/** The running employee workflows by person key, and which are excluded (visibility; one page per 1,000). */
export async function runningEmployees(
  client: Pick<Client, 'workflow'>,
  taskQueue?: string,
): Promise<Map<string, Listed>> {
  let query = `WorkflowType = '${EMPLOYEE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  if (taskQueue) query += ` AND TaskQueue = '${taskQueue.replace(/'/g, '')}'`;
  const running = new Map<string, Listed>();
  for await (const w of client.workflow.list({ query, pageSize: 1000 })) {
    if (!w.workflowId.startsWith('employee-')) continue;
    const excluded = w.typedSearchAttributes.get(ProvisioningHealth) === 'excluded';
    running.set(w.workflowId.slice('employee-'.length), { excluded });
  }
  return running;
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

/** Persons a page at a time, in person-key order (keyset paging: memory stays one page whatever the tenant). */
async function* vaultPersons(
  db: Pick<pg.Pool, 'query'>,
  sources: string[] | undefined,
  pageSize = PAGE,
): AsyncGenerator<{ key: string; data: unknown }[]> {
  let after = '';
  for (;;) {
    const r = sources
      ? await db.query(
          `select person_key, data from persons where source = any($1) and person_key > $2 order by person_key limit $3`,
          [sources, after, pageSize],
        )
      : await db.query(`select person_key, data from persons where person_key > $1 order by person_key limit $2`, [
          after,
          pageSize,
        ]);
    if (!r.rows.length) return;
    const page = r.rows.map((x) => ({ key: x.person_key as string, data: x.data }));
    yield page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.key;
  }
}

/** Persons planned per batch: what is in memory at once besides the totals. */
const PAGE = 500;

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
  const concurrency = opts.concurrency ?? 16;
  const running = opts.client ? await runningEmployees(opts.client, opts.taskQueue) : new Map<string, Listed>();
  const record = opts.held ?? ('vault' in opts.persons ? opts.persons.vault : undefined);

  /**
   * What each person's workflow holds, from Tenure's own record in the vault (two queries a page),
   * not from a query to every workflow: at 10,000 employees those queries replay workflows the
   * worker's cache no longer holds, and starve the worker the apply then needs.
   */
  const heldOf = async (keys: string[]): Promise<Map<string, HeldState>> => {
    const out = new Map<string, HeldState>();
    const accounts = record ? await heldAccountsOf(record, keys) : new Map();
    for (const key of keys) {
      const listed = running.get(key);
      if (!listed && !accounts.has(key)) continue;
      out.set(key, { accounts: accounts.get(key) ?? {}, excluded: listed?.excluded ?? false, desired: [] });
    }
    return out;
  };

  /** The entitlements the workflow last planned: under the rules in force, which it planned with. */
  const previousDesired = (person: Person) =>
    opts.heldRules
      ? planPerson(opts.heldRules, person, now, opts.correlationValue).targets.flatMap((t) => t.permissions)
      : [];

  /** The person's actions; a create that would meet an existing account becomes adopt or report. */
  const plan = async (person: Person, held: HeldState): Promise<PreviewAction[]> => {
    const key = personKey(person);
    const p = planPerson(opts.rules, person, now, opts.correlationValue);
    const list = planActions(key, p, held, now);
    if (!opts.accounts) return list;
    const found: Record<string, FoundAccount> = {};
    for (const a of list) {
      if (a.action !== 'create') continue;
      if (opts.lookupUntil !== undefined && Date.now() > opts.lookupUntil) {
        totals.createsNotLookedUp = (totals.createsNotLookedUp ?? 0) + 1;
        continue;
      }
      const f = await opts.accounts(key, a.target, p.account.employeeId);
      if (f) found[a.target] = f;
    }
    return Object.keys(found).length ? planActions(key, p, held, now, found) : list;
  };

  const count = (list: PreviewAction[]) => {
    totals.persons += 1;
    if (list.length) totals.affected += 1;
    for (const a of list) {
      totals.byAction[a.action] = (totals.byAction[a.action] ?? 0) + 1;
      const t = (totals.byTarget[a.target] ??= {});
      t[a.action] = (t[a.action] ?? 0) + 1;
      if (a.permission) {
        const k = `${a.target} ${a.action} ${a.permission}`;
        totals.byPermission[k] = (totals.byPermission[k] ?? 0) + 1;
      }
      opts.onAction?.(a);
      if (actions.length < maxActions) actions.push(a);
    }
  };

  /** One batch: what each person holds, then the plans, with bounded concurrency; counted in order. */
  const batch = async (items: { key: string; person?: Person; data?: unknown }[]) => {
    const held = await heldOf(items.map((i) => i.key));
    const results = await mapBounded(items, concurrency, async (item) => {
      let person = item.person;
      if (!person) {
        const parsed = Person.safeParse(item.data);
        if (!parsed.success) return 'invalid' as const;
        person = parsed.data;
      }
      const h = held.get(item.key) ?? NOTHING_HELD;
      if (h.excluded) return 'excluded' as const;
      return plan(person, { ...h, desired: h === NOTHING_HELD ? [] : previousDesired(person) });
    });
    for (const r of results) {
      if (r === 'invalid') totals.invalid += 1;
      else if (r === 'excluded') {
        totals.persons += 1;
        totals.excluded += 1;
      } else count(r);
    }
  };

  if ('imported' in opts.persons) {
    // Go-live or a fresh read: the source's view of each person; a running workflow adds what it holds.
    const persons = opts.persons.imported
      .map((p) => ({ key: personKey(p), person: p }))
      .sort((a, b) => cmp(a.key, b.key));
    for (let i = 0; i < persons.length; i += PAGE) await batch(persons.slice(i, i + PAGE));
  } else {
    // Who Tenure knows: only running workflows are re-evaluated, each with the person it holds.
    for await (const page of vaultPersons(opts.persons.vault, opts.persons.sources)) {
      const withWorkflow = opts.client ? page.filter((r) => running.has(r.key)) : page;
      totals.withoutWorkflow += page.length - withWorkflow.length;
      await batch(withWorkflow);
    }
  }
  return { ruleSetVersion: opts.rules.version, at: new Date(now).toISOString(), totals, actions };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
