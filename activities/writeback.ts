/**
 * Writes the generated username/UPN and business e-mail back to the HR source that supports it,
 * after the directory account exists. Writing the value already there is success ('unchanged').
 */
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import type { SourceConnector, WriteBackValues } from '../connectors/types.js';
import { appendAudit } from '../vault/audit.js';

export interface WriteBackRequest {
  personKey: string;
  values: WriteBackValues;
  cause: string;
}

export function createWriteBackActivities(deps: { pool: pg.Pool; sources: Map<string, SourceConnector> }) {
  return {
    /** 'skipped' when the person's source cannot take write-backs. */
    async writeBackToSource(req: WriteBackRequest): Promise<'written' | 'unchanged' | 'skipped'> {
      const sep = req.personKey.indexOf(':');
      const sourceId = req.personKey.slice(0, sep);
      const sourceKey = req.personKey.slice(sep + 1);
      const source = deps.sources.get(sourceId);
      if (!source?.writeBack) return 'skipped';
      const info = Context.current().info.workflowExecution;
      const audit = (outcome: string, message: string) =>
        appendAudit(deps.pool, [
          {
            personKey: req.personKey,
            target: `source:${sourceId}`,
            action: 'writeBack',
            outcome,
            cause: req.cause,
            workflowId: info?.workflowId,
            runId: info?.runId,
            message,
            details: { fields: Object.keys(req.values) },
          },
        ]);
      try {
        const result = await source.writeBack(sourceKey, req.values);
        await audit(result === 'written' ? 'success' : 'unchanged', `wrote ${Object.keys(req.values).join(', ')} back`);
        return result;
      } catch (err) {
        await audit('failed', (err as Error).message).catch(() => undefined);
        throw err;
      }
    },
  };
}

export type WriteBackActivities = ReturnType<typeof createWriteBackActivities>;
