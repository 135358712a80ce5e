/**
 * `tenure preview [--rules FILE] [--source ID] [--only SOURCE] [--json | --csv FILE]`: the whole-tenant
 * diff the rules would make now (accounts to create, enable, disable, delete; permissions to grant
 * and revoke; per target, each with its rule and contract), totals first. Read-only.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { CorrelationValue } from '../../activities/lifecycle.js';
import { previewTenant, type AccountLookup, type TenantPreview } from '../../activities/preview.js';
import { PREVIEW_ACTIONS, type PreviewAction } from '../../activities/preview-person.js';
import type { Rules } from '../../domain/rules.js';
import type { Person } from '../../domain/model.js';
import { CsvWriter } from '../../connectors/targets/spendcloud/csv.js';
import { resolveRules } from './rules.js';
import { clean, json, localTimestamp, table, type Out } from './common.js';

export interface PreviewContext {
  client?: Client;
  /**
   * The target connectors for the previewed rules, used read-only: a create that meets an existing
   * account shows as adopt (or as report when it would be refused). Closed after the preview.
   */
  accounts?: (rules: Rules) => { lookup: AccountLookup; close: () => Promise<void> };
  /** The correlation value the workers give persons (TENURE_CORRELATION and the number of sources). */
  correlationValue?: CorrelationValue;
  pool: Pick<pg.Pool, 'query'>;
  out: Out;
  taskQueue: string;
  rulesSet?: string;
  timeZone?: string;
  env?: NodeJS.ProcessEnv;
}

export interface PreviewCommandOptions {
  rulesFile?: string;
  /** A fresh read of this source (go-live): `fetch` reads it. */
  source?: { id: string; fetch: () => Promise<Person[]> };
  /** Vault persons of these sources only. */
  only?: string[];
  json?: boolean;
  csv?: string;
  now?: number;
}

export async function previewCommand(ctx: PreviewContext, opts: PreviewCommandOptions = {}): Promise<TenantPreview> {
  const { rules, from } = await resolveRules({
    file: opts.rulesFile,
    pool: ctx.pool,
    rulesSet: ctx.rulesSet,
    env: ctx.env,
  });
  // The rules the workflows planned with last (the version in force): what a revoke names as its cause.
  const inForce = opts.rulesFile
    ? await resolveRules({ pool: ctx.pool, rulesSet: ctx.rulesSet, env: ctx.env }).catch(() => undefined)
    : { rules };
  const persons = opts.source
    ? { imported: await opts.source.fetch() }
    : { vault: ctx.pool, sources: opts.only?.length ? opts.only : undefined };
  const accounts = ctx.accounts?.(rules);
  const csv = opts.csv ? previewCsvFile(opts.csv) : undefined;
  let preview: TenantPreview;
  let written = 0;
  try {
    preview = await previewTenant({
      rules,
      heldRules: inForce?.rules,
      held: ctx.pool,
      client: ctx.client,
      taskQueue: ctx.taskQueue,
      persons,
      now: opts.now,
      accounts: accounts?.lookup,
      correlationValue: ctx.correlationValue,
      onAction: csv && ((a) => csv.add(a)),
      // With --csv the actions go to the file as they are planned; the terminal shows the totals.
      maxActions: opts.csv ? 0 : undefined,
    });
  } finally {
    await accounts?.close();
    written = csv?.close() ?? 0;
  }
  if (opts.json) {
    json(ctx.out, preview);
    return preview;
  }
  for (const line of previewLines(preview, from, opts.source?.id, ctx.timeZone, opts.csv === undefined)) ctx.out(line);
  if (opts.csv) ctx.out(`${written} actions written to ${opts.csv}`);
  return preview;
}

export function previewLines(
  p: TenantPreview,
  from: string,
  sourceId: string | undefined,
  timeZone: string | undefined,
  withActions: boolean,
): string[] {
  const t = p.totals;
  const lines = [
    `Preview of rules ${clean(p.ruleSetVersion)} (${clean(from)}) at ${localTimestamp(p.at, timeZone)}, ` +
      (sourceId ? `a fresh read of source ${clean(sourceId)}` : 'every person Tenure knows'),
    `${t.persons} persons: ${t.affected} would change, ${t.excluded} excluded (left alone)` +
      (sourceId ? '' : `, ${t.withoutWorkflow} without a running employee workflow (not re-evaluated)`) +
      (t.invalid ? `, ${t.invalid} invalid records` : ''),
    '',
    'Totals',
  ];
  const targets = Object.keys(t.byTarget).sort();
  lines.push(
    ...table(
      ['Action', ...targets, 'All'],
      PREVIEW_ACTIONS.map((a) => [
        a,
        ...targets.map((id) => String(t.byTarget[id]?.[a] ?? 0)),
        String(t.byAction[a] ?? 0),
      ]),
    ),
  );
  const perms = Object.entries(t.byPermission).sort(([a], [b]) => (a < b ? -1 : 1));
  if (perms.length) {
    lines.push('', 'Permissions');
    lines.push(
      ...table(
        ['Target', 'Action', 'Permission', 'Persons'],
        perms.map(([k, n]) => {
          const [target = '', action = '', ...name] = k.split(' ');
          return [target, action, name.join(' '), String(n)];
        }),
      ),
    );
  }
  if (withActions && p.actions.length) {
    lines.push('', 'Actions');
    lines.push(
      ...table(
        ['Person', 'Target', 'Action', 'Permission', 'Why'],
        p.actions.map((a) => [a.personKey, a.target, a.action, a.permission ?? '', a.why]),
      ),
    );
  }
  if (t.affected === 0) lines.push('', 'Nothing would change.');
  return lines;
}

const CSV_HEADER = [
  'person_key',
  'target',
  'action',
  'permission',
  'rule',
  'rules_version',
  'contract_id',
  'username',
  'user_principal_name',
  'email',
  'why',
];

function csvRow(a: PreviewAction): (string | undefined)[] {
  return [
    a.personKey,
    a.target,
    a.action,
    a.permission,
    a.rule,
    a.ruleSetVersion,
    a.contractId,
    a.names?.username,
    a.names?.userPrincipalName,
    a.names?.email,
    a.why,
  ];
}

const newCsv = () => new CsvWriter({ separator: ',', bom: false, lineEnding: 'lf', formulaGuard: true }, CSV_HEADER);

/**
 * Every action to a CSV file as it is planned: rows go to the file 256 at a time, so a
 * whole-tenant preview never holds its actions in memory.
 */
export function previewCsvFile(path: string): { add: (a: PreviewAction) => void; close: () => number } {
  const fd = openSync(path, 'w');
  const w = newCsv();
  let pending = 0;
  const flush = () => {
    writeSync(fd, w.take());
    pending = 0;
  };
  return {
    add: (a) => {
      w.row(csvRow(a));
      if (++pending >= 256) flush();
    },
    close: () => {
      try {
        flush();
      } finally {
        closeSync(fd);
      }
      return w.rows;
    },
  };
}
