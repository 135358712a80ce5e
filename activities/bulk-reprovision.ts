/**
 * Activities of the bulk reprovision workflow (workflows/bulk-reprovision.ts): count and list the
 * selected employee workflows page by page (Temporal visibility), and reprovision one person
 * through its workflow's `reprovision` update. The update ID is fixed per bulk run and person, so a
 * retried activity (or a resumed run) never reprovisions anyone twice.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { EMPLOYEE_WORKFLOW_TYPE, reprovisionUpdate, type AdminRequest } from '../common/messages.js';
import { employeeWorkflowId } from '../domain/model.js';

/** The full visibility query of a selection (a filter over running employee workflows). */
export function bulkQuery(filter: string | undefined): string {
  const base = `WorkflowType = '${EMPLOYEE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  return filter ? `${base} AND (${filter})` : base;
}

export interface PersonsPage {
  personKeys: string[];
  /** Base64 page token of the next page; absent on the last page. */
  next?: string;
}

export interface ReprovisionOne {
  personKey: string;
  request: AdminRequest;
  updateId: string;
}

export interface ReprovisionOutcome {
  personKey: string;
  ok: boolean;
  state?: string;
  /** `target action outcome` per action taken. */
  actions: string[];
  error?: string;
}

export function createBulkReprovisionActivities(deps: { client: Client; namespace: string }) {
  const { client } = deps;
  return {
    async countSelected(input: { filter?: string }): Promise<number> {
      const { count } = await client.workflow.count(bulkQuery(input.filter));
      return count;
    },

    async listSelected(input: { filter?: string; pageSize: number; page?: string }): Promise<PersonsPage> {
      const res = await client.workflowService.listWorkflowExecutions({
        namespace: deps.namespace,
        query: bulkQuery(input.filter),
        pageSize: input.pageSize,
        nextPageToken: input.page ? Buffer.from(input.page, 'base64') : undefined,
      });
      const personKeys: string[] = [];
      for (const e of res.executions ?? []) {
        const id = e.execution?.workflowId ?? '';
        // employee-<personKey>; the EmployeeId search attribute says the same.
        if (id.startsWith('employee-')) personKeys.push(id.slice('employee-'.length));
      }
      const token = res.nextPageToken && res.nextPageToken.length > 0 ? Buffer.from(res.nextPageToken) : undefined;
      return { personKeys, ...(token ? { next: token.toString('base64') } : {}) };
    },

    async reprovisionOne(input: ReprovisionOne): Promise<ReprovisionOutcome> {
      const handle = client.workflow.getHandle(employeeWorkflowId(input.personKey));
      try {
        const result = await handle.executeUpdate(reprovisionUpdate, {
          args: [input.request],
          updateId: input.updateId,
        });
        return {
          personKey: input.personKey,
          ok: true,
          state: result.state,
          actions: result.actions.map((a) => `${a.target} ${a.action} ${a.outcome}`),
        };
      } catch (err) {
        // Gone (ended since the listing) or refused by the validator (excluded): recorded, not retried.
        if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) {
          return { personKey: input.personKey, ok: false, actions: [], error: (err as Error).message.slice(0, 300) };
        }
        throw err;
      }
    },
  };
}

export type BulkReprovisionActivities = ReturnType<typeof createBulkReprovisionActivities>;
