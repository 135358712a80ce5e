/**
 * The `tenure` command line: argument parsing (node:util parseArgs), help, dispatch, exit codes.
 * `runCli` connects lazily (help and usage errors never touch Temporal or Postgres) and returns
 * the exit code: 0 done, 1 failed (unknown person included), 2 usage error.
 */
import { forgetCommand } from './commands/forget.js';
import { ErasureRefusedError } from '../vault/retention.js';
import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_TIME_ZONE } from '../domain/dates.js';
import { excludeCommand, includeCommand, reprovisionCommand, requestIdFor } from './commands/admin.js';
import { auditCommand, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT } from './commands/audit.js';
import { json, PersonNotFound, UsageError, validatePersonKey, type Out } from './commands/common.js';
import { approveCommand, heldCommand, rejectCommand, validatePollTarget } from './commands/polls.js';
import { statusCommand } from './commands/status.js';
import { bulkReprovisionCommand, selectionFilter } from './commands/bulk.js';
import { personsCommand, personsQuery } from './commands/persons.js';
import { pollNowCommand, validateSourceId } from './commands/poll-now.js';
import { upcomingCommand } from './commands/upcoming.js';
import { explainCommand } from './commands/explain.js';
import { previewCommand } from './commands/preview.js';
import {
  decideRulesApply,
  heldRulesApplies,
  heldRulesLines,
  RULES_APPLY_PREFIX,
  rulesApplyCommand,
  rulesListCommand,
} from './commands/rules.js';
import { LIFECYCLE_TASK_QUEUE } from '../common/task-queues.js';
import { createSources, loadTenureConfig } from '../common/tenure-config.js';
import { FileSource } from '../connectors/sources/file.js';
import type { Person } from '../domain/model.js';
import { tenureSourceRegistry } from '../workers/source-registry.js';
import { createTarget } from '../connectors/targets/descriptors.js';
import { previewAccountLookup } from '../activities/existing-account.js';
import { correlationFor } from '../activities/lifecycle.js';
import type { AccountLookup } from '../activities/preview.js';
import type { TargetConnector } from '../connectors/types.js';
import type { Rules } from '../domain/rules.js';
import type pg from 'pg';
import { CliSession, type CliDeps } from './session.js';

export type { CliDeps };

type Options = NonNullable<ParseArgsConfig['options']>;

interface CommandSpec {
  summary: string;
  usage: string;
  details: string[];
  options: Options;
}

const HELP: Options = { help: { type: 'boolean', short: 'h' } };
const JSON_OPT: Options = { json: { type: 'boolean' } };
const ADMIN: Options = {
  reason: { type: 'string' },
  by: { type: 'string' },
  'request-id': { type: 'string' },
  ...JSON_OPT,
};
const ADMIN_DETAILS = [
  '--reason TEXT       why, for the audit log',
  '--by USER           who asks (default $TENURE_OPERATOR); your OS login is recorded with it',
  '--request-id ID     the update ID; repeating a command with the same ID carries it out once',
  '                    (default: generated, and printed so you can repeat it safely)',
  '--json              machine-readable output',
];

