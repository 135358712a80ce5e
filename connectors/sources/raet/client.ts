/**
 * Raet IAM API client: client-credentials token (cached until shortly before it expires, with the
 * number of tokens fetched counted: the monthly budget is 400), `value`/`values` + `nextLink`
 * paging, one token refresh on a 401, and clear errors that never contain the client secret or
 * a token.
 */
import { HttpClient, HttpError, safePath, type HttpResponse } from '../../http.js';
import type { RaetSourceConfig } from './options.js';

export const VISMA_CONNECT_TOKEN_URL = 'https://connect.visma.com/connect/token';

/** Anything that went wrong talking to Raet. `kind` tells auth, API, paging and write-back apart. */
export class RaetError extends Error {
  constructor(
    readonly kind: 'auth' | 'api' | 'paging' | 'writeBack' | 'config',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RaetError';
  }
}

export interface CachedToken {
  accessToken: string;
  /** Epoch ms after which it must not be used any more (margin applied). */
  usableUntil: number;
}

/** Optional persistence of the token across runs (the auth budget is 400 tokens a month). */
export interface TokenStore {
  load(): Promise<CachedToken | undefined>;
  save(token: CachedToken): Promise<void>;
}

export interface RaetClientDeps {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
  tokenStore?: TokenStore;
}

/** A short, secret-free description of an error body (`message` / `errorCode` / `error`). */
export function describeBody(body: unknown, secrets: readonly string[]): string {
  if (body === null || typeof body !== 'object') return '';
  const b = body as Record<string, unknown>;
  const parts = [b.errorCode, b.error, b.message, b.error_description]
    .filter((v): v is string => typeof v === 'string' && v.trim() !== '')
    .map((s) => s.slice(0, 200));
  let text = [...new Set(parts)].join(': ');
  for (const s of secrets) if (s) text = text.split(s).join('***');
  return text ? ` (${text})` : '';
}

export class RaetClient {
  readonly http: HttpClient;
  /** Tokens fetched by this client (each one counts against the monthly auth budget). */
  tokensFetched = 0;
  private token?: CachedToken;
  private tokenPromise?: Promise<CachedToken>;
  private readonly now: () => number;
  private readonly origin: string;

  constructor(
    private readonly cfg: RaetSourceConfig,
    private readonly deps: RaetClientDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.origin = new URL(cfg.baseUrl).origin;
    this.http = new HttpClient({
      timeoutMs: cfg.timeouts.requestMs,
      concurrency: cfg.rateLimit.concurrency,
      callsPerWindow: cfg.rateLimit.callsPerWindow,
      windowMs: cfg.rateLimit.windowMs,
      minSpacingMs: cfg.rateLimit.minSpacingMs,
      maxRateLimitWaits: cfg.rateLimit.maxRateLimitWaits,
      maxRetryAfterMs: cfg.rateLimit.maxRetryAfterMs,
      rateLimitFallbackMs: cfg.rateLimit.rateLimitFallbackMs,
      maxRetries: cfg.retries.max,
      retryBaseMs: cfg.retries.baseMs,
      retryMaxMs: cfg.retries.maxMs,
      now: this.now,
      sleep: deps.sleep,
      fetch: deps.fetch,
    });
  }

  get tokenUrl(): string {
    if (this.cfg.tokenUrl) return this.cfg.tokenUrl;
    return this.cfg.authStyle === 'legacy'
      ? `${this.cfg.baseUrl.replace(/\/+$/, '')}/authentication/token`
      : VISMA_CONNECT_TOKEN_URL;
  }

  private get secrets(): string[] {
    return [this.cfg.clientSecret, this.token?.accessToken ?? ''];
  }

  /** A usable token: the cached one, the stored one, or a new one (one fetch at a time). */
  async accessToken(): Promise<string> {
    if (this.token && this.token.usableUntil > this.now()) return this.token.accessToken;
    if (!this.token && this.deps.tokenStore) {
      const stored = await this.deps.tokenStore.load();
      if (stored && stored.usableUntil > this.now()) {
        this.token = stored;
        return stored.accessToken;
      }
    }
    return (await this.freshToken()).accessToken;
  }

  /** Forget the cached token (after a 401) and fetch another one. */
  private freshToken(): Promise<CachedToken> {
    this.tokenPromise ??= this.fetchToken().finally(() => {
      this.tokenPromise = undefined;
    });
    return this.tokenPromise;
  }

