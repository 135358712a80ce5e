/**
 * `tenure preview [--rules FILE] [--source ID] [--only SOURCE] [--json | --csv FILE]`: the whole-tenant
 * diff the rules would make now (accounts to create, enable, disable, delete; permissions to grant
 * and revoke; per target, each with its rule and contract), totals first. Read-only.
 */
import { writeFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { previewTenant, type TenantPreview } from '../../activities/preview.js';
import { PREVIEW_ACTIONS } from '../../activities/preview-person.js';
import type { Person } from '../../domain/model.js';
import { CsvWriter } from '../../connectors/targets/spendcloud/csv.js';
import { resolveRules } from './rules.js';
import { clean, json, localTimestamp, table, type Out } from './common.js';

export interface PreviewContext {
  client?: Client;
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
  const persons = opts.source
    ? { imported: await opts.source.fetch() }
    : { vault: ctx.pool, sources: opts.only?.length ? opts.only : undefined };
  const preview = await previewTenant({ rules, client: ctx.client, taskQueue: ctx.taskQueue, persons, now: opts.now });
  if (opts.csv) await writeFile(opts.csv, previewCsv(preview));
  if (opts.json) {
    json(ctx.out, preview);
    return preview;
  }
  for (const line of previewLines(preview, from, opts.source?.id, ctx.timeZone, opts.csv === undefined)) ctx.out(line);
  if (opts.csv) ctx.out(`${preview.actions.length} actions written to ${opts.csv}`);
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

export function previewCsv(p: TenantPreview): Buffer {
  const w = new CsvWriter({ separator: ',', bom: false, lineEnding: 'lf', formulaGuard: true }, [
    'person_key',
    'target',
    'action',
    'permission',
    'rule',
    'rules_version',
    'contract_id',
    'why',
  ]);
  for (const a of p.actions)
    w.row([a.personKey, a.target, a.action, a.permission, a.rule, a.ruleSetVersion, a.contractId, a.why]);
  return w.toBuffer();
}
