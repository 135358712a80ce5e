/**
 * Activities of the rules-apply workflow (workflows/rules-apply.ts): preview the new version against
 * every running employee workflow and hold it when it would revoke, disable or delete more than the
 * limits allow; put it in force; signal every employee workflow in person-key order, a bounded batch
 * at a time, so the workflow can continue-as-new on a cursor and a killed worker loses nothing.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { z } from 'zod';
import { rulesChangedSignal, type RulesThresholdReason } from '../common/messages.js';
import { employeeWorkflowId } from '../domain/model.js';
import { parseRules } from '../domain/rules.js';
import {
  activateRulesVersion,
  currentRulesVersion,
  rejectRulesVersion,
  rulesVersionById,
  startRulesApply,
  updateRulesApply,
} from '../vault/rules-versions.js';
import { previewTenant, type PreviewTotals } from './preview.js';

/** A limit on one count of an apply: over `max` actions, or over `maxPercent` of the persons, it holds. */
const Limit = z.strictObject({
  max: z.number().int().min(0).optional(),
  maxPercent: z.number().min(0).max(100).optional(),
});
export const RulesApplyLimits = z.strictObject({
  revoke: Limit.default({ max: 50, maxPercent: 5 }),
  disable: Limit.default({ max: 10, maxPercent: 2 }),
  delete: Limit.default({ max: 10, maxPercent: 2 }),
  /** Percentages count only from this many persons on (below it, only `max`). */
  minBaseForPercent: z.number().int().min(0).default(20),
});
export type RulesApplyLimits = z.infer<typeof RulesApplyLimits>;
export const DEFAULT_RULES_APPLY_LIMITS: RulesApplyLimits = RulesApplyLimits.parse({});