const COMMANDS: Record<string, CommandSpec> = {
  status: {
    summary: 'state, health, names, desired permissions with reasons, accounts, last error',
    usage: 'tenure status <personKey> [--json]',
    details: ['--json              machine-readable output (the StatusView)'],
    options: { ...HELP, ...JSON_OPT },
  },
  upcoming: {
    summary: 'every planned action with its local date and time',
    usage: 'tenure upcoming <personKey> [--json]',
    details: ['--json              machine-readable output (PlannedAction[])'],
    options: { ...HELP, ...JSON_OPT },
  },
  reprovision: {
    summary: 're-evaluate and re-apply everything now, for one person or many; prints the actions taken',
    usage:
      'tenure reprovision <personKey> | --all | --department CODE | --query QUERY [--concurrency N] [--reason TEXT] [--by USER] [--request-id ID] [--json]',
    details: [
      '--all               everyone with a running employee workflow',
      '--department CODE   everyone whose primary contract is in this department',
      '--query QUERY       a Temporal visibility filter, e.g. "LifecycleState = \'active\'"',
      '--concurrency N     persons at once in a bulk run (1-50, default 8)',
      '                    A bulk run is a workflow: interrupting the command does not stop it, and the',
      '                    same command re-attaches to it (the id comes from the selection or --request-id).',
      ...ADMIN_DETAILS,
    ],
    options: {
      ...HELP,
      ...ADMIN,
      all: { type: 'boolean' },
      department: { type: 'string' },
      query: { type: 'string' },
      concurrency: { type: 'string' },
    },
  },
  poll: {
    summary: 'poll a source now: progress, then added, changed, removed, errors, held',
    usage: 'tenure poll <sourceId> [--json]',
    details: [
      'Runs the poll through the source schedule: a poll already running is followed, not doubled.',
      'A poll held by thresholds is reported with the approve and reject commands (exit code 3).',
      '--json              machine-readable output',
    ],
    options: { ...HELP, ...JSON_OPT },
  },
  persons: {
    summary: 'persons with a running employee workflow, by state, health or department',
    usage:
      'tenure persons [--state STATE] [--health failing|ok|retrying|failed|excluded] [--department CODE] [--limit N] [--json]',
    details: [
      '--state STATE       pending, prehire, active, leaver, deleted or rescinded',
      '--health HEALTH     failing (failed or retrying), ok, retrying, failed or excluded',
      '--department CODE   department of the primary contract',
      '--limit N           at most N persons (default 1000)',
      '--json              machine-readable output',
    ],
    options: {
      ...HELP,
      ...JSON_OPT,
      state: { type: 'string' },
      health: { type: 'string' },
      department: { type: 'string' },
      limit: { type: 'string' },
    },
  },
  exclude: {
    summary: 'freeze the person: no changes until included',
    usage: 'tenure exclude <personKey> [--reason TEXT] [--by USER] [--request-id ID] [--json]',
    details: ADMIN_DETAILS,
    options: { ...HELP, ...ADMIN },
  },
  include: {
    summary: 'unfreeze the person and catch up on what was held back',
    usage: 'tenure include <personKey> [--reason TEXT] [--by USER] [--request-id ID] [--json]',
    details: ADMIN_DETAILS,
    options: { ...HELP, ...ADMIN },
  },
  forget: {
    summary: "erasure request: forget the person's data once no account exists (refused before)",
    usage: 'tenure forget <personKey> [--reason TEXT] [--by USER] [--json]',
    details: [
      '--reason TEXT       why (e.g. the request reference), for the audit log',
      '--by USER           who asks (default $TENURE_OPERATOR); your OS login is recorded with it',
      '--json              machine-readable output',
    ],
    options: { ...HELP, ...JSON_OPT, reason: { type: 'string' }, by: { type: 'string' } },
  },
  audit: {
    summary: 'the audit log (Postgres) of one person or across persons, filtered, oldest first; CSV',
    usage:
      'tenure audit [<personKey>] [--target T] [--action A] [--outcome O] [--rules-version V] [--limit N] [--since T] [--until T] [--json | --csv]',
    details: [
      '--target T          only this target (ad, entra, topdesk, mail, source:raet, ...)',
      '--action A          only this action (create, enable, grantPermission, ...)',
      '--outcome O         only this outcome (success, failed, unchanged, ...)',
      '--rules-version V   only changes made by a rule of this rules version',
      '--csv               CSV with a header row (formula-safe), for a spreadsheet',
      `--limit N           the latest N entries (default ${DEFAULT_AUDIT_LIMIT}, at most ${MAX_AUDIT_LIMIT})`,
      '--since T           from this date or timestamp (inclusive), e.g. 2027-02-01 or 2027-02-01T07:00+01:00',
      '--until T           before this date or timestamp',
      '--json              machine-readable output',
    ],
    options: {
      ...HELP,
      ...JSON_OPT,
      limit: { type: 'string', short: 'n' },
      since: { type: 'string' },
      until: { type: 'string' },
      target: { type: 'string' },
      action: { type: 'string' },
      outcome: { type: 'string' },
      'rules-version': { type: 'string' },
      csv: { type: 'boolean' },
    },
  },
  held: {
    summary: 'polls and rules applies held over a threshold, waiting for approve or reject, with the limits',
    usage: 'tenure held [--json]',
    details: ['--json              machine-readable output'],
    options: { ...HELP, ...JSON_OPT },
  },
  preview: {
    summary: 'what the rules would change now, whole tenant: accounts and permissions per target, totals first',
    usage: 'tenure preview [--rules FILE] [--source ID] [--only SOURCE] [--json | --csv FILE]',
    details: [
      '--rules FILE        preview this rules file (default: the version in force)',
      '--source ID         a fresh read of this source (go-live) instead of the persons Tenure knows',
      '--only SOURCE       only the known persons of this source (repeatable)',
      '--json              machine-readable output (totals and every action)',
      '--csv FILE          every action to FILE (CSV); totals on the terminal',
      'Read-only: changes nothing. Needs DATABASE_URL and Temporal (what each employee workflow holds).',
    ],
    options: {
      ...HELP,
      ...JSON_OPT,
      rules: { type: 'string' },
      source: { type: 'string' },
      only: { type: 'string', multiple: true },
      csv: { type: 'string' },
    },
  },
  rules: {
    summary: 'rules versions: `rules apply FILE` puts a new version in force for everyone; `rules list`',
    usage: 'tenure rules apply <FILE> [--reason TEXT] [--by USER] [--no-wait] [--json]  |  tenure rules list [--json]',
    details: [
      'apply: validates FILE, stores it in the vault (text, hash, who, when, reason) and re-evaluates every',
      '       employee workflow with it; held for `tenure approve` when it would revoke, disable or delete',
      '       more than TENURE_RULES_APPLY_LIMITS allows. Shows progress until done or held.',
      '--reason TEXT       why, for the vault and the audit log',
      '--by USER           who applies (default $TENURE_OPERATOR, else your login name)',
      '--no-wait           return once the apply is started',
      '--batch-size N      employee workflows signalled per step (default 200)',
      '--json              machine-readable output',
    ],
    options: {
      ...HELP,
      ...JSON_OPT,
      reason: { type: 'string' },
      by: { type: 'string' },
      'no-wait': { type: 'boolean' },
      'batch-size': { type: 'string' },
    },
  },
  explain: {
    summary: 'why a person has or lacks each entitlement: rule, rules version, contract, condition values',
    usage: 'tenure explain <personKey> [TARGET PERMISSION] [--rules FILE] [--json]',
    details: [
      '--rules FILE        explain under this rules file (default: the version in force)',
      '--json              machine-readable output',
    ],
    options: { ...HELP, ...JSON_OPT, rules: { type: 'string' } },
  },
  approve: {
    summary: 'let a held poll or rules apply go on',
    usage:
      'tenure approve <pollWorkflowId|sourceId|rulesApplyWorkflowId> [--reason TEXT] [--by USER] [--request-id ID] [--json]',
    details: ADMIN_DETAILS,
    options: { ...HELP, ...ADMIN },
  },
  reject: {
    summary: 'drop a held poll (nothing signalled, last snapshot stays) or rules apply (version not in force)',
    usage:
      'tenure reject <pollWorkflowId|sourceId|rulesApplyWorkflowId> [--reason TEXT] [--by USER] [--request-id ID] [--json]',
    details: ADMIN_DETAILS,
    options: { ...HELP, ...ADMIN },
  },
};

