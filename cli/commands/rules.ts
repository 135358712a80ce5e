/**
 * `tenure rules apply FILE [--reason TEXT]`: validate a rules file, store it as a new version in the
 * vault and start the rulesApply workflow, then follow its progress (a bar on a terminal, plain lines
 * when piped) until every employee workflow was signalled, or the apply is held for approval.
 * `tenure rules list`: the stored versions. Held applies are decided with `tenure approve|reject`.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type pg from 'pg';
import {
  approveRulesApplyUpdate,
  rejectRulesApplyUpdate,
  RULES_APPLY_WORKFLOW_TYPE,
  rulesApplyProgressQuery,
  type RulesApplyDecision,
  type RulesApplyProgress,
} from '../../common/messages.js';
import { parseRules, RulesError, type Rules } from '../../domain/rules.js';
import { loadRulesFile } from '../../common/rules-file.js';
import {
  currentRulesVersion,
  DEFAULT_RULES_SET,
  listRulesVersions,
  pendingRulesVersions,
  rejectRulesVersion,
  storeRulesVersion,
  type RulesVersion,
} from '../../vault/rules-versions.js';
import type { RulesApplyInput } from '../../workflows/rules-apply.js';
import { requestIdFor, type AdminOptions } from './admin.js';
import { clean, json, localTimestamp, table, UsageError, type Out } from './common.js';

export interface RulesContext {
  client: Client;
  pool: Pick<pg.Pool, 'query'>;
  out: Out;
  /** The lifecycle task queue of the workers (TENURE_TASK_QUEUE). */
  taskQueue: string;
  rulesSet?: string;
  timeZone?: string;
  /** Draw a progress bar (a terminal); plain lines otherwise. */
  tty?: boolean;
  /** How often progress is read (default 1 s). */
  pollMs?: number;
}

export const RULES_APPLY_PREFIX = 'rules-apply-';

export function rulesApplyWorkflowId(rulesSet: string, versionId: number): string {
  return `${RULES_APPLY_PREFIX}${rulesSet}-${versionId}`;
}

/**
 * The rules to evaluate with: a file (validated), else the version in force in the vault, else the
 * worker's rules file from TENURE_RULES_FILE. Returns where they came from, for the output.
 */
