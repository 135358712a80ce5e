/**
 * The `tenure` command line: argument handling, `audit` against the real Postgres, and the
 * Temporal commands against a real Temporal server with a stand-in employee workflow
 * (test/support/stub-employee-workflow.ts) on the test's own task queue.
 *
 * Needs DATABASE_URL and TEMPORAL_ADDRESS (see scripts/services/*.sh, TENURE_ENV=test).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type NativeConnection } from '@temporalio/worker';
import pg from 'pg';
import { requestIdFor } from '../cli/commands/admin.js';
import { auditCommand } from '../cli/commands/audit.js';
import { localTimestamp, table } from '../cli/commands/common.js';
import { statusCommand } from '../cli/commands/status.js';
import { upcomingCommand } from '../cli/commands/upcoming.js';
import { runCli, type CliDeps } from '../cli/main.js';
import type { StatusView } from '../common/messages.js';
import { employeeWorkflowId } from '../domain/model.js';
import { connectClient, connectWorker, temporalSettingsFromEnv } from '../workers/temporal-connection.js';
import { osUserName, requester } from '../cli/requester.js';
import type { stubEmployee } from './support/stub-employee-workflow.js';

const here = dirname(fileURLToPath(import.meta.url));
const OS_USER = osUserName().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const root = join(here, '..');

interface Captured {
  code: number;
  out: string[];
  err: string[];
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], deps: CliDeps = {}): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), ...deps });
  return { code, out, err, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** A Temporal/Postgres factory that must not be called: usage errors and help never connect. */
const noConnections: CliDeps = {
  connectTemporal: () => assert.fail('must not connect to Temporal'),
  connectPostgres: () => assert.fail('must not connect to Postgres'),
};

const testKey = (label: string) => `clitest:${label}-${randomUUID().slice(0, 8)}`;

// ------------------------------------------------------------------ arguments