const POLL_COMMANDS = new Set(['held', 'approve', 'reject']);
const RULES_COMMANDS = new Set(['preview', 'rules', 'explain']);

export function mainHelp(): string[] {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'tenure: operate the Tenure identity lifecycle engine',
    '',
    'Usage: tenure <command> [<personKey>] [options]     (person keys look like file:1001)',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `tenure <command> --help` for its options.',
    '',
    'Environment:',
    '  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (and TEMPORAL_TLS_*, TEMPORAL_API_KEY)   the Temporal service',
    '  DATABASE_URL        the vault (Postgres), for audit, preview, rules, explain',
    "  TENURE_TASK_QUEUE   the workers' task queue (rules apply, preview)",
    '  TENURE_RULES_SET    the rule set in the vault (default `default`)',
    `  TENURE_TIME_ZONE    zone for times shown (default ${DEFAULT_TIME_ZONE})`,
    '  TENURE_OPERATOR     default for --by',
    '',
    'Exit codes: 0 done, 1 failed (for example an unknown person), 2 usage error, 3 poll held.',
  ];
}

export function commandHelp(name: string): string[] {
  const c = COMMANDS[name];
  if (!c) return mainHelp();
  return [
    `Usage: ${c.usage}`,
    '',
    c.summary,
    '',
    'Options:',
    ...c.details.map((d) => `  ${d}`),
    '  -h, --help          this help',
  ];
}

