/**
 * A Visma Raet Youforce IAM API simulator (docs/sources/raet.md and docs/sources/model.md): a real HTTP
 * server on 127.0.0.1 with a random free port.
 *
 * - token endpoints: Visma Connect (`POST /connect/token`, client id + secret + tenant id) and the
 *   legacy one (`POST /authentication/token`, then `X-Client-Id` / `X-Raet-Tenant-Id` headers);
 *   wrong credentials → 400 `invalid_client`; tokens expire after `tokenLifetimeSec` (injected clock);
 * - every list endpoint pages with `value` (extensions: `values`) + `nextLink`
 *   (`<base><path>?take=n&nextToken=<opaque>`), page size configurable, optional null items;
 * - rate limits: `callsPerWindow` per sliding `windowMs` (100 per 60 s by default; 1 s in tests),
 *   `concurrent` calls at once, optional minimum spacing — all answered with 429 + Retry-After;
 * - faults: 5xx at page N of an endpoint, a storm of N 429s, revoke all tokens after N data calls;
 * - retention: records whose end lies more than `retentionDays` before `today` are not returned;
 * - write-back: users GET / PATCH identity (204; same value → error; blank → error; 404),
 *   `GET persons/{personCode}`, `POST ContactDetails/{personCode}` (ticket, validation).
 *
 * The unverified points of the spec are switches in `RaetSimulatorOptions`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Json = Record<string, unknown>;

export interface RaetDataset {
  persons: (Json | null)[];
  employments: (Json | null)[];
  assignments: (Json | null)[];
  organizationUnits: (Json | null)[];
  jobProfiles: (Json | null)[];
  costAllocations: (Json | null)[];
  roleAssignments: (Json | null)[];
  extensionPersons: (Json | null)[];
  /** HR Core Business. */
  employees: (Json | null)[];
  companies: (Json | null)[];
  costCenters: (Json | null)[];
  classifications: (Json | null)[];
  /** Youforce users by employeeId (write-back). */
  users: Map<string, { employeeId: string; id: string; sourceId: string; identityId: string }>;
}

export interface RaetSimulatorOptions {
  variant?: 'beaufort' | 'business';
  clientId?: string;
  clientSecret?: string;
  tenantId?: string;
  /** Require `tenant_id` at the Visma Connect token endpoint (the newer guide says optional). Default true. */
  requireTenantId?: boolean;
  tokenLifetimeSec?: number;
  /** `expires_in` as a string (seen in some docs). Default false. */
  expiresInAsString?: boolean;
  /** Default page size when `take` is absent. Default 500. */
  defaultPageSize?: number;
  /** Largest `take` honoured (unverified whether > 500 works). Default 1000. */
  maxTake?: number;
  /** Host part of `nextLink` (real API: https://api.youforce.com). Default the simulator's own URL. */
  nextLinkBase?: string;
  /** Put `null` between records on every page (HelloID v3.0.2 guard). Default false. */
  nullItems?: boolean;
  callsPerWindow?: number;
  windowMs?: number;
  concurrent?: number;
  /** Reject a call starting within this many ms of the previous one (spike arrest). Default 0 (off). */
  minSpacingMs?: number;
  /** Retry-After as fractional seconds (fast tests) instead of whole seconds. Default false. */
  fractionalRetryAfter?: boolean;
  /** Error body style (unverified): `{ message }` or `{ errorCode, message }`. Default 'message'. */
  errorStyle?: 'message' | 'errorCode';
  /** Reference "today" (YYYY-MM-DD) for retention. Default the real date. */
  today?: string;
  /** Records ended more than this many days before today vanish. Default 90; null = keep all. */
  retentionDays?: number | null;
  /** Status for PATCH identity with the value already set (unverified). Default 400. */
  sameIdentityStatus?: number;
  /** ContactDetails mutations applied at once (default) or left pending (BO4 IDA processing off). */
  contactDetailsProcessing?: 'immediate' | 'pending';
  /** Injected clock in ms (rate-limit windows, token expiry). Default Date.now. */
  now?: () => number;
  /** Artificial latency per data call, ms. Default 0. */
  latencyMs?: number;
}

export interface RaetFaults {
  /** Answer `status` (default 500) for page `page` (1-based) of `path` (e.g. 'employments'), `times` times (default always). */
  serverErrorAt?: { path: string; page: number; status?: number; times?: number };
  /** The next `count` data calls get 429 with Retry-After `retryAfterSec` (default 0.05 s). */
  tooManyStorm?: { count: number; retryAfterSec?: number };
  /** After this many more successful data calls, every token issued so far is revoked (→ 401). */
  revokeTokensAfterCalls?: number;
  /** Every write-back call (identity PATCH, ContactDetails POST) answers this status (an outage of the write API). */
  writeBackStatus?: number;
}

