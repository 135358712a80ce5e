/**
 * The connector's one bound ldapts client (LDAPS, or StartTLS on ldap://), shared by all its
 * operations, counted, and started over after a dropped connection. Result codes reach the
 * caller as ldapts raised them (so it can handle "no such object" and the like); everything else
 * is mapped to the shared error vocabulary (./errors.ts).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError, type Entry } from 'ldapts';
import type { AdSettings } from './context.js';
import { mapLdapError } from './errors.js';

/** LDAP operations a connector sent, by kind (the LDAP-budget test and the bench read them). */
export interface LdapOperationCounts {
  bind: number;
  search: number;
  add: number;
  modify: number;
  modifyDN: number;
  del: number;
}

const COUNTED = ['search', 'add', 'modify', 'modifyDN', 'del'] as const;

/** The client with every operation counted (a Proxy: ldapts keeps private state, so calls go to the client itself). */
function countingClient(client: Client, counts: LdapOperationCounts): Client {
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const counted = (COUNTED as readonly (string | symbol)[]).includes(prop);
      return (...args: unknown[]) => {
        if (counted) counts[prop as (typeof COUNTED)[number]] += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

type ConnectionSettings = Pick<AdSettings, 'url' | 'bindDN' | 'tls' | 'startTls' | 'timeouts'>;

export class AdConnection {
  readonly #settings: ConnectionSettings;
  readonly #password: string;
  #client: Client | null = null;
  #connecting: Promise<Client> | null = null;
  readonly #ops: LdapOperationCounts = { bind: 0, search: 0, add: 0, modify: 0, modifyDN: 0, del: 0 };

  constructor(settings: ConnectionSettings, bindPassword: string) {
    this.#settings = settings;
    this.#password = bindPassword;
  }

  /** Never serialise the password (it is not a property, but be explicit for loggers). */
  toJSON(): Record<string, unknown> {
    return { url: this.#settings.url };
  }

  /** The LDAP operations sent so far (a copy). */
  operations(): LdapOperationCounts & { writes: number } {
    const o = { ...this.#ops };
    return { ...o, writes: o.add + o.modify + o.modifyDN + o.del };
  }

  #tlsSettings(): ConnectionOptions {
    const o: ConnectionOptions = {};
    if (this.#settings.tls.caFile) o.ca = readFileSync(this.#settings.tls.caFile);
    if (this.#settings.tls.insecure) o.rejectUnauthorized = false;
    return o;
  }

  #startTls(): boolean {
    return this.#settings.startTls && /^ldap:/i.test(this.#settings.url);
  }

  async #connect(): Promise<Client> {
    const client = new Client({
      url: this.#settings.url,
      timeout: this.#settings.timeouts.operationMs,
      connectTimeout: this.#settings.timeouts.connectMs,
      // ldapts would try TLS on ldap:// otherwise
      tlsOptions: /^ldaps:/i.test(this.#settings.url) ? this.#tlsSettings() : undefined,
      strictDN: false,
      // ldapts replays the bind after a reconnect without repeating StartTLS: a StartTLS session
      // reconnects through #getClient instead, upgrading before it binds.
      autoRebind: !this.#startTls(),
    });
    try {
      if (this.#startTls()) {
        const host = new URL(this.#settings.url).hostname;
        // host: the name or address the certificate is checked against (the upgraded socket has none).
        const isIp = /^[\d.]+$|:/.test(host);
        await client.startTLS({ ...this.#tlsSettings(), host, servername: isIp ? undefined : host });
      }
      this.#ops.bind += 1;
      await client.bind(this.#settings.bindDN, this.#password);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw mapLdapError(err, 'bind to Active Directory');
    }
    return countingClient(client, this.#ops);
  }

  async #getClient(): Promise<Client> {
    if (this.#client?.isConnected) return this.#client;
    if (this.#client) {
      // Dropped connection: start over rather than rely on a half-dead socket.
      const old = this.#client;
      this.#client = null;
      await old.unbind().catch(() => undefined);
    }
    if (!this.#connecting) {
      this.#connecting = this.#connect().finally(() => {
        this.#connecting = null;
      });
      this.#client = await this.#connecting;
      return this.#client;
    }
    return this.#connecting;
  }

  /** Run one LDAP operation; connection-level failures drop the client so the next call reconnects. */
  async op<T>(context: string, fn: (c: Client) => Promise<T>): Promise<T> {
    const client = await this.#getClient();
    try {
      return await fn(client);
    } catch (err) {
      if (!(err instanceof ResultCodeError) && this.#client === client) {
        this.#client = null;
        await client.unbind().catch(() => undefined);
      }
      throw err instanceof ResultCodeError ? err : mapLdapError(err, context);
    }
  }

  /** Like op but maps every LDAP error (use when no result code is handled by the caller). */
  async run<T>(context: string, fn: (c: Client) => Promise<T>): Promise<T> {
    try {
      return await this.op(context, fn);
    } catch (err) {
      throw mapLdapError(err, context);
    }
  }

  /** A search whose result codes reach the caller; objectGUID comes back as bytes. */
  async search(base: string, filter: string, scope: 'base' | 'one' | 'sub', attributes: string[]): Promise<Entry[]> {
    const r = await this.op('search', (c) =>
      c.search(base, { scope, filter, attributes, explicitBufferAttributes: ['objectGUID'] }),
    );
    return r.searchEntries;
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = null;
    if (c) await c.unbind().catch(() => undefined);
  }
}