export async function runCli(argv: string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = deps.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const env = deps.env ?? process.env;
  const [command, ...rest] = argv;

  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    for (const line of topic ? commandHelp(topic) : mainHelp()) out(line);
    return command === undefined ? 2 : 0;
  }
  const spec = COMMANDS[command];
  if (!spec) {
    err(`tenure: unknown command ${JSON.stringify(command)}`);
    err(`Commands: ${Object.keys(COMMANDS).join(', ')}. Run \`tenure --help\`.`);
    return 2;
  }

  let session: CliSession | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      for (const line of commandHelp(command)) out(line);
      return 0;
    }
    session = new CliSession(values, env, deps, out);
    if (RULES_COMMANDS.has(command) || (POLL_COMMANDS.has(command) && positionals[0]?.startsWith(RULES_APPLY_PREFIX)))
      return await runRulesCommand(session, command, positionals);
    if (POLL_COMMANDS.has(command)) return await runPollCommand(session, command, positionals);
    if (command === 'poll') {
      if (positionals.length !== 1) throw new UsageError(`one source id expected, got ${positionals.length}`);
      const sourceId = validateSourceId(positionals[0]);
      const r = await pollNowCommand({ client: await session.temporal(), out }, sourceId, {
        json: session.asJson,
        ...(deps.tty ? { tty: deps.tty } : {}),
      });
      return r.state === 'held' ? 3 : r.summary.outcome === 'failed' ? 1 : 0;
    }
    if (command === 'persons' || (command === 'reprovision' && isBulk(values)))
      return await runManyCommand(session, command, positionals);
    return await runPersonCommand(session, command, positionals);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`tenure ${command}: ${e.message}`);
      err(`Usage: ${spec.usage}   (tenure ${command} --help)`);
      return 2;
    }
    if (e instanceof ErasureRefusedError) {
      err(`tenure ${command}: refused: ${e.message}`);
      return 1;
    }
    if (e instanceof PersonNotFound) {
      err(`tenure ${command}: ${e.message}`);
      return 1;
    }
    err(`tenure ${command}: failed: ${describeError(e)}`);
    return 1;
  } finally {
    await session?.close();
  }
}

