/**
 * `tenure poll SOURCE`: runs the source's poll now through its schedule (overlap SKIP: a poll
 * already running is followed instead of starting a second), shows progress while it signals,
 * and prints the summary. A poll that holds on thresholds is reported with the commands to
 * approve or reject it; the command does not wait for that decision.
 */
import type { Client } from '@temporalio/client';
import { heldPollQuery, type HeldPollView, type PollSummary } from '../../common/messages.js';
import { triggerPoll } from '../../workers/schedules.js';
import { createProgress } from '../progress.js';
import { clean, json, UsageError, type TemporalContext } from './common.js';

export interface PollNowOptions {
  json?: boolean;
  tty?: NodeJS.WriteStream;
  pollMs?: number;
}

export type PollNowResult =
  | { state: 'finished'; workflowId: string; summary: PollSummary }
  | { state: 'held'; workflowId: string; held: HeldPollView };

const SOURCE_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

export function validateSourceId(value: string | undefined): string {
  if (!value || !SOURCE_ID.test(value)) throw new UsageError('SOURCE: a source id from the sources config, e.g. raet');
  return value;
}

/** `signalled 120 of 500` from the poll's current details (what the Web UI shows too). */
async function signalProgress(
  client: Client,
  workflowId: string,
): Promise<{ done: number; total: number } | undefined> {
  const meta = (await client.workflow
    .getHandle(workflowId)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata')
    .catch(() => undefined)) as { currentDetails?: string } | undefined;
  const m = /signalled (\d+) of (\d+)/.exec(meta?.currentDetails ?? '');
  return m ? { done: Number(m[1]), total: Number(m[2]) } : undefined;
}

export async function pollNowCommand(
  ctx: TemporalContext,
  sourceId: string,
  opts: PollNowOptions = {},
): Promise<PollNowResult> {
  const triggered = await triggerPoll(ctx.client, sourceId);
  if (!triggered.workflowId) throw new Error(`the poll of ${sourceId} did not start (is the worker running?)`);
  const workflowId = triggered.workflowId;
  const log = opts.json ? () => undefined : ctx.out;
  log(
    triggered.alreadyRunning
      ? `A poll of ${sourceId} was already running: following ${workflowId}.`
      : `Polling ${sourceId}: ${workflowId}.`,
  );
  const handle = ctx.client.workflow.getHandle(workflowId, triggered.runId);
  const progress = createProgress(`poll ${sourceId}`, {
    out: log,
    ...(opts.tty && !opts.json ? { tty: opts.tty } : {}),
  });
  const result = handle.result() as Promise<PollSummary>;
  let ended: { ok: true; value: PollSummary } | { ok: false; error: unknown } | undefined;
  result.then(
    (value) => (ended = { ok: true, value }),
    (error: unknown) => (ended = { ok: false, error }),
  );
  let last: { done: number; total: number } | undefined;
  while (!ended) {
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, opts.pollMs ?? 500))]);
    if (ended) break;
    const held = await handle.query(heldPollQuery).catch(() => null);
    if (held) {
      const r: PollNowResult = { state: 'held', workflowId, held };
      if (opts.json) json(ctx.out, r);
      else {
        ctx.out(
          `Poll ${clean(sourceId)}#${held.pollId} is HELD by thresholds: added ${held.added}, changed ${held.changed}, ` +
            `removed ${held.removed}, ending today ${held.endingToday} (of ${held.previous} persons). Nobody was signalled.`,
        );
        for (const reason of held.reasons) ctx.out(`  over a limit: ${clean(reason.message)}`);
        ctx.out(`Decide: tenure approve ${workflowId} --reason TEXT   or   tenure reject ${workflowId} --reason TEXT`);
      }
      return r;
    }
    const now = await signalProgress(ctx.client, workflowId);
    if (now) {
      last = now;
      progress.update(now.done, now.total, 'signalled');
    }
  }
  const outcome = ended as { ok: true; value: PollSummary } | { ok: false; error: unknown };
  if (!outcome.ok) throw outcome.error;
  const s = outcome.value;
  if (last) progress.finish(s.signalled, last.total, 'signalled');
  const r: PollNowResult = { state: 'finished', workflowId, summary: s };
  if (opts.json) json(ctx.out, r);
  else
    ctx.out(
      `Poll ${clean(sourceId)}#${s.pollId} ${s.outcome}: ${s.recordsRead} records read; added ${s.added}, changed ${s.changed}, ` +
        `removed ${s.removed}, errors ${s.errors}, held no; ${s.signalled} signalled.`,
    );
  return r;
}
