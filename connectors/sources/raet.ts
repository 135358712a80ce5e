/**
 * The Visma Raet source (docs/sources/raet.md): Youforce IAM API for
 * HR Core Beaufort, or the YouServe IAM API for HR Core Business (time-sliced records).
 *
 * fetchAll pages through every endpoint (full load, client-side joins: the API has no "active
 * only" filter), within Raet's limits (100 calls a minute, 3 at once, 0.6 s spacing; 429 → wait),
 * validates every record and maps it to the uniform model. A malformed record becomes a
 * SourceRecordError and the rest is imported; a failed page (5xx after retries, bad envelope,
 * auth failure) throws, so the poller keeps the last snapshot.
 *
 * writeBack pushes the generated UPN into the Youforce identity (users endpoint, 2.7) and the
 * business e-mail into Beaufort (ContactDetails, 2.8), each only when it differs.
 */
import { localDate } from '../../domain/dates.js';
import type { SourceConnector, SourceImport, SourceRecordError, WriteBackValues } from '../types.js';
import {
  assembleBeaufort,
  assembleBusiness,
  type BeaufortRecords,
  type BusinessRecords,
  type Origins,
} from './raet/assemble.js';
import { RaetClient, RaetError, describeBody, type RaetClientDeps } from './raet/client.js';
import { RaetSourceOptions, type RaetSourceConfig } from './raet/options.js';
import {
  RawAssignment,
  RawCostAllocation,
  RawEmployment,
  RawExtension,
  RawOrgUnit,
  RawPerson,
  RawRoleAssignment,
  RawValue,
  parseRecord,
  typed,
  type Read,
} from './raet/records.js';
import type { z } from 'zod';
import { EMPTY_MAPPING, mappedPaths, type MappingScopes, type SourceFieldMapping } from './field-mapping.js';

/** What a Raet field mapping may read (docs/sources/raet.md, "Field mapping"). */
export const RAET_MAPPING_SCOPES: MappingScopes = {
  person: ['person.', 'extension.'],
  contract: ['employment.', 'assignment.', 'orgUnit.'],
};

export interface RaetSourceDeps extends RaetClientDeps {
  /** The source's compiled field mapping (config file `fieldMapping` / `customFields`). */
  mapping?: SourceFieldMapping;
}

export { RaetError, RaetSourceOptions };
export type { CachedToken, TokenStore, RaetClientDeps } from './raet/client.js';
export type { RaetSourceConfig } from './raet/options.js';

export interface RaetImportStats {
  /** API calls per endpoint path in the last fetchAll. */
  callsByEndpoint: Record<string, number>;
  /** Records read per endpoint (nulls not counted). */
  recordsByEndpoint: Record<string, number>;
  /** HTTP attempts in total, 429s waited out and transient retries (since construction). */
  calls: number;
  rateLimited: number;
  retried: number;
  tokensFetched: number;
}

/** Every promise of a record awaited at once: the endpoints are read in parallel. */
async function allOf<T extends object>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const entries = Object.entries(promises) as [string, Promise<unknown>][];
  const values = await Promise.all(entries.map(([, p]) => p));
  return Object.fromEntries(entries.map(([k], i) => [k, values[i]])) as T;
}

export class RaetSource implements SourceConnector {
  readonly id: string;
  readonly config: RaetSourceConfig;
  private readonly client: RaetClient;
  private readonly mapping: SourceFieldMapping;
  private lastStats: { callsByEndpoint: Record<string, number>; recordsByEndpoint: Record<string, number> } = {
    callsByEndpoint: {},
    recordsByEndpoint: {},
  };

