/**
 * Puts a stored rules version in force and re-evaluates every employee with it (`tenure rules
 * apply`). Preview first: an apply that would revoke, disable or delete more than the limits allow
 * waits for `approve` or `reject`, its preview kept in the vault. Then the version becomes current
 * (every worker plans with it from its next plan on) and every employee workflow gets a
 * `rulesChanged` signal, one bounded batch at a time in person-key order. The cursor and counts
 * travel through continue-as-new, so the history stays short and a worker restart resumes the batch.
 */
import {
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RulesApplyActivities } from '../activities/rules-apply.js';
import {
  approveRulesApplyUpdate,
  rejectRulesApplyUpdate,
  rulesApplyProgressQuery,
  type AdminRequest,
  type RulesApplyDecision,
  type RulesApplyPhase,
  type RulesApplyProgress,
  type RulesThresholdReason,
} from '../common/messages.js';

export interface RulesApplyInput {
  versionId: number;
  requestedBy: string;
  reason?: string;
  /** Persons signalled per activity call (default 200). */
  batchSize?: number;
  /** Opaque: the previous run's progress (continue-as-new). */
  carried?: RulesApplyCarried;
}

interface RulesApplyCarried {
  applyId: number;
  version: string;
  phase: RulesApplyPhase;
  total: number;
  signalled: number;
  skipped: number;
  cursor?: string;
  previewTotals: Record<string, number>;
  heldReasons: RulesThresholdReason[];
  decision?: RulesApplyDecision;
}

const acts = proxyActivities<RulesApplyActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** Batches per run before continuing as new (each batch is a few history events). */
const BATCHES_PER_RUN = 100;

export async function rulesApply(input: RulesApplyInput): Promise<RulesApplyProgress> {
  const workflowId = workflowInfo().workflowId;
  const c: RulesApplyCarried = input.carried ?? {
    applyId: 0,
    version: '',
    phase: 'preview',
    total: 0,
    signalled: 0,
    skipped: 0,
    previewTotals: {},
    heldReasons: [],
  };
  const progress = (): RulesApplyProgress => ({
    workflowId,
    versionId: input.versionId,
    version: c.version,
    phase: c.phase,
    total: c.total,
    signalled: c.signalled,
    skipped: c.skipped,
    previewTotals: c.previewTotals,
    heldReasons: c.heldReasons,
    decision: c.decision,
  });
  setHandler(rulesApplyProgressQuery, progress);
  const decide = (kind: 'approved' | 'rejected') => (req: AdminRequest) => {
    c.decision = {
      workflowId,
      version: c.version,
      decision: kind,
      decidedBy: req.requestedBy.trim(),
      reason: req.reason?.trim() || undefined,
      decidedAt: new Date().toISOString(),
    };
    return c.decision;
  };
  const validator = (req: AdminRequest) => {
    if (!req || typeof req.requestedBy !== 'string' || req.requestedBy.trim() === '')
      throw new Error('requestedBy (the operator deciding) is required');
    if (c.phase !== 'held' || c.decision)
      throw new Error(`this rules apply is not held for approval (it is ${c.phase})`);
  };
  setHandler(approveRulesApplyUpdate, decide('approved'), { validator });
  setHandler(rejectRulesApplyUpdate, decide('rejected'), { validator });
  show(c);

  if (c.phase === 'preview') {
    const p = await acts.previewRulesApply({ versionId: input.versionId, workflowId });
    c.applyId = p.applyId;
    c.version = p.version;
    c.total = p.total;
    c.previewTotals = p.totals;
    c.heldReasons = p.reasons;
    c.phase = p.reasons.length ? 'held' : 'activate';
    show(c);
  }
  if (c.phase === 'held') {
    await condition(() => c.decision !== undefined);
    const d = c.decision!;
    const decision = { by: d.decidedBy, at: d.decidedAt, reason: d.reason };
    if (d.decision === 'rejected') {
      await acts.rejectRulesApply({ versionId: input.versionId, applyId: c.applyId, decision });
      c.phase = 'rejected';
      show(c);
      return progress();
    }
    await acts.recordRulesApplyApproval({ applyId: c.applyId, decision });
    c.phase = 'activate';
    show(c);
  }
  if (c.phase === 'activate') {
    await acts.activateRulesApply({ versionId: input.versionId, applyId: c.applyId });
    c.phase = 'signal';
    show(c);
  }
  const cause =
    `rules version ${c.version} applied by ${input.requestedBy}` +
    (input.reason ? `: ${input.reason}` : '') +
    (c.decision ? ` (approved by ${c.decision.decidedBy})` : '');
  let batches = 0;
  while (c.phase === 'signal') {
    const r = await acts.signalRulesChanged({
      applyWorkflowId: workflowId,
      version: c.version,
      cause,
      after: c.cursor,
      limit: input.batchSize ?? 200,
    });
    c.signalled += r.signalled;
    c.skipped += r.skipped;
    if (r.lastKey) c.cursor = r.lastKey;
    if (r.done) c.phase = 'done';
    show(c);
    batches += 1;
    if (c.phase === 'signal' && (batches >= BATCHES_PER_RUN || workflowInfo().continueAsNewSuggested)) {
      await continueAsNew<typeof rulesApply>({ ...input, carried: c });
    }
  }
  await acts.finishRulesApply({ applyId: c.applyId, signalled: c.signalled, skipped: c.skipped });
  return progress();
}

/** The apply's state in the Temporal UI (current details). */
function show(c: RulesApplyCarried): void {
  const lines = [`**rules version ${c.version || '(reading)'}: ${c.phase}**`];
  if (c.phase === 'held') {
    lines.push('held for approval: `tenure approve <this workflow id>` or `tenure reject ...`');
    for (const r of c.heldReasons) lines.push(`over the limit: ${r.message}`);
  }
  if (c.total)
    lines.push(`${c.signalled + c.skipped > 0 ? `${c.signalled} of ${c.total} re-evaluated` : `${c.total} persons`}`);
  const totals = Object.entries(c.previewTotals)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  if (totals) lines.push(`preview: ${totals}`);
  setCurrentDetails(lines.join('\n\n'));
}
