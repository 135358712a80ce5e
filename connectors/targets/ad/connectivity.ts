/**
 * The AD target's connectivity check (connectors/targets/descriptors.ts): bind with the service
 * account over the configured transport and read the base entry. Separate from the connector so a
 * check opens one short connection and never touches accounts.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client } from 'ldapts';
import type { AdConfig } from './config.js';

function tlsSettings(config: AdConfig): ConnectionOptions {
  const o: ConnectionOptions = {};
  if (config.tls.caFile) o.ca = readFileSync(config.tls.caFile);
  if (config.tls.insecure) o.rejectUnauthorized = false;
  return o;
}

/** Binds and reads the base entry; the answer names the base DN only. Throws with the server's message. */
export async function checkAdConnectivity(config: AdConfig): Promise<string> {
  const ldaps = /^ldaps:/i.test(config.url);
  const client = new Client({
    url: config.url,
    timeout: Math.min(config.timeouts.operationMs, 10_000),
    connectTimeout: config.timeouts.connectMs,
    tlsOptions: ldaps ? tlsSettings(config) : undefined,
  });
  try {
    if (!ldaps && config.startTls) {
      const host = new URL(config.url).hostname;
      const isIp = /^[\d.]+$|:/.test(host);
      await client.startTLS({ ...tlsSettings(config), host, servername: isIp ? undefined : host });
    }
    await client.bind(config.bindDN, config.bindPassword);
    const { searchEntries } = await client.search(config.baseDN, { scope: 'base', attributes: ['distinguishedName'] });
    return `bound${ldaps ? ' over LDAPS' : config.startTls ? ' after StartTLS' : ''}, base ${searchEntries[0]?.dn ?? config.baseDN}`;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