  private async fetchToken(): Promise<CachedToken> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.cfg.clientId,
      client_secret: this.cfg.clientSecret,
    });
    if (this.cfg.authStyle === 'visma-connect' && this.cfg.tenantId) form.set('tenant_id', this.cfg.tenantId);
    let res: HttpResponse;
    try {
      res = await this.http.request(this.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-cache' },
        body: form,
        retryUnsafe: true,
        timeoutMs: this.cfg.timeouts.tokenMs,
      });
    } catch (e) {
      throw new RaetError('auth', `Raet token request failed: ${(e as Error).message}`, (e as HttpError).status);
    }
    this.tokensFetched++;
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      throw new RaetError(
        'auth',
        `Raet token request rejected (HTTP ${res.status}${describeBody(res.json, [this.cfg.clientSecret])}): ` +
          `check client id '${this.cfg.clientId}', the client secret and the tenant id`,
        res.status,
      );
    }
    const body = res.json as Record<string, unknown> | undefined;
    const accessToken = body?.access_token;
    const expiresIn = Number(body?.expires_in ?? 3600);
    if (res.status !== 200 || typeof accessToken !== 'string' || accessToken === '' || !Number.isFinite(expiresIn)) {
      throw new RaetError('auth', `Raet token endpoint gave an unusable answer (HTTP ${res.status})`, res.status);
    }
    const margin = Math.min(this.cfg.tokenRefreshMarginSec, Math.floor(expiresIn / 2));
    const token = { accessToken, usableUntil: this.now() + (expiresIn - margin) * 1000 };
    this.token = token;
    await this.deps.tokenStore?.save(token);
    return token;
  }

  private headers(token: string): Record<string, string> {
    const h: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (this.cfg.authStyle === 'legacy') {
      h['x-client-id'] = this.cfg.clientId;
      if (this.cfg.tenantId) h['x-raet-tenant-id'] = this.cfg.tenantId;
    }
    return h;
  }

  /**
   * An API call with the bearer token; on 401 one new token and one more try. Returns the final
   * response (the caller interprets 4xx); throws RaetError for auth failure and exhausted retries.
   */
  async call(url: string, req: { method?: string; body?: Record<string, unknown> } = {}): Promise<HttpResponse> {
    const method = req.method ?? 'GET';
    const send = async (token: string) => {
      try {
        return await this.http.request(url, {
          method,
          headers: this.headers(token),
          body: req.body,
        });
      } catch (e) {
        const err = e as HttpError;
        throw new RaetError('api', `Raet ${err.message}${describeBody(err.body, this.secrets)}`, err.status);
      }
    };
    const used = await this.accessToken();
    let res = await send(used);
    if (res.status === 401) {
      // Expired or revoked mid-import: one new token (unless another call already got one).
      if (this.token?.accessToken === used) this.token = undefined;
      res = await send(this.token ? this.token.accessToken : (await this.freshToken()).accessToken);
      if (res.status === 401) {
        throw new RaetError(
          'auth',
          `Raet ${method} ${safePath(url)}: unauthorized (401) even with a new token: check the app's scopes`,
          401,
        );
      }
    }
    if (res.status === 403) {
      throw new RaetError(
        'auth',
        `Raet ${method} ${safePath(url)}: forbidden (403)${describeBody(res.json, this.secrets)}: the app lacks the scope for this endpoint`,
        403,
      );
    }
    return res;
  }

  /** The absolute URL of an API path (`/iam/v1.0/persons`). */
  url(path: string, query?: Record<string, string>): string {
    const u = new URL(path, `${this.cfg.baseUrl.replace(/\/+$/, '')}/`);
    u.pathname = `${new URL(this.cfg.baseUrl).pathname.replace(/\/+$/, '')}${path}`;
    for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v);
    return u.toString();
  }

  /**
   * Every record of a list endpoint, page by page, to `onPage` (nulls included: the caller skips
   * them). Any page failure throws: an import missing pages must not look complete.
   */
  async pages(path: string, onPage: (records: unknown[]) => void): Promise<void> {
    const first = this.url(path, { take: String(this.cfg.pageSize) });
    let url: string | undefined = first;
    const seen = new Set<string>();
    for (let page = 1; url; page++) {
      if (page > this.cfg.maxPages) {
        throw new RaetError('paging', `Raet ${path}: more than ${this.cfg.maxPages} pages; import stopped`);
      }
      const res = await this.call(url);
      if (res.status !== 200) {
        throw new RaetError(
          'api',
          `Raet GET ${path} page ${page}: HTTP ${res.status}${describeBody(res.json, this.secrets)}`,
          res.status,
        );
      }
      const body = res.json as Record<string, unknown> | undefined;
      const list = body && (Array.isArray(body.value) ? body.value : Array.isArray(body.values) ? body.values : null);
      if (!body || !list) {
        throw new RaetError('paging', `Raet GET ${path} page ${page}: no 'value' or 'values' list in the answer`);
      }
      onPage(list);
      const next = body.nextLink;
      if (next === undefined || next === null || next === '') break;
      if (typeof next !== 'string')
        throw new RaetError('paging', `Raet GET ${path} page ${page}: nextLink is not a string`);
      url = this.follow(path, next, page);
      if (seen.has(url))
        throw new RaetError('paging', `Raet GET ${path} page ${page}: nextLink repeats; import stopped`);
      seen.add(url);
    }
  }

  private follow(path: string, nextLink: string, page: number): string {
    let parsed: URL;
    try {
      parsed = new URL(nextLink, this.cfg.baseUrl);
    } catch {
      throw new RaetError('paging', `Raet GET ${path} page ${page}: nextLink is not a URL`);
    }
    if (this.cfg.nextLinkMode === 'query') {
      return `${this.url(path)}${parsed.search}`;
    }
    if (parsed.origin !== this.origin) {
      throw new RaetError(
        'paging',
        `Raet GET ${path} page ${page}: nextLink points to another host (${parsed.origin}); set nextLinkMode 'query'`,
      );
    }
    return parsed.toString();
  }
}