export async function resolveRules(opts: {
  file?: string;
  pool?: Pick<pg.Pool, 'query'>;
  rulesSet?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<{ rules: Rules; from: string }> {
  if (opts.file) return { rules: await loadRulesFile(opts.file), from: `file ${basename(opts.file)}` };
  if (opts.pool) {
    const v = await currentRulesVersion(opts.pool, opts.rulesSet ?? DEFAULT_RULES_SET);
    if (v) return { rules: parseRules(v.text, v.fileName), from: `vault version #${v.id}` };
  }
  const file = opts.env?.TENURE_RULES_FILE;
  if (file) return { rules: await loadRulesFile(file), from: `file ${basename(file)} (TENURE_RULES_FILE)` };
  throw new UsageError('no rules: give --rules FILE, apply a version first, or set TENURE_RULES_FILE');
}

/** Targets are the connectors the workers run: a new version may change rules and timings only. */
export function targetChanges(before: Rules, after: Rules): string[] {
  const shape = (r: Rules) =>
    new Map(
      r.targets.map((t) => [t.id, JSON.stringify({ kind: t.kind, enabled: t.enabled, options: t.options ?? {} })]),
    );
  const a = shape(before);
  const b = shape(after);
  const changes: string[] = [];
  for (const [id, s] of b) if (a.get(id) !== s) changes.push(a.has(id) ? `target ${id} changed` : `target ${id} added`);
  for (const id of a.keys()) if (!b.has(id)) changes.push(`target ${id} removed`);
  return changes;
}

export interface ApplyOptions {
  requestedBy: string;
  osUser: string;
  reason?: string;
  /** Return once started instead of following the progress. */
  noWait?: boolean;
  json?: boolean;
  env?: NodeJS.ProcessEnv;
  batchSize?: number;
}

/** `tenure rules apply FILE` */
export async function rulesApplyCommand(
  ctx: RulesContext,
  file: string,
  opts: ApplyOptions,
): Promise<{ version: RulesVersion; workflowId: string; progress?: RulesApplyProgress }> {
  const rulesSet = ctx.rulesSet ?? DEFAULT_RULES_SET;
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`);
  });
  const fileName = basename(file);
  let rules: Rules;
  try {
    rules = parseRules(text, fileName);
  } catch (err) {
    if (err instanceof RulesError) throw new Error(`the rules file is not valid:\n${err.message}`);
    throw err;
  }
  const before = await resolveRules({ pool: ctx.pool, rulesSet, env: opts.env }).catch(() => undefined);
  if (before) {
    const changes = targetChanges(before.rules, rules);
    if (changes.length)
      throw new Error(
        `${changes.join(', ')}: targets are the connectors the workers run; change them in the workers' rules file and restart the workers (rules apply changes rules and timings)`,
      );
  }
  // One apply at a time: two held versions approved in some order would leave either in force.
  for (const p of await pendingRulesVersions(ctx.pool, rulesSet)) {
    const id = rulesApplyWorkflowId(rulesSet, p.id);
    const running = await ctx.client.workflow
      .getHandle(id)
      .describe()
      .then((d) => d.status.name === 'RUNNING')
      .catch(() => false);
    if (running)
      throw new Error(
        `rules version ${p.version} (#${p.id}) is still being applied or held (${id}); let it finish, or approve or reject it first`,
      );
    await rejectRulesVersion(ctx.pool, p.id); // its apply ended without putting it in force
  }
  const version = await storeRulesVersion(ctx.pool, {
    rulesSet,
    version: rules.version,
    text,
    fileName,
    appliedBy: opts.requestedBy,
    osUser: opts.osUser,
    reason: opts.reason,
  });
  const workflowId = rulesApplyWorkflowId(rulesSet, version.id);
  const input: RulesApplyInput = {
    versionId: version.id,
    requestedBy: opts.requestedBy,
    reason: opts.reason,
    batchSize: opts.batchSize,
  };
  try {
    await ctx.client.workflow.start(RULES_APPLY_WORKFLOW_TYPE, { taskQueue: ctx.taskQueue, workflowId, args: [input] });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  if (!opts.json)
    ctx.out(`Stored rules version ${clean(version.version)} (#${version.id}); applying it: ${workflowId}`);
  if (opts.noWait) {
    if (opts.json) json(ctx.out, { versionId: version.id, version: version.version, workflowId });
    return { version, workflowId };
  }
  const progress = await followApply(ctx, workflowId, opts.json === true);
  if (opts.json) json(ctx.out, progress);
  return { version, workflowId, progress };
}

/** Follows an apply until it is done, rejected or held. */
export async function followApply(ctx: RulesContext, workflowId: string, quiet = false): Promise<RulesApplyProgress> {
  const handle = ctx.client.workflow.getHandle(workflowId);
  let lastLine = '';
  let lastPlain = 0;
  for (;;) {
    const desc = await handle.describe();
    let p: RulesApplyProgress;
    if (desc.status.name !== 'RUNNING') {
      p = (await handle.result()) as RulesApplyProgress;
    } else {
      p = await handle.query(rulesApplyProgressQuery);
    }
    if (!quiet) {
      const line = progressLine(p);
      if (ctx.tty) process.stderr.write(`\r${line}\u001b[K`);
      else if (line !== lastLine && (Date.now() - lastPlain > 5000 || p.phase !== 'signal')) {
        ctx.out(line);
        lastPlain = Date.now();
      }
      lastLine = line;
    }
    if (p.phase === 'held' && !p.decision) {
      if (ctx.tty && !quiet) process.stderr.write('\n');
      if (!quiet) for (const l of heldLines(p)) ctx.out(l);
      return p;
    }
    if (p.phase === 'done' || p.phase === 'rejected') {
      if (ctx.tty && !quiet) process.stderr.write('\n');
      if (!quiet)
        ctx.out(
          p.phase === 'done'
            ? `Done: rules version ${clean(p.version)} in force; ${p.signalled} employee workflows re-evaluate with it (${p.skipped} without a running workflow).`
            : `Rejected: rules version ${clean(p.version)} was not put in force.`,
        );
      return p;
    }
    await new Promise((r) => setTimeout(r, ctx.pollMs ?? 1000));
  }
}

function progressLine(p: RulesApplyProgress): string {
  if (p.phase !== 'signal' && p.phase !== 'done') return `rules version ${clean(p.version) || '…'}: ${p.phase}`;
  const done = p.signalled + p.skipped;
  const total = Math.max(p.total, done, 1);
  const width = 30;
  const filled = Math.round((Math.min(done, total) / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.signalled}/${p.total} re-evaluated`;
}

function heldLines(p: RulesApplyProgress): string[] {
  return [
    `Held for approval: rules version ${clean(p.version)} (${p.workflowId}) would go over the limits:`,
    ...p.heldReasons.map((r) => `  over the limit: ${clean(r.message)}`),
    `  preview: ${Object.entries(p.previewTotals)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${clean(k)} ${n}`)
      .join(', ')}`,
    `Decide with: tenure approve ${p.workflowId} --reason TEXT   or   tenure reject ${p.workflowId} --reason TEXT`,
  ];
}

/** `tenure approve|reject rules-apply-…` */
export async function decideRulesApply(
  ctx: Pick<RulesContext, 'client' | 'out' | 'timeZone'>,
  kind: 'approve' | 'reject',
  workflowId: string,
  opts: AdminOptions,
): Promise<RulesApplyDecision> {
  const requestedBy = opts.requestedBy.trim();
  if (!requestedBy) throw new UsageError('--by: who decides must not be empty');
  const updateId = requestIdFor(kind, opts.requestId);
  const reason = opts.reason?.trim();
  const d = await ctx.client.workflow
    .getHandle(workflowId)
    .executeUpdate(kind === 'approve' ? approveRulesApplyUpdate : rejectRulesApplyUpdate, {
      args: [reason ? { requestedBy, reason } : { requestedBy }],
      updateId,
    });
  if (opts.json) json(ctx.out, { requestId: updateId, ...d });
  else {
    ctx.out(
      `${d.decision === 'approved' ? 'Approved' : 'Rejected'} rules version ${clean(d.version)} (${clean(workflowId)}, request ${clean(updateId)})`,
    );
    for (const l of table(
      ['By', 'At (local)', 'Reason'],
      [[d.decidedBy, localTimestamp(d.decidedAt, ctx.timeZone), d.reason ?? '-']],
    ))
      ctx.out(l);
    ctx.out(
      d.decision === 'approved'
        ? 'The version goes in force now and every employee workflow is re-evaluated with it.'
        : 'The version is not put in force; the rules stay as they were.',
    );
  }
  return d;
}

/** Held rules applies (for `tenure held`). */
export async function heldRulesApplies(client: Client): Promise<RulesApplyProgress[]> {
  const held: RulesApplyProgress[] = [];
  for await (const w of client.workflow.list({
    query: `WorkflowType = '${RULES_APPLY_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`,
  })) {
    const p = await client.workflow
      .getHandle(w.workflowId)
      .query(rulesApplyProgressQuery)
      .catch(() => undefined);
    if (p?.phase === 'held' && !p.decision) held.push(p);
  }
  return held;
}

export function heldRulesLines(held: RulesApplyProgress[]): string[] {
  if (held.length === 0) return [];
  return [
    '',
    `${held.length} held rules ${held.length === 1 ? 'apply' : 'applies'}:`,
    ...held.flatMap((p) => ['', ...heldLines(p)]),
  ];
}

/** `tenure rules list` */
export async function rulesListCommand(
  ctx: Pick<RulesContext, 'pool' | 'out' | 'rulesSet' | 'timeZone'>,
  opts: { json?: boolean } = {},
): Promise<RulesVersion[]> {
  const versions = await listRulesVersions(ctx.pool, ctx.rulesSet ?? DEFAULT_RULES_SET);
  if (opts.json) {
    json(
      ctx.out,
      versions.map(({ text: _text, ...v }) => v),
    );
    return versions;
  }
  if (versions.length === 0) {
    ctx.out('No rules version was applied yet: workers use their rules file (TENURE_RULES_FILE).');
    return versions;
  }
  for (const l of table(
    ['#', 'Version', 'Status', 'Stored (local)', 'By', 'OS user', 'SHA-256', 'Reason'],
    versions.map((v) => [
      String(v.id),
      v.version,
      v.status,
      localTimestamp(v.createdAt, ctx.timeZone),
      v.appliedBy,
      v.osUser,
      v.sha256.slice(0, 12),
      v.reason ?? '-',
    ]),
  ))
    ctx.out(l);
  return versions;
}
