/**
 * A Microsoft Graph v1.0 + Microsoft identity platform simulator (docs/targets/entra.md): a real
 * HTTP server on 127.0.0.1 with a random free port, for the Entra ID target connector.
 *
 * - token endpoint `POST /<tenant>/oauth2/v2.0/token` (client credentials, form body): unknown
 *   tenant → 400 AADSTS90002, unknown client → 400 AADSTS700016, wrong secret → 401
 *   `invalid_client` AADSTS7000215, wrong scope → 400 AADSTS1002012; tokens expire after
 *   `tokenLifetimeSec` (Graph then answers 401 InvalidAuthenticationToken);
 * - users: `GET /v1.0/users` with `$filter` (eq, `or`, `and`, `proxyAddresses/any(c:c eq '…')`, OData
 *   string literals with doubled quotes; a bad literal is a 400 syntax error), `$select`, `$top`
 *   (default 100, at most 999), `@odata.nextLink` paging with an opaque `$skiptoken`, `$count=true`
 *   only with `ConsistencyLevel: eventual`; `POST /v1.0/users` (required properties, verified domains,
 *   password complexity, `ObjectConflict` on userPrincipalName / proxyAddresses), `GET/PATCH/DELETE
 *   /v1.0/users/{id|upn}`, `memberOf` (paged, groups and directory roles), `manager` + `manager/$ref`,
 *   `revokeSignInSessions`;
 * - groups: `GET /v1.0/groups` ($filter on displayName), `POST /v1.0/groups`, `members/$ref` add
 *   ("One or more added object references already exist…" when already a member; mail-enabled
 *   groups refused) and remove (404 Request_ResourceNotFound when not a member);
 * - deleted users go to `/v1.0/directory/deletedItems` (UPN prefixed with the object id, so the
 *   UPN is free again; proxyAddresses stay held: both switches, the spec marks this unverified);
 * - faults: a storm of N 429s with Retry-After, "down" (503) for N calls or until a moment,
 *   latency (all calls or one method + path prefix, optionally only N times; before processing, or
 *   after it so the change is made but the answer comes late: a lost answer), and replication
 *   delay (a just-created user or group is not returned by `$filter` for the next N filter queries),
 *   and a token endpoint that answers 307 to another origin (`tokenRedirect`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Json = Record<string, unknown>;

export interface GraphUser {
  id: string;
  accountEnabled: boolean;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  userPrincipalName: string;
  mailNickname: string;
  mail: string | null;
  employeeId: string | null;
  jobTitle: string | null;
  department: string | null;
  companyName: string | null;
  officeLocation: string | null;
  usageLocation: string | null;
  mobilePhone?: string | null;
  employeeType?: string | null;
  preferredLanguage?: string | null;
  userType: string;
  proxyAddresses: string[];
  createdDateTime: string;
  managerId: string | null;
  /** Sign-in sessions revoked this many times. */
  sessionsRevoked: number;
  /** Filter queries that still do not see this object (replication delay). */
  hiddenForFilters: number;
}

export interface GraphGroup {
  id: string;
  displayName: string;
  mailNickname: string;
  mailEnabled: boolean;
  securityEnabled: boolean;
  groupTypes: string[];
  description: string | null;
  members: Set<string>;
  hiddenForFilters: number;
}

export interface GraphSimulatorOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
  tokenLifetimeSec?: number;
  /** Domains a userPrincipalName may use. Default ['tenure.test']. */
  verifiedDomains?: string[];
  /** Default page size when `$top` is absent (Graph: 100). */
  defaultPageSize?: number;
  maxPageSize?: number;
  /** Retry-After (seconds, may be fractional for fast tests) on 429s. Default 1. */
  retryAfterSec?: number;
  /** A deleted user's UPN is prefixed with its object id (frees the UPN). Default true (unverified). */
  deletedUpnPrefixed?: boolean;
  /** A deleted user keeps holding its proxyAddresses. Default true (unverified). */
  deletedHoldProxyAddresses?: boolean;
  now?: () => number;
}

export interface GraphFaults {
  /** The next `count` Graph calls get 429 (+ Retry-After). */
  throttleStorm?: { count: number; retryAfterSec?: number };
  /** Answer 503 to the next `calls` Graph calls, or to every call until `until` (ms epoch). */
  down?: { calls?: number; until?: number };
  /** Delay answers by `ms`; only `method` + path prefix when given; only `times` times when given. */
  latency?: { ms: number; method?: string; pathPrefix?: string; times?: number; afterProcessing?: boolean };
  /** A user or group created from now on is invisible to the next `filterCalls` $filter queries. */
  replicationDelay?: { filterCalls: number };
  /** The token endpoint answers `307 Temporary Redirect` to this URL (a hijacked or misrouted login). */
  tokenRedirect?: string;
}

export interface GraphStats {
  tokensIssued: number;
  tokensRejected: number;
  calls: number;
  throttled: number;
  unavailable: number;
  unauthorized: number;
  maxConcurrent: number;
  /** `METHOD /path?query` of every Graph call (no bodies, no headers). */
  log: string[];
  /** Headers seen on $filter queries: ConsistencyLevel values. */
  consistencyLevels: (string | undefined)[];
}

