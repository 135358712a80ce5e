/**
 * `tenure reprovision --all | --department CODE | --query 'VISIBILITY QUERY'`: starts the
 * bulkReprovision workflow, or re-attaches to it when it is already running (the workflow id is
 * derived from the selection, or from --request-id), shows its progress and prints the summary.
 * Interrupting the command does not stop the run.
 */
import { createHash } from 'node:crypto';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import {
  BULK_REPROVISION_WORKFLOW_TYPE,
  bulkProgressQuery,
  type BulkProgress,
  type BulkReprovisionInput,
} from '../../common/bulk-reprovision.js';
import { LIFECYCLE_TASK_QUEUE } from '../../common/task-queues.js';
import { createProgress } from '../progress.js';
import { clean, json, table, UsageError, type TemporalContext } from './common.js';

export interface BulkSelection {
  all?: boolean;
  department?: string;
  query?: string;
}

export interface BulkOptions {
  requestedBy: string;
  reason?: string;
  requestId?: string;
  concurrency?: number;
  json?: boolean;
  /** Lifecycle task queue of the workers (TENURE_TASK_QUEUE). */
  taskQueue?: string;
  /** Redraw a bar here (a terminal); absent: plain progress lines. */
  tty?: NodeJS.WriteStream;
  /** How often progress is asked (ms); default 1000. */
  pollMs?: number;
}

const DEPARTMENT = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;

/** The visibility filter of a selection; exactly one of --all, --department, --query. */
export function selectionFilter(s: BulkSelection): string | undefined {
  const given = [s.all ? 'all' : undefined, s.department, s.query].filter((x) => x !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --all, --department CODE, --query QUERY');
  if (s.all) return undefined;
  if (s.department !== undefined) {
    if (!DEPARTMENT.test(s.department))
      throw new UsageError('--department: a department code (letters, digits, . _ / -)');
    return `Department = '${s.department}'`;
  }
  const q = (s.query ?? '').trim();
  if (!q || q.length > 1000 || /[\r\n]/.test(q))
    throw new UsageError('--query: one line of Temporal visibility query, at most 1000 characters');
  return q;
}

export function bulkWorkflowId(filter: string | undefined, requestId?: string): string {
  if (requestId) return `reprovision-bulk-${requestId}`;
  return `reprovision-bulk-${createHash('sha256')
    .update(filter ?? '(all)')
    .digest('hex')
    .slice(0, 16)}`;
}

function note(p: BulkProgress): string {
  return p.failed ? `${p.failed} failed` : '';
}

export async function bulkReprovisionCommand(
  ctx: TemporalContext,
  selection: BulkSelection,
  opts: BulkOptions,
): Promise<BulkProgress> {
  const filter = selectionFilter(selection);
  const concurrency = opts.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 50)
    throw new UsageError('--concurrency: a whole number from 1 to 50');
  const requestedBy = opts.requestedBy.trim();
  if (!requestedBy) throw new UsageError('--by: who asks must not be empty');
  const workflowId = bulkWorkflowId(filter, opts.requestId);
  const input: BulkReprovisionInput = {
    ...(filter ? { filter } : {}),
    request: opts.reason ? { requestedBy, reason: opts.reason } : { requestedBy },
    concurrency,
  };

  const running = await ctx.client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch(() => false);
  const handle = await ctx.client.workflow.start(BULK_REPROVISION_WORKFLOW_TYPE, {
    workflowId,
    taskQueue: opts.taskQueue ?? LIFECYCLE_TASK_QUEUE,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    staticSummary: `Reprovision ${filter ?? 'everyone'}`,
  });
  const log = opts.json ? () => undefined : ctx.out;
  log(
    running
      ? `Re-attached to the running reprovision ${workflowId} (${filter ?? 'everyone'}).`
      : `Started reprovision ${workflowId} of ${filter ?? 'everyone'}, ${concurrency} at a time.`,
  );
  log('Interrupting this command does not stop it; run the same command again to follow it.');

  const progress = createProgress('reprovision', { out: log, ...(opts.tty && !opts.json ? { tty: opts.tty } : {}) });
  const result = handle.result() as Promise<BulkProgress>;
  let ended: { ok: true; value: BulkProgress } | { ok: false; error: unknown } | undefined;
  result.then(
    (value) => (ended = { ok: true, value }),
    (error: unknown) => (ended = { ok: false, error }),
  );
  while (!ended) {
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, opts.pollMs ?? 1000))]);
    if (ended) break;
    const now = await ctx.client.workflow
      .getHandle(workflowId)
      .query(bulkProgressQuery)
      .catch(() => undefined);
    if (now) progress.update(now.done, now.total, note(now));
  }
  const outcome = ended as { ok: true; value: BulkProgress } | { ok: false; error: unknown };
  if (!outcome.ok) throw outcome.error; // failed, terminated or cancelled: the CLI reports it
  const p = outcome.value;
  progress.finish(p.done, p.total, note(p));
  if (opts.json) {
    json(ctx.out, { workflowId, ...p });
    return p;
  }
  ctx.out(`Reprovisioned ${p.done - p.failed} of ${p.done} persons selected (${p.failed} failed).`);
  const actions = Object.entries(p.actions).sort(([a], [b]) => a.localeCompare(b));
  if (actions.length === 0) ctx.out('No actions were needed.');
  else
    for (const line of table(
      ['Target', 'Action', 'Outcome', 'Count'],
      actions.map(([k, n]) => [...k.split(' ').slice(0, 3), String(n)]),
    ))
      ctx.out(line);
  for (const f of p.failures) ctx.out(`failed: ${clean(f.personKey)}: ${clean(f.error)}`);
  return p;
}