export interface RaetSimulatorStats {
  tokensIssued: number;
  tokenRejected: number;
  dataCalls: number;
  rateLimited: number;
  unauthorized: number;
  serverErrors: number;
  maxConcurrent: number;
  /** Data calls per path (without query). */
  byPath: Map<string, number>;
  /** Largest page served (records incl. nulls). */
  largestPage: number;
  /** Bodies of ContactDetails POSTs accepted. */
  contactDetailsPosts: Json[];
  identityPatches: { employeeId: string; id: string }[];
}

const LIST_PATHS_BEAUFORT: Record<string, keyof RaetDataset> = {
  '/iam/v1.0/persons': 'persons',
  '/iam/v1.0/employments': 'employments',
  '/iam/v1.0/assignments': 'assignments',
  '/iam/v1.0/organizationUnits': 'organizationUnits',
  '/iam/v1.0/jobProfiles': 'jobProfiles',
  '/iam/v1.0/costAllocations': 'costAllocations',
  '/iam/v1.0/roleAssignments': 'roleAssignments',
  '/extensions/v1.0/iam/persons': 'extensionPersons',
};
const LIST_PATHS_BUSINESS: Record<string, keyof RaetDataset> = {
  '/iam/v1.0/employees': 'employees',
  '/iam/v1.0/employments': 'employments',
  '/iam/v1.0/companies': 'companies',
  '/iam/v1.0/organizationunits': 'organizationUnits',
  '/iam/v1.0/valueList/costCenter': 'costCenters',
  '/iam/v1.0/valueList/classification': 'classifications',
  '/iam/v1.0/jobProfiles': 'jobProfiles',
};

export class RaetSimulator {
  readonly stats: RaetSimulatorStats = {
    tokensIssued: 0,
    tokenRejected: 0,
    dataCalls: 0,
    rateLimited: 0,
    unauthorized: 0,
    serverErrors: 0,
    maxConcurrent: 0,
    byPath: new Map(),
    largestPage: 0,
    contactDetailsPosts: [],
    identityPatches: [],
  };
  faults: RaetFaults = {};
  readonly o: Required<Omit<RaetSimulatorOptions, 'nextLinkBase' | 'today'>> & {
    nextLinkBase?: string;
    today?: string;
  };
  private server?: Server;
  private baseUrl = '';
  private readonly tokens = new Map<string, { exp: number; legacy: boolean }>();
  private inFlight = 0;
  private readonly starts: number[] = [];
  private lastStart = -Infinity;
  private serverErrorsServed = 0;
  private readonly pending: Json[] = [];

