/**
 * `tenure explain PERSON [TARGET PERMISSION]`: why the person has or lacks each entitlement under the
 * rules in force (or `--rules FILE`): rule, rules version, contract, the condition values that matched
 * or failed. The person is the one their employee workflow holds, else the vault's record.
 */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { planInputQuery, type PlanInputView } from '../../common/messages.js';
import { localDate } from '../../domain/dates.js';
import { explain, explanationLines, type Explanation } from '../../domain/explain.js';
import { Person } from '../../domain/model.js';
import { resolveRules } from './rules.js';
import { employeeHandle, json, PersonNotFound, type Out } from './common.js';

export interface ExplainContext {
  client?: Client;
  pool: Pick<pg.Pool, 'query'>;
  out: Out;
  rulesSet?: string;
  env?: NodeJS.ProcessEnv;
}

export async function explainCommand(
  ctx: ExplainContext,
  personKey: string,
  opts: { target?: string; permission?: string; rulesFile?: string; json?: boolean; now?: number } = {},
): Promise<Explanation> {
  const { rules } = await resolveRules({ file: opts.rulesFile, pool: ctx.pool, rulesSet: ctx.rulesSet, env: ctx.env });
  let view: PlanInputView | undefined;
  if (ctx.client)
    view = await employeeHandle(ctx.client, personKey)
      .query(planInputQuery)
      .catch(() => undefined);
  let data: unknown = view?.person;
  if (!data) {
    const r = await ctx.pool.query('select data from persons where person_key = $1', [personKey]);
    data = r.rows[0]?.data;
  }
  if (!data) throw new PersonNotFound(personKey);
  const parsed = Person.safeParse(data);
  if (!parsed.success) throw new Error(`the stored record of ${personKey} is not a valid person`);
  const held = view ? Object.fromEntries(Object.entries(view.accounts).map(([t, a]) => [t, a.permissions])) : undefined;
  const e = explain(parsed.data, rules, localDate(opts.now ?? Date.now(), rules.timeZone), {
    only: opts.target && opts.permission ? { target: opts.target, permission: opts.permission } : undefined,
    held,
  });
  if (opts.json) json(ctx.out, { personKey, ...e });
  else for (const line of explanationLines(personKey, e)) ctx.out(line);
  return e;
}
