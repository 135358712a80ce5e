/**
 * Held polls (docs/lifecycle.md sections 5 and 6): `tenure held` lists the polls waiting for an admin
 * because an import went over a threshold, with the limits that tripped; `tenure approve` and
 * `tenure reject` send the poll workflow's `approve` / `reject` update and print the outcome.
 *
 * A held poll is found by its workflow id or by its source id (the one running held poll of that
 * source). Held polls are found through visibility: PollState = 'held' on a running workflow.
 */
import type { WorkflowHandle } from '@temporalio/client';
import {
  approvePollUpdate,
  heldPollQuery,
  rejectPollUpdate,
  type HeldPollView,
  type PollDecision,
} from '../../common/messages.js';
import { requestIdFor, type AdminOptions } from './admin.js';
import { clean, json, localTimestamp, queryDeadline, table, UsageError, type TemporalContext } from './common.js';

export interface HeldPoll {
  workflowId: string;
  runId: string;
  sourceId: string;
  /** ISO instant the poll workflow started. */
  startedAt: string;
  /** The poll's own account; null when no worker answered the query in time. */
  view: HeldPollView | null;
}

/** Held, not yet decided, still running. */
export const HELD_POLLS_QUERY = `PollState = 'held' AND ExecutionStatus = 'Running'`;

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,254}$/;

export function validatePollTarget(value: string | undefined): string {
  if (!value)
    throw new UsageError('a poll workflow id or a source id is required, e.g. poll-raet-2027-02-01T06:00:00Z or raet');
  if (!ID.test(value)) throw new UsageError(`not a poll workflow id or source id: ${JSON.stringify(value)}`);
  return value;
}

/** The held polls, optionally of one source, oldest first. `limit` bounds the listing. */
export async function listHeldPolls(
  ctx: Pick<TemporalContext, 'client' | 'queryTimeoutMs'>,
  opts: { sourceId?: string; limit?: number } = {},
): Promise<HeldPoll[]> {
  const limit = opts.limit ?? 1000;
  let query = HELD_POLLS_QUERY;
  if (opts.sourceId !== undefined) query += ` AND SourceId = '${validatePollTarget(opts.sourceId)}'`;
  const found: { workflowId: string; runId: string; sourceId: string; startedAt: string }[] = [];
  for await (const w of ctx.client.workflow.list({ query })) {
    const sourceId = w.searchAttributes?.SourceId;
    found.push({
      workflowId: w.workflowId,
      runId: w.runId,
      sourceId: Array.isArray(sourceId) ? String(sourceId[0] ?? '') : '',
      startedAt: w.startTime.toISOString(),
    });
    if (found.length >= limit) break;
  }
  const deadline = queryDeadline(ctx as TemporalContext);
  const polls = await Promise.all(
    found.map(async (f): Promise<HeldPoll> => {
      const view = await ctx.client
        .withDeadline(deadline, () => ctx.client.workflow.getHandle(f.workflowId, f.runId).query(heldPollQuery))
        .catch(() => null);
      return { ...f, sourceId: view?.sourceId ?? f.sourceId, view };
    }),
  );
  return polls.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.workflowId.localeCompare(b.workflowId));
}

/** `tenure held [--json]` */
export async function heldCommand(ctx: TemporalContext, opts: { json?: boolean } = {}): Promise<HeldPoll[]> {
  const polls = await listHeldPolls(ctx);
  if (opts.json) {
    json(ctx.out, polls);
    return polls;
  }
  if (polls.length === 0) {
    ctx.out('No held polls.');
    return polls;
  }
  ctx.out(`${polls.length} held ${polls.length === 1 ? 'poll' : 'polls'}:`);
  for (const p of polls) {
    ctx.out('');
    const v = p.view;
    const since = localTimestamp(v?.heldAt ?? p.startedAt, ctx.timeZone);
    ctx.out(
      `${clean(p.workflowId)}  source ${clean(p.sourceId)}${v ? `  poll #${v.pollId}` : ''}  held since ${since}`,
    );
    if (!v) {
      ctx.out('  (no worker answered; see the workflow in the Temporal UI for its details)');
      continue;
    }
    ctx.out(
      `  would do: ${v.added} added, ${v.changed} changed, ${v.removed} removed, ${v.endingToday} ending ${v.endingHorizonDays ? `within ${v.endingHorizonDays} days` : 'today'} ` +
        `(${v.recordsRead} records read; ${v.previous} persons in the last snapshot)`,
    );
    for (const r of v.reasons) ctx.out(`  over the limit: ${clean(r.message)}`);
    if (v.preview) ctx.out(`  preview: ${clean(v.preview.summary)}`);
  }
  ctx.out('');
  ctx.out('Decide with: tenure approve <workflow id | source id> --reason TEXT   or   tenure reject ...');
  return polls;
}