/** Commands about one person (audit also across persons). */
async function runPersonCommand(s: CliSession, command: string, positionals: string[]): Promise<number> {
  if (positionals.length > 1) throw new UsageError(`one person key expected, got ${positionals.length}`);
  // audit also works across persons; every other command needs one.
  const personKey = command === 'audit' && positionals.length === 0 ? undefined : validatePersonKey(positionals[0]);
  const timeZone = s.timeZone();

  if (command === 'audit') {
    const limitText = s.str('limit');
    if (limitText !== undefined && !/^\d+$/.test(limitText)) {
      throw new UsageError(`--limit: a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
    }
    await auditCommand({ pool: s.vault(1, 'the vault, for audit'), out: s.out, timeZone }, personKey, {
      limit: limitText === undefined ? undefined : Number(limitText),
      since: s.str('since'),
      until: s.str('until'),
      target: s.str('target'),
      action: s.str('action'),
      outcome: s.str('outcome'),
      rulesVersion: s.str('rules-version'),
      json: s.asJson,
      csv: s.values.csv === true,
    });
    return 0;
  }
  if (personKey === undefined) throw new UsageError('a person key is needed');

  if (command === 'forget') {
    const pool = s.vault();
    const { requestedBy, reason, json } = s.adminOptions();
    await forgetCommand({ client: await s.temporal(), pool, out: s.out }, personKey, { requestedBy, reason, json });
    return 0;
  }

  const ctx = { client: await s.temporal(), out: s.out, timeZone };
  switch (command) {
    case 'status':
      await statusCommand(ctx, personKey, { json: s.asJson });
      break;
    case 'upcoming':
      await upcomingCommand(ctx, personKey, { json: s.asJson });
      break;
    case 'reprovision':
    case 'exclude':
    case 'include': {
      const run = { reprovision: reprovisionCommand, exclude: excludeCommand, include: includeCommand }[command];
      await run(ctx, personKey, s.adminOptions());
      break;
    }
  }
  return 0;
}

async function runPollCommand(s: CliSession, command: string, positionals: string[]): Promise<number> {
  const timeZone = s.timeZone();
  if (command === 'held') {
    if (positionals.length > 0) throw new UsageError('held takes no arguments');
  } else {
    if (positionals.length !== 1)
      throw new UsageError(`one poll workflow id or source id expected, got ${positionals.length}`);
    validatePollTarget(positionals[0]);
  }
  const client = await s.temporal();
  const ctx = { client, out: s.out, timeZone };
  if (command === 'held') {
    const polls = await heldCommand(ctx, { json: s.asJson });
    const applies = await heldRulesApplies(client);
    if (s.asJson) {
      if (applies.length) json(s.out, { rulesApplies: applies });
    } else {
      if (polls.length === 0 && applies.length) s.out('(No held polls.)');
      for (const line of heldRulesLines(applies)) s.out(line);
    }
    return 0;
  }
  await (command === 'approve' ? approveCommand : rejectCommand)(ctx, positionals[0] as string, s.adminOptions());
  return 0;
}

function isBulk(values: Record<string, unknown>): boolean {
  return values.all === true || values.department !== undefined || values.query !== undefined;
}

function wholeNumber(text: string | undefined, option: string, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max)
    throw new UsageError(`${option}: a whole number from 1 to ${max}`);
  return Number(text);
}

/** Commands over many persons: `persons` and the bulk `reprovision`. */
async function runManyCommand(s: CliSession, command: string, positionals: string[]): Promise<number> {
  if (positionals.length > 0)
    throw new UsageError(`no person key with ${command === 'persons' ? 'persons' : '--all, --department or --query'}`);
  if (command === 'persons') {
    const opts = {
      state: s.str('state'),
      health: s.str('health'),
      department: s.str('department'),
      limit: wholeNumber(s.str('limit'), '--limit', 100_000),
      json: s.asJson,
    };
    personsQuery(opts); // usage errors before connecting
    await personsCommand({ client: await s.temporal(), out: s.out }, opts);
    return 0;
  }
  const department = s.str('department');
  const query = s.str('query');
  const selection = {
    ...(s.values.all === true ? { all: true } : {}),
    ...(department !== undefined ? { department } : {}),
    ...(query !== undefined ? { query } : {}),
  };
  selectionFilter(selection); // usage errors before connecting
  const client = await s.temporal();
  const { requestedBy, reason, requestId } = s.adminOptions();
  if (requestId !== undefined) requestIdFor('reprovision', requestId); // validates it
  const result = await bulkReprovisionCommand({ client, out: s.out }, selection, {
    requestedBy,
    ...(reason ? { reason } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    concurrency: wholeNumber(s.str('concurrency'), '--concurrency', 50),
    json: s.asJson,
    ...(s.env.TENURE_TASK_QUEUE ? { taskQueue: s.env.TENURE_TASK_QUEUE } : {}),
    ...(s.deps.tty ? { tty: s.deps.tty } : {}),
  });
  return result.failed > 0 ? 1 : 0;
}

async function runRulesCommand(s: CliSession, command: string, positionals: string[]): Promise<number> {
  const { env, out } = s;
  const timeZone = s.timeZone();
  const rulesSet = env.TENURE_RULES_SET || 'default';
  const taskQueue = env.TENURE_TASK_QUEUE || LIFECYCLE_TASK_QUEUE;

  if (command === 'approve' || command === 'reject') {
    if (positionals.length !== 1)
      throw new UsageError(`one rules apply workflow id expected, got ${positionals.length}`);
    const client = await s.temporal();
    await decideRulesApply({ client, out, timeZone }, command, positionals[0] as string, s.adminOptions());
    return 0;
  }
  if (command === 'rules') {
    const [sub, file, ...extra] = positionals;
    if (sub === 'list') {
      if (file !== undefined) throw new UsageError('rules list takes no arguments');
      await rulesListCommand({ pool: s.vault(), out, rulesSet, timeZone }, { json: s.asJson });
      return 0;
    }
    if (sub !== 'apply') throw new UsageError('expected `rules apply FILE` or `rules list`');
    if (!file || extra.length) throw new UsageError('rules apply takes one rules file');
    const pool = s.vault();
    const client = await s.temporal();
    const { requestedBy, reason, json } = s.adminOptions();
    const r = await rulesApplyCommand(
      { client, pool, out, taskQueue, rulesSet, timeZone, tty: process.stderr.isTTY === true && !json },
      file,
      {
        requestedBy,
        osUser: operatorName(),
        reason,
        noWait: s.values['no-wait'] === true,
        batchSize: batchSizeOf(s.str('batch-size')),
        json,
        env,
      },
    );
    return r.progress?.phase === 'rejected' ? 1 : 0;
  }
  if (command === 'explain') {
    if (positionals.length !== 1 && positionals.length !== 3)
      throw new UsageError('expected a person key, optionally followed by TARGET PERMISSION');
    const personKey = validatePersonKey(positionals[0]);
    const pool = s.vault();
    const client = await s.temporal();
    await explainCommand({ client, pool, out, rulesSet, env }, personKey, {
      target: positionals[1],
      permission: positionals[2],
      rulesFile: s.str('rules'),
      json: s.asJson,
    });
    return 0;
  }
  // preview
  if (positionals.length) throw new UsageError('preview takes no arguments (options only)');
  if (s.asJson && s.str('csv')) throw new UsageError('--json and --csv: choose one');
  const sourceId = s.str('source');
  const pool = s.vault();
  const client = await s.temporal();
  await previewCommand(
    {
      client,
      pool,
      out,
      taskQueue,
      rulesSet,
      timeZone,
      env,
      // Notes go to stderr: stdout may be --json.
      accounts: (rules) =>
        previewConnectors(rules, pool, env, s.deps.err ?? ((line: string) => process.stderr.write(`${line}\n`))),
      correlationValue: correlationFor(env.TENURE_CORRELATION, await sourceCount(env)),
    },
    {
      rulesFile: s.str('rules'),
      source: sourceId ? { id: sourceId, fetch: () => readSource(sourceId, env) } : undefined,
      only: Array.isArray(s.values.only) ? (s.values.only as string[]) : undefined,
      json: s.asJson,
      csv: s.str('csv'),
    },
  );
  return 0;
}

function batchSizeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1000)
    throw new UsageError('--batch-size: a whole number from 1 to 1000');
  return Number(text);
}

/**
 * The rules' enabled targets as the workers build them, for read-only look-ups (an existing account a
 * create would meet). A target whose settings are missing here is not looked up, and says so.
 */
function previewConnectors(
  rules: Rules,
  pool: pg.Pool,
  env: NodeJS.ProcessEnv,
  out: Out,
): { lookup: AccountLookup; close: () => Promise<void> } {
  const targets = new Map<string, TargetConnector>();
  for (const t of rules.targets.filter((x) => x.enabled)) {
    try {
      targets.set(t.id, createTarget(t, env, { pool }));
    } catch (err) {
      out(`(target ${t.id}: existing accounts not looked up, creates shown as creates: ${(err as Error).message})`);
    }
  }
  return {
    lookup: previewAccountLookup({ pool, targets, rules }),
    close: async () => {
      for (const c of targets.values()) await c.close().catch(() => undefined);
    },
  };
}

/** How many sources the workers run (the correlation value depends on it, TENURE_CORRELATION=auto). */
async function sourceCount(env: NodeJS.ProcessEnv): Promise<number> {
  const ids = new Set<string>(env.TENURE_FILE_SOURCE ? [env.TENURE_FILE_SOURCE_ID ?? 'file'] : []);
  if (env.TENURE_CONFIG_FILE) {
    const config = await loadTenureConfig(env.TENURE_CONFIG_FILE, { registry: tenureSourceRegistry(), env });
    for (const id of createSources(config).keys()) ids.add(id);
  }
  return ids.size;
}

/** A fresh read of one configured source (TENURE_FILE_SOURCE or the TENURE_CONFIG_FILE sources). */
async function readSource(id: string, env: NodeJS.ProcessEnv): Promise<Person[]> {
  if (env.TENURE_FILE_SOURCE && id === (env.TENURE_FILE_SOURCE_ID ?? 'file'))
    return (await new FileSource({ id, path: env.TENURE_FILE_SOURCE }).fetchAll()).persons;
  if (env.TENURE_CONFIG_FILE) {
    const config = await loadTenureConfig(env.TENURE_CONFIG_FILE, { registry: tenureSourceRegistry(), env });
    const source = createSources(config).get(id);
    if (source) return (await source.fetchAll()).persons;
  }
  throw new UsageError(
    `--source ${id}: no such source (TENURE_FILE_SOURCE with TENURE_FILE_SOURCE_ID, or TENURE_CONFIG_FILE)`,
  );
}

function operatorName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

function describeError(e: unknown): string {
  const parts: string[] = [];
  for (let x: unknown = e, depth = 0; x && depth < 4; x = (x as { cause?: unknown }).cause, depth++) {
    const msg = x instanceof Error ? x.message : String(x);
    if (msg && !parts.includes(msg)) parts.push(msg);
  }
  return parts.join(': ') || 'unknown error';
}
