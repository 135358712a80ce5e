/**
 * The admin updates: `reprovision`, `exclude`, `include`. Each runs as a Temporal update with an
 * update ID; the same `--request-id` given twice is carried out once (Temporal de-duplicates by
 * update ID within a run), so an operator can safely repeat a command that timed out.
 */
import { randomBytes } from 'node:crypto';
import {
  excludeUpdate,
  includeUpdate,
  reprovisionUpdate,
  type AdminRequest,
  type ReprovisionResult,
  type StatusView,
} from '../../common/messages.js';
import { clean, employeeHandle, forPerson, json, table, UsageError, type TemporalContext } from './common.js';

export interface AdminOptions {
  requestedBy: string;
  reason?: string;
  /** The update ID; generated as `<command>-<timestamp>-<random>` when absent. */
  requestId?: string;
  json?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;

export function requestIdFor(command: string, given?: string, now = new Date()): string {
  if (given !== undefined) {
    if (!REQUEST_ID.test(given)) {
      throw new UsageError(
        '--request-id: 1-200 characters of letters, digits and . _ : @ -, starting with a letter or digit',
      );
    }
    return given;
  }
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${command}-${stamp}-${randomBytes(3).toString('hex')}`;
}

function adminRequest(opts: AdminOptions): AdminRequest {
  const requestedBy = opts.requestedBy.trim();
  if (!requestedBy) throw new UsageError('--by: who asks must not be empty');
  return opts.reason ? { requestedBy, reason: opts.reason } : { requestedBy };
}

export async function reprovisionCommand(
  ctx: TemporalContext,
  personKey: string,
  opts: AdminOptions,
): Promise<ReprovisionResult & { requestId: string }> {
  const updateId = requestIdFor('reprovision', opts.requestId);
  const request = adminRequest(opts);
  const result = await forPerson(personKey, () =>
    employeeHandle(ctx.client, personKey).executeUpdate(reprovisionUpdate, { args: [request], updateId }),
  );
  if (opts.json) json(ctx.out, { requestId: updateId, ...result });
  else {
    ctx.out(`Reprovisioned ${clean(personKey)} (request ${updateId}); state now ${result.state}.`);
    for (const line of formatActions(result)) ctx.out(line);
  }
  return { ...result, requestId: updateId };
}

export async function excludeCommand(
  ctx: TemporalContext,
  personKey: string,
  opts: AdminOptions,
): Promise<StatusView & { requestId: string }> {
  const updateId = requestIdFor('exclude', opts.requestId);
  const request = adminRequest(opts);
  const view = await forPerson(personKey, () =>
    employeeHandle(ctx.client, personKey).executeUpdate(excludeUpdate, { args: [request], updateId }),
  );
  if (opts.json) json(ctx.out, { requestId: updateId, ...view });
  else {
    ctx.out(`Excluded ${clean(personKey)} (request ${updateId}); state ${view.state}.`);
    ctx.out(`No changes are made for this person until: tenure include ${clean(personKey)}`);
  }
  return { ...view, requestId: updateId };
}

export async function includeCommand(
  ctx: TemporalContext,
  personKey: string,
  opts: AdminOptions,
): Promise<ReprovisionResult & { requestId: string }> {
  const updateId = requestIdFor('include', opts.requestId);
  const request = adminRequest(opts);
  const result = await forPerson(personKey, () =>
    employeeHandle(ctx.client, personKey).executeUpdate(includeUpdate, { args: [request], updateId }),
  );
  if (opts.json) json(ctx.out, { requestId: updateId, ...result });
  else {
    ctx.out(`Included ${clean(personKey)} (request ${updateId}); caught up, state now ${result.state}.`);
    for (const line of formatActions(result)) ctx.out(line);
  }
  return { ...result, requestId: updateId };
}

export function formatActions(result: ReprovisionResult): string[] {
  if (result.actions.length === 0) return ['No actions were needed.'];
  return table(
    ['Target', 'Action', 'Outcome', 'Detail'],
    result.actions.map((a) => [a.target, a.action, a.outcome, a.detail]),
  );
}
