/**
 * Benchmark: the Spend Cloud full-dump export of N persons (default 50,000) with ~1.2 roles each,
 * rendered and uploaded to the real OpenSSH sftp server.
 *
 *   TENURE_ENV=test bash scripts/services/postgres.sh start && TENURE_ENV=test bash scripts/services/sftp.sh start
 *   set -a; . .run/test/postgres/pg.env; . .run/test/sftp/sftp.env; set +a
 *   node --import tsx scripts/bench/spendcloud-export.ts [persons=50000] [connectorCreates=1000]
 *
 * The N person and role rows go straight into the tables with one INSERT ... SELECT each (the
 * export is what is measured); `connectorCreates` persons are additionally created through the
 * connector one at a time to give the per-action cost. Everything is in a target id and upload
 * folder of its own, removed at the end.
 */
import { chownSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import {
  SpendCloudTargetConnector,
  exportAndUpload,
  type SpendCloudConfigInput,
} from '../../connectors/targets/spendcloud.js';
import { migrate } from '../../vault/migrate.js';

const persons = Number(process.argv[2] ?? 50_000);
const creates = Number(process.argv[3] ?? 1000);
const need = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (source .run/test/postgres/pg.env and .run/test/sftp/sftp.env)`);
  return v;
};
const run = Date.now().toString(36);
const target = `bench-sc-${run}`;
const uploadRoot = need('SFTP_UPLOAD_DIR');
const local = `${uploadRoot}/bench-${run}`;
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

await migrate(need('DATABASE_URL'));
const pool = new pg.Pool({ connectionString: need('DATABASE_URL'), max: 4 });
mkdirSync(local);
chownSync(local, statSync(uploadRoot).uid, -1);
const config: SpendCloudConfigInput = {
  id: target,
  sftp: {
    host: need('SFTP_HOST'),
    port: Number(need('SFTP_PORT')),
    username: need('SFTP_USERNAME'),
    privateKeyFile: need('SFTP_PRIVATE_KEY_FILE'),
    hostKeyFile: need('SFTP_HOST_KEY_FILE'),
    dir: local,
  },
};

try {
  let t = performance.now();
  await pool.query(
    `insert into spendcloud_persons (target, external_id, voornaam, tussenvoegsel, achternaam, geslacht, email, gebruikersnaam, active)
     select $1, lpad(i::text, 7, '0'), 'Voornaam' || i, case when i % 4 = 0 then 'van der' else '' end,
            case when i % 97 = 0 then 'D''Hondt; "Jr."' else 'Achternaam' || i end || case when i % 4 = 0 then ' van der' else '' end,
            (array['M','V','O'])[1 + i % 3], 'voornaam.achternaam' || i || '@example.org', 'user' || i, i % 50 <> 0
     from generate_series(1, $2::int) i`,
    [target, persons],
  );
  await pool.query(
    `insert into spendcloud_roles (target, external_id, contract_id, ou, oucode, functie, functiecode, start_date, end_date)
     select $1, lpad(i::text, 7, '0'), 'c' || k, 'Afdeling ' || (i % 120), 'D' || (i % 120), 'Functie ' || (i % 300),
            'F-' || (i % 300), '2020-01-01', case when k = 2 and i % 10 = 0 then '2021-12-31'::date end
     from generate_series(1, $2::int) i, generate_series(1, 2) k where k = 1 or i % 5 = 0`,
    [target, persons],
  );
  console.log(`seeded ${persons} persons (2% inactive) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const connector = new SpendCloudTargetConnector(pool, config);
  t = performance.now();
  for (let i = 1; i <= creates; i++) {
    const id = `x${String(i).padStart(6, '0')}`;
    const r = await connector.create({
      personKey: `bench:${id}`,
      employeeId: id,
      username: `bench${i}`,
      userPrincipalName: `bench${i}@example.org`,
      email: `bench${i}@example.org`,
      emailAliases: [],
      displayName: `Bench ${i}`,
      givenName: 'Bench',
      familyName: `Persoon${i}`,
      department: 'Bench',
      departmentCode: 'B',
      title: 'T',
    });
    await connector.enable(r.account!);
  }
  const perCreate = (performance.now() - t) / Math.max(1, creates);
  if (creates) console.log(`connector create + enable: ${creates} persons, ${perCreate.toFixed(2)} ms per person`);

  const before = process.memoryUsage().rss;
  const r = await exportAndUpload(pool, config, { log: (l) => console.log(l) });
  console.log(
    `export + upload: ${r.persons} persons, ${r.roles} roles in ${(r.millis / 1000).toFixed(2)} s ` +
      `(${r.attempts} attempt); files: ${r.files.map((f) => `${f.name} ${kib(f.bytes)}`).join(', ')}; ` +
      `rss ${Math.round(before / 2 ** 20)} -> ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`,
  );
  const again = await exportAndUpload(pool, config);
  console.log(
    `second run (same data): ${(again.millis / 1000).toFixed(2)} s, identical: ${again.files.every((f, i) => f.sha256 === r.files[i]!.sha256)}`,
  );
} finally {
  await pool.query('delete from spendcloud_persons where target = $1', [target]);
  await pool.query('delete from spendcloud_exports where target = $1', [target]);
  await pool.end();
  rmSync(local, { recursive: true, force: true });
}