/** The workflow handle of the held poll named by workflow id or source id. */
export async function resolveHeldPoll(
  ctx: Pick<TemporalContext, 'client' | 'queryTimeoutMs'>,
  target: string,
): Promise<WorkflowHandle> {
  validatePollTarget(target);
  const bySource = await listHeldPolls(ctx, { sourceId: target, limit: 10 });
  if (bySource.length === 1) return ctx.client.workflow.getHandle((bySource[0] as HeldPoll).workflowId);
  if (bySource.length > 1) {
    throw new Error(
      `source ${target} has ${bySource.length} held polls (${bySource.map((p) => p.workflowId).join(', ')}); name one by its workflow id`,
    );
  }
  const handle = ctx.client.workflow.getHandle(target);
  try {
    await handle.describe();
  } catch {
    throw new Error(`no held poll of source ${target} and no workflow with id ${target}; see: tenure held`);
  }
  return handle;
}

async function decide(
  ctx: TemporalContext,
  kind: 'approve' | 'reject',
  target: string,
  opts: AdminOptions,
): Promise<PollDecision & { requestId: string }> {
  const updateId = requestIdFor(kind, opts.requestId);
  const requestedBy = opts.requestedBy.trim();
  if (!requestedBy) throw new UsageError('--by: who decides must not be empty');
  const reason = opts.reason?.trim();
  const handle = await resolveHeldPoll(ctx, target);
  const result = await handle.executeUpdate(kind === 'approve' ? approvePollUpdate : rejectPollUpdate, {
    args: [reason ? { requestedBy, reason } : { requestedBy }],
    updateId,
  });
  if (opts.json) json(ctx.out, { requestId: updateId, ...result });
  else for (const line of formatDecision(result, updateId, ctx.timeZone)) ctx.out(line);
  return { ...result, requestId: updateId };
}

export function formatDecision(d: PollDecision, requestId: string, timeZone?: string): string[] {
  const head = `${d.decision === 'approved' ? 'Approved' : 'Rejected'} poll #${d.pollId} of source ${clean(d.sourceId)} (${clean(d.workflowId)}, request ${clean(requestId)})`;
  const lines = [
    head,
    ...table(['By', 'At (local)', 'Reason'], [[d.decidedBy, localTimestamp(d.decidedAt, timeZone), d.reason ?? '-']]),
  ];
  lines.push(
    d.decision === 'approved'
      ? `The ${d.changes} ${d.changes === 1 ? 'change is' : 'changes are'} being signalled now; the snapshot is accepted when they are done.`
      : `Nothing was signalled (${d.changes} ${d.changes === 1 ? 'change' : 'changes'} dropped); the last accepted snapshot stays, so the next poll compares against it again.`,
  );
  return lines;
}

/** `tenure approve <pollWorkflowId|sourceId> [--by] [--reason] [--request-id] [--json]` */
export function approveCommand(ctx: TemporalContext, target: string, opts: AdminOptions) {
  return decide(ctx, 'approve', target, opts);
}

/** `tenure reject <pollWorkflowId|sourceId> [--by] [--reason] [--request-id] [--json]` */
export function rejectCommand(ctx: TemporalContext, target: string, opts: AdminOptions) {
  return decide(ctx, 'reject', target, opts);
}
