/**
 * The preview attached to a held poll (the go-live hold and every threshold hold): what approving
 * it would do, planned from the poll's staged records with the rules in force, against what the
 * running employee workflows hold. The same planning as `tenure preview`; read-only.
 */
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { PollPreview } from '../common/messages.js';
import { Person } from '../domain/model.js';
import type { Rules } from '../domain/rules.js';
import { stagedPersons } from '../vault/polls.js';
import type { HeldPollPreviewRequest } from './poll.js';
import { previewTenant } from './preview.js';
import { previewAccountLookup } from './existing-account.js';
import type { CorrelationValue } from './lifecycle.js';
import type { TargetConnector } from '../connectors/types.js';

export function createHeldPollPreviewer(deps: {
  pool: pg.Pool;
  client: Pick<Client, 'workflow'>;
  taskQueue?: string;
  rules: () => Promise<Rules>;
  /** The worker's target connectors: a create that meets an existing account shows as adopt or report. */
  targets?: ReadonlyMap<string, TargetConnector>;
  correlationValue?: CorrelationValue;
  /** How long existing accounts are looked up (default 20 s); later creates are counted as not looked up. */
  lookupBudgetMs?: number;
}): (poll: HeldPollPreviewRequest) => Promise<PollPreview> {
  return async ({ pollId, sourceId }) => {
    const staged = await stagedPersons(deps.pool, pollId);
    const persons = [...staged.added, ...staged.changed].flatMap((p) => {
      const parsed = Person.safeParse(p);
      return parsed.success ? [parsed.data] : [];
    });
    const rules = await deps.rules();
    const preview = await previewTenant({
      rules,
      heldRules: rules,
      held: deps.pool,
      accounts: deps.targets && previewAccountLookup({ pool: deps.pool, targets: deps.targets, rules }),
      correlationValue: deps.correlationValue,
      // The preview runs inside the poll's short threshold check: look-ups get a bounded share of it.
      lookupUntil: Date.now() + (deps.lookupBudgetMs ?? 20_000),
      client: deps.client,
      taskQueue: deps.taskQueue,
      persons: { imported: persons },
      maxActions: 0,
    });
    const totals: Record<string, number> = {};
    for (const [target, actions] of Object.entries(preview.totals.byTarget))
      for (const [action, n] of Object.entries(actions)) if (n) totals[`${target}/${action}`] = n;
    const parts = Object.entries(totals).map(([k, n]) => `${n} ${k.replace('/', ' ')}`);
    return {
      summary:
        `${staged.added.length} added and ${staged.changed.length} changed persons (rules ${preview.ruleSetVersion}): ` +
        `${parts.length ? parts.join(', ') : 'no account or permission changes'}` +
        (staged.removed ? `; ${staged.removed} removed persons end their employment (not in these totals)` : '') +
        (preview.totals.createsNotLookedUp
          ? `; ${preview.totals.createsNotLookedUp} creates not checked for an existing account to adopt (time budget): run the command below for all`
          : ''),
      totals,
      location: `tenure preview --source ${sourceId}`,
    };
  };
}
