/**
 * `tenure forget <personKey> [--reason TEXT] [--by USER] [--json]`: an erasure request (AVG/GDPR
 * art. 17). Refused while the person's workflow still runs or Tenure's audit log shows an account
 * in any target; otherwise the vault forgets the person (vault/retention.ts) and the audit log
 * records who asked. Temporal keeps closed runs until the namespace retention (docs/retention.md).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { statusQuery } from '../../common/messages.js';
import { employeeWorkflowId } from '../../domain/model.js';
import { erasePerson, ErasureRefusedError, type ErasureResult } from '../../vault/retention.js';
import { json, UsageError, type Out } from './common.js';

export interface ForgetOptions {
  requestedBy: string;
  reason?: string;
  json?: boolean;
}

export async function forgetCommand(
  ctx: { client: Client; pool: pg.Pool; out: Out },
  personKey: string,
  opts: ForgetOptions,
): Promise<ErasureResult> {
  const requestedBy = opts.requestedBy.trim();
  if (!requestedBy) throw new UsageError('--by: who asks must not be empty');
  const handle = ctx.client.workflow.getHandle(employeeWorkflowId(personKey));
  try {
    const d = await handle.describe();
    if (d.status.name === 'RUNNING') {
      const s = await handle.query(statusQuery);
      const accounts = s.accounts.map((a) => a.target);
      throw new ErasureRefusedError(
        accounts.length
          ? `${personKey} still has an account in ${accounts.join(', ')}; it must be deleted first`
          : `${personKey}'s lifecycle is still running (state ${s.state}); erasure is possible once it has ended`,
      );
    }
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const cause = `erasure request by ${requestedBy}${opts.reason ? `: ${opts.reason}` : ''}`;
  const result = await erasePerson(ctx.pool, personKey, cause);
  if (opts.json) json(ctx.out, result);
  else
    ctx.out(
      `Forgot ${personKey}: ${result.rowsDeleted} vault rows deleted, ${result.reservationsHashed} reservations kept ` +
        `as hashes only, ${result.auditRowsPseudonymised} audit rows pseudonymised. Recorded as "${cause}".`,
    );
  return result;
}