class HttpFail extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Json = {},
  ) {
    super(message);
  }
}

const USER_PROPS = [
  'id',
  'accountEnabled',
  'displayName',
  'givenName',
  'surname',
  'userPrincipalName',
  'mailNickname',
  'mail',
  'employeeId',
  'jobTitle',
  'department',
  'companyName',
  'officeLocation',
  'usageLocation',
  'userType',
  'proxyAddresses',
  'createdDateTime',
  'mobilePhone',
  'employeeType',
  'preferredLanguage',
] as const;
const DEFAULT_USER_SELECT = [
  'id',
  'displayName',
  'givenName',
  'surname',
  'userPrincipalName',
  'mail',
  'jobTitle',
  'officeLocation',
  'businessPhones',
  'mobilePhone',
  'preferredLanguage',
];
const WRITABLE_USER = new Set([
  'mobilePhone',
  'employeeType',
  'preferredLanguage',
  'accountEnabled',
  'displayName',
  'givenName',
  'surname',
  'userPrincipalName',
  'mailNickname',
  'mail',
  'employeeId',
  'jobTitle',
  'department',
  'companyName',
  'officeLocation',
  'usageLocation',
  'userType',
  'passwordProfile',
]);
const MAX_LEN: Record<string, number> = {
  displayName: 256,
  givenName: 64,
  surname: 64,
  mailNickname: 64,
  employeeId: 16,
  jobTitle: 128,
  department: 64,
  companyName: 64,
  officeLocation: 128,
};
const GROUP_PROPS = [
  'id',
  'displayName',
  'mailNickname',
  'mailEnabled',
  'securityEnabled',
  'groupTypes',
  'description',
];

// ------------------------------------------------------------------ $filter

type Expr =
  | { kind: 'eq'; prop: string; value: string }
  | { kind: 'any'; prop: string; value: string }
  | { kind: 'and'; left: Expr; right: Expr }
  | { kind: 'or'; left: Expr; right: Expr };

