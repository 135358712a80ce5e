/**
 * A TOPdesk REST API simulator (docs/targets/topdesk.md): a real HTTP server on 127.0.0.1 with a random
 * free port (or a given one, to come back after an outage on the same address).
 *
 * - auth: `Authorization: BASIC base64(user:application password)` (scheme case-insensitive);
 *   wrong or missing → 401;
 * - persons: FIQL `query=` with `==` / `!=` joined by `;` on employeeNumber, email, tasLoginName,
 *   networkLoginName, surName; `email=` parameter; `archived=true|false` (absent: active only or
 *   all, a switch: unverified); `start` / `page_size` paging with a cap (larger → 400); 204 on no
 *   match (switch); GET/PATCH by id (404), archive with a valid reason id, unarchive; PATCH on an
 *   archived person refused (switch, unverified); duplicate `tasLoginName` → 400; `isManager`
 *   required of a manager; create answers 201 (switch: 200);
 * - lookups: branches (some hidden by an "API user filter"), departments, budget holders (GET/POST,
 *   duplicate name → 400), countries, archiving reasons;
 * - tickets: applicableChangeTemplates (`{results}`), POST/GET operatorChanges (`{results}`), POST/GET
 *   incidents (array; 204 when empty), search by `externalNumber` (FIQL, or `external_number=`),
 *   incident lookups with subcategory names repeated across categories, operator groups;
 * - faults: latency (all calls or per method+path, applied after the change is made, so a client
 *   timeout leaves the change behind), the next N matching calls fail with a status (before or
 *   after the change), a storm of 429s with Retry-After.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Json = Record<string, unknown>;

export interface TopdeskSimulatorOptions {
  username?: string;
  appPassword?: string;
  /** Persons returned without `archived`: only active ones (default) or all (unverified). */
  archivedDefault?: 'active' | 'all';
  /** No match on a list: 204 No Content (default) or 200 `[]` (unverified). */
  emptyStatus?: 204 | 200;
  /** Create status (unverified). Default 201. */
  createStatus?: 200 | 201;
  /** Refuse PATCH on archived persons (unverified). Default true. */
  rejectPatchArchived?: boolean;
  /** Refuse an archived requester/caller on tickets (unverified). Default true. */
  rejectArchivedRequester?: boolean;
  /** Largest page_size; a larger one → 400. Default 100. Default page size 10. */
  maxPageSize?: number;
  /** Branch names the API user cannot see (TOPdesk filters). */
  hiddenBranches?: string[];
  /** Latency for every call, ms. Default 0. */
  latencyMs?: number;
}

export interface FaultRule {
  method: string;
  /** Path under /tas/api, e.g. `/persons` or `/operatorChanges`; exact match. */
  path: string;
  status: number;
  /** How many calls fail. Default 1. */
  times?: number;
  /** Make the change first, then answer the error (a lost answer). Default false. */
  afterCommit?: boolean;
}

export interface LatencyRule {
  method: string;
  path: string;
  ms: number;
}

export interface TopdeskStats {
  calls: number;
  unauthorized: number;
  byRoute: Map<string, number>;
  /** Every Authorization-free header set seen (for assertions on Partner-Solution-Id etc.). */
  partnerIds: Set<string>;
}

interface Named extends Json {
  id: string;
  name: string;
}

const uuid = () => randomUUID();

