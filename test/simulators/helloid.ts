/**
 * A HelloID REST API simulator (docs/targets/helloid.md): a real HTTP server on 127.0.0.1
 * with a random free port, base path `/api/v1`.
 *
 * - Basic auth with API key + secret; wrong credentials, a disabled key or a caller outside the
 *   allowed IPs → 401;
 * - users: GET list (`take`/`skip`, `enabled`, `isDeleted`), GET by userGUID / userName / adsid /
 *   immutableId, POST (unique userName → 400 `{message}`), PUT (whole object, `IdentifierObject`
 *   renames), DELETE (soft: listed only with `isDeleted=true`); not found → `{resultMsg: "User not
 *   found"}` with a configurable status (404 assumed, unverified);
 * - groups: list, detail with `users`, create (duplicate name → 409), membership add/remove
 *   (duplicate add: error or no-op, configurable);
 * - products, product requests (assigned at once, or pending until `approvePending()`),
 *   assignments by user, unassign by product;
 * - paging styles: bare arrays or `{data: [...]}` (default: users and assignments wrapped, groups
 *   and products bare); `take` default 100, capped at `maxTake`;
 * - faults: a storm of N 429s with Retry-After, latency on chosen calls (the operation still
 *   completes after the delay, as a real server would after the client gave up), `goDown()` /
 *   `comeBack()` (listener closed → connection refused, then back on the same port).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Json = Record<string, unknown>;

export interface SimUser {
  userGUID: string;
  id: number;
  userName: string;
  firstName: string | null;
  lastName: string | null;
  contactEmail: string | null;
  isEnabled: boolean;
  isLocked: boolean;
  mustChangePassword: boolean;
  source: string;
  adsid: string | null;
  immutableId: string | null;
  userAttributes: Record<string, unknown>;
  managedByUserGUID: string | null;
  lastLogin: string | null;
  isDeleted: boolean;
  /** Kept to check one was set; never returned. */
  password: string | null;
}

export interface SimGroup {
  groupGuid: string;
  name: string;
  isEnabled: boolean;
  users: string[];
}

export interface SimProduct {
  productId: string;
  name: string;
}

export interface HelloIdSimulatorOptions {
  apiKey?: string;
  apiSecret?: string;
  /** Status for "User not found" (unverified; body text is what matters). Default 404. */
  notFoundStatus?: number;
  /** Status for a duplicate userName on POST/rename (unverified). Default 400. */
  duplicateUserStatus?: number;
  /** Adding a member twice: 'error' (400) or 'noop' (200). Unverified. Default 'error'. */
  duplicateMembership?: 'error' | 'noop';
  /** Product requests: assigned at once or pending approval. Default 'immediate'. */
  productApproval?: 'immediate' | 'manual';
  /** Which lists are wrapped in `{data: [...]}`. Default 'mixed' (users + assignments wrapped). */
  listStyle?: 'array' | 'data' | 'mixed';
  defaultTake?: number;
  maxTake?: number;
  /** Retry-After as fractional seconds (fast tests). Default true. */
  fractionalRetryAfter?: boolean;
}

export interface HelloIdFaults {
  /** The next `count` calls get 429 with Retry-After `retryAfterSec` (default 0.05). */
  tooManyStorm?: { count: number; retryAfterSec?: number };
  /** Delay answers to matching calls by `ms`; the operation is applied after the delay. */
  latency?: { ms: number; method?: string; path?: RegExp };
  /** The key is disabled (→ 401 for everyone). */
  keyDisabled?: boolean;
  /** Remote addresses allowed (IP restriction); others → 401. */
  allowedIps?: string[];
}

export interface HelloIdStats {
  calls: number;
  unauthorized: number;
  rateLimited: number;
  /** `METHOD /path` (no query, ids kept) in order, with bodies (password redacted). */
  log: { method: string; path: string; body?: Json }[];
  authHeaders: Set<string>;
}

const BASE = '/api/v1';

/** Seed from docs/targets/helloid.md: two department groups, one product, no users. */
export function seed81(): { users: SimUser[]; groups: SimGroup[]; products: SimProduct[] } {
  return {
    users: [],
    groups: [
      { groupGuid: '0b7a0000-0000-4000-8000-000000000001', name: 'department_FIN', isEnabled: true, users: [] },
      { groupGuid: '0b7a0000-0000-4000-8000-000000000002', name: 'department_HR', isEnabled: true, users: [] },
    ],
    products: [{ productId: '7dbcb07a-0000-4000-8000-00000000c520', name: 'Laptop standaard' }],
  };
}

