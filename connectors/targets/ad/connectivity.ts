/**
 * The AD target's connectivity check (connectors/targets/descriptors.ts): bind with the service
 * account over the connector's own transport (./connection.ts: LDAPS, or StartTLS on ldap://) and
 * read the base entry. One short connection; accounts are never touched.
 */
import type { AdConfig } from './config.js';
import { AdConnection } from './connection.js';

/** Binds and reads the base entry; the answer names the base DN only. Throws with the server's message. */
export async function checkAdConnectivity(config: AdConfig): Promise<string> {
  const connection = new AdConnection(config, config.bindPassword);
  try {
    const [base] = await connection.run(
      'read the base entry',
      async (c) => (await c.search(config.baseDN, { scope: 'base', attributes: ['distinguishedName'] })).searchEntries,
    );
    const transport = /^ldaps:/i.test(config.url) ? 'over LDAPS' : config.startTls ? 'after StartTLS' : 'in clear';
    return `bound ${transport}, base ${base?.dn ?? config.baseDN}`;
  } finally {
    await connection.close();
  }
}
