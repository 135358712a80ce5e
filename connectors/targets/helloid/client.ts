/**
 * The HelloID REST API as the connector uses it (docs/targets/helloid.md): Basic auth with the API key
 * and secret, JSON bodies, `take`/`skip` paging over bare arrays or `{data: [...]}`, and the
 * "User not found" text as the not-found signal whatever the status (404 is assumed, unverified).
 *
 * Errors: 401/403 and other 4xx become `TargetRejectedError` (permanent) with the server's
 * friendly text; 5xx, network failures and timeouts left after the shared helper's retries become
 * `TargetUnavailableError` (retryable). Messages name the method and path, never a header or the
 * secret.
 */
import { redactForLog } from '../../../common/log-redaction.js';
import { HttpClient, HttpError, type HttpResponse } from '../../http.js';
import { TargetRejectedError, TargetUnavailableError } from '../errors.js';
import type { HelloIdConfig } from './config.js';

export type Json = Record<string, unknown>;

export interface HelloIdUser extends Json {
  userGUID: string;
  userName: string;
  isEnabled?: boolean;
  userAttributes?: Record<string, unknown> | null;
}

/** Paths are relative to the configured base URL (which includes /api/v1). */
export class HelloIdApi {
  readonly http: HttpClient;
  readonly #auth: string;
  readonly #secret: string;

  constructor(private readonly config: HelloIdConfig) {
    this.#secret = config.apiSecret;
    this.#auth = `Basic ${Buffer.from(`${config.apiKey}:${config.apiSecret}`, 'utf8').toString('base64')}`;
    this.http = new HttpClient({
      timeoutMs: config.http.timeoutMs,
      concurrency: config.http.concurrency,
      maxRetries: config.http.maxRetries,
      retryBaseMs: config.http.retryBaseMs,
      retryMaxMs: config.http.retryMaxMs,
      maxRateLimitWaits: config.http.maxRateLimitWaits,
      rateLimitFallbackMs: config.http.rateLimitFallbackMs,
    });
  }

  toJSON(): Record<string, unknown> {
    return { url: this.config.url };
  }

  /** Remove anything that could carry the credentials from a text we did not write. */
  scrub(text: string): string {
    let t = text;
    for (const s of [this.#secret, this.#auth, this.#auth.slice(6)]) if (s) t = t.split(s).join('***');
    return t;
  }

  /**
   * One call. Resolves with 2xx and with 404/"User not found" answers (the caller decides what
   * not-found means), throws for everything else.
   */
  async call(
    method: string,
    path: string,
    context: string,
    body?: Json,
    opts: { retryUnsafe?: boolean } = {},
  ): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await this.http.request(`${this.config.url}${path}`, {
        method,
        headers: { authorization: this.#auth },
        body,
        retryUnsafe: opts.retryUnsafe,
      });
    } catch (err) {
      if (err instanceof HttpError) {
        const what =
          err.status === 429
            ? 'HelloID keeps answering 429 (rate limited)'
            : err.status === 0
              ? 'HelloID unreachable or too slow'
              : `HelloID server error ${err.status}`;
        throw new TargetUnavailableError(`${context}: ${what} (${this.scrub(err.message)})`, {
          code: err.status,
          cause: err,
        });
      }
      throw new TargetUnavailableError(`${context}: HelloID unreachable (${this.scrub(String(err))})`);
    }
    if (res.status >= 200 && res.status < 300) return res;
    if (isNotFound(res)) return res;
    throw this.#reject(res, method, path, context);
  }

  #reject(res: HttpResponse, method: string, path: string, context: string): Error {
    // The server's text may quote a value (a user name, an address): masked before it is shown.
    const friendly = redactForLog(this.scrub(errorText(res) ?? ''));
    const where = `${method} ${path.split('?')[0]}`;
    if (res.status === 401) {
      return new TargetRejectedError(
        `${context}: HelloID refused the API credentials (401 on ${where}): check HELLOID_API_KEY and HELLOID_API_SECRET, ` +
          'whether the key is disabled, and its IP restriction',
        { code: 401 },
      );
    }
    if (res.status === 403) {
      return new TargetRejectedError(`${context}: the API key may not do this (403 on ${where})`, { code: 403 });
    }
    return new TargetRejectedError(
      `${context}: HelloID rejected the request (${res.status} on ${where})${friendly ? `: ${friendly}` : ''}`,
      { code: res.status },
    );
  }

  /**
   * GET every page of a list (`take`/`skip`), bare arrays or `{data: [...]}`. A not-found answer
   * gives null (e.g. assignments of a user that is gone).
   */
  async list<T = Json>(path: string, context: string, query: Record<string, string> = {}): Promise<T[] | null> {
    const out: T[] = [];
    const take = this.config.pageSize;
    for (let page = 0; page < this.config.maxPages; page++) {
      const q = new URLSearchParams({ ...query, take: String(take), skip: String(page * take) });
      const res = await this.call('GET', `${path}?${q.toString()}`, context);
      if (isNotFound(res)) return null;
      const items = itemsOf(res.json);
      if (!items) throw new TargetUnavailableError(`${context}: HelloID answered a list that is not a list`);
      out.push(...(items as T[]));
      if (items.length < take) return out;
    }
    throw new TargetRejectedError(`${context}: more than ${this.config.maxPages} pages; is paging ignored?`);
  }
}

/** `resultMsg` or `message` of an error body (docs/targets/helloid.md). */
export function errorText(res: HttpResponse): string | undefined {
  const j = res.json as Json | undefined;
  const pick = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  if (j && typeof j === 'object') return pick(j.resultMsg) ?? pick(j.message) ?? pick(j.Message);
  const t = res.text.trim();
  return t && t.length < 300 ? t : undefined;
}

/**
 * A 404 with a JSON or empty body (an HTML 404 page means a wrong base URL, not a missing user),
 * or any 4xx whose text says the user/group/product does not exist.
 */
export function isNotFound(res: HttpResponse): boolean {
  if (res.status < 400 || res.status >= 500) return false;
  if (res.status === 404 && (res.json !== undefined || res.text.trim() === '')) return true;
  return /\bnot found\b/i.test(errorText(res) ?? '');
}

function itemsOf(json: unknown): unknown[] | undefined {
  if (Array.isArray(json)) return json;
  if (json && typeof json === 'object') {
    const d = (json as Json).data ?? (json as Json).Data;
    if (Array.isArray(d)) return d;
  }
  if (json === undefined) return [];
  return undefined;
}
