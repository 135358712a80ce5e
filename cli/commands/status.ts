/** `tenure status <personKey> [--json]`: the employee workflow's `status` query, for people. */
import { statusQuery, type StatusView } from '../../common/messages.js';
import { employeeWorkflowId } from '../../domain/model.js';
import {
  clean,
  employeeHandle,
  forPerson,
  json,
  localTimestamp,
  queryDeadline,
  type TemporalContext,
} from './common.js';

export async function statusCommand(
  ctx: TemporalContext,
  personKey: string,
  opts: { json?: boolean } = {},
): Promise<StatusView> {
  const view = await forPerson(personKey, () =>
    ctx.client.withDeadline(queryDeadline(ctx), () => employeeHandle(ctx.client, personKey).query(statusQuery)),
  );
  if (opts.json) json(ctx.out, view);
  else for (const line of formatStatus(view, ctx.timeZone)) ctx.out(line);
  return view;
}

export function formatStatus(v: StatusView, timeZone?: string): string[] {
  const field = (label: string, value: unknown) => `${label.padEnd(15)}${clean(value) || '-'}`;
  const lines = [
    field('Person', v.personKey),
    field('Workflow', `${employeeWorkflowId(v.personKey)} (run ${v.runId})`),
    field('State', v.excluded ? `${v.state} (excluded: no changes until included)` : v.state),
    field('Health', v.health),
    field('Display name', v.displayName),
    field('Username', v.username),
    field('E-mail', v.email),
    field('Primary', v.primaryContractId ? `contract ${v.primaryContractId}` : undefined),
    field('Last cause', v.lastCause),
    '',
    'Desired permissions',
  ];
  if (v.desired.length === 0) lines.push('  (none)');
  for (const d of [...v.desired].sort((a, b) => a.target.localeCompare(b.target) || a.name.localeCompare(b.name))) {
    lines.push(`  ${clean(d.target)}: ${clean(d.name)}${d.dynamic ? ' (dynamic)' : ''}`);
    for (const r of d.reasons) {
      const matched = Object.entries(r.matched).map(([k, val]) => `${k}=${val}`);
      const parts = [`rule ${r.rule} (rules ${r.ruleSetVersion})`];
      if (r.contractId) parts.push(`contract ${r.contractId}`);
      if (matched.length) parts.push(matched.join(', '));
      lines.push(`      because ${clean(parts.join('; '))}`);
    }
  }
  lines.push('', 'Accounts');
  if (v.accounts.length === 0) lines.push('  (none)');
  for (const a of [...v.accounts].sort((x, y) => x.target.localeCompare(y.target))) {
    lines.push(
      `  ${clean(a.target)}: ${clean(a.accountId)}, ${a.enabled ? 'enabled' : 'disabled'}, ${clean(a.locator)}`,
    );
    if (a.permissions.length) lines.push(`      permissions: ${clean(a.permissions.join(', '))}`);
  }
  lines.push('', 'Last error');
  if (!v.lastError) lines.push('  (none)');
  else {
    const e = v.lastError;
    lines.push(`  ${localTimestamp(e.at, timeZone)}  ${clean(e.target)} ${clean(e.action)}: ${clean(e.message)}`);
  }
  return lines;
}