/** A user as the API returns it. */
export function newUser(fields: Partial<SimUser> & { userName: string }, id: number): SimUser {
  return {
    userGUID: fields.userGUID ?? randomUUID(),
    id,
    userName: fields.userName,
    firstName: fields.firstName ?? null,
    lastName: fields.lastName ?? null,
    contactEmail: fields.contactEmail ?? null,
    isEnabled: fields.isEnabled ?? false,
    isLocked: fields.isLocked ?? false,
    mustChangePassword: fields.mustChangePassword ?? false,
    source: fields.source ?? 'API',
    adsid: fields.adsid ?? null,
    immutableId: fields.immutableId ?? null,
    userAttributes: fields.userAttributes ?? {},
    managedByUserGUID: fields.managedByUserGUID ?? null,
    lastLogin: null,
    isDeleted: false,
    password: fields.password ?? null,
  };
}

export class HelloIdSimulator {
  readonly users = new Map<string, SimUser>();
  readonly groups = new Map<string, SimGroup>();
  readonly products = new Map<string, SimProduct>();
  /** `${productId}:${userGUID}` assignments, and pending requests. */
  readonly assignments = new Set<string>();
  readonly pending = new Set<string>();
  readonly stats: HelloIdStats = { calls: 0, unauthorized: 0, rateLimited: 0, log: [], authHeaders: new Set() };
  faults: HelloIdFaults = {};
  readonly o: Required<HelloIdSimulatorOptions>;
  private server?: Server;
  private port = 0;
  private nextId = 4711;
  private inFlightOps = new Set<Promise<void>>();

  constructor(
    data: { users: SimUser[]; groups: SimGroup[]; products: SimProduct[] } = seed81(),
    options: HelloIdSimulatorOptions = {},
  ) {
    this.o = {
      apiKey: options.apiKey ?? 'sim-key',
      apiSecret: options.apiSecret ?? 'sim-secret-do-not-log',
      notFoundStatus: options.notFoundStatus ?? 404,
      duplicateUserStatus: options.duplicateUserStatus ?? 400,
      duplicateMembership: options.duplicateMembership ?? 'error',
      productApproval: options.productApproval ?? 'immediate',
      listStyle: options.listStyle ?? 'mixed',
      defaultTake: options.defaultTake ?? 100,
      maxTake: options.maxTake ?? 1000,
      fractionalRetryAfter: options.fractionalRetryAfter ?? true,
    };
    for (const u of data.users) {
      this.users.set(u.userGUID, { ...u });
      this.nextId = Math.max(this.nextId, u.id + 1);
    }
    for (const g of data.groups) this.groups.set(g.groupGuid, { ...g, users: [...g.users] });
    for (const p of data.products) this.products.set(p.productId, { ...p });
  }

  /** The API base URL (with /api/v1). */
  get url(): string {
    return `http://127.0.0.1:${this.port}${BASE}`;
  }