export function defaultTopdeskData() {
  const branch = (name: string): Named => ({
    id: uuid(),
    name,
    clientReferenceNumber: '',
    branchType: 'independentBranch',
  });
  const named = (name: string): Named => ({ id: uuid(), name, externalLinks: [] });
  const catMiddelen = { id: 'cat-middelen', name: 'Middelen' };
  const catAccounts = { id: 'cat-accounts', name: 'Accounts' };
  return {
    branches: [branch('Baarn'), branch('Utrecht'), branch('Den Haag'), branch('Hidden Site')],
    departments: [named('Finance'), named('Sales'), named('IT')],
    budgetHolders: [named('KP-4100'), named('KP-4200')],
    countries: [named('Nederland'), named('België')],
    archivingReasons: [named('Persoon uit organisatie'), named('Overig')],
    changeTemplates: [
      { id: 't-0006', number: 'Ws 006', briefDescription: 'Laptop', applicable: true },
      { id: 't-0007', number: 'Ws 007', briefDescription: 'Offboarding', applicable: true },
      { id: 't-0099', number: 'Ws 099', briefDescription: 'Not for the API user', applicable: false },
    ],
    operatorGroups: [
      { id: 'og-apps', groupName: 'Applicatiebeheer' },
      { id: 'og-ws', groupName: 'Werkplekbeheer' },
    ],
    categories: [catMiddelen, catAccounts],
    subcategories: [
      { id: 'sub-inventaris', name: 'Inventaris & apparatuur', category: catMiddelen },
      { id: 'sub-nieuw-m', name: 'Nieuw', category: catMiddelen },
      { id: 'sub-nieuw-a', name: 'Nieuw', category: catAccounts },
    ],
    callTypes: [named('Aanvraag'), named('Melding')],
    impacts: [named('Persoon')],
    priorities: [named('P1'), named('P2')],
    durations: [named('1 dag')],
    entryTypes: [named('Automatisch')],
    urgencies: [named('Normaal')],
    statuses: [named('Ingediend'), named('Gesloten')],
  };
}

export type TopdeskData = ReturnType<typeof defaultTopdeskData>;

class HttpFail extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parse FIQL: `a==b;c!='d'` (AND only; values quoted with backslash escapes, or bare). */
export function parseFiql(q: string): { field: string; op: '==' | '!='; value: string }[] {
  const out: { field: string; op: '==' | '!='; value: string }[] = [];
  let i = 0;
  while (i < q.length) {
    const m = /^\s*([A-Za-z_.]+)\s*(==|!=)\s*/.exec(q.slice(i));
    if (!m) throw new HttpFail(400, `invalid query near '${q.slice(i, i + 20)}'`);
    i += m[0].length;
    let value = '';
    if (q[i] === "'" || q[i] === '"') {
      const quote = q[i];
      i++;
      while (i < q.length && q[i] !== quote) {
        if (q[i] === '\\' && i + 1 < q.length) i++;
        value += q[i];
        i++;
      }
      if (q[i] !== quote) throw new HttpFail(400, 'unterminated string in query');
      i++;
    } else {
      const m2 = /^[^;,]*/.exec(q.slice(i)) as RegExpExecArray;
      value = m2[0].trim();
      i += m2[0].length;
    }
    out.push({ field: m[1] as string, op: m[2] as '==' | '!=', value });
    while (i < q.length && /\s/.test(q[i] as string)) i++;
    if (i < q.length) {
      if (q[i] !== ';') throw new HttpFail(400, 'only ; (and) is supported in this query');
      i++;
    }
  }
  return out;
}

function fieldValue(o: Json, path: string): string {
  let v: unknown = o;
  for (const p of path.split('.')) v = v && typeof v === 'object' ? (v as Json)[p] : undefined;
  return v === undefined || v === null ? '' : String(v);
}

export class TopdeskSimulator {
  readonly o: Required<TopdeskSimulatorOptions>;
  readonly data: TopdeskData;
  readonly persons = new Map<string, Json>();
  readonly changes: Json[] = [];
  readonly incidents: Json[] = [];
  readonly stats: TopdeskStats = { calls: 0, unauthorized: 0, byRoute: new Map(), partnerIds: new Set() };
  readonly faults: FaultRule[] = [];
  readonly latency: LatencyRule[] = [];
  /** The next N calls answer 429 with this Retry-After (seconds). */
  throttle: { count: number; retryAfterSec: number } = { count: 0, retryAfterSec: 0.05 };
  #server: Server | null = null;
  #port = 0;
  #seq = 0;

