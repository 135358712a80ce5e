/**
 * Demo helpers: `groups <rules.yaml>` creates the static groups the rules name (admins own those
 * in a real directory); `legacy` puts one account in the Employees OU as an older tool would have
 * left it (employee number 1005, its own login name), for Tenure to adopt at go-live; `poll
 * <sourceId>` runs one poll of the source now and prints its summary.
 */
import { readFileSync } from 'node:fs';
import { Client as LdapClient } from 'ldapts';
import { loadRulesFile } from '../../common/rules-file.js';
import { connectClient } from '../../workers/temporal-connection.js';
import { triggerPoll } from '../../workers/schedules.js';

const [command, arg] = process.argv.slice(2);
const env = process.env;

async function directory(): Promise<LdapClient> {
  // Verified against the demo directory's own CA (scripts/services/samba.sh writes AD_TLS_CA_FILE).
  const ldap = new LdapClient({
    url: env.AD_URL!,
    tlsOptions: env.AD_TLS_CA_FILE ? { ca: readFileSync(env.AD_TLS_CA_FILE) } : {},
  });
  await ldap.bind(env.AD_BIND_DN!, env.AD_BIND_PASSWORD!);
  return ldap;
}

if (command === 'groups' && arg) {
  const rules = await loadRulesFile(arg);
  const ldap = await directory();
  const ou = env.AD_GROUPS_OU ?? `OU=Groups,OU=Tenure,${env.AD_BASE_DN}`;
  for (const name of new Set(
    rules.rules.flatMap((r) => Object.values(r.entitlements).flatMap((e) => e.permissions ?? [])),
  )) {
    await ldap
      .add(`CN=${name},${ou}`, { objectClass: ['top', 'group'], sAMAccountName: name, groupType: '-2147483646' })
      .catch((e: { code?: number }) => {
        if (e.code !== 68) throw e;
      });
  }
  await ldap.unbind();
} else if (command === 'legacy') {
  const ldap = await directory();
  const ou = env.AD_EMPLOYEES_OU ?? `OU=Employees,OU=Tenure,${env.AD_BASE_DN}`;
  await ldap
    .add(`CN=legacy1005,${ou}`, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: 'legacy1005',
      userPrincipalName: 'legacy1005@tenure.test',
      mail: 'legacy1005@tenure.test',
      employeeID: '1005',
      userAccountControl: '514', // disabled, as a leftover of an older tool
    })
    .catch((e: { code?: number }) => {
      if (e.code !== 68) throw e;
    });
  await ldap.unbind();
} else if (command === 'poll' && arg) {
  const client = await connectClient();
  const polled = await triggerPoll(client, arg);
  console.log(`poll of ${arg} started${polled.workflowId ? ` as ${polled.workflowId}` : ''}`);
  await client.connection.close();
} else {
  console.error('usage: prepare.ts groups <rules.yaml> | legacy | poll <sourceId>');
  process.exit(2);
}
