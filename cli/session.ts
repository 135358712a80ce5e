/**
 * One run of the `tenure` command: its parsed options, its environment, and the connections it
 * opens on first use (Temporal, the vault), which runCli closes at the end. Commands ask the
 * session instead of each reading options, checking the time zone and connecting on its own.
 */
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from '../domain/dates.js';
import { connectClient } from '../workers/temporal-connection.js';
import { UsageError, type Out } from './commands/common.js';
import { requester } from './requester.js';

export interface CliDeps {
  out?: Out;
  err?: Out;
  env?: NodeJS.ProcessEnv;
  /** Defaults to `connectClient()` from TEMPORAL_* variables; the CLI closes it when done. */
  connectTemporal?: () => Promise<Client>;
  /** Defaults to a pool on DATABASE_URL; the CLI ends it when done. */
  connectPostgres?: () => pg.Pool;
  /** Whether the CLI closes what `connectTemporal`/`connectPostgres` gave it (default true). */
  closeConnections?: boolean;
  /** A terminal for progress bars (cli/tenure.ts passes stderr when it is one); absent: plain lines. */
  tty?: NodeJS.WriteStream;
}

/** What every admin request carries: who asks, why, the update id, and the output form. */
export interface AdminRequestOptions {
  requestedBy: string;
  reason: string | undefined;
  requestId: string | undefined;
  json: boolean;
}

export class CliSession {
  #client: Client | undefined;
  #pool: pg.Pool | undefined;

  constructor(
    readonly values: Record<string, unknown>,
    readonly env: NodeJS.ProcessEnv,
    readonly deps: CliDeps,
    readonly out: Out,
  ) {}

  /** A string option, or undefined when not given. */
  str(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  get asJson(): boolean {
    return this.values.json === true;
  }

  /** The zone for times shown to people (TENURE_TIME_ZONE); an unknown zone is a usage error. */
  timeZone(): string {
    const timeZone = this.env.TENURE_TIME_ZONE || DEFAULT_TIME_ZONE;
    if (!isValidTimeZone(timeZone))
      throw new UsageError(`TENURE_TIME_ZONE: unknown time zone ${JSON.stringify(timeZone)}`);
    return timeZone;
  }

  /** --by, --reason, --request-id and --json of an admin request. */
  adminOptions(): AdminRequestOptions {
    return {
      requestedBy: requester(this.str('by'), this.env),
      reason: this.str('reason')?.trim() || undefined,
      requestId: this.str('request-id'),
      json: this.asJson,
    };
  }

  /** The Temporal client, connected on first use. */
  async temporal(): Promise<Client> {
    this.#client ??= await (this.deps.connectTemporal ?? (() => connectClient()))();
    return this.#client;
  }

  /** The vault, connected on first use; `purpose` names it in the error when DATABASE_URL is missing. */
  vault(max = 2, purpose = 'the vault'): pg.Pool {
    if (this.#pool) return this.#pool;
    if (!this.deps.connectPostgres && !this.env.DATABASE_URL) throw new Error(`DATABASE_URL is not set (${purpose})`);
    this.#pool = this.deps.connectPostgres
      ? this.deps.connectPostgres()
      : new pg.Pool({ connectionString: this.env.DATABASE_URL, max });
    return this.#pool;
  }

  /** Closes what the session opened, unless the caller keeps its connections. */
  async close(): Promise<void> {
    if (this.deps.closeConnections === false) return;
    await this.#client?.connection.close().catch(() => undefined);
    await this.#pool?.end().catch(() => undefined);
  }
}
