// Bulk command line against the real worker: `tenure reprovision --query` over 500 persons is a
// workflow that completes even though the CLI is interrupted halfway and started again (the
// second CLI re-attaches); `tenure persons` lists by department and state.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { bulkWorkflowId, selectionFilter } from '../cli/commands/bulk.js';
import { personsQuery } from '../cli/commands/persons.js';
import { runCli } from '../cli/main.js';
import { deleteSourceSchedule, ensureSourceSchedules } from '../workers/schedules.js';
import { eventually, startHarness, type Harness, type Row } from './support/tenure-harness.js';
import { uniqueSuffix } from './support/env.js';

const PERSONS = 500;
const TENURE = fileURLToPath(new URL('../bin/tenure.js', import.meta.url));

/** Runs the CLI as a separate process with piped output; lines arrive as they are printed. */
function cli(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, [TENURE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const errors: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (c: Buffer) => {
    buffered += c.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (c: Buffer) => errors.push(c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, errors, exited };
}

describe('bulk command line', () => {
  let h: Harness;
  let dept: string;
  let rows: Row[];
  before(async () => {
    h = await startHarness(`
version: "bulk-1"
timeZone: Europe/Amsterdam
targets:
  - id: ad
    kind: ad
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
`);
    dept = `B${uniqueSuffix().slice(-8).toUpperCase()}`;
    rows = Array.from({ length: PERSONS }, () => {
      const key = h.key();
      return { key, nick: 'Bulk', family: 'Person', contract: `${key}c1`, start: '2031-01-01', dept };
    });
    h.writeExport(rows);
    assert.equal((await h.poll()).outcome, 'accepted');
    // Visibility catches up with the 500 new workflows.
    const seen = await eventually(
      async () =>
        (
          await h.client.workflow.count(
            `WorkflowType = 'employeeLifecycle' AND ExecutionStatus = 'Running' AND SourceId = '${h.sourceId}'`,
          )
        ).count,
      (n) => n === PERSONS,
      120_000,
      1000,
    );
    assert.equal(seen, PERSONS);
  });
  after(async () => {
    await h?.stop();
  });

  test('usage: exactly one selection, validated before connecting', () => {
    assert.throws(() => selectionFilter({}), /exactly one/);
    assert.throws(() => selectionFilter({ all: true, department: 'X' }), /exactly one/);
    assert.throws(() => selectionFilter({ department: "X' OR 1=1" }), /department code/);
    assert.equal(selectionFilter({ department: 'ZORG' }), "Department = 'ZORG'");
    assert.equal(selectionFilter({ all: true }), undefined);
    assert.equal(bulkWorkflowId("SourceId = 'a'"), bulkWorkflowId("SourceId = 'a'"), 'same selection, same run');
    assert.notEqual(bulkWorkflowId("SourceId = 'a'"), bulkWorkflowId("SourceId = 'b'"));
    assert.throws(() => personsQuery({ state: 'bogus' }), /--state/);
    assert.match(personsQuery({ health: 'failing' }), /ProvisioningHealth IN \('failed', 'retrying'\)/);
  });

  test('tenure persons --department lists the 500, with state and health; --state narrows', async () => {
    const run = async (args: string[]) => {
      const out: string[] = [];
      const code = await runCli(args, {
        out: (l) => out.push(l),
        err: (l) => out.push(l),
        connectTemporal: async () => h.client,
        closeConnections: false,
      });
      assert.equal(code, 0, out.join('\n'));
      return JSON.parse(out.join('\n')) as { personKey: string; state: string; health: string; department: string }[];
    };
    // Department and state are upserted by each workflow after it starts: visibility catches up.
    const listed = await eventually(
      () => run(['persons', '--department', dept, '--json']),
      (r) => r.length === PERSONS && new Set(r.map((x) => x.state)).size === 1,
      120_000,
      1000,
    );
    assert.equal(listed.length, PERSONS);
    assert.ok(listed.every((r) => r.department === dept && r.personKey.startsWith(`${h.sourceId}:`)));
    assert.ok(
      listed.every((r) => r.health === 'ok'),
      'nobody failing',
    );
    const state = listed[0]?.state ?? '';
    assert.match(state, /^(pending|prehire)$/, 'a 2031 start: not yet active');
    assert.equal((await run(['persons', '--department', dept, '--state', state, '--json'])).length, PERSONS);
    assert.equal((await run(['persons', '--department', dept, '--state', 'active', '--json'])).length, 0);
    assert.equal((await run(['persons', '--department', dept, '--health', 'failing', '--json'])).length, 0);
    const usage: string[] = [];
    assert.equal(
      await runCli(['persons', '--health', 'sick'], { out: (l) => usage.push(l), err: (l) => usage.push(l) }),
      2,
    );
  });

  test('tenure poll SOURCE polls now through the schedule and prints the summary', async () => {
    const taskQueue = `tenure-test-${h.sourceId}`;
    await ensureSourceSchedules(h.client, [{ id: h.sourceId, every: '24h' }], { taskQueue });
    try {
      const changed = rows.map((r, i) => (i === 0 ? { ...r, title: 'Teamleider' } : r));
      h.writeExport(changed);
      const out: string[] = [];
      const code = await runCli(['poll', h.sourceId], {
        out: (l) => out.push(l),
        err: (l) => out.push(l),
        connectTemporal: async () => h.client,
        closeConnections: false,
      });
      assert.equal(code, 0, out.join('\n'));
      assert.match(out[0] ?? '', new RegExp(`^Polling ${h.sourceId}: `));
      assert.match(
        out.at(-1) ?? '',
        new RegExp(
          `^Poll ${h.sourceId}#\\d+ accepted: ${PERSONS} records read; added 0, changed 1, removed 0, errors 0, held no; 1 signalled\\.$`,
        ),
        out.join('\n'),
      );
      const usage: string[] = [];
      assert.equal(await runCli(['poll'], { out: (l) => usage.push(l), err: (l) => usage.push(l) }), 2);
    } finally {
      await deleteSourceSchedule(h.client, h.sourceId);
    }
  });

  test(`reprovision --query over ${PERSONS} persons completes after the CLI is interrupted and restarted`, async () => {
    const env = { ...process.env, TENURE_TASK_QUEUE: `tenure-test-${h.sourceId}`, TENURE_OPERATOR: 'bulk-test' };
    const query = `SourceId = '${h.sourceId}'`;
    const args = ['reprovision', '--query', query, '--concurrency', '4', '--reason', 'bulk test'];
    const workflowId = bulkWorkflowId(query);

    const first = cli(args, env);
    // Wait for real progress (a plain line, not a bar: the output is piped), then interrupt.
    const progressed = await eventually(
      async () => first.lines.find((l) => /^reprovision: ([1-9]\d*)\/500$/.test(l)),
      (l) => l !== undefined,
      180_000,
      100,
    );
    assert.ok(progressed, `progress before the interrupt:\n${first.lines.join('\n')}\n${first.errors.join('')}`);
    assert.match(first.lines[0] ?? '', /^Started reprovision reprovision-bulk-/);
    assert.ok(!first.lines.some((l) => l.includes('\r')), 'no bar redraws in piped output');
    first.child.kill('SIGINT');
    await first.exited;
    const midway = await h.client.workflow.getHandle(workflowId).describe();
    assert.equal(midway.status.name, 'RUNNING', 'the run goes on without the CLI');

    const second = cli(args, env);
    const code = await second.exited;
    const output = `${second.lines.join('\n')}\n${second.errors.join('')}`;
    assert.equal(code, 0, output);
    assert.match(second.lines[0] ?? '', new RegExp(`^Re-attached to the running reprovision ${workflowId}`), output);
    assert.ok(second.lines.includes('reprovision: 500/500 done'), output);
    assert.ok(second.lines.includes('Reprovisioned 500 of 500 persons selected (0 failed).'), output);

    const done = await h.client.workflow.getHandle(workflowId).describe();
    assert.equal(done.status.name, 'COMPLETED');
  });
});
