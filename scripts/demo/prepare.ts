/**
 * Demo helpers: `groups <rules.yaml>` creates the static groups the rules name (admins own those
 * in a real directory); `poll <sourceId>` runs one poll of the source now and prints its summary.
 */
import { readFileSync } from 'node:fs';
import { Client as LdapClient } from 'ldapts';
import { loadRulesFile } from '../../common/rules-file.js';
import { connectClient } from '../../workers/temporal-connection.js';
import { triggerPoll } from '../../workers/schedules.js';

const [command, arg] = process.argv.slice(2);
if (command === 'groups' && arg) {
  const rules = await loadRulesFile(arg);
  const env = process.env;
  // Verified against the demo directory's own CA (scripts/services/samba.sh writes AD_TLS_CA_FILE).
  const ldap = new LdapClient({
    url: env.AD_URL!,
    tlsOptions: env.AD_TLS_CA_FILE ? { ca: readFileSync(env.AD_TLS_CA_FILE) } : {},
  });
  await ldap.bind(env.AD_BIND_DN!, env.AD_BIND_PASSWORD!);
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
} else if (command === 'poll' && arg) {
  const client = await connectClient();
  const polled = await triggerPoll(client, arg);
  console.log(`poll of ${arg} started${polled.workflowId ? ` as ${polled.workflowId}` : ''}`);
  await client.connection.close();
} else {
  console.error('usage: prepare.ts groups <rules.yaml> | poll <sourceId>');
  process.exit(2);
}