  async start(): Promise<string> {
    await this.listen(0);
    return this.url;
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.send(res, 500, { message: `simulator error: ${(e as Error).message}` });
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Outage: close the listener (connection refused) but keep the data. */
  async goDown(): Promise<void> {
    await this.stop();
  }

  /** Back on the same port. */
  async comeBack(): Promise<void> {
    await this.listen(this.port);
  }

  /** Wait until delayed operations have been applied. */
  async idle(): Promise<void> {
    while (this.inFlightOps.size) await Promise.all([...this.inFlightOps]);
  }

  /** Approve every pending product request (they become assignments). */
  approvePending(): void {
    for (const k of this.pending) this.assignments.add(k);
    this.pending.clear();
  }

  /** Users (not deleted) whose userAttributes[attr] equals value. */
  usersWith(attr: string, value: string): SimUser[] {
    return [...this.users.values()].filter((u) => !u.isDeleted && u.userAttributes[attr] === value);
  }

  addUser(fields: Partial<SimUser> & { userName: string }): SimUser {
    const u = newUser(fields, this.nextId++);
    this.users.set(u.userGUID, u);
    return u;
  }

  calls(method: string, path: RegExp): number {
    return this.stats.log.filter((l) => l.method === method && path.test(l.path)).length;
  }

  // ------------------------------------------------------------------------------------------

  private send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    if (res.destroyed) return;
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private authorised(req: IncomingMessage): boolean {
    if (this.faults.keyDisabled) return false;
    const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (this.faults.allowedIps && !this.faults.allowedIps.includes(ip)) return false;
    const h = req.headers.authorization ?? '';
    const m = /^Basic\s+(\S+)$/i.exec(h);
    if (!m) return false;
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    return decoded === `${this.o.apiKey}:${this.o.apiSecret}`;
  }

  private async readBody(req: IncomingMessage): Promise<Json | undefined> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text.trim()) return undefined;
    return JSON.parse(text) as Json;
  }

  private wrap(kind: 'users' | 'assignments' | 'groups' | 'products', items: unknown[]): unknown {
    const wrapped =
      this.o.listStyle === 'data' || (this.o.listStyle === 'mixed' && (kind === 'users' || kind === 'assignments'));
    return wrapped ? { data: items } : items;
  }

  private page(items: unknown[], q: URLSearchParams): unknown[] {
    const take = Math.min(Number(q.get('take') ?? this.o.defaultTake) || this.o.defaultTake, this.o.maxTake);
    const skip = Math.max(0, Number(q.get('skip') ?? 0) || 0);
    return items.slice(skip, skip + take);
  }

  private view(u: SimUser): Json {
    const { password: _pw, isDeleted: _d, ...rest } = u;
    return {
      ...rest,
      userAttributes: { ...u.userAttributes },
      links: [{ title: 'self', location: `${BASE}/users/${u.userGUID}` }],
    };
  }

  private findUser(id: string, includeDeleted = false): SimUser | undefined {
    const lower = id.toLowerCase();
    for (const u of this.users.values()) {
      if (u.isDeleted && !includeDeleted) continue;
      if (
        u.userGUID.toLowerCase() === lower ||
        u.userName.toLowerCase() === lower ||
        (u.adsid && u.adsid.toLowerCase() === lower) ||
        (u.immutableId && u.immutableId.toLowerCase() === lower)
      )
        return u;
    }
    return undefined;
  }

  private userNameTaken(name: string, except?: string): boolean {
    const lower = name.toLowerCase();
    return [...this.users.values()].some(
      (u) => !u.isDeleted && u.userGUID !== except && u.userName.toLowerCase() === lower,
    );
  }

  private notFound(res: ServerResponse, what = 'User') {
    this.send(res, this.o.notFoundStatus, { resultMsg: `${what} not found` });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? await this.readBody(req) : undefined;
    this.stats.calls++;
    if (req.headers.authorization) this.stats.authHeaders.add(req.headers.authorization);

    if (!this.authorised(req)) {
      this.stats.unauthorized++;
      this.send(res, 401, { message: 'Authorization has been denied for this request.' });
      return;
    }
    const storm = this.faults.tooManyStorm;
    if (storm && storm.count > 0) {
      storm.count--;
      this.stats.rateLimited++;
      const sec = storm.retryAfterSec ?? 0.05;
      this.send(
        res,
        429,
        { message: 'Too many requests' },
        { 'retry-after': this.o.fractionalRetryAfter ? String(sec) : String(Math.ceil(sec)) },
      );
      return;
    }
    if (!url.pathname.startsWith(`${BASE}/`)) {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body>Not found</body></html>');
      return;
    }
    const path = url.pathname.slice(BASE.length);
    const logged = body && 'password' in body ? { ...body, password: '***' } : body;
    this.stats.log.push(logged ? { method, path, body: logged } : { method, path });

    const lat = this.faults.latency;
    if (lat && (!lat.method || lat.method === method) && (!lat.path || lat.path.test(path))) {
      // The server finishes the work even when the client stopped waiting.
      const op = new Promise<void>((resolve) => setTimeout(resolve, lat.ms)).then(() =>
        this.route(method, path, url.searchParams, body, res),
      );
      this.inFlightOps.add(op);
      try {
        await op;
      } finally {
        this.inFlightOps.delete(op);
      }
      return;
    }
    this.route(method, path, url.searchParams, body, res);
  }

  private route(method: string, path: string, q: URLSearchParams, body: Json | undefined, res: ServerResponse): void {
    const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [a, b, c, d] = seg;

    if (a === 'users') {
      if (seg.length === 1 && method === 'GET') return this.listUsers(q, res);
      if (seg.length === 1 && method === 'POST') return this.createUser(body, res);
      if (seg.length === 2 && method === 'GET') {
        const u = this.findUser(b as string);
        return u ? this.send(res, 200, this.view(u)) : this.notFound(res);
      }
      if (seg.length === 2 && method === 'PUT') return this.updateUser(b as string, body, res);
      if (seg.length === 2 && method === 'DELETE') {
        const u = this.findUser(b as string);
        if (!u) return this.notFound(res);
        u.isDeleted = true;
        u.isEnabled = false;
        for (const g of this.groups.values()) g.users = g.users.filter((x) => x !== u.userGUID);
        return this.send(res, 204);
      }
      if (seg.length === 3 && c === 'groups' && method === 'POST') return this.addMember(b as string, body, res);
      if (seg.length === 4 && c === 'groups' && method === 'DELETE')
        return this.removeMember(b as string, d as string, res);
    }
    if (a === 'groups') {
      if (seg.length === 1 && method === 'GET') {
        const all = [...this.groups.values()].map(({ users: _u, ...g }) => g);
        return this.send(res, 200, this.wrap('groups', this.page(all, q)));
      }
      if (seg.length === 1 && method === 'POST') {
        const name = typeof body?.name === 'string' ? body.name.trim() : '';
        if (!name) return this.send(res, 400, { message: 'Name is required' });
        if ([...this.groups.values()].some((g) => g.name.toLowerCase() === name.toLowerCase()))
          return this.send(res, 409, { message: `A group with name ${name} already exists` });
        const g: SimGroup = { groupGuid: randomUUID(), name, isEnabled: body?.isEnabled !== false, users: [] };
        this.groups.set(g.groupGuid, g);
        return this.send(res, 200, { groupGuid: g.groupGuid, name: g.name, isEnabled: g.isEnabled });
      }
      if (seg.length === 2 && method === 'GET') {
        const g = this.groups.get(b as string);
        return g ? this.send(res, 200, { ...g, users: [...g.users] }) : this.notFound(res, 'Group');
      }
    }
    if (a === 'products' && seg.length === 1 && method === 'GET') {
      return this.send(res, 200, this.wrap('products', this.page([...this.products.values()], q)));
    }
    if (a === 'selfservice' && b === 'products' && c === 'request' && method === 'POST') {
      const p = this.products.get(String(body?.requestedProductGUID ?? ''));
      const by = this.findUser(String(body?.requestedByUserGUID ?? ''));
      const forU = this.findUser(String(body?.requestedForUserGUID ?? ''));
      if (!p) return this.notFound(res, 'Product');
      if (!by || !forU) return this.notFound(res);
      const key = `${p.productId}:${forU.userGUID}`;
      if (this.o.productApproval === 'immediate') this.assignments.add(key);
      else this.pending.add(key);
      return this.send(res, 200, {
        requestGUID: randomUUID(),
        status: this.o.productApproval === 'immediate' ? 'Approved' : 'Pending',
      });
    }
    if (a === 'product-assignment') {
      if (b === 'by-user' && c && method === 'GET') {
        const u = this.findUser(c);
        if (!u) return this.notFound(res);
        return this.send(res, 200, this.wrap('assignments', this.page(this.assignmentsOf(u.userGUID), q)));
      }
      if (seg.length === 1 && method === 'GET') {
        const all = [...this.users.values()].flatMap((u) => this.assignmentsOf(u.userGUID));
        return this.send(res, 200, this.wrap('assignments', this.page(all, q)));
      }
      if (b === 'unassign' && c === 'by-product' && method === 'POST') {
        const u = this.findUser(String(body?.userGUID ?? ''));
        if (!u) return this.notFound(res);
        const pid = String(body?.productGUID ?? '');
        if (!this.products.has(pid)) return this.notFound(res, 'Product');
        this.assignments.delete(`${pid}:${u.userGUID}`);
        return this.send(res, 200, { message: 'Unassigned' });
      }
    }
    this.send(res, 404, { message: `No HTTP resource was found that matches ${method} ${path}` });
  }

  private assignmentsOf(userGUID: string): Json[] {
    const out: Json[] = [];
    for (const k of this.assignments) {
      const [pid, uid] = k.split(':');
      if (uid !== userGUID) continue;
      out.push({ productGuid: pid, productName: this.products.get(pid as string)?.name ?? null, userGuid: uid });
    }
    return out;
  }

  private listUsers(q: URLSearchParams, res: ServerResponse) {
    const deleted = q.get('isDeleted') === 'true';
    const enabled = q.get('enabled');
    const all = [...this.users.values()]
      .filter((u) => u.isDeleted === deleted)
      .filter((u) => enabled === null || String(u.isEnabled) === enabled)
      .map((u) => this.view(u));
    this.send(res, 200, this.wrap('users', this.page(all, q)));
  }

  private createUser(body: Json | undefined, res: ServerResponse) {
    const userName = typeof body?.userName === 'string' ? body.userName.trim() : '';
    if (!userName) return this.send(res, 400, { message: 'UserName is required' });
    if (this.userNameTaken(userName))
      return this.send(res, this.o.duplicateUserStatus, { message: `A user with username ${userName} already exists` });
    const s = (v: unknown) => (typeof v === 'string' ? v : null);
    const u = this.addUser({
      userName,
      firstName: s(body?.firstName),
      lastName: s(body?.lastName),
      contactEmail: s(body?.contactEmail),
      isEnabled: body?.isEnabled === true,
      mustChangePassword: body?.mustChangePassword === true,
      source: s(body?.source) ?? 'API',
      adsid: s(body?.adsid),
      userAttributes: (body?.userAttributes as Record<string, unknown> | undefined) ?? {},
      managedByUserGUID: s(body?.managedByUserGUID),
      password: s(body?.password),
    });
    this.send(res, 200, this.view(u));
  }

  private updateUser(id: string, body: Json | undefined, res: ServerResponse) {
    const u = this.findUser(id);
    if (!u) return this.notFound(res);
    if (!body) return this.send(res, 400, { message: 'Body is required' });
    const ident = (body.IdentifierObject ?? body.identifierObject) as Json | undefined;
    const newName = ident ? (ident.userName ?? ident.UserName) : undefined;
    if (typeof newName === 'string' && newName.trim() && newName.trim() !== u.userName) {
      if (this.userNameTaken(newName.trim(), u.userGUID))
        return this.send(res, this.o.duplicateUserStatus, {
          message: `A user with username ${newName.trim()} already exists`,
        });
    }
    const mgr = body.managedByUserGUID;
    if (typeof mgr === 'string' && mgr && !this.findUser(mgr))
      return this.send(res, 400, { message: 'Manager not found' });
    for (const k of ['firstName', 'lastName', 'contactEmail', 'adsid', 'managedByUserGUID'] as const) {
      if (k in body) u[k] = typeof body[k] === 'string' ? (body[k] as string) : null;
    }
    if (typeof body.source === 'string') u.source = body.source;
    for (const k of ['isEnabled', 'isLocked', 'mustChangePassword'] as const) {
      if (typeof body[k] === 'boolean') u[k] = body[k] as boolean;
    }
    if (body.userAttributes && typeof body.userAttributes === 'object')
      u.userAttributes = { ...(body.userAttributes as Record<string, unknown>) };
    if (typeof newName === 'string' && newName.trim()) u.userName = newName.trim();
    const imm = ident ? (ident.immutableId ?? ident.ImmutableId) : undefined;
    if (typeof imm === 'string') u.immutableId = imm;
    this.send(res, 200, this.view(u));
  }

  private addMember(userId: string, body: Json | undefined, res: ServerResponse) {
    const u = this.findUser(userId);
    if (!u) return this.notFound(res);
    const g = this.groups.get(String(body?.groupGuid ?? body?.groupGUID ?? ''));
    if (!g) return this.notFound(res, 'Group');
    if (g.users.includes(u.userGUID)) {
      if (this.o.duplicateMembership === 'error')
        return this.send(res, 400, { message: 'User is already a member of this group' });
      return this.send(res, 200, {});
    }
    g.users.push(u.userGUID);
    this.send(res, 200, {});
  }

  private removeMember(userId: string, groupId: string, res: ServerResponse) {
    const u = this.findUser(userId);
    if (!u) return this.notFound(res);
    const g = this.groups.get(groupId);
    if (!g) return this.notFound(res, 'Group');
    if (!g.users.includes(u.userGUID)) return this.send(res, 400, { message: 'User is not a member of this group' });
    g.users = g.users.filter((x) => x !== u.userGUID);
    this.send(res, 204);
  }
}