/** TENURE_RULES_APPLY_LIMITS: JSON such as `{"revoke":{"max":100,"maxPercent":10}}`; unset: the defaults. */
export function rulesApplyLimitsFromEnv(env: NodeJS.ProcessEnv): RulesApplyLimits {
  const text = env.TENURE_RULES_APPLY_LIMITS;
  if (!text) return DEFAULT_RULES_APPLY_LIMITS;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('TENURE_RULES_APPLY_LIMITS: not valid JSON');
  }
  const r = RulesApplyLimits.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`TENURE_RULES_APPLY_LIMITS: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

/** The limits a preview goes over (empty: the apply goes on without approval). */
export function rulesThresholdReasons(totals: PreviewTotals, limits: RulesApplyLimits): RulesThresholdReason[] {
  const reasons: RulesThresholdReason[] = [];
  const base = totals.persons - totals.excluded;
  for (const metric of ['revoke', 'disable', 'delete'] as const) {
    const value = totals.byAction[metric] ?? 0;
    const limit = limits[metric];
    if (limit.max !== undefined && value > limit.max) {
      reasons.push({
        metric,
        value,
        base,
        limit: limit.max,
        unit: 'actions',
        message: `${metric}: ${value} over ${base} persons; limit ${limit.max}`,
      });
    } else if (
      limit.maxPercent !== undefined &&
      base >= limits.minBaseForPercent &&
      (value / base) * 100 > limit.maxPercent
    ) {
      reasons.push({
        metric,
        value,
        base,
        limit: limit.maxPercent,
        unit: 'percent',
        message: `${metric}: ${value} over ${base} persons (${((value / base) * 100).toFixed(1)}%); limit ${limit.maxPercent}%`,
      });
    }
  }
  return reasons;
}

export interface RulesApplyDeps {
  pool: pg.Pool;
  client: Pick<Client, 'workflow'>;
  rulesSet: string;
  /** The sources of this installation: their persons are the ones re-evaluated. */
  sources: () => string[];
  /** The employee workflows' task queue. */
  taskQueue: string;
  limits: RulesApplyLimits;
  /** Signals in flight at once (default 16). */
  signalConcurrency?: number;
}

export interface ApplyPreviewResult {
  applyId: number;
  version: string;
  /** Persons re-evaluated by the apply (with a running workflow). */
  total: number;
  /** `ad grant` → 12: the totals per target and action. */
  totals: Record<string, number>;
  reasons: RulesThresholdReason[];
}

/** At most this many actions are kept with a held apply (the totals are always complete). */
const KEPT_ACTIONS = 5000;

export function createRulesApplyActivities(deps: RulesApplyDeps) {
  return {
    async previewRulesApply(input: { versionId: number; workflowId: string }): Promise<ApplyPreviewResult> {
      const v = await rulesVersionById(deps.pool, input.versionId);
      if (!v) throw new Error(`rules version #${input.versionId} not found`);
      const applyId = await startRulesApply(deps.pool, v.id, input.workflowId);
      const rules = parseRules(v.text, v.fileName);
      const inForce = await currentRulesVersion(deps.pool, deps.rulesSet);
      const preview = await previewTenant({
        rules,
        heldRules: inForce ? parseRules(inForce.text, inForce.fileName) : undefined,
        client: deps.client,
        taskQueue: deps.taskQueue,
        persons: { vault: deps.pool, sources: deps.sources() },
        maxActions: KEPT_ACTIONS,
      });
      const reasons = rulesThresholdReasons(preview.totals, deps.limits);
      const totals: Record<string, number> = {};
      for (const [target, byAction] of Object.entries(preview.totals.byTarget))
        for (const [action, n] of Object.entries(byAction)) totals[`${target} ${action}`] = n;
      await updateRulesApply(deps.pool, applyId, {
        outcome: reasons.length ? 'held' : 'running',
        preview: { totals: preview.totals, actions: preview.actions, at: preview.at },
        heldReasons: reasons,
      });
      return {
        applyId,
        version: v.version,
        total: preview.totals.persons - preview.totals.excluded,
        totals,
        reasons,
      };
    },

    async activateRulesApply(input: { versionId: number; applyId: number }): Promise<void> {
      await activateRulesVersion(deps.pool, input.versionId);
      await updateRulesApply(deps.pool, input.applyId, { outcome: 'running' });
    },

    async rejectRulesApply(input: {
      versionId: number;
      applyId: number;
      decision: { by: string; at: string; reason?: string };
    }): Promise<void> {
      await rejectRulesVersion(deps.pool, input.versionId);
      await updateRulesApply(deps.pool, input.applyId, {
        outcome: 'rejected',
        decision: { decision: 'rejected', ...input.decision },
      });
    },

    async recordRulesApplyApproval(input: {
      applyId: number;
      decision: { by: string; at: string; reason?: string };
    }): Promise<void> {
      await updateRulesApply(deps.pool, input.applyId, { decision: { decision: 'approved', ...input.decision } });
    },

    /**
     * Signals `rulesChanged` to the employee workflows of the next `limit` persons after `after`
     * (person-key order). A person without a running workflow is skipped. Safe to repeat: the
     * workflow ignores a second signal of the same apply.
     */
    async signalRulesChanged(input: {
      applyWorkflowId: string;
      version: string;
      cause: string;
      after?: string;
      limit: number;
    }): Promise<{ signalled: number; skipped: number; lastKey?: string; done: boolean }> {
      const r = await deps.pool.query(
        `select person_key from persons where source = any($1) and ($2::text is null or person_key > $2)
          order by person_key limit $3`,
        [deps.sources(), input.after ?? null, input.limit],
      );
      const keys = r.rows.map((x) => x.person_key as string);
      let signalled = 0;
      let skipped = 0;
      let next = 0;
      const signal = { applyId: input.applyWorkflowId, version: input.version, cause: input.cause };
      const workers = Array.from({ length: Math.min(deps.signalConcurrency ?? 16, keys.length) }, async () => {
        while (next < keys.length) {
          const key = keys[next++] as string;
          try {
            await deps.client.workflow.getHandle(employeeWorkflowId(key)).signal(rulesChangedSignal, signal);
            signalled += 1;
          } catch (err) {
            if (!isGone(err)) throw err;
            skipped += 1;
          }
          Context.current().heartbeat({ signalled, skipped });
        }
      });
      await Promise.all(workers);
      return { signalled, skipped, lastKey: keys.at(-1), done: keys.length < input.limit };
    },

    async finishRulesApply(input: { applyId: number; signalled: number; skipped: number }): Promise<void> {
      await updateRulesApply(deps.pool, input.applyId, {
        outcome: 'done',
        signalled: input.signalled,
        skipped: input.skipped,
      });
    },
  };
}

export type RulesApplyActivities = ReturnType<typeof createRulesApplyActivities>;

/** The workflow is not running (never started, completed, terminated): nothing to re-evaluate. */
function isGone(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  const e = err as { name?: string; message?: string };
  return e.name === 'WorkflowNotFoundError' || /not found|already completed/i.test(e.message ?? '');
}
