/**
 * The `tenure` command line: argument parsing (node:util parseArgs), help, dispatch, exit codes.
 * `runCli` connects lazily (help and usage errors never touch Temporal or Postgres) and returns
 * the exit code: 0 done, 1 failed (unknown person included), 2 usage error.
 */
import { requester } from './requester.js';
import { forgetCommand } from './commands/forget.js';
import { ErasureRefusedError } from '../vault/retention.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from '../domain/dates.js';
import { connectClient } from '../workers/temporal-connection.js';
import { excludeCommand, includeCommand, reprovisionCommand, requestIdFor } from './commands/admin.js';
import { auditCommand, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT } from './commands/audit.js';
import { PersonNotFound, UsageError, validatePersonKey, type Out } from './commands/common.js';
import { approveCommand, heldCommand, rejectCommand, validatePollTarget } from './commands/polls.js';
import { statusCommand } from './commands/status.js';
import { bulkReprovisionCommand, selectionFilter } from './commands/bulk.js';
import { personsCommand, personsQuery } from './commands/persons.js';
import { pollNowCommand, validateSourceId } from './commands/poll-now.js';
import { upcomingCommand } from './commands/upcoming.js';

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
    summary: 'polls held over a threshold, waiting for approve or reject, with the limits they went over',
    usage: 'tenure held [--json]',
    details: ['--json              machine-readable output'],
    options: { ...HELP, ...JSON_OPT },
  },
  approve: {
    summary: 'let a held poll go on: signal its changes and accept its snapshot',
    usage: 'tenure approve <pollWorkflowId|sourceId> [--reason TEXT] [--by USER] [--request-id ID] [--json]',
    details: ADMIN_DETAILS,
    options: { ...HELP, ...ADMIN },
  },
  reject: {
    summary: 'drop a held poll: nothing is signalled, the last snapshot stays',
    usage: 'tenure reject <pollWorkflowId|sourceId> [--reason TEXT] [--by USER] [--request-id ID] [--json]',
    details: ADMIN_DETAILS,
    options: { ...HELP, ...ADMIN },
  },
};

const POLL_COMMANDS = new Set(['held', 'approve', 'reject']);

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
    '  DATABASE_URL        the vault (Postgres), for audit',
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
    await heldCommand(ctx, { json: asJson });
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

function describeError(e: unknown): string {
  const parts: string[] = [];
  for (let x: unknown = e, depth = 0; x && depth < 4; x = (x as { cause?: unknown }).cause, depth++) {
    const msg = x instanceof Error ? x.message : String(x);
    if (msg && !parts.includes(msg)) parts.push(msg);
  }
  return parts.join(': ') || 'unknown error';
}
