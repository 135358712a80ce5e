// Round trips to the real PostgreSQL, Samba AD and OpenSSH servers that scripts/test.sh started.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Client as LdapClient, Change, Attribute } from 'ldapts';
import pg from 'pg';
import SftpClient from 'ssh2-sftp-client';
import { pinnedHostKey } from '../../connectors/ssh-host-key.js';
import { migrate } from '../../vault/migrate.js';
import { databaseUrl, requireEnv, uniqueSuffix } from '../support/env.js';

describe('PostgreSQL vault', () => {
  test('migrations are applied once and recorded; a second run applies nothing', async () => {
    const again = await migrate(databaseUrl());
    assert.deepEqual(again, []);
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      const names = (await client.query<{ name: string }>('select name from schema_migrations order by name')).rows.map(
        (r) => r.name,
      );
      assert.ok(names.includes('001_vault.sql'));
      const key = `smoke:${uniqueSuffix()}`;
      await client.query(
        `insert into audit_log(person_key, target, action, outcome, cause, message) values ($1,'ad','create','success','smoke test','round trip')`,
        [key],
      );
      const row = await client.query('select action, outcome from audit_log where person_key = $1', [key]);
      assert.deepEqual(row.rows, [{ action: 'create', outcome: 'success' }]);
      await assert.rejects(client.query('delete from audit_log where person_key = $1', [key]), /append-only/);
    } finally {
      await client.end();
    }
  });
});

describe('Samba AD over LDAPS', () => {
  test('bind, create an OU and a user with a password, enable, find by employeeID, delete', async () => {
    const url = requireEnv('AD_URL');
    assert.match(url, /^ldaps:\/\/127\./, 'LDAPS on loopback');
    const base = requireEnv('AD_BASE_DN');
    const client = new LdapClient({ url, tlsOptions: { rejectUnauthorized: false }, timeout: 10_000 });
    await client.bind(requireEnv('AD_BIND_DN'), requireEnv('AD_BIND_PASSWORD'));
    const suffix = uniqueSuffix();
    const ou = `OU=smoke-${suffix},OU=Tenure,${base}`;
    const employeeId = `S${suffix}`.slice(0, 16);
    const user = `CN=Smoke ${suffix},${ou}`;
    try {
      await client.add(ou, { objectClass: ['top', 'organizationalUnit'] });
      await client.add(user, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: `smk${suffix}`.slice(0, 20),
        userPrincipalName: `smk${suffix}@tenure.test`,
        employeeID: employeeId,
        userAccountControl: '514',
      });
      const password = Buffer.from(`"Sm0ke-${suffix}-Pw!"`, 'utf16le');
      await client.modify(
        user,
        new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [password] }) }),
      );
      await client.modify(
        user,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: ['512'] }),
        }),
      );
      const { searchEntries } = await client.search(base, {
        filter: `(employeeID=${employeeId})`,
        attributes: ['userAccountControl', 'distinguishedName'],
      });
      assert.equal(searchEntries.length, 1);
      assert.equal(searchEntries[0]?.userAccountControl, '512');
    } finally {
      await client.del(user).catch(() => undefined);
      await client.del(ou).catch(() => undefined);
      await client.unbind();
    }
  });
});

describe('OpenSSH SFTP', () => {
  test('upload, list and remove a file with the host key pinned; a wrong host key is refused', async () => {
    const hostKey = pinnedHostKey(requireEnv('SFTP_HOST_KEY_FILE'));
    const options = {
      host: requireEnv('SFTP_HOST'),
      port: Number(requireEnv('SFTP_PORT')),
      username: requireEnv('SFTP_USERNAME'),
      privateKey: readFileSync(requireEnv('SFTP_PRIVATE_KEY_FILE')),
      readyTimeout: 5_000,
    };
    const dir = requireEnv('SFTP_UPLOAD_DIR');
    const sftp = new SftpClient('smoke');
    await sftp.connect({ ...options, hostVerifier: (key: Buffer) => key.equals(hostKey) });
    const name = `smoke-${uniqueSuffix()}.csv`;
    try {
      await sftp.put(Buffer.from('a;b\n1;2\n'), `${dir}/${name}`);
      const listed = (await sftp.list(dir)).map((e) => e.name);
      assert.ok(listed.includes(name));
      assert.equal((await sftp.get(`${dir}/${name}`)).toString(), 'a;b\n1;2\n');
    } finally {
      await sftp.delete(`${dir}/${name}`).catch(() => undefined);
      await sftp.end();
    }
    const impostor = new SftpClient('smoke-wrong-key');
    await assert.rejects(impostor.connect({ ...options, hostVerifier: () => false }));
  });
});
