/**
 * References converge (docs/ownership.md): when a person's account is created, the persons who
 * report to them are told, so their `manager` (and the like in other targets) is filled now, not
 * only when their own HR data next changes, whatever order the workflows ran in.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { referencesChangedSignal } from '../common/messages.js';
import { employeeWorkflowId } from '../domain/model.js';
import { reportsOf } from '../vault/references.js';

export interface ReferenceDeps {
  pool: pg.Pool;
  client: Client;
}

export function createReferenceActivities(deps: ReferenceDeps) {
  return {
    /** Signals the running workflows of the person's reports; returns how many were told. */
    async announceAccount(input: { personKey: string; targets: string[] }): Promise<number> {
      let told = 0;
      for (const report of await reportsOf(deps.pool, input.personKey)) {
        try {
          await deps.client.workflow.getHandle(employeeWorkflowId(report)).signal(referencesChangedSignal, {
            personKey: input.personKey,
            targets: input.targets,
            cause: `account of manager ${input.personKey} now exists`,
          });
          told += 1;
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err; // not running (yet, or any more)
        }
      }
      return told;
    },
  };
}

export type ReferenceActivities = ReturnType<typeof createReferenceActivities>;
