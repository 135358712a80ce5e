// Rules as versions on the real stack (Temporal, Postgres, Samba AD): `tenure preview` equals what
// `tenure rules apply` then does, action by action; an apply over the revoke limit waits for
// approval; every employee is reached; a worker stopped in the middle of an apply, replaced by a new
// one, completes it. `tenure explain` names the rule, version, contract and condition values.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NativeConnection } from '@temporalio/worker';
import type { TenantPreview } from '../activities/preview.js';
import { runCli, type CliDeps } from '../cli/main.js';
import { planInputQuery, rulesApplyProgressQuery, type RulesApplyProgress } from '../common/messages.js';
import { employeeWorkflowId } from '../domain/model.js';
import { migrate } from '../vault/migrate.js';
import { currentRulesVersion } from '../vault/rules-versions.js';
import { connectWorker } from '../workers/temporal-connection.js';
import { createTenureWorkers, tenureSettingsFromEnv } from '../workers/tenure-workers.js';
import { loadWorkflowBundle } from '../workers/workflow-bundle.js';
import { eventually, queryAll, startHarness, type Harness, type Row } from './support/tenure-harness.js';
import { requireEnv } from './support/env.js';

const N = Number(process.env.TENURE_TEST_APPLY_PERSONS ?? 200);

function alpha(n: number): string {
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

interface Groups {
  all: string;
  fin: string;
}

function rulesText(version: string, g: Groups, opts: { finGroup: boolean; allGroup: boolean }): string {
  return `
version: "${version}"
timeZone: Europe/Amsterdam
targets:
  - id: ad
    kind: ad
rules:
  - name: employees
    entitlements:
      ad:
        accountAccess: true
${opts.allGroup ? `        permissions: [${g.all}]\n` : ''}${
    opts.finGroup
      ? `  - name: finance extra
    conditions: { department: [FIN] }
    entitlements:
      ad: { permissions: [${g.fin}] }
`
      : ''
  }`;
}

/** `person target action permission` of the preview's actions. */
const previewKeys = (p: TenantPreview) =>
  p.actions.map((a) => `${a.personKey} ${a.target} ${a.action}${a.permission ? ` ${a.permission}` : ''}`).sort();

const AUDIT_ACTIONS: Record<string, string> = {
  create: 'create',
  enable: 'enable',
  disable: 'disable',
  delete: 'delete',
  grantPermission: 'grant',
  revokePermission: 'revoke',
};

describe('rules versions: preview, apply, approve, explain', () => {
  let h: Harness;
  let groups: Groups;
  let rulesSet: string;
  let taskQueue: string;
  const keys: string[] = [];
  const extra: { close(): Promise<void>; runs: Promise<unknown>[]; connection?: NativeConnection }[] = [];

  const cli = async (args: string[]) => {
    const lines: string[] = [];
    const errs: string[] = [];
    const deps: CliDeps = {
      out: (l) => lines.push(l),
      err: (l) => errs.push(l),
      env: { ...process.env, TENURE_RULES_SET: rulesSet, TENURE_TASK_QUEUE: taskQueue, TENURE_OPERATOR: 'tester' },
      connectTemporal: async () => h.client,
      connectPostgres: () => h.db,
      closeConnections: false,
    };
    const code = await runCli(args, deps);
    return { code, out: lines.join('\n'), err: errs.join('\n') };
  };
  const writeRules = (name: string, text: string) => {
    const path = join(h.dir, name);
    writeFileSync(path, text);
    return path;
  };
  /** Audit rows caused by the apply of `version`, as `person target action permission`. */
  const appliedBy = async (version: string) => {
    const r = await h.db.query(
      `select person_key, target, action, details from audit_log
        where person_key like $1 and cause like $2 and outcome <> 'failed'`,
      [`${h.sourceId}:%`, `rules version ${version} applied by %`],
    );
    return r.rows
      .filter((x) => AUDIT_ACTIONS[x.action as string])
      .map(
        (x) =>
          `${x.person_key} ${x.target} ${AUDIT_ACTIONS[x.action as string]}${x.details?.group ? ` ${x.details.group}` : ''}`,
      )
      .sort();
  };
  /** What the last query round could not read, with what the history says about it. */
  let trouble = '';
  const planInputs = () =>
    queryAll(
      h.client,
      keys.map((k) => employeeWorkflowId(k)),
      (id) => h.client.workflow.getHandle(id).query(planInputQuery),
      (message) => {
        trouble = message;
      },
    );
  const reached = async (version: string) => {
    trouble = '';
    return (await planInputs()).filter((v) => v?.ruleSetVersion === version).length;
  };
  const groupsHeld = async () => {
    trouble = '';
    return (await planInputs()).map((v) =>
      v ? (v.accounts.ad?.permissions.slice().sort().join(',') ?? '(none)') : '(unreadable)',
    );
  };
  const progress = (workflowId: string) =>
    h.client.workflow.getHandle(workflowId).query(rulesApplyProgressQuery) as Promise<RulesApplyProgress>;

  before(async () => {
    await migrate(requireEnv('DATABASE_URL'));
    const salt = `${Date.now().toString(36)}`;
    groups = { all: `rv-all-${salt}`, fin: `rv-fin-${salt}` };
    rulesSet = `test-${salt}`;
    h = await startHarness(rulesText('v1', groups, { finGroup: false, allGroup: true }), {
      TENURE_RULES_SET: rulesSet,
      TENURE_RULES_APPLY_LIMITS: JSON.stringify({ revoke: { max: 50, maxPercent: 5 } }),
    });
    taskQueue = `tenure-test-${h.sourceId}`;
    // The finance group is new in v2: the directory's admins create it first.
    const groupsOU = process.env.AD_GROUPS_OU ?? `OU=Groups,OU=Tenure,${requireEnv('AD_BASE_DN')}`;
    await h.ldap.add(`CN=${groups.fin},${groupsOU}`, {
      objectClass: ['top', 'group'],
      sAMAccountName: groups.fin,
      groupType: '-2147483646',
    });
    const rows: Row[] = [];
    for (let i = 0; i < N; i++) {
      const key = h.key();
      keys.push(`${h.sourceId}:${key}`);
      rows.push({
        key,
        nick: `Nick${alpha(i)}`,
        family: `Rules${alpha(i + 1000)}${alpha(Number(salt.slice(-3).charCodeAt(0)))}`,
        contract: `${key}c1`,
        start: '2020-01-01',
        dept: i % 4 === 0 ? 'FIN' : 'ZORG',
      });
    }
    h.writeExport(rows);
    const poll = await h.poll();
    assert.equal(poll.added, N);
    // Everyone enabled with the v1 group, every workflow at rest.
    const held = await eventually(groupsHeld, (g) => g.every((x) => x === groups.all), 600_000, 2000);
    assert.ok(
      held.every((x) => x === groups.all),
      `all ${N} provisioned: ${held.filter((x) => x !== groups.all).length} not yet ${trouble}`,
    );
  });

  after(async () => {
    await h?.stop();
    for (const e of extra) {
      await Promise.allSettled(e.runs);
      await e.close();
      await e.connection?.close();
    }
  });

  test('a group for one department: preview equals what the apply does, and it reaches everyone', async () => {
    const file = writeRules('v2.yaml', rulesText('v2', groups, { finGroup: true, allGroup: true }));
    const pv = await cli(['preview', '--rules', file, '--only', h.sourceId, '--json']);
    assert.equal(pv.code, 0, pv.err);
    const preview = JSON.parse(pv.out) as TenantPreview;
    assert.equal(preview.totals.persons, N);
    assert.equal(preview.totals.byAction.grant, N / 4);
    assert.equal(preview.totals.byPermission[`ad grant ${groups.fin}`], N / 4);
    assert.ok(preview.actions.every((a) => a.rule === 'finance extra' && a.ruleSetVersion === 'v2' && a.contractId));
    // Text output: totals first.
    const text = await cli(['preview', '--rules', file, '--only', h.sourceId]);
    assert.match(text.out.split('\n')[1]!, new RegExp(`^${N} persons: ${N / 4} would change`));
    assert.match(text.out, /Totals\nAction +ad +All/);

    const applied = await cli(['rules', 'apply', file, '--reason', 'finance gets its group']);
    assert.equal(applied.code, 0, applied.err);
    assert.match(applied.out, new RegExp(`Done: rules version v2 in force; ${N} employee workflows`));
    assert.equal((await currentRulesVersion(h.db, rulesSet))?.version, 'v2');

    const reachedAll = await eventually(
      () => reached('v2'),
      (n) => n === N,
      300_000,
      2000,
    );
    assert.equal(reachedAll, N, `every employee re-evaluated with v2 ${trouble}`);
    const done = await eventually(
      () => appliedBy('v2'),
      (a) => a.length >= N / 4,
      120_000,
      1000,
    );
    assert.deepEqual(done, previewKeys(preview), 'the apply did exactly what the preview showed');
    const audit = await h.db.query(
      `select cause from audit_log where person_key = $1 and action = 'grantPermission' order by id desc limit 1`,
      [preview.actions[0]!.personKey],
    );
    assert.match(
      audit.rows[0].cause,
      /^rules version v2 applied by tester \(os user [^)]+\): finance gets its group; rules v2; rule "finance extra" \(v2\) for contract /,
    );
  });

  test('a group removed from everyone: held over the revoke limit, preview attached, approved, then done', async () => {
    const file = writeRules('v3.yaml', rulesText('v3', groups, { finGroup: true, allGroup: false }));
    const preview = JSON.parse(
      (await cli(['preview', '--rules', file, '--only', h.sourceId, '--json'])).out,
    ) as TenantPreview;
    assert.equal(preview.totals.byAction.revoke, N);
    assert.ok(preview.actions.every((a) => a.action === 'revoke' && a.permission === groups.all));

    const applied = await cli(['rules', 'apply', file, '--reason', 'all-staff group retired']);
    assert.equal(applied.code, 0, applied.err);
    assert.match(applied.out, /Held for approval: rules version v3/);
    assert.match(
      applied.out,
      new RegExp(`over the limit: revoke: ${N} over ${N} persons(; limit 50| \\(100\\.0%\\); limit 5%)`),
    );
    assert.equal((await currentRulesVersion(h.db, rulesSet))?.version, 'v2', 'not in force while held');
    const workflowId = /tenure approve (rules-apply-\S+)/.exec(applied.out)![1]!;
    const stored = await h.db.query(`select outcome, preview from rules_applies where workflow_id = $1`, [workflowId]);
    assert.equal(stored.rows[0].outcome, 'held');
    assert.equal(stored.rows[0].preview.totals.byAction.revoke, N, 'the preview is kept with the held apply');
    const held = await cli(['held']);
    assert.match(held.out, new RegExp(`Held for approval: rules version v3 \\(${workflowId}\\)`));
    // One apply at a time.
    const other = await cli([
      'rules',
      'apply',
      writeRules('v3b.yaml', rulesText('v3b', groups, { finGroup: false, allGroup: true })),
    ]);
    assert.equal(other.code, 1);
    assert.match(
      other.err,
      new RegExp(`rules version v3 \\(#\\d+\\) is still being applied or held \\(${workflowId}\\)`),
    );
    // Nothing happened yet.
    assert.ok((await groupsHeld()).every((g) => g.includes(groups.all)));

    const approved = await cli(['approve', workflowId, '--reason', 'checked the preview']);
    assert.equal(approved.code, 0, approved.err);
    assert.match(approved.out, /Approved rules version v3/);
    const p = await eventually(
      () => progress(workflowId),
      (x) => x.phase === 'done',
      300_000,
      1000,
    ).catch(async () => (await h.client.workflow.getHandle(workflowId).result()) as RulesApplyProgress);
    assert.equal(p.phase, 'done');
    assert.equal(p.signalled, N);
    const done = await eventually(
      () => appliedBy('v3'),
      (a) => a.length >= N,
      300_000,
      1000,
    );
    assert.deepEqual(done, previewKeys(preview), 'the apply did exactly what the preview showed');
    const cause = await h.db.query(
      `select cause from audit_log where person_key = $1 and action = 'revokePermission' order by id desc limit 1`,
      [keys[1]],
    );
    const text = String(cause.rows[0].cause);
    assert.ok(text.startsWith('rules version v3 applied by tester'), text);
    assert.ok(text.includes('all-staff group retired'), text);
    assert.ok(text.includes('; rules v3; '), text);
    assert.ok(text.endsWith(`no rule grants ${groups.all} any more`), text);
  });

  test('explain: a matched and a failed condition, with rule, version and contract', async () => {
    const fin = keys[0]!;
    const zorg = keys[1]!;
    const yes = await cli(['explain', fin, 'ad', groups.fin]);
    assert.equal(yes.code, 0, yes.err);
    assert.match(yes.out, new RegExp(`ad permission ${groups.fin}: granted \\(held now\\)`));
    assert.match(yes.out, /because rule "finance extra" \(v3\), contract \S+c1: department\.code=FIN/);
    const no = await cli(['explain', zorg, 'ad', groups.fin]);
    assert.match(no.out, new RegExp(`ad permission ${groups.fin}: not granted \\(not held now\\)`));
    assert.match(
      no.out,
      /no: rule "finance extra" \(v3\), contract \S+c1: department\.code=ZORG fails \(allowed: FIN\)/,
    );
  });

  test('a worker stopped during an apply, replaced by a new one, completes it', async () => {
    const file = writeRules('v4.yaml', rulesText('v4', groups, { finGroup: true, allGroup: true }));
    // Small batches and no waiting: the apply is still signalling when the worker goes.
    const started = await cli(['rules', 'apply', file, '--no-wait', '--json', '--batch-size', '2']);
    assert.equal(started.code, 0, started.err);
    const { workflowId } = JSON.parse(started.out) as { workflowId: string };
    const h4 = await h.client.workflow.getHandle(workflowId).describe();
    assert.equal(h4.status.name, 'RUNNING');
    // v4 gives the group back to everyone: N grants, over no limit.
    const mid = await eventually(
      () => progress(workflowId),
      (x) => x.signalled > 0 || x.phase === 'done',
      120_000,
      50,
    );
    for (const w of h.runtime.workers) w.shutdown();
    h.runtime.workers.length = 0; // stopped: the harness must not stop them again
    assert.ok(mid.signalled < N, `stopped in the middle (${mid.signalled} of ${N} signalled)`);
    // A new worker process on the same queue (a restart).
    const settings = tenureSettingsFromEnv({
      ...process.env,
      TENURE_RULES_FILE: join(h.dir, 'rules.yaml'),
      TENURE_FILE_SOURCE: join(h.dir, 'hr-export.csv'),
      TENURE_FILE_SOURCE_ID: h.sourceId,
      TENURE_RULES_SET: rulesSet,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(h.smtp.port),
      SMTP_FROM: 'Tenure <tenure@tenure.test>',
    });
    const connection = await connectWorker();
    const rt = await createTenureWorkers({
      taskQueue,
      settings,
      connection: connection as NativeConnection,
      client: h.client,
      workflowBundle: await loadWorkflowBundle(),
    });
    extra.push({ close: () => rt.close(), runs: rt.workers.map((w) => w.run()), connection });
    // The harness stops (and terminates) what runs now.
    h.runtime.workers.push(...rt.workers);
    const result = (await h.client.workflow.getHandle(workflowId).result()) as RulesApplyProgress;
    assert.equal(result.phase, 'done');
    assert.equal(result.signalled, N, `all ${N} signalled (${mid.signalled} before the stop)`);
    const reachedAll = await eventually(
      () => reached('v4'),
      (n) => n === N,
      300_000,
      2000,
    );
    assert.equal(reachedAll, N, `every employee re-evaluated with v4 ${trouble}`);
    const held = await eventually(groupsHeld, (g) => g.every((x) => x.includes(groups.all)), 300_000, 2000);
    assert.ok(
      held.every((x) => x.includes(groups.all)),
      trouble,
    );
  });
});