  constructor(
    public data: RaetDataset,
    options: RaetSimulatorOptions = {},
  ) {
    this.o = {
      variant: options.variant ?? 'beaufort',
      clientId: options.clientId ?? 'sim-client',
      clientSecret: options.clientSecret ?? 'sim-secret-do-not-log',
      tenantId: options.tenantId ?? 'sim-tenant',
      requireTenantId: options.requireTenantId ?? true,
      tokenLifetimeSec: options.tokenLifetimeSec ?? 3600,
      expiresInAsString: options.expiresInAsString ?? false,
      defaultPageSize: options.defaultPageSize ?? 500,
      maxTake: options.maxTake ?? 1000,
      nextLinkBase: options.nextLinkBase,
      nullItems: options.nullItems ?? false,
      callsPerWindow: options.callsPerWindow ?? 100,
      windowMs: options.windowMs ?? 60_000,
      concurrent: options.concurrent ?? 3,
      minSpacingMs: options.minSpacingMs ?? 0,
      fractionalRetryAfter: options.fractionalRetryAfter ?? false,
      errorStyle: options.errorStyle ?? 'message',
      today: options.today,
      retentionDays: options.retentionDays === undefined ? 90 : options.retentionDays,
      sameIdentityStatus: options.sameIdentityStatus ?? 400,
      contactDetailsProcessing: options.contactDetailsProcessing ?? 'immediate',
      now: options.now ?? Date.now,
      latencyMs: options.latencyMs ?? 0,
    };
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.send(res, 500, { message: `simulator error: ${(e as Error).message}` });
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Revoke every token now (the next data call gets 401). */
  revokeTokens() {
    this.tokens.clear();
  }

  /** Apply pending ContactDetails mutations (BO4 processed the IDA process). */
  processPending() {
    for (const m of this.pending.splice(0)) this.applyContact(m);
  }

  resetStats() {
    Object.assign(this.stats, {
      tokensIssued: 0,
      tokenRejected: 0,
      dataCalls: 0,
      rateLimited: 0,
      unauthorized: 0,
      serverErrors: 0,
      maxConcurrent: 0,
      byPath: new Map(),
      largestPage: 0,
      contactDetailsPosts: [],
      identityPatches: [],
    });
  }

  // ------------------------------------------------------------------------------------------

  private today(): string {
    return this.o.today ?? new Date(this.o.now()).toISOString().slice(0, 10);
  }

  private error(message: string, code: string): Json {
    return this.o.errorStyle === 'errorCode' ? { errorCode: code, message } : { message };
  }

  private send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 1_000_000) throw new Error('body too large');
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', this.baseUrl);
    if (req.method === 'POST' && (url.pathname === '/connect/token' || url.pathname === '/authentication/token')) {
      return this.token(req, res, url.pathname === '/connect/token');
    }
    // Rate limiting applies to every API call.
    const now = this.o.now();
    const storm = this.faults.tooManyStorm;
    if (storm && storm.count > 0) {
      storm.count--;
      return this.tooMany(res, (storm.retryAfterSec ?? 0.05) * 1000);
    }
    while (this.starts.length > 0 && (this.starts[0] as number) <= now - this.o.windowMs) this.starts.shift();
    if (this.starts.length >= this.o.callsPerWindow) {
      return this.tooMany(res, (this.starts[0] as number) + this.o.windowMs - now);
    }
    if (this.o.minSpacingMs > 0 && now - this.lastStart < this.o.minSpacingMs) {
      return this.tooMany(res, this.lastStart + this.o.minSpacingMs - now);
    }
    if (this.inFlight >= this.o.concurrent) return this.tooMany(res, 100);
    this.starts.push(now);
    this.lastStart = now;
    this.inFlight++;
    this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, this.inFlight);
    try {
      if (this.o.latencyMs > 0) await new Promise((r) => setTimeout(r, this.o.latencyMs));
      if (!this.authorized(req)) {
        this.stats.unauthorized++;
        return this.send(res, 401, this.error('Unauthorized: token missing, invalid or expired', 'Unauthorized'));
      }
      this.stats.dataCalls++;
      this.stats.byPath.set(url.pathname, (this.stats.byPath.get(url.pathname) ?? 0) + 1);
      if (this.faults.revokeTokensAfterCalls !== undefined) {
        if (this.faults.revokeTokensAfterCalls <= 0) {
          this.faults.revokeTokensAfterCalls = undefined;
          this.tokens.clear();
          this.stats.unauthorized++;
          return this.send(res, 401, this.error('Unauthorized: token expired', 'Unauthorized'));
        }
        this.faults.revokeTokensAfterCalls--;
      }
      await this.route(req, res, url);
    } finally {
      this.inFlight--;
    }
  }

  private tooMany(res: ServerResponse, waitMs: number) {
    this.stats.rateLimited++;
    const sec = Math.max(0, waitMs) / 1000;
    const retryAfter = this.o.fractionalRetryAfter ? sec.toFixed(3) : String(Math.max(1, Math.ceil(sec)));
    this.send(res, 429, this.error('Too Many Requests', 'Too Many Requests'), { 'retry-after': retryAfter });
  }

  private async token(req: IncomingMessage, res: ServerResponse, visma: boolean) {
    const form = new URLSearchParams(await this.readBody(req));
    const okClient = form.get('client_id') === this.o.clientId && form.get('client_secret') === this.o.clientSecret;
    const okTenant = !visma || !this.o.requireTenantId || form.get('tenant_id') === this.o.tenantId;
    if (form.get('grant_type') !== 'client_credentials') {
      this.stats.tokenRejected++;
      return this.send(res, 400, { error: 'unsupported_grant_type' });
    }
    if (!okClient || !okTenant) {
      this.stats.tokenRejected++;
      return this.send(res, 400, { error: 'invalid_client' });
    }
    const token = `sim.${randomUUID()}.sig`;
    this.tokens.set(token, { exp: this.o.now() + this.o.tokenLifetimeSec * 1000, legacy: !visma });
    this.stats.tokensIssued++;
    const expires = this.o.expiresInAsString ? String(this.o.tokenLifetimeSec) : this.o.tokenLifetimeSec;
    const body: Json = { access_token: token, expires_in: expires, token_type: 'Bearer' };
    if (visma) body.scope = 'Youforce-IAM:Get_Basic Youforce-IAM:Update_Identity Youforce-IAM:Write_Basic';
    this.send(res, 200, body);
  }

  private authorized(req: IncomingMessage): boolean {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const t = m ? this.tokens.get(m[1] as string) : undefined;
    if (t === undefined || t.exp <= this.o.now()) return false;
    // Legacy tokens need the client id and tenant headers on every call.
    if (
      t.legacy &&
      (req.headers['x-client-id'] !== this.o.clientId || req.headers['x-raet-tenant-id'] !== this.o.tenantId)
    ) {
      return false;
    }
    return true;
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL) {
    const path = url.pathname;
    const lists = this.o.variant === 'business' ? LIST_PATHS_BUSINESS : LIST_PATHS_BEAUFORT;
    const list = lists[path];
    if (req.method === 'GET' && list) return this.page(res, url, list);

    let m = /^\/iam\/v1\.0\/users\(employeeId=([^)]+)\)(\/identity)?$/.exec(decodeURIComponent(path));
    if (m) return this.users(req, res, m[1] as string, m[2] !== undefined);
    m = /^\/iam\/v1\.0\/persons\/([^/]+)$/.exec(path);
    if (m && req.method === 'GET' && this.o.variant === 'beaufort') {
      const code = decodeURIComponent(m[1] as string);
      const p = this.visible('persons').find((x) => x?.personCode === code);
      return p ? this.send(res, 200, p) : this.send(res, 404, this.error('Not Found', 'Not Found'));
    }
    m = /^\/iam\/v1\.0\/ContactDetails\/([^/]+)$/.exec(path);
    if (m && req.method === 'POST' && this.o.variant === 'beaufort') {
      return this.contactDetails(req, res, decodeURIComponent(m[1] as string));
    }
    this.send(res, 404, this.error('Not Found', 'Not Found'));
  }

  /** Records of a list after the retention window. */
  private visible(key: keyof RaetDataset): (Json | null)[] {
    const all = this.data[key] as (Json | null)[];
    if (this.o.retentionDays === null) return all;
    const cutoff = addDaysIso(this.today(), -this.o.retentionDays);
    return all.filter((r) => {
      if (r === null) return true;
      const end = r.dischargeDate ?? r.endDate ?? r.validUntil;
      return typeof end !== 'string' || end >= cutoff;
    });
  }

  private page(res: ServerResponse, url: URL, key: keyof RaetDataset) {
    const records = this.visible(key);
    const takeRaw = url.searchParams.get('take');
    let take = takeRaw === null ? this.o.defaultPageSize : Number(takeRaw);
    if (!Number.isInteger(take) || take < 1) {
      return this.send(res, 400, this.error('take must be a positive integer', 'Bad Request'));
    }
    take = Math.min(take, this.o.maxTake);
    const tokenRaw = url.searchParams.get('nextToken');
    let offset = 0;
    if (tokenRaw !== null) {
      const decoded = /^off:(\d+)$/.exec(Buffer.from(tokenRaw, 'base64url').toString('utf8'));
      if (!decoded) return this.send(res, 400, this.error('invalid nextToken', 'Bad Request'));
      offset = Number(decoded[1]);
    }
    const pageNo = Math.floor(offset / take) + 1;
    const f = this.faults.serverErrorAt;
    if (f && url.pathname.endsWith(`/${f.path}`) && f.page === pageNo) {
      if (f.times === undefined || this.serverErrorsServed < f.times) {
        this.serverErrorsServed++;
        this.stats.serverErrors++;
        return this.send(res, f.status ?? 500, this.error('Internal Server Error', 'Internal Server Error'));
      }
    }
    const slice = records.slice(offset, offset + take);
    const items: (Json | null)[] = this.o.nullItems ? slice.flatMap((r) => [r, null]) : slice;
    this.stats.largestPage = Math.max(this.stats.largestPage, items.length);
    const envelope = key === 'extensionPersons' ? 'values' : 'value';
    const body: Json = { [envelope]: items };
    if (offset + take < records.length) {
      const next = Buffer.from(`off:${offset + take}`, 'utf8').toString('base64url');
      body.nextLink = `${this.o.nextLinkBase ?? this.baseUrl}${url.pathname}?take=${take}&nextToken=${next}`;
    }
    this.send(res, 200, body);
  }

  private async users(req: IncomingMessage, res: ServerResponse, employeeId: string, identity: boolean) {
    if (identity && req.method !== 'GET' && this.faults.writeBackStatus) {
      return this.send(res, this.faults.writeBackStatus, this.error('Write API unavailable', 'Service Unavailable'));
    }
    const user = this.data.users.get(employeeId);
    if (!identity && req.method === 'GET') {
      return user ? this.send(res, 200, user) : this.send(res, 404, this.error('Not Found', 'Not Found'));
    }
    if (!identity || req.method !== 'PATCH')
      return this.send(res, 405, this.error('Method Not Allowed', 'Bad Request'));
    let body: Json;
    try {
      body = JSON.parse(await this.readBody(req)) as Json;
    } catch {
      return this.send(res, 400, this.error('Invalid JSON body', 'Bad Request'));
    }
    if (!user) return this.send(res, 404, this.error('User not found', 'Not Found'));
    const id = typeof body.id === 'string' ? body.id : '';
    if (id.trim() === '') return this.send(res, 400, this.error('Identity cannot be empty', 'Bad Request'));
    if (id === user.identityId) {
      return this.send(res, this.o.sameIdentityStatus, this.error('Identity is already set to this value', 'Conflict'));
    }
    user.identityId = id;
    this.stats.identityPatches.push({ employeeId, id });
    this.send(res, 204);
  }

  private async contactDetails(req: IncomingMessage, res: ServerResponse, personCode: string) {
    if (this.faults.writeBackStatus)
      return this.send(res, this.faults.writeBackStatus, this.error('Write API unavailable', 'Service Unavailable'));
    let body: Json;
    try {
      body = JSON.parse(await this.readBody(req)) as Json;
    } catch {
      return this.send(res, 400, this.error('Invalid JSON body', 'Bad Request'));
    }
    const person = this.visible('persons').find((x) => x?.personCode === personCode);
    if (!person) return this.send(res, 404, this.error('Not Found', 'Not Found'));
    const email = body.emailAddress;
    const phone = body.phoneNumber;
    if (
      email !== undefined &&
      email !== '' &&
      (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
    ) {
      return this.send(res, 400, this.error('emailAddress is not a valid e-mail address', 'Bad Request'));
    }
    if (phone !== undefined && phone !== null && (typeof phone !== 'string' || /[A-Za-z]/.test(phone))) {
      return this.send(res, 400, this.error('phoneNumber must not contain letters', 'Bad Request'));
    }
    const mutation: Json = { personCode, emailAddress: email, phoneNumber: phone };
    this.stats.contactDetailsPosts.push(mutation);
    if (this.o.contactDetailsProcessing === 'immediate') this.applyContact(mutation);
    else this.pending.push(mutation);
    this.send(res, 200, {
      ticketId: randomUUID(),
      contactDetails: { personCode, emailAddress: email ?? null, phoneNumber: phone ?? null },
    });
  }

  private applyContact(m: Json) {
    const p = this.data.persons.find((x) => x?.personCode === m.personCode);
    if (!p) return;
    const set = (arr: unknown, type: string, field: string, value: unknown) => {
      const list = (Array.isArray(arr) ? arr : []) as Json[];
      const rest = list.filter((x) => x.type !== type);
      return value === '' || value === undefined || value === null ? rest : [...rest, { type, [field]: value }];
    };
    if (m.emailAddress !== undefined) p.emailAddresses = set(p.emailAddresses, 'Business', 'address', m.emailAddress);
    if (m.phoneNumber !== undefined) p.phoneNumbers = set(p.phoneNumbers, 'Business', 'number', m.phoneNumber);
  }
}