function tokenize(s: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ' ') {
      i++;
    } else if (c === "'") {
      let j = i + 1;
      let v = '';
      for (;;) {
        if (j >= s.length)
          throw new HttpFail(
            400,
            'BadRequest',
            `Syntax error: unterminated string literal at position ${i} in '${s}'.`,
          );
        if (s[j] === "'") {
          if (s[j + 1] === "'") {
            v += "'";
            j += 2;
            continue;
          }
          break;
        }
        v += s[j];
        j++;
      }
      tokens.push(`'${v}`); // marker: string literal (value unescaped)
      i = j + 1;
      // A literal must be followed by a space, ')' or the end: `'O'Brien'` is a syntax error.
      if (i < s.length && s[i] !== ' ' && s[i] !== ')')
        throw new HttpFail(
          400,
          'BadRequest',
          `Syntax error: character '${s[i]}' is not valid at position ${i} in '${s}'.`,
        );
    } else if (c === '(' || c === ')') {
      tokens.push(c);
      i++;
    } else {
      let j = i;
      while (j < s.length && !" ()'".includes(s[j] as string)) j++;
      tokens.push(s.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

function parseFilter(s: string): Expr {
  const t = tokenize(s);
  let p = 0;
  const bad = (): never => {
    throw new HttpFail(400, 'Request_UnsupportedQuery', 'Unsupported Query.');
  };
  const literal = (): string => {
    const v = t[p++];
    if (v === undefined || !v.startsWith("'")) bad();
    return (v as string).slice(1);
  };
  const term = (): Expr => {
    const tok = t[p++];
    if (tok === undefined) return bad();
    if (tok === '(') {
      const e = orExpr();
      if (t[p++] !== ')') bad();
      return e;
    }
    const any = /^([A-Za-z]+)\/any$/.exec(tok);
    if (any) {
      if (t[p++] !== '(') bad();
      const v = /^([a-z]+):([a-z]+)$/.exec(t[p++] ?? '');
      if (!v || v[1] !== v[2]) bad();
      if ((t[p++] ?? '').toLowerCase() !== 'eq') bad();
      const value = literal();
      if (t[p++] !== ')') bad();
      return { kind: 'any', prop: any[1] as string, value };
    }
    if (!/^[A-Za-z]+$/.test(tok)) bad();
    if ((t[p++] ?? '').toLowerCase() !== 'eq') bad();
    return { kind: 'eq', prop: tok, value: literal() };
  };
  const andExpr = (): Expr => {
    let left = term();
    while ((t[p] ?? '').toLowerCase() === 'and') {
      p++;
      left = { kind: 'and', left, right: term() };
    }
    return left;
  };
  const orExpr = (): Expr => {
    let left = andExpr();
    while ((t[p] ?? '').toLowerCase() === 'or') {
      p++;
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };
  const e = orExpr();
  if (p !== t.length) bad();
  return e;
}

function matches(e: Expr, o: Record<string, unknown>, known: readonly string[]): boolean {
  if (e.kind === 'and' || e.kind === 'or') {
    const l = matches(e.left, o, known);
    const r = matches(e.right, o, known);
    return e.kind === 'and' ? l && r : l || r;
  }
  if (!known.includes(e.prop))
    throw new HttpFail(
      400,
      'Request_BadRequest',
      `Property '${e.prop}' does not exist as a declared property or extension property.`,
    );
  const v = o[e.prop];
  const want = e.value.toLowerCase();
  if (e.kind === 'any') return Array.isArray(v) && v.some((x) => String(x).toLowerCase() === want);
  return typeof v === 'string' && v.toLowerCase() === want;
}

// ------------------------------------------------------------------ helpers

function strongPassword(p: string): boolean {
  if (p.length < 8 || p.length > 256) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
  return classes >= 3;
}

/** Query string parsed the strict way: `+` stays a plus (Graph wants %20 for spaces). */
function parseQuery(q: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of q.split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const k = decodeURIComponent(i < 0 ? part : part.slice(0, i));
    const v = i < 0 ? '' : decodeURIComponent(part.slice(i + 1));
    m.set(k, v);
  }
  return m;
}

function conflict(prop: string): HttpFail {
  return new HttpFail(
    400,
    'Request_BadRequest',
    `Another object with the same value for property ${prop} already exists.`,
    {
      details: [
        {
          code: 'ObjectConflict',
          message: `Another object with the same value for property ${prop} already exists.`,
          target: prop,
        },
      ],
    },
  );
}

function notFound(id: string): HttpFail {
  return new HttpFail(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

export class GraphSimulator {
  readonly users = new Map<string, GraphUser>();
  /** Temporary Access Passes by user id (Graph allows one per user), the pass included for tests. */
  readonly accessPasses = new Map<
    string,
    {
      id: string;
      temporaryAccessPass: string;
      lifetimeInMinutes: number;
      isUsableOnce: boolean;
      createdDateTime: string;
    }
  >();
  readonly groups = new Map<string, GraphGroup>();
  readonly deletedUsers = new Map<string, GraphUser>();
  /** Directory roles (memberOf returns them too): id → { displayName, members }. */
  readonly roles = new Map<string, { displayName: string; members: Set<string> }>();
  faults: GraphFaults = {};
  readonly stats: GraphStats = {
    tokensIssued: 0,
    tokensRejected: 0,
    calls: 0,
    throttled: 0,
    unavailable: 0,
    unauthorized: 0,
    maxConcurrent: 0,
    log: [],
    consistencyLevels: [],
  };
  readonly #passwords = new Map<string, string>();
  /** Answers held back after processing (latency.afterProcessing), ms per response. */
  readonly #lateAnswers = new WeakMap<ServerResponse, number>();
  readonly #tokens = new Map<string, number>();
  readonly #o: Required<GraphSimulatorOptions>;
  #server: Server | null = null;
  #inFlight = 0;
  url = '';

  constructor(options: GraphSimulatorOptions = {}) {
    this.#o = {
      tenantId: options.tenantId ?? '11111111-2222-3333-4444-555555555555',
      clientId: options.clientId ?? 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      clientSecret: options.clientSecret ?? 'sim-graph-secret',
      scope: options.scope ?? 'https://graph.microsoft.com/.default',
      tokenLifetimeSec: options.tokenLifetimeSec ?? 3599,
      verifiedDomains: options.verifiedDomains ?? ['tenure.test'],
      defaultPageSize: options.defaultPageSize ?? 100,
      maxPageSize: options.maxPageSize ?? 999,
      retryAfterSec: options.retryAfterSec ?? 1,
      deletedUpnPrefixed: options.deletedUpnPrefixed ?? true,
      deletedHoldProxyAddresses: options.deletedHoldProxyAddresses ?? true,
      now: options.now ?? Date.now,
    };
  }

  get graphUrl(): string {
    return `${this.url}/v1.0`;
  }

  /** The initial password a user was created with (for assertions that it never leaks). */
  passwordOf(id: string): string | undefined {
    return this.#passwords.get(id);
  }

  /** Revoke every token issued so far (the next Graph call gets 401). */
  expireTokens(): void {
    for (const k of this.#tokens.keys()) this.#tokens.set(k, 0);
  }

  addGroup(displayName: string, o: Partial<Omit<GraphGroup, 'members'>> & { members?: string[] } = {}): GraphGroup {
    const g: GraphGroup = {
      id: o.id ?? randomUUID(),
      displayName,
      mailNickname: (o.mailNickname ?? displayName.replace(/[^A-Za-z0-9]/g, '').slice(0, 64)) || 'group',
      mailEnabled: o.mailEnabled ?? false,
      securityEnabled: o.securityEnabled ?? true,
      groupTypes: o.groupTypes ?? [],
      description: o.description ?? null,
      members: new Set(o.members ?? []),
      hiddenForFilters: 0,
    };
    this.groups.set(g.id, g);
    return g;
  }

  addRole(displayName: string, members: string[] = []): string {
    const id = randomUUID();
    this.roles.set(id, { displayName, members: new Set(members) });
    return id;
  }

  /** Put a user straight into the directory (no replication delay), e.g. a duplicate or another person. */
  addUser(u: Partial<GraphUser> & { userPrincipalName: string; displayName: string }): GraphUser {
    const user: GraphUser = {
      id: randomUUID(),
      accountEnabled: true,
      givenName: null,
      surname: null,
      mailNickname: u.userPrincipalName.split('@')[0] as string,
      mail: null,
      employeeId: null,
      jobTitle: null,
      department: null,
      companyName: null,
      officeLocation: null,
      usageLocation: null,
      userType: 'Member',
      proxyAddresses: [],
      createdDateTime: new Date(this.#o.now()).toISOString(),
      managerId: null,
      sessionsRevoked: 0,
      hiddenForFilters: 0,
      ...u,
    };
    this.users.set(user.id, user);
    return user;
  }

  usersByEmployeeId(employeeId: string): GraphUser[] {
    return [...this.users.values()].filter((u) => u.employeeId === employeeId);
  }

  groupByName(name: string): GraphGroup | undefined {
    return [...this.groups.values()].find((g) => g.displayName === name);
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      void this.#handle(req, res);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ plumbing

  async #body(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  #send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    const late = this.#lateAnswers.get(res);
    if (late !== undefined) {
      this.#lateAnswers.delete(res);
      setTimeout(() => this.#send(res, status, body, headers), late);
      return;
    }
    if (res.headersSent || res.destroyed) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(body === undefined ? {} : { 'content-type': 'application/json; odata.metadata=minimal; charset=utf-8' }),
      'request-id': randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  #graphError(res: ServerResponse, e: HttpFail, headers: Record<string, string> = {}): void {
    this.#send(
      res,
      e.status,
      {
        error: {
          code: e.code,
          message: e.message,
          ...e.extra,
          innerError: {
            date: new Date(this.#o.now()).toISOString(),
            'request-id': randomUUID(),
            'client-request-id': randomUUID(),
          },
        },
      },
      headers,
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inFlight++;
    this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, this.#inFlight);
    try {
      const raw = req.url ?? '/';
      const qi = raw.indexOf('?');
      const path = qi < 0 ? raw : raw.slice(0, qi);
      const query = parseQuery(qi < 0 ? '' : raw.slice(qi + 1));
      const method = (req.method ?? 'GET').toUpperCase();
      const body = await this.#body(req);
      const tokenMatch = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
      if (tokenMatch && method === 'POST' && this.faults.tokenRedirect) {
        // 307 keeps the method and the body: a client that follows it re-sends the client secret.
        res.writeHead(307, { location: this.faults.tokenRedirect, 'content-length': 0 });
        res.end();
        return;
      }
      if (tokenMatch && method === 'POST') return this.#token(res, decodeURIComponent(tokenMatch[1] as string), body);
      if (!path.startsWith('/v1.0/')) return this.#graphError(res, new HttpFail(400, 'BadRequest', 'Invalid version.'));
      this.stats.calls++;
      this.stats.log.push(`${method} ${raw}`);
      await this.#latency(method, path, res);
      const f = this.faults;
      if (f.down && ((f.down.calls ?? 0) > 0 || (f.down.until ?? 0) > this.#o.now())) {
        if (f.down.calls) f.down.calls--;
        this.stats.unavailable++;
        return this.#graphError(res, new HttpFail(503, 'serviceNotAvailable', 'Service unavailable.'), {
          'retry-after': '0',
        });
      }
      if (f.throttleStorm && f.throttleStorm.count > 0) {
        f.throttleStorm.count--;
        this.stats.throttled++;
        return this.#graphError(res, new HttpFail(429, 'TooManyRequests', 'Too many requests.'), {
          'retry-after': String(f.throttleStorm.retryAfterSec ?? this.#o.retryAfterSec),
        });
      }
      const auth = req.headers.authorization ?? '';
      const token = /^Bearer (.+)$/.exec(auth)?.[1];
      const exp = token === undefined ? undefined : this.#tokens.get(token);
      if (exp === undefined || exp <= this.#o.now()) {
        this.stats.unauthorized++;
        return this.#graphError(
          res,
          token === undefined
            ? new HttpFail(401, 'InvalidAuthenticationToken', 'Access token is empty.')
            : exp === undefined
              ? new HttpFail(401, 'InvalidAuthenticationToken', 'IDX14100: JWT is not well formed.')
              : new HttpFail(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.'),
        );
      }
      let json: Json | undefined;
      if (body.trim() !== '') {
        try {
          json = JSON.parse(body) as Json;
        } catch {
          return this.#graphError(res, new HttpFail(400, 'BadRequest', 'Unable to read JSON request payload.'));
        }
      }
      const consistency = req.headers.consistencylevel as string | undefined;
      this.#route(res, method, path, query, json, consistency);
    } catch (e) {
      if (e instanceof HttpFail) this.#graphError(res, e);
      else this.#graphError(res, new HttpFail(500, 'generalException', 'An internal server error occurred.'));
    } finally {
      this.#inFlight--;
    }
  }

  async #latency(method: string, path: string, res: ServerResponse): Promise<void> {
    const l = this.faults.latency;
    if (!l || l.ms <= 0) return;
    if (l.method && l.method !== method) return;
    if (l.pathPrefix && !path.startsWith(l.pathPrefix)) return;
    if (l.times !== undefined) {
      if (l.times <= 0) return;
      l.times--;
    }
    if (l.afterProcessing) this.#lateAnswers.set(res, l.ms);
    else await new Promise((r) => setTimeout(r, l.ms));
  }

  #token(res: ServerResponse, tenant: string, body: string): void {
    const form = new URLSearchParams(body);
    const fail = (status: number, error: string, code: number, text: string) => {
      this.stats.tokensRejected++;
      const trace = randomUUID();
      this.#send(res, status, {
        error,
        error_description: `AADSTS${code}: ${text} Trace ID: ${trace} Correlation ID: ${randomUUID()} Timestamp: ${new Date(this.#o.now()).toISOString().replace('T', ' ').slice(0, 19)}Z`,
        error_codes: [code],
        timestamp: new Date(this.#o.now()).toISOString(),
        trace_id: trace,
        correlation_id: randomUUID(),
        error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      });
    };
    if (tenant !== this.#o.tenantId)
      return fail(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`,
      );
    if (form.get('grant_type') !== 'client_credentials')
      return fail(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('client_id') !== this.#o.clientId)
      return fail(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory '${tenant}'.`,
      );
    if (form.get('client_secret') !== this.#o.clientSecret)
      return fail(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${this.#o.clientId}'.`,
      );
    if (form.get('scope') !== this.#o.scope)
      return fail(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${form.get('scope') ?? ''} is not valid.`,
      );
    const token = `sim.${randomUUID()}`;
    this.#tokens.set(token, this.#o.now() + this.#o.tokenLifetimeSec * 1000);
    this.stats.tokensIssued++;
    this.#send(res, 200, {
      token_type: 'Bearer',
      expires_in: this.#o.tokenLifetimeSec,
      ext_expires_in: this.#o.tokenLifetimeSec,
      access_token: token,
    });
  }

  // ------------------------------------------------------------------ routing

  #route(
    res: ServerResponse,
    method: string,
    path: string,
    q: Map<string, string>,
    body: Json | undefined,
    consistency: string | undefined,
  ): void {
    const seg = path
      .slice('/v1.0/'.length)
      .split('/')
      .map((s) => decodeURIComponent(s));
    const [a, b, c, d, e] = seg;
    if (a === 'users') {
      if (b === undefined || b === '') {
        if (method === 'GET') return this.#list(res, path, q, consistency, 'users');
        if (method === 'POST') return this.#createUser(res, body ?? {});
      } else {
        const u = this.#user(b);
        if (c === undefined) {
          if (method === 'GET') return this.#send(res, 200, this.#selectUser(u, q));
          if (method === 'PATCH') return this.#patchUser(res, u, body ?? {});
          if (method === 'DELETE') return this.#deleteUser(res, u);
        }
        if (c === 'memberOf' && method === 'GET') return this.#memberOf(res, path, u, q);
        if (c === 'manager' && d === undefined && method === 'GET') {
          const m = u.managerId ? this.users.get(u.managerId) : undefined;
          if (!m) throw notFound('manager');
          return this.#send(res, 200, { '@odata.type': '#microsoft.graph.user', ...this.#selectUser(m, q) });
        }
        if (c === 'manager' && d === '$ref') {
          if (method === 'PUT') {
            const id = this.#refId(body);
            const m = this.users.get(id);
            if (!m) throw notFound(id);
            if (m.id === u.id) throw new HttpFail(400, 'Request_BadRequest', 'A user cannot be their own manager.');
            u.managerId = m.id;
            return this.#send(res, 204);
          }
          if (method === 'DELETE') {
            if (!u.managerId) throw notFound('manager');
            u.managerId = null;
            return this.#send(res, 204);
          }
        }
        if (c === 'authentication' && d === 'temporaryAccessPassMethods')
          return this.#accessPass(res, method, u, e, body ?? {});
        if (c === 'revokeSignInSessions' && method === 'POST') {
          u.sessionsRevoked++;
          return this.#send(res, 200, { '@odata.context': `${this.graphUrl}/$metadata#Edm.Boolean`, value: true });
        }
      }
    }
    if (a === 'groups') {
      if (b === undefined || b === '') {
        if (method === 'GET') return this.#list(res, path, q, consistency, 'groups');
        if (method === 'POST') return this.#createGroup(res, body ?? {});
      } else {
        const g = this.groups.get(b);
        if (!g) throw notFound(b);
        if (c === undefined && method === 'GET') return this.#send(res, 200, this.#selectGroup(g, q));
        if (c === 'members' && d === '$ref' && method === 'POST') {
          const id = this.#refId(body);
          if (!this.users.has(id)) throw notFound(id);
          if (g.mailEnabled && !g.groupTypes.includes('Unified'))
            throw new HttpFail(
              400,
              'Request_BadRequest',
              'Cannot Update a mail-enabled security groups and or distribution list.',
            );
          if (g.members.has(id))
            throw new HttpFail(
              400,
              'Request_BadRequest',
              "One or more added object references already exist for the following modified properties: 'members'.",
            );
          g.members.add(id);
          return this.#send(res, 204);
        }
        if (c === 'members' && d !== undefined && e === '$ref' && method === 'DELETE') {
          if (!g.members.has(d)) throw notFound(d);
          g.members.delete(d);
          return this.#send(res, 204);
        }
      }
    }
    if (a === 'directory' && b === 'deletedItems') {
      if (c === 'microsoft.graph.user' && d === undefined && method === 'GET') {
        return this.#send(res, 200, { value: [...this.deletedUsers.values()].map((u) => this.#selectUser(u, q)) });
      }
      if (c !== undefined && d === undefined && method === 'DELETE') {
        if (!this.deletedUsers.delete(c)) throw notFound(c);
        return this.#send(res, 204);
      }
    }
    throw new HttpFail(400, 'BadRequest', `Resource not found for the segment '${seg[seg.length - 1] ?? ''}'.`);
  }

  #refId(body: Json | undefined): string {
    const ref = body?.['@odata.id'];
    const m = typeof ref === 'string' ? /\/(?:directoryObjects|users)\/([^/]+)$/.exec(ref) : null;
    if (!m) throw new HttpFail(400, 'Request_BadRequest', 'Invalid URL format specified in @odata.id.');
    return decodeURIComponent(m[1] as string);
  }

  #user(idOrUpn: string): GraphUser {
    const u =
      this.users.get(idOrUpn) ??
      [...this.users.values()].find((x) => x.userPrincipalName.toLowerCase() === idOrUpn.toLowerCase());
    if (!u) throw notFound(idOrUpn);
    return u;
  }

  #select(q: Map<string, string>, known: readonly string[], dflt: readonly string[]): string[] {
    const s = q.get('$select');
    if (!s) return [...dflt];
    const props = s.split(',').map((x) => x.trim());
    for (const p of props)
      if (!known.includes(p))
        throw new HttpFail(
          400,
          'Request_BadRequest',
          `Could not find a property named '${p}' on type 'microsoft.graph.user'.`,
        );
    return props.includes('id') ? props : ['id', ...props];
  }

  #selectUser(u: GraphUser, q: Map<string, string>): Json {
    const out: Json = {};
    const rec = u as unknown as Record<string, unknown>;
    for (const p of this.#select(q, USER_PROPS, DEFAULT_USER_SELECT)) out[p] = rec[p] ?? null;
    if (!q.get('$select')) {
      out.businessPhones = [];
      out.mobilePhone = null;
      out.preferredLanguage = null;
    }
    return out;
  }

  #selectGroup(g: GraphGroup, q: Map<string, string>): Json {
    const out: Json = {};
    const rec = g as unknown as Record<string, unknown>;
    for (const p of this.#select(q, GROUP_PROPS, GROUP_PROPS)) out[p] = rec[p] ?? null;
    return out;
  }

  #page<T>(
    res: ServerResponse,
    path: string,
    q: Map<string, string>,
    items: T[],
    map: (x: T) => Json,
    count?: number,
  ): void {
    const top = q.has('$top') ? Number(q.get('$top')) : this.#o.defaultPageSize;
    if (!Number.isInteger(top) || top < 1 || top > this.#o.maxPageSize)
      throw new HttpFail(
        400,
        'Request_BadRequest',
        `Invalid page size specified: '${q.get('$top') ?? ''}'. Must be between 1 and ${this.#o.maxPageSize} inclusive.`,
      );
    let offset = 0;
    const skip = q.get('$skiptoken');
    if (skip !== undefined) {
      const m = /^RFNwdAIAAQAAA(\d+)$/.exec(skip);
      if (!m)
        throw new HttpFail(
          400,
          'Directory_ExpiredPageToken',
          'The specified page token value has expired and can no longer be included in your request.',
        );
      offset = Number(m[1]);
    }
    const page = items.slice(offset, offset + top);
    const out: Json = { '@odata.context': `${this.graphUrl}/$metadata#${path.split('/').pop() ?? ''}` };
    if (count !== undefined) out['@odata.count'] = count;
    out.value = page.map(map);
    if (offset + top < items.length) {
      const params: string[] = [];
      for (const [k, v] of q)
        if (k !== '$skiptoken') params.push(`${encodeURIComponent(k).replace(/%24/g, '$')}=${encodeURIComponent(v)}`);
      params.push(`$skiptoken=RFNwdAIAAQAAA${offset + top}`);
      out['@odata.nextLink'] = `${this.url}${path}?${params.join('&')}`;
    }
    this.#send(res, 200, out);
  }

  #list(
    res: ServerResponse,
    path: string,
    q: Map<string, string>,
    consistency: string | undefined,
    kind: 'users' | 'groups',
  ): void {
    const wantCount = q.get('$count') === 'true';
    if (wantCount && consistency?.toLowerCase() !== 'eventual')
      throw new HttpFail(
        400,
        'Request_BadRequest',
        "$count is not currently supported. Use the 'ConsistencyLevel: eventual' header for advanced queries.",
      );
    const filter = q.get('$filter');
    let expr: Expr | undefined;
    if (filter !== undefined) {
      this.stats.consistencyLevels.push(consistency);
      expr = parseFilter(filter);
    }
    if (kind === 'users') {
      let items = [...this.users.values()];
      if (expr) {
        const e = expr;
        items = items.filter((u) => {
          const ok = matches(e, u as unknown as Record<string, unknown>, USER_PROPS);
          if (!ok) return false;
          if (u.hiddenForFilters > 0) {
            u.hiddenForFilters--;
            return false;
          }
          return true;
        });
      }
      return this.#page(res, path, q, items, (u) => this.#selectUser(u, q), wantCount ? items.length : undefined);
    }
    let items = [...this.groups.values()];
    if (expr) {
      const e = expr;
      items = items.filter((g) => {
        if (!matches(e, g as unknown as Record<string, unknown>, GROUP_PROPS)) return false;
        if (g.hiddenForFilters > 0) {
          g.hiddenForFilters--;
          return false;
        }
        return true;
      });
    }
    this.#page(res, path, q, items, (g) => this.#selectGroup(g, q), wantCount ? items.length : undefined);
  }

  #memberOf(res: ServerResponse, path: string, u: GraphUser, q: Map<string, string>): void {
    const items: Json[] = [];
    for (const g of this.groups.values())
      if (g.members.has(u.id))
        items.push({ '@odata.type': '#microsoft.graph.group', id: g.id, displayName: g.displayName });
    for (const [id, r] of this.roles)
      if (r.members.has(u.id))
        items.push({ '@odata.type': '#microsoft.graph.directoryRole', id, displayName: r.displayName });
    const sel = q
      .get('$select')
      ?.split(',')
      .map((s) => s.trim());
    this.#page(res, path, q, items, (x) => {
      if (!sel) return x;
      const o: Json = { '@odata.type': x['@odata.type'] };
      for (const p of sel) o[p] = x[p] ?? null;
      return o;
    });
  }

  #validateUserValues(body: Json): void {
    for (const k of Object.keys(body)) {
      if (!WRITABLE_USER.has(k))
        throw new HttpFail(400, 'Request_BadRequest', `Property '${k}' does not exist on type 'microsoft.graph.user'.`);
      const v = body[k];
      const max = MAX_LEN[k];
      if (max !== undefined && typeof v === 'string' && v.length > max)
        throw new HttpFail(
          400,
          'Request_BadRequest',
          `Invalid value specified for property '${k}' of resource 'User'.`,
        );
    }
    if (typeof body.mailNickname === 'string' && !/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/.test(body.mailNickname))
      throw new HttpFail(
        400,
        'Request_BadRequest',
        "Invalid value specified for property 'mailNickname' of resource 'User'.",
      );
    if (typeof body.userPrincipalName === 'string') {
      const domain = body.userPrincipalName.split('@')[1]?.toLowerCase();
      if (!domain || !this.#o.verifiedDomains.includes(domain))
        throw new HttpFail(
          400,
          'Request_BadRequest',
          'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.',
          { details: [{ code: 'InvalidValue', target: 'userPrincipalName' }] },
        );
    }
  }

  #checkConflicts(body: Json, self: string | null): void {
    const upn = typeof body.userPrincipalName === 'string' ? body.userPrincipalName.toLowerCase() : undefined;
    const others = [...this.users.values()].filter((u) => u.id !== self);
    if (upn && others.some((u) => u.userPrincipalName.toLowerCase() === upn)) throw conflict('userPrincipalName');
    const mail = typeof body.mail === 'string' ? `smtp:${body.mail.toLowerCase()}` : undefined;
    if (mail) {
      const holders = [...others, ...(this.#o.deletedHoldProxyAddresses ? this.deletedUsers.values() : [])];
      if (holders.some((u) => u.proxyAddresses.some((p) => p.toLowerCase() === mail))) throw conflict('proxyAddresses');
    }
  }

  #createUser(res: ServerResponse, body: Json): void {
    this.#validateUserValues(body);
    for (const k of ['accountEnabled', 'displayName', 'mailNickname', 'userPrincipalName'])
      if (body[k] === undefined || body[k] === null || body[k] === '')
        throw new HttpFail(400, 'Request_BadRequest', `Property '${k}' is required but was not provided.`);
    const pp = body.passwordProfile as { password?: unknown; forceChangePasswordNextSignIn?: unknown } | undefined;
    if (!pp || typeof pp.password !== 'string' || pp.password === '')
      throw new HttpFail(400, 'Request_BadRequest', 'A password must be specified to create a new user.');
    if (!strongPassword(pp.password))
      throw new HttpFail(
        400,
        'Request_BadRequest',
        'The specified password does not comply with password complexity requirements. Please provide a different password.',
      );
    this.#checkConflicts(body, null);
    const s = (k: string) => (typeof body[k] === 'string' && body[k] !== '' ? (body[k] as string) : null);
    const u: GraphUser = {
      id: randomUUID(),
      accountEnabled: body.accountEnabled === true,
      displayName: body.displayName as string,
      givenName: s('givenName'),
      surname: s('surname'),
      userPrincipalName: body.userPrincipalName as string,
      mailNickname: body.mailNickname as string,
      mail: s('mail'),
      employeeId: s('employeeId'),
      jobTitle: s('jobTitle'),
      department: s('department'),
      companyName: s('companyName'),
      officeLocation: s('officeLocation'),
      usageLocation: s('usageLocation'),
      mobilePhone: s('mobilePhone'),
      employeeType: s('employeeType'),
      preferredLanguage: s('preferredLanguage'),
      userType: s('userType') ?? 'Member',
      proxyAddresses: s('mail') ? [`SMTP:${s('mail') as string}`] : [],
      createdDateTime: new Date(this.#o.now()).toISOString(),
      managerId: null,
      sessionsRevoked: 0,
      hiddenForFilters: this.faults.replicationDelay?.filterCalls ?? 0,
    };
    this.users.set(u.id, u);
    this.#passwords.set(u.id, pp.password);
    this.#send(res, 201, {
      '@odata.context': `${this.graphUrl}/$metadata#users/$entity`,
      ...this.#selectUser(u, new Map()),
    });
  }

  /**
   * /users/{id}/authentication/temporaryAccessPassMethods: GET lists (without the pass), POST issues
   * one (400 when the user has one already), DELETE …/{methodId} removes it.
   */
  #accessPass(res: ServerResponse, method: string, u: GraphUser, methodId: string | undefined, body: Json): void {
    const have = this.accessPasses.get(u.id);
    const shown = (t: NonNullable<typeof have>) => ({
      id: t.id,
      createdDateTime: t.createdDateTime,
      startDateTime: t.createdDateTime,
      lifetimeInMinutes: t.lifetimeInMinutes,
      isUsableOnce: t.isUsableOnce,
      isUsable: true,
      methodUsabilityReason: 'EnabledByPolicy',
    });
    if (methodId === undefined && method === 'GET') return this.#send(res, 200, { value: have ? [shown(have)] : [] });
    if (methodId === undefined && method === 'POST') {
      if (have) throw new HttpFail(400, 'badRequest', 'The user already has a Temporary Access Pass.');
      const lifetime = body.lifetimeInMinutes ?? 60;
      if (typeof lifetime !== 'number' || lifetime < 10 || lifetime > 43200)
        throw new HttpFail(400, 'badRequest', 'lifetimeInMinutes must be between 10 and 43200.');
      const tap = {
        id: randomUUID(),
        temporaryAccessPass: randomBytes(9).toString('base64url'),
        lifetimeInMinutes: lifetime,
        isUsableOnce: body.isUsableOnce === true,
        createdDateTime: new Date(this.#o.now()).toISOString(),
      };
      this.accessPasses.set(u.id, tap);
      return this.#send(res, 201, { ...shown(tap), temporaryAccessPass: tap.temporaryAccessPass });
    }
    if (methodId !== undefined && method === 'DELETE') {
      if (have?.id !== methodId) throw notFound(methodId);
      this.accessPasses.delete(u.id);
      return this.#send(res, 204);
    }
    throw new HttpFail(405, 'Request_BadRequest', `${method} is not supported here`);
  }

  #patchUser(res: ServerResponse, u: GraphUser, body: Json): void {
    this.#validateUserValues(body);
    this.#checkConflicts(body, u.id);
    const rec = u as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(body)) {
      if (k === 'passwordProfile') continue;
      if ((k === 'displayName' || k === 'userPrincipalName' || k === 'mailNickname') && (v === null || v === ''))
        throw new HttpFail(
          400,
          'Request_BadRequest',
          `Invalid value specified for property '${k}' of resource 'User'.`,
        );
      rec[k] = v === '' ? null : v;
      if (k === 'mail') {
        const rest = u.proxyAddresses
          .filter((p) => !p.startsWith('SMTP:'))
          .filter((p) => p.toLowerCase() !== `smtp:${String(v).toLowerCase()}`);
        const old = u.proxyAddresses.find((p) => p.startsWith('SMTP:'));
        u.proxyAddresses = [
          ...(v ? [`SMTP:${String(v)}`] : []),
          ...(old && old.slice(5) !== v ? [`smtp:${old.slice(5)}`] : []),
          ...rest,
        ];
      }
    }
    this.#send(res, 204);
  }

  #deleteUser(res: ServerResponse, u: GraphUser): void {
    this.users.delete(u.id);
    for (const g of this.groups.values()) g.members.delete(u.id);
    for (const r of this.roles.values()) r.members.delete(u.id);
    for (const o of this.users.values()) if (o.managerId === u.id) o.managerId = null;
    if (this.#o.deletedUpnPrefixed) u.userPrincipalName = `${u.id.replace(/-/g, '')}${u.userPrincipalName}`;
    this.deletedUsers.set(u.id, u);
    this.#send(res, 204);
  }

  #createGroup(res: ServerResponse, body: Json): void {
    for (const k of ['displayName', 'mailEnabled', 'mailNickname', 'securityEnabled'])
      if (body[k] === undefined)
        throw new HttpFail(400, 'Request_BadRequest', `Property '${k}' is required but was not provided.`);
    const g = this.addGroup(String(body.displayName), {
      mailNickname: String(body.mailNickname),
      mailEnabled: body.mailEnabled === true,
      securityEnabled: body.securityEnabled === true,
      groupTypes: Array.isArray(body.groupTypes) ? (body.groupTypes as string[]) : [],
      description: typeof body.description === 'string' ? body.description : null,
    });
    g.hiddenForFilters = this.faults.replicationDelay?.filterCalls ?? 0;
    this.#send(res, 201, {
      '@odata.context': `${this.graphUrl}/$metadata#groups/$entity`,
      ...this.#selectGroup(g, new Map()),
    });
  }
}
