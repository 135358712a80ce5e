/**
 * Records the replay fixtures in test/fixtures/histories/ (read by test/replay.test.ts) by running
 * a short lifecycle through the real stack: the Tenure workers in this process, the test servers
 * (Temporal, PostgreSQL, Samba AD) and an SMTP sink, with timings shortened to seconds.
 *
 * Synthetic people: Zoë is hired (start yesterday, so created and enabled at once), renamed, and
 * leaves (disabled at today's disable moment, deleted seconds later: the workflow completes);
 * Bram is hired for today (pending → created disabled → enabled by timers) and renamed; their
 * manager Marieke stays active. (One person cannot both start today and leave today: the disable
 * moment is on the day after the last working day.) Recorded: the three employee workflows (the
 * open ones as far as they got) and the three poll workflows. Always WITHOUT payload encryption, so fixtures stay readable.
 *
 *   TENURE_ENV=test bash scripts/services/all.sh start
 *   set -a; . .run/test/services.env; set +a
 *   node --import tsx scripts/record-histories.ts [output dir]     # about 1.5 minutes
 *
 * Then run `node --import tsx --test test/replay.test.ts` and commit the changed fixtures.
 * A fixture of a new, patched shape is a copy of a recorded one under a name of its own (the
 * employee-v3-one-mail-per-event-* files: the manager mails of the patch `one-mail-per-event`;
 * employee-v4-reconcile-step-*: one reconcile activity per target, patch `reconcile-account-step`;
 * employee-v5-local-bookkeeping-*: local planning, patch `local-planning-and-reservation`;
 * employee-v6-pass-hash-*: accounts record the pass's snapshot, patch `record-the-hash-the-pass-built-from`; poll-v2-paced-bulk-*:
 * recorded with TENURE_BULK_FROM=2 TENURE_BULK_IN_FLIGHT=2, patch `paced-bulk-signals`;
 * employee-role-in-plan-*: plans carrying each target's role from its descriptor, no patch).
 * Record into a scratch directory (the first argument) so the fixtures of older shapes stay.
 */
// No encryption for the fixtures: cleared before anything reads the environment.
for (const k of ['TENURE_ENCRYPTION_KEYS', 'TENURE_ENCRYPTION_KEYS_FILE', 'TENURE_ENCRYPTION_KEY_ID'])
  delete process.env[k];

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { POLL_WORKFLOW_TYPE, type PollSummary, type StatusView } from '../common/messages.js';
import { addDays } from '../domain/dates.js';
import { employeeWorkflowId } from '../domain/model.js';
import { allStaffRules } from '../test/support/rules-fixtures.js';
import { eventually, startHarness, wallClockIn, type Harness, type Row } from '../test/support/tenure-harness.js';

const OUT = process.argv[2] ?? fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));

function rules(enableAt: string, disableAt: string): string {
  return allStaffRules('replay-fixtures-1', {
    enableAt,
    disableAt,
    createSecondsBeforeStart: 15,
    deleteAfterSeconds: 8,
  });
}

/**
 * Fixture format: the protobufjs object form of temporal.api.history.v1.History, with 64-bit
 * numbers and enums as strings and bytes in base64 (test/replay.test.ts reads it back with
 * History.fromObject). Not the CLI's `--output json` (proto3 JSON): the SDK's converter for that,
 * historyToJSON/historyFromJSON, fails in this install ("type must be a Type": npm gave each
 * @temporalio package its own protobufjs 8 copy).
 */
const HISTORY = proto.temporal.api.history.v1.History;
const FIXTURE_FORMAT = { longs: String, enums: String, bytes: String } as const;

const log = (line: string) => console.log(`[record] ${line}`);

