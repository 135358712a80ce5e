/**
 * A small Microsoft Graph client on the shared HTTP helper:
 *
 * - client-credentials token from the Microsoft identity platform (v2.0 endpoint, `scope`),
 *   cached until shortly before `expires_in`, one fetch at a time; a 401 from Graph drops the token
 *   and the call is tried once more with a fresh one;
 * - 429 + Retry-After and 5xx/network retries come from `HttpClient`;
 * - `@odata.nextLink` paging (same origin only: the bearer token never goes elsewhere);
 * - errors: permanent ones (`TargetRejectedError`) and transient ones (`TargetUnavailableError`, a
 *   plain retryable error for the activity layer), with Graph's error code, message and request id,
 *   never a header, a token or the client secret.
 */
import { redactForLog } from '../../../common/log-redaction.js';
import { HttpClient, HttpError, safePath, type HttpResponse } from '../../http.js';
import { TargetRejectedError, TargetUnavailableError } from '../errors.js';
import type { EntraConfig } from './config.js';

export { TargetRejectedError, TargetUnavailableError };

/** An OData string literal: quotes doubled, wrapped in single quotes. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A query string with OData system options: `$` kept literal, values percent-encoded (spaces as %20). */
export function odataQuery(params: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    parts.push(`${k}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export interface GraphErrorInfo {
  code?: string;
  message?: string;
  requestId?: string;
  /** `details[].target` of an ObjectConflict (e.g. userPrincipalName). */
  conflictTarget?: string;
}

/** Graph's `{ error: { code, message, details, innerError } }`. */
export function graphErrorInfo(body: unknown): GraphErrorInfo {
  const e = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (!e || typeof e !== 'object') return {};
  const inner = (e.innerError ?? e.innererror) as Record<string, unknown> | undefined;
  const details = Array.isArray(e.details) ? (e.details as Record<string, unknown>[]) : [];
  const conflict = details.find((d) => d.code === 'ObjectConflict');
  let conflictTarget = typeof conflict?.target === 'string' ? conflict.target : undefined;
  const msg = typeof e.message === 'string' ? e.message : undefined;
  if (!conflictTarget && msg) conflictTarget = /same value for property (\w+)/.exec(msg)?.[1];
  return {
    code: typeof e.code === 'string' ? e.code : undefined,
    message: msg,
    requestId: typeof inner?.['request-id'] === 'string' ? (inner['request-id'] as string) : undefined,
    conflictTarget,
  };
}

export interface GraphResult {
  status: number;
  json: unknown;
  info: GraphErrorInfo;
}

export interface GraphClientDeps {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
}

interface Token {
  value: string;
  usableUntil: number;
}

export class GraphClient {
  readonly http: HttpClient;
  tokensFetched = 0;
  #token: Token | null = null;
  #tokenPromise: Promise<Token> | null = null;
  readonly #secret: string;
  readonly #now: () => number;
  readonly #origin: string;

  constructor(
    private readonly cfg: Omit<EntraConfig, 'clientSecret'>,
    secret: string,
    deps: GraphClientDeps = {},
  ) {
    this.#secret = secret;
    this.#now = deps.now ?? Date.now;
    this.#origin = new URL(cfg.graphUrl).origin;
    this.http = new HttpClient({
      timeoutMs: cfg.http.timeoutMs,
      concurrency: cfg.http.concurrency,
      maxRetries: cfg.http.maxRetries,
      retryBaseMs: cfg.http.retryBaseMs,
      retryMaxMs: cfg.http.retryMaxMs,
      maxRateLimitWaits: cfg.http.maxRateLimitWaits,
      rateLimitFallbackMs: cfg.http.rateLimitFallbackMs,
      maxRetryAfterMs: cfg.http.maxRetryAfterMs,
      now: this.#now,
      sleep: deps.sleep,
      fetch: deps.fetch,
    });
  }

  /** Replace any secret or token in a text that goes into an error message. */
  scrub(text: string): string {
    let t = text;
    for (const s of [this.#secret, this.#token?.value ?? '']) if (s) t = t.split(s).join('***');
    return t;
  }

  // ------------------------------------------------------------------ token

  get tokenUrl(): string {
    return `${this.cfg.loginUrl}/${encodeURIComponent(this.cfg.tenantId)}/oauth2/v2.0/token`;
  }

  async #accessToken(): Promise<string> {
    if (this.#token && this.#token.usableUntil > this.#now()) return this.#token.value;
    this.#tokenPromise ??= this.#fetchToken().finally(() => {
      this.#tokenPromise = null;
    });
    return (await this.#tokenPromise).value;
  }

  async #fetchToken(): Promise<Token> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.cfg.clientId,
      client_secret: this.#secret,
      scope: this.cfg.scope,
    });
    let res: HttpResponse;
    try {
      res = await this.http.request(this.tokenUrl, {
        method: 'POST',
        body: form,
        retryUnsafe: true,
        timeoutMs: this.cfg.http.tokenTimeoutMs,
      });
    } catch (err) {
      throw this.#unavailable('sign in to Entra ID', err);
    }
    const body = (res.json ?? {}) as Record<string, unknown>;
    if (res.status !== 200 || typeof body.access_token !== 'string') {
      const desc = typeof body.error_description === 'string' ? body.error_description.split(/\r?\n/)[0] : '';
      // AADSTS messages carry trace and correlation ids after the sentence: keep the sentence.
      const short = (desc ?? '').replace(/\s*Trace ID:.*$/s, '').slice(0, 300);
      const err = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
      const hint =
        err === 'invalid_client'
          ? ' (check ENTRA_CLIENT_SECRET: the secret value, not its id, and that it has not expired)'
          : err === 'unauthorized_client'
            ? ' (check ENTRA_CLIENT_ID and ENTRA_TENANT_ID)'
            : /AADSTS90002/.test(short)
              ? ' (check ENTRA_TENANT_ID)'
              : '';
      throw new TargetRejectedError(
        this.scrub(
          `Entra ID sign-in failed for application ${this.cfg.clientId} in tenant ${this.cfg.tenantId}: ${err}${short ? `: ${short}` : ''}${hint}`,
        ),
        { code: res.status },
      );
    }
    const lifetimeSec = Number(body.expires_in ?? 3599);
    const life = (Number.isFinite(lifetimeSec) && lifetimeSec > 0 ? lifetimeSec : 3599) * 1000;
    this.tokensFetched++;
    const token = { value: body.access_token, usableUntil: this.#now() + life - Math.min(300_000, life / 2) };
    this.#token = token;
    return token;
  }

  // ------------------------------------------------------------------ calls

  #unavailable(context: string, err: unknown): Error {
    if (err instanceof TargetRejectedError || err instanceof TargetUnavailableError) return err;
    if (err instanceof HttpError) {
      const info = graphErrorInfo(err.body);
      const what =
        err.status === 429
          ? 'still throttled (429) after waiting'
          : err.status === 0
            ? err.message.replace(/^\S+ \S+: /, '')
            : `server error ${err.status}`;
      return new TargetUnavailableError(
        this.scrub(`${context}: Microsoft Graph unavailable (${what}${info.code ? `, ${info.code}` : ''})`),
        { code: err.status, cause: err },
      );
    }
    return new TargetUnavailableError(this.scrub(`${context}: ${(err as Error)?.message ?? String(err)}`), {
      cause: err,
    });
  }

  /**
   * One Graph call: `pathOrUrl` relative to graphUrl (or an absolute nextLink). Returns any 2xx/4xx
   * status for the caller to interpret; throws TargetUnavailableError for 5xx/timeouts/throttling
   * left after the helper's retries. `retrySafe` allows retrying a POST/PATCH on transient errors.
   */
  async call(
    context: string,
    method: string,
    pathOrUrl: string,
    opts: { body?: Record<string, unknown>; retrySafe?: boolean; headers?: Record<string, string> } = {},
  ): Promise<GraphResult> {
    const url = /^https?:/i.test(pathOrUrl) ? pathOrUrl : `${this.cfg.graphUrl}${pathOrUrl}`;
    if (new URL(url).origin !== this.#origin)
      throw new TargetRejectedError(`${context}: Graph returned a link to another host (${safePath(url)})`);
    for (let attempt = 0; ; attempt++) {
      const token = await this.#accessToken();
      let res: HttpResponse;
      try {
        res = await this.http.request(url, {
          method,
          headers: { authorization: `Bearer ${token}`, ...opts.headers },
          body: opts.body,
          retryUnsafe: opts.retrySafe === true,
        });
      } catch (err) {
        throw this.#unavailable(context, err);
      }
      const info = graphErrorInfo(res.json);
      if (res.status === 401 && attempt === 0) {
        // Expired or revoked token: fetch a new one, once.
        if (this.#token?.value === token) this.#token = null;
        continue;
      }
      return { status: res.status, json: res.json, info };
    }
  }

  /** The error for an unexpected Graph answer: 4xx → rejected (permanent), others → unavailable. */
  fail(context: string, r: GraphResult): Error {
    const text = `${context}: Graph answered ${r.status}${r.info.code ? ` ${r.info.code}` : ''}${
      // Graph's text may quote the value (an address, a name): masked, it reaches history and logs.
      r.info.message ? `: ${redactForLog(r.info.message.slice(0, 300))}` : ''
    }${r.info.requestId ? ` (request-id ${r.info.requestId})` : ''}`;
    if (r.status === 401 || r.status === 403) {
      return new TargetRejectedError(
        this.scrub(`${text}; check the application permissions of the app registration (docs/targets/entra.md)`),
        { code: r.status },
      );
    }
    if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 409)
      return new TargetRejectedError(this.scrub(text), { code: r.status });
    return new TargetUnavailableError(this.scrub(text), { code: r.status });
  }

  /** GET a collection, following @odata.nextLink. */
  async list<T>(context: string, path: string, headers?: Record<string, string>): Promise<T[]> {
    const out: T[] = [];
    let next: string | undefined = path;
    for (let page = 0; next !== undefined; page++) {
      if (page >= this.cfg.maxPages)
        throw new TargetUnavailableError(`${context}: more than ${this.cfg.maxPages} pages; giving up`);
      const r = await this.call(context, 'GET', next, { headers });
      if (r.status !== 200) throw this.fail(context, r);
      const body = (r.json ?? {}) as { value?: unknown; '@odata.nextLink'?: unknown };
      if (!Array.isArray(body.value))
        throw new TargetUnavailableError(`${context}: Graph answered without a value list`);
      out.push(...(body.value as T[]));
      next = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
    }
    return out;
  }
}
