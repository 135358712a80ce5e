/** `tenure upcoming <personKey> [--json]`: every planned action with its local time. */
import { upcomingQuery, type PlannedAction } from '../../common/messages.js';
import { clean, employeeHandle, forPerson, json, queryDeadline, table, type TemporalContext } from './common.js';

export async function upcomingCommand(
  ctx: TemporalContext,
  personKey: string,
  opts: { json?: boolean } = {},
): Promise<PlannedAction[]> {
  const planned = await forPerson(personKey, () =>
    ctx.client.withDeadline(queryDeadline(ctx), () => employeeHandle(ctx.client, personKey).query(upcomingQuery)),
  );
  const sorted = [...planned].sort((a, b) => a.at.localeCompare(b.at));
  if (opts.json) json(ctx.out, sorted);
  else for (const line of formatUpcoming(personKey, sorted)) ctx.out(line);
  return sorted;
}

export function formatUpcoming(personKey: string, planned: PlannedAction[]): string[] {
  if (planned.length === 0) return [`No planned actions for ${clean(personKey)}.`];
  return table(
    ['When (local)', 'Action', 'Target', 'Description'],
    planned.map((p) => [p.local || p.at, p.action, p.target, p.description]),
  );
}