async function main(): Promise<void> {
  // Enable in 35 s, disable in 80 s (local wall clock of the rules' zone). Avoid recording just
  // before midnight: the two moments must fall on the same day.
  const enable = wallClockIn(35);
  const disable = wallClockIn(80);
  if (enable.date !== disable.date)
    throw new Error('too close to midnight (Europe/Amsterdam); try again in two minutes');
  const h: Harness = await startHarness(rules(enable.time, disable.time));
  const polls: string[] = [];
  /** h.poll(), then the poll workflow's id from visibility (the harness picks the id). */
  const poll = async (): Promise<PollSummary> => {
    const summary = await h.poll();
    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const w of h.client.workflow.list({ query: `WorkflowType = '${POLL_WORKFLOW_TYPE}'` }))
          if (w.workflowId.startsWith(`poll-${h.sourceId}-`) && !polls.includes(w.workflowId)) ids.push(w.workflowId);
        return ids;
      },
      (ids) => ids.length === 1,
      15_000,
      250,
    );
    if (found.length !== 1) throw new Error(`expected one new poll workflow, found ${found.length}`);
    polls.push(found[0]!);
    return summary;
  };
  try {
    const manager = h.key();
    const leaver = h.key();
    const hire = h.key();
    const dept = { dept: 'ZORG', deptName: 'Zorg, Wijk + Thuis', location: 'Utrecht' };
    const managerRow: Row = {
      key: manager,
      nick: 'Marieke',
      family: 'Bakker',
      contract: `${manager}c1`,
      start: '2020-01-01',
      ...dept,
    };
    // Hired with a start yesterday (first seen now: created and enabled at once), renamed, then
    // leaves: a one-day contract ending yesterday is disabled at today's disable moment.
    const leaverRow: Row = {
      key: leaver,
      nick: 'Zoë',
      prefix: 'van den',
      family: "D'Angelo",
      contract: `${leaver}c1`,
      start: addDays(disable.date, -1),
      ...dept,
      manager,
    };
    // Hired for today: pending, created (disabled) and enabled by the workflow's timers; renamed.
    const hireRow: Row = {
      key: hire,
      nick: 'Bram',
      family: 'de Wit',
      contract: `${hire}c1`,
      start: enable.date,
      ...dept,
      manager,
    };
    const leaverKey = `${h.sourceId}:${leaver}`;
    const hireKey = `${h.sourceId}:${hire}`;
    const state = (key: string, ok: (s: StatusView) => boolean, what: string, ms: number) =>
      eventually(() => h.status(key), ok, ms, 500).then((s) => {
        if (!ok(s)) throw new Error(`${key}: ${what} not reached (state ${s.state}, ${s.displayName})`);
        log(`${key}: ${s.state} as ${s.displayName}`);
      });

    h.writeExport([managerRow, leaverRow, hireRow]);
    log(`poll 1 (hires): ${JSON.stringify(await poll())}`);
    await state(leaverKey, (s) => s.state === 'active', 'active', 60_000);
    await state(hireKey, (s) => s.state === 'prehire' || s.state === 'active', 'prehire', 60_000);
    await state(hireKey, (s) => s.state === 'active', 'active', 60_000);

    const renamedLeaver = { ...leaverRow, family: 'Jansen', prefix: undefined };
    const renamedHire = { ...hireRow, family: 'de Wit-Visser' };
    h.writeExport([managerRow, renamedLeaver, renamedHire]);
    log(`poll 2 (name changes): ${JSON.stringify(await poll())}`);
    await state(leaverKey, (s) => s.displayName?.includes('Jansen') === true, 'rename', 30_000);
    await state(hireKey, (s) => s.displayName?.includes('Visser') === true, 'rename', 30_000);

    if (Date.now() > disable.at - 8_000) throw new Error('too late for the leaver step; run again');
    h.writeExport([managerRow, { ...renamedLeaver, end: addDays(disable.date, -1) }, renamedHire]);
    log(`poll 3 (leaver): ${JSON.stringify(await poll())}`);

    const handle = h.client.workflow.getHandle(employeeWorkflowId(leaverKey));
    const result = (await Promise.race([
      handle.result(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the leaver workflow did not complete in time')), 90_000),
      ),
    ])) as { state?: string };
    log(`leaver workflow completed: ${result.state}`);

    const wanted: [string, string][] = [
      ['employee-hired-renamed-leaver-deleted', employeeWorkflowId(leaverKey)],
      ['employee-hire-prehire-enable-renamed', employeeWorkflowId(hireKey)],
      ['employee-manager-active', employeeWorkflowId(`${h.sourceId}:${manager}`)],
      ...polls.map((id, i): [string, string] => [`poll-${i + 1}-${['hires', 'renames', 'leaver'][i]}`, id]),
    ];
    mkdirSync(OUT, { recursive: true });
    // Only the files written below are replaced: fixtures of older shapes (copied in under their own
    // names, e.g. employee-v2-*, employee-v3-*) stay, so old histories keep being replayed.
    const names = new Set(wanted.map(([name]) => `${name}.json`));
    for (const f of readdirSync(OUT)) if (names.has(f)) rmSync(join(OUT, f));
    for (const [name, workflowId] of wanted) {
      const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
      const json = HISTORY.toObject(HISTORY.fromObject(history), FIXTURE_FORMAT) as { events: unknown[] };
      writeFileSync(join(OUT, `${name}.json`), JSON.stringify(json, null, 1) + '\n');
      log(`${name}.json: ${json.events.length} events (${workflowId})`);
    }
  } finally {
    await h.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[record] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