  constructor(options: TopdeskSimulatorOptions = {}, data: TopdeskData = defaultTopdeskData()) {
    this.o = {
      username: options.username ?? 'tenure-api',
      appPassword: options.appPassword ?? 'sim-app-password',
      archivedDefault: options.archivedDefault ?? 'active',
      emptyStatus: options.emptyStatus ?? 204,
      createStatus: options.createStatus ?? 201,
      rejectPatchArchived: options.rejectPatchArchived ?? true,
      rejectArchivedRequester: options.rejectArchivedRequester ?? true,
      maxPageSize: options.maxPageSize ?? 100,
      hiddenBranches: options.hiddenBranches ?? ['Hidden Site'],
      latencyMs: options.latencyMs ?? 0,
    };
    this.data = data;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== null;
  }

  /** Listen on a random free port, or on `port` (to come back on the same address after stop()). */
  async start(port = this.#port): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Insert a person directly (test setup). */
  addPerson(p: Json): Json {
    const person: Json = {
      id: uuid(),
      status: 'person',
      isManager: false,
      surName: '',
      firstName: '',
      employeeNumber: '',
      email: '',
      tasLoginName: '',
      networkLoginName: '',
      mainframeLoginName: '',
      ...p,
    };
    this.#decorate(person);
    this.persons.set(person.id as string, person);
    return person;
  }

  personsByEmployeeNumber(n: string): Json[] {
    return [...this.persons.values()].filter((p) => p.employeeNumber === n);
  }

  // ------------------------------------------------------------------ plumbing

  #count(route: string) {
    this.stats.byRoute.set(route, (this.stats.byRoute.get(route) ?? 0) + 1);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = (req.method ?? 'GET').toUpperCase();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    this.stats.calls++;
    const send = async (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      const path = url.pathname.replace(/^\/tas\/api/, '');
      const extra = this.latency.find((l) => l.method === method && l.path === path)?.ms ?? 0;
      const wait = this.o.latencyMs + extra;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (res.destroyed) return;
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, {
        ...headers,
        ...(text ? { 'content-type': 'application/json;charset=UTF-8' } : {}),
      });
      res.end(text);
    };
    try {
      if (!url.pathname.startsWith('/tas/api/')) throw new HttpFail(404, 'not found');
      const pid = req.headers['partner-solution-id'];
      if (typeof pid === 'string') this.stats.partnerIds.add(pid);
      if (!this.#authorised(req.headers.authorization)) {
        this.stats.unauthorized++;
        return void (await send(401, [{ message: 'Unauthorized' }]));
      }
      if (this.throttle.count > 0) {
        this.throttle.count--;
        return void (await send(429, [{ message: 'Too many requests' }], {
          'retry-after': String(this.throttle.retryAfterSec),
        }));
      }
      const path = url.pathname.slice('/tas/api'.length);
      const fault = this.faults.find((f) => f.method === method && f.path === path && (f.times ?? 1) > 0);
      if (fault) fault.times = (fault.times ?? 1) - 1;
      if (fault && !fault.afterCommit) return void (await send(fault.status, [{ message: 'simulated failure' }]));
      let body: Json | undefined;
      if (raw.trim()) {
        try {
          body = JSON.parse(raw) as Json;
        } catch {
          throw new HttpFail(400, 'invalid JSON');
        }
      }
      const [status, out] = this.#route(method, path, url.searchParams, body);
      if (fault?.afterCommit) return void (await send(fault.status, [{ message: 'simulated failure' }]));
      await send(status, out);
    } catch (err) {
      if (err instanceof HttpFail) return void (await send(err.status, [{ message: err.message }]));
      await send(500, [{ message: 'internal error' }]);
    }
  }

  #authorised(header: string | undefined): boolean {
    const m = /^basic\s+(\S+)$/i.exec(header ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    return decoded === `${this.o.username}:${this.o.appPassword}`;
  }

  #list(items: Json[], q: URLSearchParams, wrap?: 'results'): [number, unknown] {
    const start = Number(q.get('start') ?? '0');
    const size = Number(q.get('page_size') ?? '10');
    if (!Number.isInteger(start) || start < 0) throw new HttpFail(400, 'invalid start');
    if (!Number.isInteger(size) || size < 1) throw new HttpFail(400, 'invalid page_size');
    if (size > this.o.maxPageSize) throw new HttpFail(400, `page_size may not exceed ${this.o.maxPageSize}`);
    const page = items.slice(start, start + size);
    if (!page.length && this.o.emptyStatus === 204) return [204, undefined];
    if (wrap) return [page.length < items.length - start ? 206 : 200, { results: page }];
    return [page.length < items.length - start ? 206 : 200, page];
  }

  #filter(items: Json[], q: URLSearchParams): Json[] {
    const query = q.get('query');
    if (!query) return items;
    const clauses = parseFiql(query);
    return items.filter((i) =>
      clauses.every((c) => (c.op === '==' ? fieldValue(i, c.field) === c.value : fieldValue(i, c.field) !== c.value)),
    );
  }

  #named<T extends Json>(items: T[], q: URLSearchParams): [number, unknown] {
    const rows = this.#filter(items, q);
    if (!rows.length && this.o.emptyStatus === 204) return [204, undefined];
    return [200, rows];
  }

  #lookup(list: Json[], v: unknown, what: string, allowNull = true): Json | null {
    if (v === undefined) return null;
    if (v === null) return null;
    const id = v && typeof v === 'object' ? (v as Json).id : undefined;
    if (id === null && allowNull) return null;
    const hit = list.find((x) => x.id === id);
    if (!hit) throw new HttpFail(400, `${what} with id '${String(id)}' does not exist`);
    return hit;
  }

  #visibleBranches(): Named[] {
    return this.data.branches.filter((b) => !this.o.hiddenBranches.includes(b.name));
  }

  #decorate(p: Json): void {
    p.dynamicName = `${String(p.surName ?? '')}${p.prefixes ? `, ${String(p.prefixes)}` : ''}, ${String(p.firstName ?? '')}`;
  }

  #apply(p: Json, body: Json, creating: boolean): void {
    const plain = [
      'surName',
      'prefixes',
      'firstName',
      'firstInitials',
      'gender',
      'email',
      'employeeNumber',
      'networkLoginName',
      'tasLoginName',
      'jobTitle',
      'mainframeLoginName',
      'mobileNumber',
      'isManager',
      'showAllBranches',
    ];
    const next: Json = { ...p };
    for (const k of plain) if (k in body) next[k] = body[k] ?? '';
    if (creating && !String(next.surName ?? '').trim()) throw new HttpFail(400, 'surName is mandatory');
    if ('branch' in body) {
      const b = this.#lookup(this.#visibleBranches(), body.branch, 'branch', false);
      next.branch = b ? { id: b.id, name: b.name } : null;
    }
    if (creating && !next.branch) throw new HttpFail(400, 'branch is mandatory');
    for (const [k, list] of [
      ['department', this.data.departments],
      ['budgetHolder', this.data.budgetHolders],
    ] as const) {
      if (k in body) {
        const hit = this.#lookup(list, body[k], k);
        next[k] = hit ? { id: hit.id, name: hit.name } : null;
      }
    }
    if ('manager' in body) {
      const mid = body.manager && typeof body.manager === 'object' ? (body.manager as Json).id : null;
      if (mid) {
        const m = this.persons.get(String(mid));
        if (!m) throw new HttpFail(400, 'manager does not exist');
        if (m.isManager !== true) throw new HttpFail(400, 'the selected manager is not a manager');
        next.manager = { id: m.id, name: m.dynamicName };
      } else next.manager = null;
    }
    const login = String(next.tasLoginName ?? '');
    if (login && [...this.persons.values()].some((o) => o.id !== p.id && o.tasLoginName === login))
      throw new HttpFail(400, `tasLoginName '${login}' is already in use`);
    Object.assign(p, next);
    this.#decorate(p);
  }

  #person(id: string): Json {
    const p = this.persons.get(decodeURIComponent(id));
    if (!p) throw new HttpFail(404, 'person not found');
    return p;
  }

  #archivedFilter(q: URLSearchParams): (p: Json) => boolean {
    const a = q.get('archived');
    if (a === 'true') return (p) => p.status === 'personArchived';
    if (a === 'false' || (a === null && this.o.archivedDefault === 'active')) return (p) => p.status === 'person';
    return () => true;
  }

  #number(prefix: string): string {
    this.#seq++;
    return `${prefix}2605 ${String(this.#seq).padStart(3, '0')}`;
  }

  #ticketSearch(items: Json[], q: URLSearchParams): Json[] {
    const ext = q.get('external_number');
    const rows = ext !== null ? items.filter((i) => i.externalNumber === ext) : items;
    return this.#filter(rows, q);
  }

  #requester(v: unknown, what: string): Json {
    const id = v && typeof v === 'object' ? (v as Json).id : undefined;
    const p = typeof id === 'string' ? this.persons.get(id) : undefined;
    if (!p) throw new HttpFail(400, `${what} does not exist`);
    if (p.status === 'personArchived' && this.o.rejectArchivedRequester) throw new HttpFail(400, `${what} is archived`);
    return p;
  }

  #brief(body: Json): string {
    const b = String(body.briefDescription ?? '');
    if (!b.trim()) throw new HttpFail(400, 'briefDescription is mandatory');
    if (Array.from(b).length > 80) throw new HttpFail(400, 'briefDescription is longer than 80 characters');
    return b;
  }

  // ------------------------------------------------------------------ routes

  #route(method: string, path: string, q: URLSearchParams, body: Json | undefined): [number, unknown] {
    const b = body ?? {};
    this.#count(`${method} ${path.replace(/\/id\/[^/]+/, '/id/{id}')}`);
    let m: RegExpExecArray | null;
    if (path === '/persons' && method === 'GET') {
      let rows = [...this.persons.values()].filter(this.#archivedFilter(q));
      const email = q.get('email');
      if (email !== null) rows = rows.filter((p) => String(p.email).toLowerCase() === email.toLowerCase());
      return this.#list(this.#filter(rows, q), q);
    }
    if (path === '/persons' && method === 'POST') {
      const p: Json = { id: uuid(), status: 'person', isManager: false };
      this.#apply(p, b, true);
      this.persons.set(p.id as string, p);
      return [this.o.createStatus, p];
    }
    if ((m = /^\/persons\/id\/([^/]+)$/.exec(path))) {
      const p = this.#person(m[1] as string);
      if (method === 'GET') return [200, p];
      if (method === 'PATCH') {
        if (p.status === 'personArchived' && this.o.rejectPatchArchived)
          throw new HttpFail(400, 'an archived person cannot be changed; unarchive it first');
        this.#apply(p, b, false);
        return [200, p];
      }
    }
    if ((m = /^\/persons\/id\/([^/]+)\/(archive|unarchive)$/.exec(path)) && method === 'PATCH') {
      const p = this.#person(m[1] as string);
      if (m[2] === 'archive') {
        const reason = this.data.archivingReasons.find((r) => r.id === b.id);
        if (!reason) throw new HttpFail(400, 'a valid archiving reason is required');
        if (p.status === 'personArchived') throw new HttpFail(400, 'person is already archived');
        p.status = 'personArchived';
        p.archivingReason = { id: reason.id, name: reason.name };
      } else {
        if (p.status !== 'personArchived') throw new HttpFail(400, 'person is not archived');
        p.status = 'person';
        delete p.archivingReason;
      }
      return [200, p];
    }
    const lookups: Record<string, Json[]> = {
      '/branches': this.#visibleBranches(),
      '/departments': this.data.departments,
      '/budgetholders': this.data.budgetHolders,
      '/countries': this.data.countries,
      '/archiving-reasons': this.data.archivingReasons,
      '/operatorgroups': this.data.operatorGroups,
      '/incidents/categories': this.data.categories,
      '/incidents/subcategories': this.data.subcategories,
      '/incidents/call_types': this.data.callTypes,
      '/incidents/impacts': this.data.impacts,
      '/incidents/priorities': this.data.priorities,
      '/incidents/durations': this.data.durations,
      '/incidents/entry_types': this.data.entryTypes,
      '/incidents/urgencies': this.data.urgencies,
      '/incidents/statuses': this.data.statuses,
    };
    if (lookups[path] && method === 'GET') return this.#named(lookups[path], q);
    if (['/branches', '/departments', '/budgetholders'].includes(path) && method === 'POST') {
      const name = String(b.name ?? '').trim();
      if (!name) throw new HttpFail(400, 'name is mandatory');
      const all =
        path === '/branches'
          ? this.data.branches
          : path === '/departments'
            ? this.data.departments
            : this.data.budgetHolders;
      if (all.some((x) => x.name.toLowerCase() === name.toLowerCase()))
        throw new HttpFail(400, `an entry named '${name}' already exists`);
      const item: Named = { id: uuid(), name };
      if (path === '/branches') {
        const cid = ((b.postalAddress as Json | undefined)?.country as Json | undefined)?.id;
        if (!this.data.countries.some((c) => c.id === cid)) throw new HttpFail(400, 'country is mandatory');
        item.branchType = b.branchType;
      }
      (all as Named[]).push(item);
      return [this.o.createStatus, item];
    }
    if (path === '/applicableChangeTemplates' && method === 'GET')
      return [
        200,
        {
          results: this.data.changeTemplates.filter((t) => t.applicable).map(({ applicable: _a, ...t }) => t),
        },
      ];
    if (path === '/operatorChanges' && method === 'GET')
      return this.#list(this.#ticketSearch(this.changes, q), q, 'results');
    if (path === '/operatorChanges' && method === 'POST') {
      const tid = (b.template as Json | undefined)?.id;
      if (!this.data.changeTemplates.some((t) => t.id === tid && t.applicable))
        throw new HttpFail(400, 'template is not applicable');
      const requester = this.#requester(b.requester, 'requester');
      const brief = this.#brief(b);
      if (!['simple', 'extensive'].includes(String(b.changeType))) throw new HttpFail(400, 'invalid changeType');
      const c: Json = {
        id: uuid(),
        number: this.#number('W'),
        template: { id: tid },
        requester: { id: requester.id, name: requester.dynamicName },
        briefDescription: brief,
        request: b.request ?? '',
        changeType: b.changeType,
        externalNumber: b.externalNumber ?? '',
        category: b.category ?? null,
        subCategory: b.subCategory ?? null,
        priority: b.priority ?? null,
      };
      this.changes.push(c);
      return [201, { id: c.id, number: c.number }];
    }
    if (path === '/incidents' && method === 'GET') return this.#list(this.#ticketSearch(this.incidents, q), q);
    if (path === '/incidents' && method === 'POST') {
      const caller = this.#requester(b.callerLookup, 'callerLookup');
      const brief = this.#brief(b);
      const branch = this.#lookup(this.#visibleBranches(), b.branch, 'branch', false);
      if (!branch) throw new HttpFail(400, 'branch is mandatory');
      if (b.status !== undefined && b.status !== 'firstLine' && b.status !== 'secondLine')
        throw new HttpFail(400, 'status must be firstLine or secondLine');
      const category = this.#lookup(this.data.categories, b.category, 'category');
      const sub = this.#lookup(this.data.subcategories, b.subcategory, 'subcategory');
      if (sub && category && (sub.category as Json).id !== category.id)
        throw new HttpFail(400, 'subcategory does not belong to the category');
      for (const [k, list] of [
        ['operatorGroup', this.data.operatorGroups],
        ['callType', this.data.callTypes],
        ['impact', this.data.impacts],
        ['priority', this.data.priorities],
        ['duration', this.data.durations],
        ['entryType', this.data.entryTypes],
        ['urgency', this.data.urgencies],
        ['processingStatus', this.data.statuses],
      ] as const)
        this.#lookup(list as Json[], b[k], k);
      const i: Json = {
        ...b,
        id: uuid(),
        number: this.#number('I'),
        callerLookup: undefined,
        caller: { id: caller.id, dynamicName: caller.dynamicName },
        briefDescription: brief,
        externalNumber: b.externalNumber ?? '',
      };
      delete i.callerLookup;
      this.incidents.push(i);
      return [201, i];
    }
    throw new HttpFail(404, `no route for ${method} ${path}`);
  }
}
