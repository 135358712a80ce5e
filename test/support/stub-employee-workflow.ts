/**
 * A stand-in employee workflow for CLI tests: answers the `status` and `upcoming` queries and the
 * `reprovision`/`exclude`/`include` updates from common/messages.ts with fixed data, so the CLI's
 * wiring is tested without the real lifecycle. Registered only on the test's own task queue.
 */
import { condition, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  excludeUpdate,
  includeUpdate,
  reprovisionUpdate,
  statusQuery,
  upcomingQuery,
  type AdminRequest,
  type PlannedAction,
  type StatusView,
} from '../../common/messages.js';

export interface StubInput {
  personKey: string;
}

export async function stubEmployee(input: StubInput): Promise<void> {
  let excluded = false;
  let reprovisions = 0;
  let lastCause = 'poll file#12';

  const status = (): StatusView => ({
    personKey: input.personKey,
    state: 'active',
    excluded,
    health: excluded ? 'excluded' : 'retrying',
    displayName: 'Anna de Vries',
    username: 'anna.devries',
    email: 'anna.devries@example.test',
    primaryContractId: 'C-1',
    desired: [
      {
        target: 'ad',
        name: 'dept-FIN',
        dynamic: true,
        reasons: [
          { rule: 'department groups', ruleSetVersion: 'v3', contractId: 'C-1', matched: { 'department.code': 'FIN' } },
        ],
      },
      {
        target: 'ad',
        name: 'all-staff',
        dynamic: false,
        reasons: [{ rule: 'everyone', ruleSetVersion: 'v3', matched: {} }],
      },
    ],
    accounts: [
      {
        target: 'ad',
        accountId: 'S-1-5-21-1-2-3-1105',
        locator: 'CN=Anna de Vries,OU=Utrecht,DC=example,DC=test',
        enabled: true,
        permissions: ['all-staff', 'dept-FIN'],
      },
    ],
    lastError: {
      at: '2027-02-01T06:00:05.000Z',
      target: 'topdesk',
      action: 'createAccount',
      message: 'HTTP 503 from TOPdesk\n\u001b[31mretrying',
    },
    lastCause,
    runId: workflowInfo().runId,
  });

  const upcoming: PlannedAction[] = [
    {
      action: 'disableAccount',
      target: 'ad',
      at: '2027-07-01T22:00:00.000Z',
      local: '2027-07-02 00:00',
      description: 'disable AD account after the last contract ends',
    },
    {
      action: 'createAccount',
      target: 'spendcloud',
      at: '2027-01-18T06:00:00.000Z',
      local: '2027-01-18 07:00',
      description: 'create Spend Cloud account',
    },
  ];

  const cause = (verb: string, req: AdminRequest) =>
    `admin ${verb} by ${req.requestedBy}${req.reason ? `: ${req.reason}` : ''}`;

  setHandler(statusQuery, status);
  setHandler(upcomingQuery, () => upcoming);
  setHandler(reprovisionUpdate, (req) => {
    reprovisions++;
    lastCause = cause('reprovision', req);
    return {
      state: 'active',
      actions: [
        {
          target: 'ad',
          action: 'grantPermission',
          outcome: 'ok',
          detail: `dept-FIN (${lastCause}; run #${reprovisions})`,
        },
        { target: 'topdesk', action: 'createAccount', outcome: 'retrying', detail: 'HTTP 503' },
      ],
    };
  });
  setHandler(excludeUpdate, (req) => {
    excluded = true;
    lastCause = cause('exclude', req);
    return status();
  });
  setHandler(includeUpdate, (req) => {
    excluded = false;
    lastCause = cause('include', req);
    return { state: 'active', actions: [] };
  });

  await condition(() => false);
}