function addDaysIso(date: string, days: number): string {
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

function emptyDataset(): RaetDataset {
  return {
    persons: [],
    employments: [],
    assignments: [],
    organizationUnits: [],
    jobProfiles: [],
    costAllocations: [],
    roleAssignments: [],
    extensionPersons: [],
    employees: [],
    companies: [],
    costCenters: [],
    classifications: [],
    users: new Map(),
  };
}

/** The synthetic Beaufort tenant of docs/sources/raet.md (reference today 2026-07-01). */
export function beaufortDataset(): RaetDataset {
  const d = emptyDataset();
  d.persons = [
    {
      id: '100001',
      personCode: '100001',
      initials: 'J.P.',
      firstNames: 'Jan Pieter',
      knownAs: 'Jan',
      lastNameAtBirth: 'Vries',
      lastNameAtBirthPrefix: 'de',
      lastName: 'Vries',
      lastNamePrefix: 'de',
      nameAssembleOrder: 'E',
      gender: 'Male',
      birthDate: '1980-04-12',
      emailAddresses: [
        { type: 'Business', address: 'j.devries@voorbeeld.nl' },
        { type: 'Private', address: 'jan.devries@mail.example' },
      ],
      phoneNumbers: [
        { type: 'Business', number: '030-1234567' },
        { type: 'Mobile', number: '06-12345678' },
      ],
    },
    {
      id: '100002',
      personCode: '100002',
      initials: 'P.',
      firstNames: 'Petra',
      knownAs: 'Petra',
      lastNameAtBirth: 'Bakker',
      lastName: 'Bakker',
      nameAssembleOrder: 'E',
      gender: 'Female',
      birthDate: '1975-09-30',
      emailAddresses: [{ type: 'Business', address: 'p.bakker@voorbeeld.nl' }],
    },
    {
      id: '100003',
      personCode: '100003',
      initials: 'S.',
      firstNames: 'Sanne',
      knownAs: 'Sanne',
      lastNameAtBirth: 'Berg',
      lastNameAtBirthPrefix: 'van den',
      partnerName: 'Jong',
      partnerNamePrefix: 'de',
      lastName: 'Jong - van den Berg',
      lastNamePrefix: 'de',
      nameAssembleOrder: 'B',
      titleSuffix: 'MSc',
      gender: 'Female',
      birthDate: '1990-01-05',
      emailAddresses: [{ type: 'Business', address: 's.jong@voorbeeld.nl' }],
    },
    { id: '999999', initials: 'X.', lastNameAtBirth: 'Zonderpersoonscode' },
  ];
  d.employments = [
    {
      id: 'E-100001-1',
      personCode: '100001',
      employmentCode: '1',
      contractCode: '1',
      employmentType: '01',
      employmentTypeName: 'Vast',
      hireDate: '2015-03-01',
      dischargeDate: '9999-12-31',
      organizationUnit: '1100',
      organizationUnitCode: 'ICT',
      organizationUnitName: 'Informatievoorziening',
      jobProfile: '5003',
      jobProfileName: 'Teamleider ICT',
      payrollClientCode: '0001',
      workingAmount: { amountOfWork: 32, unitOfWork: 'Hours', periodOfWork: 'Week', parttimePercentage: 88.89 },
      isActive: true,
    },
    {
      id: 'E-100001-2',
      personCode: '100001',
      employmentCode: '2',
      contractCode: '2',
      employmentType: '02',
      employmentTypeName: 'Tijdelijk',
      hireDate: '2026-01-01',
      dischargeDate: '2026-12-31',
      organizationUnit: '1200',
      organizationUnitCode: 'PZ',
      jobProfile: '5002',
      payrollClientCode: '0001',
      workingAmount: { amountOfWork: 4, unitOfWork: 'Hours', periodOfWork: 'Week', parttimePercentage: 11.11 },
      isActive: true,
    },
    {
      id: 'E-100002-1',
      personCode: '100002',
      employmentCode: '1',
      contractCode: '1',
      employmentType: '01',
      employmentTypeName: 'Vast',
      hireDate: '2010-06-01',
      dischargeDate: '2026-05-15',
      terminationReason: '04',
      terminationReasonName: 'Eigen verzoek',
      organizationUnit: '1200',
      jobProfile: '5002',
      payrollClientCode: '0001',
      isActive: true,
    },
    {
      id: 'E-100003-1',
      personCode: '100003',
      employmentCode: '1',
      contractCode: '1',
      employmentType: '01',
      hireDate: '2022-09-01',
      dischargeDate: '9999-12-31',
      organizationUnit: '1100',
      jobProfile: '5001',
      payrollClientCode: '0001',
      workingAmount: { amountOfWork: 36, unitOfWork: 'Hours', periodOfWork: 'Week', parttimePercentage: 100 },
      isActive: true,
    },
  ];
  d.assignments = [
    {
      id: 'A-9001',
      personCode: '100001',
      employmentCode: '1',
      startDate: '2015-03-01',
      endDate: '9999-12-31',
      organizationUnit: '1100',
      jobProfile: '5003',
      costCenter: 'KP100',
      workingAmount: { amountOfWork: 32 },
      isActive: true,
    },
    {
      id: 'A-9002',
      personCode: '100001',
      employmentCode: '2',
      startDate: '2026-01-01',
      endDate: '2026-12-31',
      organizationUnit: '1200',
      jobProfile: '5002',
      costCenter: 'KP200',
      workingAmount: { amountOfWork: 4 },
      isActive: true,
    },
    {
      id: 'A-9003',
      personCode: '100002',
      employmentCode: '1',
      startDate: '2010-06-01',
      endDate: '2026-05-15',
      organizationUnit: '1200',
      jobProfile: '5002',
      costCenter: 'KP200',
      isActive: true,
    },
    {
      id: 'A-8000',
      personCode: '100002',
      employmentCode: '1',
      startDate: '2008-01-01',
      endDate: '2010-05-31',
      organizationUnit: '1100',
      isActive: false,
    },
    {
      id: 'A-9004',
      personCode: '100003',
      employmentCode: '1',
      startDate: '2022-09-01',
      endDate: '9999-12-31',
      organizationUnit: '1100',
      jobProfile: '5001',
      costCenter: 'KP100',
      workingAmount: { amountOfWork: 36 },
      isActive: true,
    },
  ];
  d.organizationUnits = [
    { id: '1000', shortName: 'ORG', fullName: 'Gemeente Voorbeeld', isBlocked: false },
    { id: '1100', shortName: 'ICT', fullName: 'Informatievoorziening', parentOrgUnit: '1000', costCenterCode: 'KP100' },
    { id: '1200', shortName: 'PZ', fullName: 'Personeelszaken', parentOrgUnit: '1000', costCenterCode: 'KP200' },
  ];
  d.jobProfiles = [
    { id: '5001', shortName: 'SYSB', fullName: 'Systeembeheerder', isActive: true },
    { id: '5002', shortName: 'HRADV', fullName: 'HR-adviseur', isActive: true },
    { id: '5003', shortName: 'TLICT', fullName: 'Teamleider ICT', isActive: true },
  ];
  d.costAllocations = [
    { personCode: '100001', employmentCode: '1', costCenterCode: 'KP100', costCenterName: 'Kostenplaats ICT' },
    { personCode: '100001', employmentCode: '2', costCenterCode: 'KP200', costCenterName: 'Kostenplaats P&O' },
    { personCode: '100002', employmentCode: '1', costCenterCode: 'KP200', costCenterName: 'Kostenplaats P&O' },
    { personCode: '100003', employmentCode: '1', costCenterCode: 'KP100', costCenterName: 'Kostenplaats ICT' },
  ];
  d.roleAssignments = [
    {
      personCode: '100001',
      shortName: 'MGR',
      organizationUnit: '1100',
      organizationUnitCode: 'ICT',
      startDate: '2019-01-01',
      endDate: null,
    },
    {
      personCode: '100002',
      shortName: 'MGR',
      organizationUnit: '1200',
      organizationUnitCode: 'PZ',
      startDate: '2012-01-01',
      endDate: '2026-05-15',
    },
  ];
  d.extensionPersons = [
    {
      id: 'x1',
      personCode: '100003',
      bo4FieldCode: 'P 9001',
      fieldNameAlias: 'Werkplek',
      value: 'Gebouw B',
      description: 'Vaste werkplek',
    },
  ];
  for (const code of ['100001', '100002', '100003']) {
    d.users.set(code, {
      employeeId: code,
      id: `c7e230db-0000-4000-8000-000000${code}`,
      sourceId: `YF${code}`,
      identityId: '',
    });
  }
  return d;
}

/** The synthetic HR Core Business tenant of docs/sources/raet.md, completed with employments and value lists. */
export function businessDataset(): RaetDataset {
  const d = emptyDataset();
  d.employees = [
    {
      id: '7001',
      personCode: '100001',
      knownAs: 'Jan',
      lastNameAtBirth: 'Vries',
      lastNameAtBirthPrefix: 'de',
      nameAssembleOrder: '1',
      validFrom: '2015-03-01',
      validUntil: '2025-12-31',
    },
    {
      id: '7001',
      personCode: '100001',
      knownAs: 'Jan',
      lastNameAtBirth: 'Vries',
      lastNameAtBirthPrefix: 'de',
      nameAssembleOrder: '1',
      validFrom: '2026-01-01',
      validUntil: '9999-12-31',
      emailAddresses: [{ type: 'Business', address: 'j.devries@voorbeeld.nl' }],
    },
    {
      id: '7002',
      personCode: '100002',
      knownAs: 'Petra',
      lastNameAtBirth: 'Bakker',
      nameAssembleOrder: '1',
      validFrom: '2010-06-01',
      validUntil: '2026-05-15',
    },
    {
      id: '7003',
      personCode: '100003',
      knownAs: 'Sanne',
      lastNameAtBirth: 'Berg',
      lastNameAtBirthPrefix: 'van den',
      partnerName: 'Jong',
      partnerNamePrefix: 'de',
      nameAssembleOrder: '0',
      validFrom: '2022-09-01',
      validUntil: '9999-12-31',
    },
  ];
  const emp = (id: string, personCode: string, extra: Json): Json => ({
    id,
    personCode,
    employmentCode: '1',
    contractCode: '1',
    company: '001',
    costCenter: 'KP100',
    classification: 'CL1',
    jobProfile: '5001',
    organizationUnit: '1100',
    ...extra,
  });
  d.employments = [
    emp('E1', '100001', {
      hireDate: '2015-03-01',
      dischargeDate: '9999-12-31',
      validFrom: '2015-03-01',
      validUntil: '2025-12-31',
      workingAmount: { amountOfWork: 32 },
    }),
    emp('E1', '100001', {
      hireDate: '2015-03-01',
      dischargeDate: '9999-12-31',
      validFrom: '2026-01-01',
      validUntil: '9999-12-31',
      jobProfile: '5003',
      workingAmount: { amountOfWork: 36, parttimePercentage: 100 },
    }),
    emp('E2', '100002', {
      hireDate: '2010-06-01',
      dischargeDate: '2026-05-15',
      validFrom: '2010-06-01',
      validUntil: '2026-05-15',
    }),
    emp('E3', '100003', {
      hireDate: '2022-09-01',
      dischargeDate: '9999-12-31',
      validFrom: '2022-09-01',
      validUntil: '9999-12-31',
      costCenter: 'KP200',
    }),
  ];
  d.organizationUnits = [
    {
      id: '1000',
      shortName: 'ORG',
      fullName: 'Gemeente Voorbeeld',
      validFrom: '2000-01-01',
      validUntil: '9999-12-31',
    },
    {
      id: '1100',
      shortName: 'ICT',
      fullName: 'Informatievoorziening',
      parentOrgUnit: '1000',
      manager: '7001',
      validFrom: '2019-01-01',
      validUntil: '9999-12-31',
    },
    {
      id: '1100',
      shortName: 'ICT-OLD',
      fullName: 'Automatisering',
      parentOrgUnit: '1000',
      validFrom: '2000-01-01',
      validUntil: '2018-12-31',
    },
  ];
  d.companies = [
    { id: 'c1', shortName: '001', fullName: 'Gemeente Voorbeeld', validFrom: '2000-01-01', validUntil: '9999-12-31' },
  ];
  d.costCenters = [
    { id: 'k1', shortName: 'KP100', fullName: 'Kostenplaats ICT', validFrom: '2000-01-01', validUntil: '9999-12-31' },
    { id: 'k2', shortName: 'KP200', fullName: 'Kostenplaats P&O', validFrom: '2000-01-01', validUntil: '9999-12-31' },
  ];
  d.classifications = [
    { id: 'cl1', shortName: 'CL1', fullName: 'Schaal 10', validFrom: '2000-01-01', validUntil: '9999-12-31' },
  ];
  d.jobProfiles = [
    { id: '5001', shortName: 'SYSB', fullName: 'Systeembeheerder', validFrom: '2000-01-01', validUntil: '9999-12-31' },
    { id: '5003', shortName: 'TLICT', fullName: 'Teamleider ICT', validFrom: '2000-01-01', validUntil: '9999-12-31' },
  ];
  for (const code of ['100001', '100002', '100003']) {
    d.users.set(code, { employeeId: code, id: `u-${code}`, sourceId: `YS${code}`, identityId: '' });
  }
  return d;
}

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GIVEN = [
  'Jan',
  'Petra',
  'Sanne',
  'Pieter',
  'Anna',
  'Mohamed',
  'Fatima',
  'Daan',
  'Emma',
  'Lucas',
  'Sophie',
  'Noah',
];
const FAMILY = ['Vries', 'Bakker', 'Berg', 'Jansen', 'Visser', 'Smit', 'Meijer', 'Mulder', 'Bos', 'Dijk', 'Yılmaz'];
const PREFIX = ['', '', '', 'de', 'van', 'van den', 'van der'];
const ORDER = ['E', 'E', 'E', 'P', 'B', 'C', 'D', 'e'];

export interface GeneratedTenantOptions {
  persons: number;
  /** Total contracts (≥ persons): the surplus goes to people with two contracts. */
  contracts: number;
  departments?: number;
  jobProfiles?: number;
  seed?: number;
}

/** A Beaufort tenant of any size, deterministic for a seed. Person codes start at 200000. */
export function generateTenant(opts: GeneratedTenantOptions): RaetDataset {
  const r = rng(opts.seed ?? 42);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;
  const nDept = opts.departments ?? Math.max(3, Math.round(opts.persons / 50));
  const nJob = opts.jobProfiles ?? 200;
  const d = emptyDataset();
  d.organizationUnits.push({ id: 'OU0', shortName: 'ROOT', fullName: 'Organisatie' });
  for (let i = 1; i < nDept; i++) {
    d.organizationUnits.push({
      id: `OU${i}`,
      shortName: `D${i}`,
      fullName: `Afdeling ${i}`,
      parentOrgUnit: `OU${Math.floor((i - 1) / 10)}`,
    });
  }
  for (let i = 0; i < nJob; i++)
    d.jobProfiles.push({ id: `J${i}`, shortName: `JOB${i}`, fullName: `Functie ${i}`, isActive: true });
  const extra = Math.max(0, opts.contracts - opts.persons);
  for (let i = 0; i < opts.persons; i++) {
    const code = String(200000 + i);
    const given = pick(GIVEN);
    const family = pick(FAMILY);
    const partner = r() < 0.3 ? pick(FAMILY) : undefined;
    const person: Json = {
      id: code,
      personCode: code,
      initials: `${given[0]}.`,
      firstNames: given,
      knownAs: given,
      lastNameAtBirth: family,
      nameAssembleOrder: pick(ORDER),
      gender: r() < 0.5 ? 'Male' : 'Female',
      birthDate: '1980-01-01',
      emailAddresses: [{ type: 'Business', address: `${given.toLowerCase()}.${i}@voorbeeld.nl` }],
    };
    const prefix = pick(PREFIX);
    if (prefix) person.lastNameAtBirthPrefix = prefix;
    if (partner) person.partnerName = partner;
    d.persons.push(person);
    const n = i < extra ? 2 : 1;
    for (let e = 1; e <= n; e++) {
      const ou = `OU${Math.floor(r() * nDept)}`;
      const job = `J${Math.floor(r() * nJob)}`;
      const ended = r() < 0.03;
      const hire = `20${String(10 + Math.floor(r() * 15)).padStart(2, '0')}-0${1 + Math.floor(r() * 9)}-01`;
      const hours = 8 + Math.floor(r() * 29);
      d.employments.push({
        id: `E-${code}-${e}`,
        personCode: code,
        employmentCode: String(e),
        contractCode: String(e),
        employmentType: '01',
        hireDate: hire,
        dischargeDate: ended ? '2026-06-15' : '9999-12-31',
        organizationUnit: ou,
        jobProfile: job,
        payrollClientCode: '0001',
        workingAmount: {
          amountOfWork: hours,
          unitOfWork: 'Hours',
          periodOfWork: 'Week',
          parttimePercentage: Math.round((hours / 36) * 10000) / 100,
        },
        isActive: true,
      });
      d.assignments.push({
        id: `A-${code}-${e}`,
        personCode: code,
        employmentCode: String(e),
        startDate: hire,
        endDate: ended ? '2026-06-15' : '9999-12-31',
        organizationUnit: ou,
        jobProfile: job,
        costCenter: `KP${ou}`,
        workingAmount: { amountOfWork: hours },
        isActive: true,
      });
      d.costAllocations.push({
        personCode: code,
        employmentCode: String(e),
        costCenterCode: `KP${ou}`,
        costCenterName: `KP ${ou}`,
      });
    }
  }
  for (let i = 0; i < nDept; i++) {
    const who = String(200000 + Math.floor(r() * opts.persons));
    d.roleAssignments.push({
      personCode: who,
      shortName: 'MGR',
      organizationUnit: `OU${i}`,
      startDate: '2020-01-01',
      endDate: null,
    });
  }
  return d;
}