describe('cli: arguments and help', () => {
  test('--help lists every command; exit 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await cli(argv, noConnections);
      assert.equal(r.code, 0);
      for (const c of ['status', 'upcoming', 'reprovision', 'exclude', 'include', 'audit']) {
        assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
      }
      assert.match(r.stdout, /file:1001/);
    }
  });

  test('no command prints help with exit 2', async () => {
    const r = await cli([], noConnections);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /Usage: tenure <command>/);
  });

  test('per-command help does not connect', async () => {
    for (const argv of [
      ['audit', '--help'],
      ['help', 'audit'],
      ['audit', 'file:1', '-h'],
    ]) {
      const r = await cli(argv, noConnections);
      assert.equal(r.code, 0, argv.join(' '));
      assert.match(r.stdout, /Usage: tenure audit \[<personKey>\]/);
      assert.match(r.stdout, /--limit N/);
    }
    const r = await cli(['reprovision', '--help'], noConnections);
    assert.match(r.stdout, /--request-id ID/);
  });

  test('unknown command: exit 2 with the list of commands', async () => {
    const r = await cli(['frobnicate', 'file:1001'], noConnections);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    assert.match(r.stderr, /status, upcoming, reprovision/);
  });

  const usageCases: Array<[string[], RegExp]> = [
    [['status'], /a person key is required/],
    [['status', '1001'], /not a person key: "1001"/],
    [['status', 'file:'], /not a person key/],
    [['status', 'file:1 2'], /not a person key/],
    [['status', 'file:1', 'file:2'], /one person key expected/],
    [['status', 'file:1', '--frob'], /Unknown option '--frob'/],
    [['upcoming', 'file:1', '--reason', 'x'], /Unknown option '--reason'/],
    [['reprovision', 'file:1', '--reason'], /--reason/],
    [['reprovision', 'file:1', '--request-id', 'has space'], /--request-id/],
    [['reprovision', 'file:1', '--by', '  '], /--by/],
    [['audit', 'file:1', '--limit', '0'], /--limit/],
    [['audit', 'file:1', '--limit', 'ten'], /--limit/],
    [['audit', 'file:1', '--limit', '10001'], /--limit/],
    [['audit', 'file:1', '--since', 'yesterday'], /--since/],
    [['audit', '--json', '--csv'], /choose one/],
    [['audit', '--target', 'a\nb'], /--target/],
  ];
  for (const [argv, message] of usageCases) {
    test(`usage error: tenure ${argv.join(' ')}`, async () => {
      // Postgres/Temporal are provided lazily; validation that happens after connecting still
      // must report a usage error (exit 2), so give working-looking factories here.
      const r = await cli(argv, {
        connectTemporal: async () => ({ connection: { close: async () => undefined } }) as unknown as Client,
        connectPostgres: () =>
          ({ query: () => assert.fail('no query'), end: async () => undefined }) as unknown as pg.Pool,
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /Usage: tenure /);
    });
  }

  test('request ids: given ones are kept, generated ones are unique and readable', () => {
    assert.equal(requestIdFor('reprovision', 'ticket-4711'), 'ticket-4711');
    const a = requestIdFor('reprovision', undefined, new Date('2027-02-01T06:00:00.123Z'));
    assert.match(a, /^reprovision-20270201T060000Z-[0-9a-f]{6}$/);
    assert.notEqual(a, requestIdFor('reprovision', undefined, new Date('2027-02-01T06:00:00.123Z')));
  });

  test('output helpers: tables align, control characters are removed, times are local', () => {
    assert.deepEqual(table(['A', 'Long header'], [['xxx', 'a\nb\u001b[31m']]), [
      'A    Long header',
      '---  -----------',
      'xxx  a b [31m',
    ]);
    assert.equal(localTimestamp('2027-02-01T06:00:05Z', 'Europe/Amsterdam'), '2027-02-01 07:00:05');
    assert.equal(localTimestamp('2027-07-01T22:00:00Z', 'Europe/Amsterdam'), '2027-07-02 00:00:00');
  });

  test('bin/tenure.js runs the TypeScript CLI through tsx', () => {
    const r = spawnSync(process.execPath, [join(root, 'bin/tenure.js'), '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: tenure <command>/);
    const bad = spawnSync(process.execPath, [join(root, 'bin/tenure.js'), 'status', 'nope'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /not a person key/);
  });
});

// ------------------------------------------------------------------ audit (Postgres)

describe('cli: audit against Postgres', () => {
  let pool: pg.Pool;
  const person = testKey('audit');
  const other = testKey('audit-other');

  before(async () => {
    assert.ok(process.env.DATABASE_URL, 'DATABASE_URL must be set (scripts/services/postgres.sh)');
    pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
    // audit_log is append-only: rows are only ever inserted, with person keys unique to this run.
    const rows: Array<[string, string, string, string, string, string, string]> = [
      [person, '2027-01-18T06:00:00Z', 'ad', 'createAccount', 'ok', 'poll file#12', 'created anna.devries'],
      [person, '2027-02-01T06:00:00Z', 'ad', 'enableAccount', 'ok', 'timer: start', 'enabled'],
      [person, '2027-01-18T06:00:01Z', 'ad', 'grantPermission', 'ok', 'rule department groups v3', 'dept-FIN'],
      [person, '2027-02-01T06:00:05Z', 'topdesk', 'createAccount', 'failed', 'timer: start', 'HTTP 503\nretrying'],
      [other, '2027-01-19T06:00:00Z', 'ad', 'createAccount', 'ok', 'poll file#12', 'someone else'],
    ];
    for (const [key, at, target, action, outcome, cause, message] of rows) {
      await pool.query(
        `insert into audit_log (at, person_key, target, action, outcome, cause, workflow_id, run_id, message)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [at, key, target, action, outcome, cause, employeeWorkflowId(key), 'run-1', message],
      );
    }
  });
  after(async () => {
    await pool?.end();
  });

  test('oldest first, only this person, local times, clean messages', async () => {
    const lines: string[] = [];
    const entries = await auditCommand({ pool, out: (l) => lines.push(l), timeZone: 'Europe/Amsterdam' }, person);
    assert.deepEqual(
      entries.map((e) => e.action),
      ['createAccount', 'grantPermission', 'enableAccount', 'createAccount'],
    );
    assert.equal(entries[0]!.at, '2027-01-18T06:00:00.000Z');
    assert.equal(entries[0]!.workflowId, employeeWorkflowId(person));
    assert.match(lines[0]!, /^Time \(local\)\s+Target\s+Action\s+Outcome\s+Cause\s+Message$/);
    assert.match(lines[2]!, /^2027-01-18 07:00:00\s+ad\s+createAccount\s+ok\s+poll file#12\s+created anna\.devries$/);
    assert.match(
      lines[5]!,
      /^2027-02-01 07:00:05\s+topdesk\s+createAccount\s+failed\s+timer: start\s+HTTP 503 retrying$/,
    );
    assert.equal(lines.length, 6);
  });

  test('--limit keeps the latest entries, still oldest first', async () => {
    const lines: string[] = [];
    const entries = await auditCommand({ pool, out: (l) => lines.push(l) }, person, { limit: 2 });
    assert.deepEqual(
      entries.map((e) => `${e.target}/${e.action}`),
      ['ad/enableAccount', 'topdesk/createAccount'],
    );
    assert.match(lines.at(-1)!, /the latest 2 entries/);
  });

  test('--since and --until select a window', async () => {
    const entries = await auditCommand({ pool, out: () => undefined }, person, {
      since: '2027-01-18T06:00:01Z',
      until: '2027-02-01',
    });
    assert.deepEqual(
      entries.map((e) => e.action),
      ['grantPermission'],
    );
  });

  test('through runCli: --json with -n, and an unknown person', async () => {
    const r = await cli(['audit', person, '--json', '-n', '3']);
    assert.equal(r.code, 0, r.stderr);
    const parsed = JSON.parse(r.stdout) as Array<{ action: string; message: string; at: string }>;
    assert.equal(parsed.length, 3);
    assert.equal(parsed[2]!.message, 'HTTP 503\nretrying', 'JSON keeps the message as stored');
    const none = await cli(['audit', testKey('nobody')]);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /^No audit entries for clitest:nobody-/);
  });

  test('across persons: filters by target, action, outcome, rules version and time', async () => {
    // Other runs and tests write audit rows too: narrow to this run's rows by the window and keys.
    const mine = <T extends { personKey: string }>(entries: T[]) =>
      entries.filter((e) => e.personKey === person || e.personKey === other);
    const window = { since: '2027-01-18', until: '2027-02-02', limit: 10_000 };
    const created = await auditCommand({ pool, out: () => undefined }, undefined, {
      ...window,
      target: 'ad',
      action: 'createAccount',
    });
    assert.deepEqual(
      mine(created).map((e) => e.personKey),
      [person, other],
    );
    const failed = await auditCommand({ pool, out: () => undefined }, undefined, { ...window, outcome: 'failed' });
    assert.deepEqual(
      mine(failed).map((e) => `${e.target}/${e.action}`),
      ['topdesk/createAccount'],
    );
    const byRules = await auditCommand({ pool, out: () => undefined }, undefined, {
      ...window,
      rulesVersion: 'v3',
    });
    assert.equal(mine(byRules).length, 0, 'the version is matched as written in a cause: rule "NAME" (VERSION)');
  });

  test('across persons as CSV: a header, quoted cells, formula-safe, one line per entry', async () => {
    const evil = testKey('csv');
    await pool.query(
      `insert into audit_log (at, person_key, target, action, outcome, cause, workflow_id, run_id, message)
       values ('2027-03-01T06:00:00Z', $1, 'ad', 'grantPermission', 'success', 'poll file#3; rule "all staff" (csv-7)', $2, 'run-1', $3)`,
      [evil, employeeWorkflowId(evil), '=HYPERLINK("http://x")\nnext'],
    );
    const r = await cli([
      'audit',
      '--rules-version',
      'csv-7',
      '--since',
      '2027-03-01',
      '--until',
      '2027-03-02',
      '--csv',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], '"at","personKey","target","action","outcome","cause","message","workflowId"');
    const row = lines.find((l) => l.includes(evil));
    assert.ok(row, r.stdout);
    assert.ok(row.includes(`"'=HYPERLINK(""http://x"") next"`), row);
    assert.ok(row.includes('"poll file#3; rule ""all staff"" (csv-7)"'), row);
    const table = await cli(['audit', '--rules-version', 'csv-7', '--since', '2027-03-01', '--until', '2027-03-02']);
    assert.match(table.stdout, /^Time \(local\)\s+Person\s+Target/);
  });

  test('without DATABASE_URL: a clear error, exit 1', async () => {
    const r = await cli(['audit', person], { env: {} });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /DATABASE_URL is not set/);
  });
});

// ------------------------------------------------------------------ Temporal (stand-in workflow)

describe('cli: Temporal commands with a stand-in employee workflow', () => {
  const taskQueue = `cli-test-${randomUUID()}`;
  const person = testKey('wf');
  let client: Client;
  let workerConnection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;

  before(async () => {
    assert.ok(process.env.TEMPORAL_ADDRESS, 'TEMPORAL_ADDRESS must be set (scripts/services/temporal.sh)');
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./support/stub-employee-workflow.ts', import.meta.url)),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    workerConnection = await connectWorker();
    worker = await Worker.create({
      connection: workerConnection,
      namespace: temporalSettingsFromEnv().namespace,
      taskQueue,
      workflowBundle,
    });
    running = worker.run();
    client = await connectClient();
    await client.workflow.start<typeof stubEmployee>('stubEmployee', {
      workflowId: employeeWorkflowId(person),
      taskQueue,
      args: [{ personKey: person }],
      workflowExecutionTimeout: '10 minutes',
    });
  });

  after(async () => {
    await client?.workflow
      .getHandle(employeeWorkflowId(person))
      .terminate('cli test done')
      .catch(() => undefined);
    worker?.shutdown();
    await running?.catch(() => undefined);
    await workerConnection?.close();
    await client?.connection.close();
  });

  const ctx = (lines: string[]) => ({ client, out: (l: string) => lines.push(l), timeZone: 'Europe/Amsterdam' });

  test('status: a readable block', async () => {
    const lines: string[] = [];
    const view = await statusCommand(ctx(lines), person);
    assert.equal(view.personKey, person);
    const text = lines.join('\n');
    assert.match(text, new RegExp(`^Person\\s+${person}$`, 'm'));
    assert.match(text, new RegExp(`^Workflow\\s+employee-${person} \\(run ${view.runId}\\)$`, 'm'));
    assert.match(text, /^State\s+active$/m);
    assert.match(text, /^Health\s+retrying$/m);
    assert.match(text, /^Display name\s+Anna de Vries$/m);
    assert.match(text, /^Username\s+anna\.devries$/m);
    assert.match(text, /^E-mail\s+anna\.devries@example\.test$/m);
    assert.match(text, /^Primary\s+contract C-1$/m);
    assert.match(text, /^ {2}ad: all-staff\n {6}because rule everyone \(rules v3\)$/m);
    assert.match(
      text,
      /^ {2}ad: dept-FIN \(dynamic\)\n {6}because rule department groups \(rules v3\); contract C-1; department\.code=FIN$/m,
    );
    assert.match(text, /^ {2}ad: S-1-5-21-1-2-3-1105, enabled, CN=Anna de Vries,OU=Utrecht,DC=example,DC=test$/m);
    assert.match(text, /^ {6}permissions: all-staff, dept-FIN$/m);
    assert.match(text, /^ {2}2027-02-01 07:00:05 {2}topdesk createAccount: HTTP 503 from TOPdesk \[31mretrying$/m);
    assert.equal(text.includes('\u001b'), false, 'no terminal escapes from data');
  });

  test('status --json through runCli and the default connection', async () => {
    const r = await cli(['status', person, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const view = JSON.parse(r.stdout) as StatusView;
    assert.equal(view.personKey, person);
    assert.equal(view.desired.length, 2);
    assert.equal(view.lastError?.message, 'HTTP 503 from TOPdesk\n\u001b[31mretrying');
  });

  test('upcoming: a table in time order with local times; --json', async () => {
    const lines: string[] = [];
    const planned = await upcomingCommand(ctx(lines), person);
    assert.deepEqual(
      planned.map((p) => p.action),
      ['createAccount', 'disableAccount'],
    );
    assert.match(lines[0]!, /^When \(local\)\s+Action\s+Target\s+Description$/);
    assert.match(lines[2]!, /^2027-01-18 07:00\s+createAccount\s+spendcloud\s+create Spend Cloud account$/);
    assert.match(
      lines[3]!,
      /^2027-07-02 00:00\s+disableAccount\s+ad\s+disable AD account after the last contract ends$/,
    );
    const r = await cli(['upcoming', person, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 2);
  });

  test('reprovision: passes who and why, prints the actions; one request id runs once', async () => {
    const requestId = `test-${randomUUID()}`;
    const first = await cli([
      'reprovision',
      person,
      '--reason',
      'ticket 4711',
      '--by',
      'alice',
      '--request-id',
      requestId,
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.out[0]!,
      new RegExp(`^Reprovisioned ${person} \\(request ${requestId}\\); state now active\\.$`),
    );
    assert.match(first.stdout, /^Target\s+Action\s+Outcome\s+Detail$/m);
    assert.match(
      first.stdout,
      new RegExp(
        `^ad\\s+grantPermission\\s+ok\\s+dept-FIN \\(admin reprovision by alice \\(os user ${OS_USER}\\): ticket 4711; run #1\\)$`,
        'm',
      ),
    );
    assert.match(first.stdout, /^topdesk\s+createAccount\s+retrying\s+HTTP 503$/m);

    const again = await cli(['reprovision', person, '--by', 'bob', '--request-id', requestId, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const result = JSON.parse(again.stdout) as { requestId: string; actions: Array<{ detail: string }> };
    assert.equal(result.requestId, requestId);
    assert.match(
      result.actions[0]!.detail,
      /by alice \(os user [^)]+\): ticket 4711; run #1/,
      'the same update ID is not carried out twice',
    );

    const generated = await cli(['reprovision', person], { env: { ...process.env, TENURE_OPERATOR: 'carol' } });
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stdout, /\(request reprovision-\d{8}T\d{6}Z-[0-9a-f]{6}\)/);
    assert.match(generated.stdout, /admin reprovision by carol \(os user [^)]+\); run #2/, 'TENURE_OPERATOR too');
  });

  test('exclude and include', async () => {
    const ex = await cli(['exclude', person, '--by', 'alice', '--reason', 'legal hold']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.out[0]!, new RegExp(`^Excluded ${person} \\(request exclude-`));
    assert.match(ex.stdout, new RegExp(`tenure include ${person}`));
    const status = await cli(['status', person]);
    assert.match(status.stdout, /^State\s+active \(excluded: no changes until included\)$/m);
    assert.match(status.stdout, /^Last cause\s+admin exclude by alice \(os user [^)]+\): legal hold$/m);

    const inc = await cli(['include', person, '--by', 'alice']);
    assert.equal(inc.code, 0, inc.stderr);
    assert.match(inc.stdout, /caught up, state now active/);
    assert.match(inc.stdout, /No actions were needed\./);
    const after = await cli(['status', person, '--json']);
    assert.equal((JSON.parse(after.stdout) as StatusView).excluded, false);
  });

  test('an unknown person: a clear message and exit 1, for queries and updates', async () => {
    const nobody = testKey('nobody');
    for (const command of ['status', 'upcoming', 'reprovision', 'exclude', 'include']) {
      const r = await cli(
        [command, nobody, '--by', 'x'].slice(0, command === 'status' || command === 'upcoming' ? 2 : 4),
      );
      assert.equal(r.code, 1, `${command}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`no employee workflow for ${nobody} \\(workflow id employee-${nobody} not found\\)`),
      );
      assert.equal(r.stdout, '');
    }
  });
});

test('--by is recorded with the OS user who ran the command', () => {
  assert.equal(requester(undefined, {}, 'deploy'), 'deploy', 'nothing declared: the OS user');
  assert.equal(requester('alice', {}, 'deploy'), 'alice (os user deploy)');
  assert.equal(requester(undefined, { TENURE_OPERATOR: 'carol' }, 'deploy'), 'carol (os user deploy)');
  assert.equal(requester('deploy', {}, 'deploy'), 'deploy', 'no repetition when they agree');
  assert.equal(requester('  ', {}, 'deploy'), '', 'an empty --by stays empty and is refused by the command');
});