  /** Throws a zod error (never echoing the secret) when the options are invalid. */
  constructor(options: RaetSourceOptions, deps: RaetSourceDeps = {}) {
    const parsed = RaetSourceOptions.safeParse(options);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(options)'}: ${i.message}`);
      throw new RaetError('config', `raet source: invalid options: ${issues.join('; ')}`);
    }
    this.config = parsed.data;
    this.id = this.config.id;
    this.client = new RaetClient(this.config, deps);
    this.mapping = deps.mapping ?? EMPTY_MAPPING;
  }

  /** Tokens fetched so far (the auth budget is 400 a month: a cached token is reused until it expires). */
  get tokensFetched(): number {
    return this.client.tokensFetched;
  }

  get stats(): RaetImportStats {
    const s = this.client.http.stats;
    return {
      ...this.lastStats,
      calls: s.calls,
      rateLimited: s.rateLimited,
      retried: s.retried,
      tokensFetched: this.client.tokensFetched,
    };
  }

  private today(): string {
    return this.config.today ?? localDate(Date.now(), this.config.timeZone);
  }

  /** Read a list endpoint: every non-null record parsed with `schema`, malformed ones as errors. */
  private async list<T>(
    path: string,
    schema: z.ZodType<T>,
    errors: SourceRecordError[],
    calls: Record<string, number>,
    counts: Record<string, number>,
  ): Promise<Read<T>[]> {
    const out: Read<T>[] = [];
    let index = 0;
    calls[path] = 0;
    counts[path] = 0;
    await this.client.pages(path, (records) => {
      calls[path] = (calls[path] ?? 0) + 1;
      for (const raw of records) {
        if (raw === null || raw === undefined) continue; // null items in pages (docs/sources/raet.md)
        const at = index++;
        const rec = parseRecord(schema, raw, { source: this.id, origin: path, index: at }, errors);
        if (rec !== undefined) out.push({ rec, index: at, raw: raw as Record<string, unknown> });
      }
      counts[path] = index;
    });
    return out;
  }

  async fetchAll(): Promise<SourceImport> {
    const cfg = this.config;
    const api = cfg.apiPath;
    const errors: SourceRecordError[] = [];
    const calls: Record<string, number> = {};
    const counts: Record<string, number> = {};
    const get = <T>(path: string, schema: z.ZodType<T>) => this.list(path, schema, errors, calls, counts);
    const recs = <T>(p: Promise<Read<T>[]>) => p.then((l) => l.map((r) => r.rec));
    const today = this.today();
    // Obtain the token once before the parallel reads (not one per endpoint).
    await this.client.accessToken();
    let result: SourceImport;
    if (cfg.variant === 'beaufort') {
      const origins: Origins = {
        persons: `${api}/persons`,
        employments: `${api}/employments`,
        assignments: `${api}/assignments`,
        organizationUnits: `${api}/organizationUnits`,
      };
      const records = await allOf<BeaufortRecords>({
        persons: get(origins.persons, RawPerson),
        employments: get(origins.employments, RawEmployment),
        assignments:
          cfg.contractSource === 'assignments' ? get(origins.assignments, RawAssignment) : Promise.resolve([]),
        organizationUnits: get(origins.organizationUnits, RawOrgUnit),
        jobProfiles: recs(get(`${api}/jobProfiles`, RawValue)),
        costAllocations: recs(get(`${api}/costAllocations`, RawCostAllocation)),
        roleAssignments: recs(get(`${api}/roleAssignments`, RawRoleAssignment)),
        extensions:
          cfg.includeExtensions || mappedPaths(this.mapping).some((p) => p.startsWith('extension.'))
            ? recs(get(`${cfg.extensionsPath}/persons`, RawExtension))
            : Promise.resolve([]),
      });
      result = assembleBeaufort(cfg, today, records, origins, errors, counts[origins.persons] ?? 0, this.mapping);
    } else {
      const origins: Origins = {
        persons: `${api}/employees`,
        employments: `${api}/employments`,
        assignments: `${api}/employments`,
        organizationUnits: `${api}/organizationunits`,
      };
      const records = await allOf<BusinessRecords>({
        employees: get(origins.persons, RawPerson),
        employments: get(origins.employments, RawEmployment),
        organizationUnits: get(origins.organizationUnits, RawOrgUnit),
        companies: recs(get(`${api}/companies`, RawValue)),
        costCenters: recs(get(`${api}/valueList/costCenter`, RawValue)),
        classifications: recs(get(`${api}/valueList/classification`, RawValue)),
        jobProfiles: recs(get(`${api}/jobProfiles`, RawValue)),
      });
      result = assembleBusiness(cfg, today, records, origins, errors, counts[origins.persons] ?? 0, this.mapping);
    }
    this.lastStats = { callsByEndpoint: calls, recordsByEndpoint: counts };
    return result;
  }

  // --------------------------------------------------------------------------------- write-back

  /**
   * Write the identity (UPN) and the business e-mail back. Reads first and writes only what
   * differs: 'unchanged' when nothing had to be written. Throws RaetError (kind 'writeBack' or
   * 'auth') with a clear message otherwise.
   */
  async writeBack(personSourceKey: string, values: WriteBackValues): Promise<'written' | 'unchanged'> {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(personSourceKey)) {
      throw new RaetError('writeBack', `raet write-back: invalid person key '${personSourceKey.slice(0, 64)}'`);
    }
    const wb = this.config.writeBack;
    let wrote = false;
    const identity = values[wb.identityFrom];
    if (wb.identity && identity !== undefined) {
      wrote = (await this.writeIdentity(personSourceKey, identity)) || wrote;
    }
    if (wb.contactDetails && this.config.variant === 'beaufort' && values.businessEmail !== undefined) {
      wrote = (await this.writeBusinessEmail(personSourceKey, values.businessEmail)) || wrote;
    }
    return wrote ? 'written' : 'unchanged';
  }

  private usersUrl(code: string, identity = false): string {
    return this.client.url(
      `${this.config.apiPath}/users(employeeId=${encodeURIComponent(code)})${identity ? '/identity' : ''}`,
    );
  }

  private async currentIdentity(code: string): Promise<string> {
    const res = await this.client.call(this.usersUrl(code));
    if (res.status === 404) {
      throw new RaetError(
        'writeBack',
        `raet write-back: no Youforce user for employee ${code} (404; the users endpoint must be enabled by Visma Raet, and the employee needs a Youforce account)`,
        404,
      );
    }
    const body = res.json as Record<string, unknown> | undefined;
    if (res.status !== 200 || !body || typeof body.id !== 'string' || body.id === '') {
      throw new RaetError(
        'writeBack',
        `raet write-back: reading the Youforce user of employee ${code} failed (HTTP ${res.status}${describeBody(res.json, [])})`,
        res.status,
      );
    }
    return typeof body.identityId === 'string' ? body.identityId : '';
  }

  private sameIdentity(a: string, b: string): boolean {
    return this.config.writeBack.identityCaseInsensitive ? a.toLowerCase() === b.toLowerCase() : a === b;
  }

  /** 2.7: GET, compare, PATCH only when different (PATCHing the same value is an API error). */
  private async writeIdentity(code: string, value: string): Promise<boolean> {
    const wanted = value.trim();
    if (wanted === '') {
      throw new RaetError(
        'writeBack',
        `raet write-back: the Youforce identity of employee ${code} cannot be cleared (empty value)`,
      );
    }
    if (this.sameIdentity(await this.currentIdentity(code), wanted)) return false;
    const res = await this.client.call(this.usersUrl(code, true), { method: 'PATCH', body: { id: wanted } });
    if (res.status === 204 || res.status === 200) return true;
    if (res.status === 404) {
      throw new RaetError(
        'writeBack',
        `raet write-back: no Youforce user for employee ${code} (404 on identity update)`,
        404,
      );
    }
    // The API answers an error when the value is already set (status unverified): check again.
    if (res.status >= 400 && res.status < 500 && this.sameIdentity(await this.currentIdentity(code), wanted))
      return false;
    throw new RaetError(
      'writeBack',
      `raet write-back: setting the Youforce identity of employee ${code} failed (HTTP ${res.status}${describeBody(res.json, [])})`,
      res.status,
    );
  }

  /** 2.8: GET persons/{personCode}, POST ContactDetails only when the business e-mail differs. */
  private async writeBusinessEmail(code: string, email: string): Promise<boolean> {
    const wanted = email.trim();
    const api = this.config.apiPath;
    const res = await this.client.call(this.client.url(`${api}/persons/${encodeURIComponent(code)}`));
    if (res.status === 404) {
      throw new RaetError('writeBack', `raet write-back: person ${code} not found in Raet (404)`, 404);
    }
    if (res.status !== 200) {
      throw new RaetError(
        'writeBack',
        `raet write-back: reading person ${code} failed (HTTP ${res.status})`,
        res.status,
      );
    }
    const parsed = RawPerson.safeParse(res.json);
    const current = parsed.success ? (typed(parsed.data.emailAddresses, 'Business', 'address') ?? '') : '';
    if (current === wanted) return false;
    const post = await this.client.call(this.client.url(`${api}/ContactDetails/${encodeURIComponent(code)}`), {
      method: 'POST',
      body: { emailAddress: wanted },
    });
    if (post.status === 200 || post.status === 201 || post.status === 202) return true;
    if (post.status === 400 || post.status === 422) {
      throw new RaetError(
        'writeBack',
        `raet write-back: Raet rejected the business e-mail of person ${code} (HTTP ${post.status}${describeBody(post.json, [])}); it must look like name@domain.tld`,
        post.status,
      );
    }
    if (post.status === 404)
      throw new RaetError('writeBack', `raet write-back: person ${code} not found for ContactDetails (404)`, 404);
    throw new RaetError(
      'writeBack',
      `raet write-back: ContactDetails for person ${code} failed (HTTP ${post.status}${describeBody(post.json, [])})`,
      post.status,
    );
  }
}
