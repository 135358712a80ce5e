/**
 * The config file (common/tenure-config.ts): sources, thresholds, kind-specific options through a
 * registry, secrets from environment variables, line-precise errors, masking. Pure: no servers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { thresholdsFromEnvJson } from '../common/thresholds-config.js';
import { DEFAULT_THRESHOLDS } from '../domain/thresholds.js';
import {
  ConfigError,
  createSources,
  defaultSourceRegistry,
  loadTenureConfig,
  MASK,
  parseTenureConfig,
  registerSourceKind,
  safeParseTenureConfig,
  sourceSchedules,
  thresholdsBySource,
  type SourceRegistry,
} from '../common/tenure-config.js';
import type { SourceConnector } from '../connectors/types.js';

const SECRET = 'sup3r-s3cret-value-4711';
const TOKEN = 'nmbrs-token-0815-abcdef';

/** A stand-in for the Raet connector's schema (the real one is registered by the worker). */
const RaetLike = z.strictObject({
  baseUrl: z.url(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(8, 'is too short'),
  pageSize: z.number().int().positive().optional(),
});

function registry(): SourceRegistry {
  const r = defaultSourceRegistry();
  registerSourceKind(r, 'raet', {
    schema: RaetLike,
    create: (o, ctx): SourceConnector => ({
      id: ctx.id,
      fetchAll: async () => ({ persons: [], departments: [], errors: [], recordsRead: o.pageSize ?? 0 }),
    }),
    mappingScopes: { person: ['person.', 'extension.'], contract: ['employment.'] },
  });
  return r;
}

const env = { RAET_CLIENT_SECRET: SECRET, NMBRS_TOKEN: TOKEN, EMPTY_VAR: '' };

const GOOD = `# Tenure sources
timeZone: Europe/Amsterdam
sources:
  - id: hr
    kind: file
    every: 5m
    options:
      path: exports/hr.csv
  - id: raet
    kind: raet
    every: 15m
    timeZone: Europe/Brussels
    thresholds:
      perImport:
        removed: { max: 25, maxPercent: 5 }
      window:
        duration: 24h
        removed: { maxPercent: 12 }
      truncatedPercent: 15
    options:
      baseUrl: https://api.example.test/iam/v1.0
      clientId: tenure
      clientSecretEnv: RAET_CLIENT_SECRET
      pageSize: 200
    fieldMapping:
      location: extension.WERKPLEK
      contract.hoursPerWeek: employment.workingAmount.amountOfWork
    customFields: [extension.KOSTENPLAATS, employment.classification]
`;

function issuesOf(text: string, e: Record<string, string | undefined> = env): string[] {
  const r = safeParseTenureConfig(text, { fileName: 'tenure.yaml', env: e, registry: registry() });
  assert.equal(r.ok, false, 'expected errors');
  return r.ok ? [] : r.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
}

describe('tenure config', () => {
  test('a good file: sources, schedules, time zones, thresholds with defaults, secrets resolved', () => {
    const cfg = parseTenureConfig(GOOD, { env, registry: registry(), baseDir: '/srv/tenure' });
    assert.deepEqual(
      cfg.sources.map((s) => [s.id, s.kind, s.every, s.everyMs, s.timeZone]),
      [
        ['hr', 'file', '5m', 300_000, 'Europe/Amsterdam'],
        ['raet', 'raet', '15m', 900_000, 'Europe/Brussels'],
      ],
    );
    const raet = cfg.sources[1]!;
    assert.deepEqual(raet.options, {
      baseUrl: 'https://api.example.test/iam/v1.0',
      clientId: 'tenure',
      clientSecret: SECRET,
      pageSize: 200,
    });
    assert.deepEqual(raet.envRefs, { clientSecret: 'RAET_CLIENT_SECRET' });
    assert.deepEqual(raet.thresholds.perImport.removed, { max: 25, maxPercent: 5 });
    assert.deepEqual(raet.thresholds.perImport.endingToday, DEFAULT_THRESHOLDS.perImport.endingToday);
    assert.deepEqual(raet.thresholds.window.removed, { maxPercent: 12 });
    assert.equal(raet.thresholds.windowMs, 86_400_000);
    assert.equal(raet.thresholds.truncatedPercent, 15);
    assert.equal(raet.thresholds.timeZone, 'Europe/Brussels');
    // Not given: end dates within 7 days count, and the first poll (go-live) waits for approval.
    assert.equal(cfg.sources[0]!.thresholds.endingHorizonDays, 7);
    assert.equal(cfg.sources[0]!.thresholds.firstPoll, 'hold');
    const set = parseTenureConfig(
      'sources:\n  - id: hr\n    kind: file\n    thresholds: { endingHorizonDays: 14, firstPoll: accept }\n    options: { path: hr.csv }\n',
    ).sources[0]!.thresholds;
    assert.deepEqual({ days: set.endingHorizonDays, first: set.firstPoll }, { days: 14, first: 'accept' });
    assert.deepEqual(cfg.sources[0]!.thresholds, { ...DEFAULT_THRESHOLDS, perImport: DEFAULT_THRESHOLDS.perImport });
    assert.deepEqual(raet.fieldMapping, {
      location: 'extension.WERKPLEK',
      'contract.hoursPerWeek': 'employment.workingAmount.amountOfWork',
    });
    assert.deepEqual(raet.customFields, ['extension.KOSTENPLAATS', 'employment.classification']);

    assert.deepEqual(sourceSchedules(cfg), [
      { id: 'hr', every: '5m' },
      { id: 'raet', every: '15m' },
    ]);
    assert.deepEqual([...thresholdsBySource(cfg).keys()], ['hr', 'raet']);
    const sources = createSources(cfg);
    assert.deepEqual([...sources.keys()], ['hr', 'raet']);
    assert.equal(sources.get('hr')?.id, 'hr');
  });

  test('secrets are masked in describe(), JSON and inspect; the variable name is shown', () => {
    const cfg = parseTenureConfig(GOOD, { env, registry: registry() });
    const described = cfg.describe();
    const raet = described.sources[1]!;
    assert.equal((raet.options as Record<string, unknown>).clientSecret, MASK);
    assert.deepEqual(raet.secretsFrom, { clientSecret: 'RAET_CLIENT_SECRET' });
    for (const text of [
      JSON.stringify(cfg),
      JSON.stringify(cfg.sources),
      inspect(cfg, { depth: 10 }),
      inspect(cfg.sources[1]),
    ]) {
      assert.ok(!text.includes(SECRET), 'secret leaked');
      assert.match(text, /\*\*\*/);
      assert.match(text, /RAET_CLIENT_SECRET/);
    }
  });

  test('a missing or empty environment variable is an error naming it, at its line', () => {
    const issues = issuesOf(GOOD, { NMBRS_TOKEN: TOKEN });
    assert.deepEqual(issues, [
      '23:7 sources[1].options.clientSecretEnv: environment variable RAET_CLIENT_SECRET is not set',
    ]);
    const empty = issuesOf(GOOD.replace('RAET_CLIENT_SECRET', 'EMPTY_VAR'));
    assert.deepEqual(empty, ['23:7 sources[1].options.clientSecretEnv: environment variable EMPTY_VAR is empty']);
    assert.throws(
      () => parseTenureConfig(GOOD, { env: {}, registry: registry(), fileName: 'tenure.yaml' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message ===
          'tenure.yaml:23:7: sources[1].options.clientSecretEnv: environment variable RAET_CLIENT_SECRET is not set',
    );
  });

  test('a secret that fails the connector schema is reported at its Env key without its value', () => {
    const issues = issuesOf(GOOD, { RAET_CLIENT_SECRET: 'x7Q2pz' });
    assert.deepEqual(issues, ['23:7 sources[1].options.clientSecretEnv: is too short']);
    const r = safeParseTenureConfig(GOOD, { env: { RAET_CLIENT_SECRET: 'x7Q2pz' }, registry: registry() });
    assert.ok(!JSON.stringify(r).includes('x7Q2pz'), 'no value in the issues');
  });

  test('an inline secret is refused and never echoed', () => {
    const text = GOOD.replace('clientSecretEnv: RAET_CLIENT_SECRET', `clientSecret: ${SECRET}`);
    const issues = issuesOf(text);
    assert.deepEqual(issues, [
      '23:7 sources[1].options.clientSecret: secrets are not written in the config file: name an environment variable with clientSecretEnv instead',
    ]);
    assert.ok(!issues.join('\n').includes(SECRET));
  });

  test('errors are line-precise: unknown keys, bad values, kind options, duplicates, syntax', () => {
    const text = `sources:
  - id: hr
    kind: file
    every: often
    options:
      path: hr.csv
      colour: blue
  - id: Bad_Id
    kind: workday
  - id: hr
    kind: raet
    thresholds:
      perImport:
        removed: { maxPercent: 150 }
      windw: {}
      firstPoll: later
    options:
      baseUrl: not a url
      clientId: tenure
      clientSecretEnv: RAET_CLIENT_SECRET
`;
    const issues = issuesOf(text);
    assert.deepEqual(issues, [
      '4:5 sources[0].every: expected a duration such as "5m", "24h" or "2d"',
      '8:5 sources[1].id: expected a source id: lower-case letters, digits and -, starting with a letter, at most 32',
      '9:5 sources[1].kind: expected one of file, raet, vismanet, nmbrs',
      '14:20 sources[2].thresholds.perImport.removed.maxPercent: must be at most 100',
      '15:7 sources[2].thresholds.windw: unknown key',
      '16:7 sources[2].thresholds.firstPoll: expected hold or accept',
    ]);

    // Kind options (and duplicate ids) are checked once the rest of the file is sound; the
    // options with the kind's own schema.
    const kindErrors = issuesOf(`sources:
  - id: hr
    kind: file
    options:
      path: hr.csv
      colour: blue
  - id: hr
    kind: file
    options: { path: b.csv }
  - id: raet
    kind: raet
    options:
      baseUrl: not a url
      clientSecretEnv: RAET_CLIENT_SECRET
`);
    assert.equal(kindErrors.length, 4, kindErrors.join('\n'));
    assert.equal(kindErrors[0], '6:7 sources[0].options.colour: unknown key');
    assert.equal(kindErrors[1], "7:5 sources[1].id: duplicate source id 'hr' (also sources[0])");
    assert.match(kindErrors[2]!, /^12:5 sources\[2\]\.options\.clientId: missing/);
    assert.match(kindErrors[3]!, /^13:7 sources\[2\]\.options\.baseUrl: /);

    assert.deepEqual(issuesOf('sources:\n  - id: a\n    id: b\n'), ['3:5 : Map keys must be unique']);
    assert.deepEqual(issuesOf(''), ['1:1 : the file is empty']);
    assert.deepEqual(issuesOf('timeZone: Mars/Olympus\nsources: []\n'), [
      '1:1 timeZone: unknown time zone (expected an IANA name such as "Europe/Amsterdam")',
      '2:1 sources: expected at least one source',
    ]);
  });

  test('a field mapping is checked at load: model field, source path, sensitive data, kinds without mapping', () => {
    const bad = `sources:
  - id: raet
    kind: raet
    options: { baseUrl: https://api.example.test, clientId: t, clientSecretEnv: RAET_CLIENT_SECRET }
    fieldMapping:
      department: person.department
      gender: employment.gender
      custom.dob: person.birthDate
      mobilePhone: person.phone.Mobile
    customFields: [nowhere]
  - id: hr
    kind: file
    options: { path: hr.csv }
    fieldMapping: { location: extension.WERKPLEK }
  - id: nm
    kind: nmbrs
    options: {}
    customFields: [person.x]
`;
    // A kind that registered no mapping scopes (Nmbrs here) refuses the keys rather than ignore them.
    const withNmbrs = registerSourceKind(registry(), 'nmbrs', {
      schema: z.strictObject({}),
      create: (_o, ctx): SourceConnector => ({
        id: ctx.id,
        fetchAll: async () => ({ persons: [], departments: [], errors: [], recordsRead: 0 }),
      }),
    });
    const r = safeParseTenureConfig(bad, { fileName: 'tenure.yaml', env, registry: withNmbrs });
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`), [
      '6:7 sources[0].fieldMapping.department: not a mappable model field; use one of location, businessPhone, mobilePhone, gender, contract.location, contract.title.code, contract.title.name, contract.contractType, contract.hoursPerWeek, contract.costCenter, contract.employer, custom.<name>, contract.custom.<name>',
      "7:7 sources[0].fieldMapping.gender: 'employment.gender' is not a source field this connector reads for a person field (paths start with person., extension.)",
      '8:7 sources[0].fieldMapping["custom.dob"]: \'person.birthDate\' holds personal data Tenure does not import',
      "10:20 sources[0].customFields[0]: 'nowhere' is not a source field this connector reads for a contract field (paths start with person., extension., employment.)",
      "14:21 sources[1].fieldMapping.location: 'extension.WERKPLEK' is not a source field this connector reads for a person field (paths start with person.)",
      '18:5 sources[2].customFields: the nmbrs connector does not take a customFields (docs/configuration.md)',
    ]);
  });

  test('a kind without a registered connector is an error at its kind', () => {
    const issues = issuesOf(`sources:
  - id: visma
    kind: vismanet
    options: {}
`);
    assert.deepEqual(issues, [
      "3:5 sources[0].kind: no connector for kind 'vismanet' is registered in this build (available: file, raet)",
    ]);
  });

  test('JSON works too, with positions', () => {
    const json = JSON.stringify(
      { sources: [{ id: 'hr', kind: 'file', options: { path: 'x.csv', extra: 1 } }] },
      null,
      2,
    );
    assert.deepEqual(issuesOf(json), ['8:9 sources[0].options.extra: unknown key']);
  });
});

describe('thresholds of the quick-start file source (TENURE_FILE_SOURCE_THRESHOLDS)', () => {
  test("JSON with the config file's settings; a bad value names the variable and the field", () => {
    const t = thresholdsFromEnvJson('{"firstPoll":"accept","endingHorizonDays":3}', 'TENURE_FILE_SOURCE_THRESHOLDS');
    assert.deepEqual(
      { first: t.firstPoll, days: t.endingHorizonDays, removed: t.perImport.removed },
      { first: 'accept', days: 3, removed: DEFAULT_THRESHOLDS.perImport.removed },
    );
    assert.throws(
      () => thresholdsFromEnvJson('{"firstPoll":"later"}', 'TENURE_FILE_SOURCE_THRESHOLDS'),
      /^Error: TENURE_FILE_SOURCE_THRESHOLDS: firstPoll: expected hold or accept$/,
    );
    assert.throws(
      () => thresholdsFromEnvJson('{firstPoll', 'TENURE_FILE_SOURCE_THRESHOLDS'),
      /TENURE_FILE_SOURCE_THRESHOLDS: not valid JSON/,
    );
  });
});

describe('tenure config: from disk', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenure-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('relative paths are relative to the file; the file source reads them', async () => {
    await writeFile(
      join(dir, 'hr.csv'),
      'person_key;nick_name;family_name;contract_id;start_date;department_code\n1001;Anna;Vries;1001-1;2026-01-01;FIN\n',
    );
    await writeFile(
      join(dir, 'tenure.yaml'),
      'sources:\n  - id: hr\n    kind: file\n    options:\n      path: hr.csv\n',
    );
    const cfg = await loadTenureConfig(join(dir, 'tenure.yaml'), { env: {} });
    assert.equal(cfg.file, 'tenure.yaml');
    const src = createSources(cfg).get('hr');
    const imported = await src!.fetchAll();
    assert.equal(imported.recordsRead, 1, JSON.stringify(imported.errors));
    assert.equal(imported.persons[0]?.source, 'hr');
  });
});
