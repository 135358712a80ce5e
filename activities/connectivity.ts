/**
 * Reachability checks of every real component Tenure depends on. Used by the
 * `checkConnectivity` workflow at start-up of the demo and by operators after a deployment.
 */
import { readFileSync } from 'node:fs';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import SftpClient from 'ssh2-sftp-client';
import { pinnedHostKey } from '../connectors/ssh-host-key.js';
import { insecureTransportAllowed } from '../connectors/transport.js';

export interface ComponentCheck {
  component: string;
  ok: boolean;
  detail: string;
  millis: number;
}

async function timed(component: string, fn: () => Promise<string>): Promise<ComponentCheck> {
  const started = Date.now();
  try {
    const detail = await fn();
    return { component, ok: true, detail, millis: Date.now() - started };
  } catch (err) {
    return { component, ok: false, detail: (err as Error).message, millis: Date.now() - started };
  }
}

export interface ConnectivityDeps {
  databaseUrl?: string;
  ad?: { url: string; bindDN: string; bindPassword: string; baseDN: string; insecure: boolean; caFile?: string };
  sftp?: { host: string; port: number; username: string; privateKeyFile: string; hostKeyFile: string; dir: string };
}

export function connectivityDepsFromEnv(env = process.env): ConnectivityDeps {
  return {
    databaseUrl: env.DATABASE_URL,
    ad: env.AD_URL
      ? {
          url: env.AD_URL,
          bindDN: env.AD_BIND_DN ?? '',
          bindPassword: env.AD_BIND_PASSWORD ?? '',
          baseDN: env.AD_BASE_DN ?? '',
          // The connector's rules: verification off only with the test-only switch.
          insecure: env.AD_TLS_INSECURE === '1' && insecureTransportAllowed(env),
          caFile: env.AD_TLS_CA_FILE || undefined,
        }
      : undefined,
    sftp: env.SFTP_HOST
      ? {
          host: env.SFTP_HOST,
          port: Number(env.SFTP_PORT ?? 22),
          username: env.SFTP_USERNAME ?? '',
          privateKeyFile: env.SFTP_PRIVATE_KEY_FILE ?? '',
          hostKeyFile: env.SFTP_HOST_KEY_FILE ?? '',
          dir: env.SFTP_UPLOAD_DIR ?? '.',
        }
      : undefined,
  };
}

export function createConnectivityActivities(deps: ConnectivityDeps) {
  return {
    async checkVault(): Promise<ComponentCheck> {
      return timed('vault (PostgreSQL)', async () => {
        if (!deps.databaseUrl) throw new Error('DATABASE_URL is not set');
        const client = new pg.Client({ connectionString: deps.databaseUrl });
        await client.connect();
        try {
          const r = await client.query<{ n: string }>('select count(*)::text as n from schema_migrations');
          return `${r.rows[0]?.n ?? 0} migrations applied`;
        } finally {
          await client.end();
        }
      });
    },

    async checkDirectory(): Promise<ComponentCheck> {
      return timed('directory (LDAPS)', async () => {
        const ad = deps.ad;
        if (!ad) throw new Error('AD_URL is not set');
        const tlsOptions = ad.url.startsWith('ldaps://')
          ? { rejectUnauthorized: !ad.insecure, ...(ad.caFile ? { ca: readFileSync(ad.caFile) } : {}) }
          : undefined;
        const client = new LdapClient({ url: ad.url, tlsOptions, timeout: 10_000, connectTimeout: 5_000 });
        try {
          await client.bind(ad.bindDN, ad.bindPassword);
          const { searchEntries } = await client.search(ad.baseDN, {
            scope: 'base',
            attributes: ['distinguishedName'],
          });
          return `bound, base ${searchEntries[0]?.dn ?? ad.baseDN}`;
        } finally {
          await client.unbind().catch(() => undefined);
        }
      });
    },

    async checkSftp(): Promise<ComponentCheck> {
      return timed('file drop (SFTP)', async () => {
        const s = deps.sftp;
        if (!s) throw new Error('SFTP_HOST is not set');
        const expected = pinnedHostKey(s.hostKeyFile);
        const sftp = new SftpClient('tenure-connectivity');
        try {
          await sftp.connect({
            host: s.host,
            port: s.port,
            username: s.username,
            privateKey: readFileSync(s.privateKeyFile),
            hostVerifier: (key: Buffer) => key.equals(expected),
            readyTimeout: 5_000,
          });
          const entries = await sftp.list(s.dir);
          return `connected, ${entries.length} entries in ${s.dir}`;
        } finally {
          await sftp.end().catch(() => undefined);
        }
      });
    },
  };
}

export type ConnectivityActivities = ReturnType<typeof createConnectivityActivities>;
