/**
 * The `tenure` command line: argument parsing (node:util parseArgs), help, dispatch, exit codes.
 * `runCli` connects lazily (help and usage errors never touch Temporal or Postgres) and returns
 * the exit code: 0 done, 1 failed (unknown person included), 2 usage error.
 */
import { requester } from './requester.js';
import { forgetCommand } from './commands/forget.js';
import { ErasureRefusedError } from '../vault/retention.js';
import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from '../domain/dates.js';
import { connectClient } from '../workers/temporal-connection.js';
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
import { createTarget } from '../workers/target-registry.js';
import { previewAccountLookup } from '../activities/existing-account.js';
import { correlationFor } from '../activities/lifecycle.js';
import type { AccountLookup } from '../activities/preview.js';
import type { TargetConnector } from '../connectors/types.js';
import type { Rules } from '../domain/rules.js';

export interface CliDeps {
  out?: Out;
  err?: Out;
  env?: NodeJS.ProcessEnv;
  /** Defaults to `connectClient()` from TEMPORAL_* variables; the CLI closes it when done. */
  connectTemporal?: () => Promise<Client>;
  /** Defaults to a pool on DATABASE_URL; the CLI ends it when done. */
  connectPostgres?: () => pg.Pool;
  /** Whether the CLI closes what `connectTemporal`/`connectPostgres` gave it (default true). */
  closeConnections?: boolean;
  /** A terminal for progress bars (cli/tenure.ts passes stderr when it is one); absent: plain lines. */
  tty?: NodeJS.WriteStream;
}

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

  let client: Client | undefined;
  let pool: pg.Pool | undefined;
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
    if (RULES_COMMANDS.has(command) || (POLL_COMMANDS.has(command) && positionals[0]?.startsWith(RULES_APPLY_PREFIX)))
      return await runRulesCommand(
        command,
        positionals,
        values,
        env,
        deps,
        out,
        (c) => (client = c),
        (p) => (pool = p),
      );
    if (POLL_COMMANDS.has(command))
      return await runPollCommand(command, positionals, values, env, deps, out, (c) => (client = c));
    if (command === 'poll') {
      if (positionals.length !== 1) throw new UsageError(`one source id expected, got ${positionals.length}`);
      const sourceId = validateSourceId(positionals[0]);
      client = await (deps.connectTemporal ?? (() => connectClient()))();
      const r = await pollNowCommand({ client, out }, sourceId, {
        json: values.json === true,
        ...(deps.tty ? { tty: deps.tty } : {}),
      });
      return r.state === 'held' ? 3 : r.summary.outcome === 'failed' ? 1 : 0;
    }
    if (command === 'persons' || (command === 'reprovision' && isBulk(values)))
      return await runManyCommand(command, positionals, values, env, deps, out, (c) => (client = c));
    if (positionals.length > 1) throw new UsageError(`one person key expected, got ${positionals.length}`);
    // audit also works across persons; every other command needs one.
    const personKey = command === 'audit' && positionals.length === 0 ? undefined : validatePersonKey(positionals[0]);
    const timeZone = env.TENURE_TIME_ZONE || DEFAULT_TIME_ZONE;
    if (!isValidTimeZone(timeZone))
      throw new UsageError(`TENURE_TIME_ZONE: unknown time zone ${JSON.stringify(timeZone)}`);
    const str = (name: string): string | undefined => {
      const v = values[name];
      return typeof v === 'string' ? v : undefined;
    };
    const asJson = values.json === true;

    if (command === 'audit') {
      const limitText = str('limit');
      if (limitText !== undefined && !/^\d+$/.test(limitText)) {
        throw new UsageError(`--limit: a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
      }
      if (!deps.connectPostgres && !env.DATABASE_URL) throw new Error('DATABASE_URL is not set (the vault, for audit)');
      pool = deps.connectPostgres
        ? deps.connectPostgres()
        : new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
      await auditCommand({ pool, out, timeZone }, personKey, {
        limit: limitText === undefined ? undefined : Number(limitText),
        since: str('since'),
        until: str('until'),
        target: str('target'),
        action: str('action'),
        outcome: str('outcome'),
        rulesVersion: str('rules-version'),
        json: asJson,
        csv: values.csv === true,
      });
      return 0;
    }
    if (personKey === undefined) throw new UsageError('a person key is needed');

    if (command === 'forget') {
      if (!deps.connectPostgres && !env.DATABASE_URL) throw new Error('DATABASE_URL is not set (the vault)');
      pool = deps.connectPostgres
        ? deps.connectPostgres()
        : new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
      client = await (deps.connectTemporal ?? (() => connectClient()))();
      const reason = str('reason')?.trim();
      await forgetCommand({ client, pool: pool as pg.Pool, out }, personKey, {
        requestedBy: requester(str('by'), env),
        reason: reason || undefined,
        json: asJson,
      });
      return 0;
    }

    const connect = deps.connectTemporal ?? (() => connectClient());
    client = await connect();
    const ctx = { client, out, timeZone };
    switch (command) {
      case 'status':
        await statusCommand(ctx, personKey, { json: asJson });
        break;
      case 'upcoming':
        await upcomingCommand(ctx, personKey, { json: asJson });
        break;
      case 'reprovision':
      case 'exclude':
      case 'include': {
        const reason = str('reason')?.trim();
        const opts = {
          requestedBy: requester(str('by'), env),
          reason: reason || undefined,
          requestId: str('request-id'),
          json: asJson,
        };
        const run = { reprovision: reprovisionCommand, exclude: excludeCommand, include: includeCommand }[command];
        await run(ctx, personKey, opts);
        break;
      }
    }
    return 0;
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
    if (deps.closeConnections !== false) {
      await client?.connection.close().catch(() => undefined);
      await pool?.end().catch(() => undefined);
    }
  }
}

async function runPollCommand(
  command: string,
  positionals: string[],
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  deps: CliDeps,
  out: Out,
  keep: (client: Client) => void,
): Promise<number> {
  const timeZone = env.TENURE_TIME_ZONE || DEFAULT_TIME_ZONE;
  if (!isValidTimeZone(timeZone))
    throw new UsageError(`TENURE_TIME_ZONE: unknown time zone ${JSON.stringify(timeZone)}`);
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const asJson = values.json === true;
  if (command === 'held') {
    if (positionals.length > 0) throw new UsageError('held takes no arguments');
  } else {
    if (positionals.length !== 1)
      throw new UsageError(`one poll workflow id or source id expected, got ${positionals.length}`);
    validatePollTarget(positionals[0]);
  }
  const client = await (deps.connectTemporal ?? (() => connectClient()))();
  keep(client);
  const ctx = { client, out, timeZone };
  if (command === 'held') {
    const polls = await heldCommand(ctx, { json: asJson });
    const applies = await heldRulesApplies(client);
    if (asJson) {
      if (applies.length) json(out, { rulesApplies: applies });
    } else {
      if (polls.length === 0 && applies.length) out('(No held polls.)');
      for (const line of heldRulesLines(applies)) out(line);
    }
    return 0;
  }
  const reason = str('reason')?.trim();
  const opts = {
    requestedBy: requester(str('by'), env),
    reason: reason || undefined,
    requestId: str('request-id'),
    json: asJson,
  };
  await (command === 'approve' ? approveCommand : rejectCommand)(ctx, positionals[0] as string, opts);
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
async function runManyCommand(
  command: string,
  positionals: string[],
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  deps: CliDeps,
  out: Out,
  keep: (client: Client) => void,
): Promise<number> {
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  if (positionals.length > 0)
    throw new UsageError(`no person key with ${command === 'persons' ? 'persons' : '--all, --department or --query'}`);
  const asJson = values.json === true;
  if (command === 'persons') {
    const opts = {
      state: str('state'),
      health: str('health'),
      department: str('department'),
      limit: wholeNumber(str('limit'), '--limit', 100_000),
      json: asJson,
    };
    personsQuery(opts); // usage errors before connecting
    const client = await (deps.connectTemporal ?? (() => connectClient()))();
    keep(client);
    await personsCommand({ client, out }, opts);
    return 0;
  }
  const selection = {
    ...(values.all === true ? { all: true } : {}),
    ...(str('department') !== undefined ? { department: str('department') } : {}),
    ...(str('query') !== undefined ? { query: str('query') } : {}),
  };
  selectionFilter(selection); // usage errors before connecting
  const client = await (deps.connectTemporal ?? (() => connectClient()))();
  keep(client);
  const reason = str('reason')?.trim();
  const requestId = str('request-id');
  if (requestId !== undefined) requestIdFor('reprovision', requestId); // validates it
  const result = await bulkReprovisionCommand({ client, out }, selection, {
    requestedBy: requester(str('by'), env),
    ...(reason ? { reason } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    concurrency: wholeNumber(str('concurrency'), '--concurrency', 50),
    json: asJson,
    ...(env.TENURE_TASK_QUEUE ? { taskQueue: env.TENURE_TASK_QUEUE } : {}),
    ...(deps.tty ? { tty: deps.tty } : {}),
  });
  return result.failed > 0 ? 1 : 0;
}

async function runRulesCommand(
  command: string,
  positionals: string[],
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  deps: CliDeps,
  out: Out,
  keepClient: (client: Client) => void,
  keepPool: (pool: pg.Pool) => void,
): Promise<number> {
  const timeZone = env.TENURE_TIME_ZONE || DEFAULT_TIME_ZONE;
  if (!isValidTimeZone(timeZone))
    throw new UsageError(`TENURE_TIME_ZONE: unknown time zone ${JSON.stringify(timeZone)}`);
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const asJson = values.json === true;
  const rulesSet = env.TENURE_RULES_SET || 'default';
  const taskQueue = env.TENURE_TASK_QUEUE || LIFECYCLE_TASK_QUEUE;
  const requestedBy = () => requester(str('by'), env);
  const connectPool = () => {
    if (!deps.connectPostgres && !env.DATABASE_URL) throw new Error('DATABASE_URL is not set (the vault)');
    const p = deps.connectPostgres
      ? deps.connectPostgres()
      : new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    keepPool(p);
    return p;
  };
  const connectTemporal = async () => {
    const c = await (deps.connectTemporal ?? (() => connectClient()))();
    keepClient(c);
    return c;
  };

  if (command === 'approve' || command === 'reject') {
    if (positionals.length !== 1)
      throw new UsageError(`one rules apply workflow id expected, got ${positionals.length}`);
    const reason = str('reason')?.trim();
    const client = await connectTemporal();
    await decideRulesApply({ client, out, timeZone }, command, positionals[0] as string, {
      requestedBy: requestedBy(),
      reason: reason || undefined,
      requestId: str('request-id'),
      json: asJson,
    });
    return 0;
  }
  if (command === 'rules') {
    const [sub, file, ...extra] = positionals;
    if (sub === 'list') {
      if (file !== undefined) throw new UsageError('rules list takes no arguments');
      await rulesListCommand({ pool: connectPool(), out, rulesSet, timeZone }, { json: asJson });
      return 0;
    }
    if (sub !== 'apply') throw new UsageError('expected `rules apply FILE` or `rules list`');
    if (!file || extra.length) throw new UsageError('rules apply takes one rules file');
    const reason = str('reason')?.trim();
    const pool = connectPool();
    const client = await connectTemporal();
    const r = await rulesApplyCommand(
      { client, pool, out, taskQueue, rulesSet, timeZone, tty: process.stderr.isTTY === true && !asJson },
      file,
      {
        requestedBy: requestedBy(),
        osUser: operatorName(),
        reason: reason || undefined,
        noWait: values['no-wait'] === true,
        batchSize: batchSizeOf(str('batch-size')),
        json: asJson,
        env,
      },
    );
    return r.progress?.phase === 'rejected' ? 1 : 0;
  }
  if (command === 'explain') {
    if (positionals.length !== 1 && positionals.length !== 3)
      throw new UsageError('expected a person key, optionally followed by TARGET PERMISSION');
    const personKey = validatePersonKey(positionals[0]);
    const pool = connectPool();
    const client = await connectTemporal();
    await explainCommand({ client, pool, out, rulesSet, env }, personKey, {
      target: positionals[1],
      permission: positionals[2],
      rulesFile: str('rules'),
      json: asJson,
    });
    return 0;
  }
  // preview
  if (positionals.length) throw new UsageError('preview takes no arguments (options only)');
  if (asJson && str('csv')) throw new UsageError('--json and --csv: choose one');
  const sourceId = str('source');
  const pool = connectPool();
  const client = await connectTemporal();
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
        previewConnectors(rules, pool, env, deps.err ?? ((line: string) => process.stderr.write(`${line}\n`))),
      correlationValue: correlationFor(env.TENURE_CORRELATION, await sourceCount(env)),
    },
    {
      rulesFile: str('rules'),
      source: sourceId ? { id: sourceId, fetch: () => readSource(sourceId, env) } : undefined,
      only: Array.isArray(values.only) ? (values.only as string[]) : undefined,
      json: asJson,
      csv: str('csv'),
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
      targets.set(t.id, createTarget(t.id, t.kind, env, { pool }));
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
