/**
 * The TOPdesk REST calls (docs/targets/topdesk.md) on the shared HTTP helper: Basic auth with the
 * application password, JSON headers, error mapping.
 *
 * - 401 / 403 → TargetRejectedError naming the API user, never the password;
 * - other 4xx → returned to the caller, who knows what a 404 or 400 means there (`reject()` builds
 *   the permanent error with a short excerpt of TOPdesk's answer);
 * - 5xx, network errors and timeouts → TopdeskUnavailableError (retryable) once the helper's
 *   bounded retries are spent; 429 is waited out by the helper.
 */
import { redactForLog } from '../../../common/log-redaction.js';
import { HttpClient, HttpError, type HttpClientOptions, type HttpResponse } from '../../http.js';
import { TargetRejectedError } from '../errors.js';
import type { TopdeskConfig } from './config.js';

/** A retryable failure: TOPdesk is down, slow or answering 5xx. */
export class TopdeskUnavailableError extends Error {
  override readonly name = 'TargetUnavailable';
  readonly status: number;
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

export interface CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: Record<string, unknown>;
  /** What the call is for, first words of every error message. */
  context: string;
  /** Retry a POST on transient failures (only when the caller made it safe). Default false. */
  retryUnsafe?: boolean;
}

/** Errors TOPdesk sends are `[{message}]` or `{message}` (shape unverified): the messages, shortened. */
export function errorText(res: HttpResponse): string {
  const j = res.json;
  const msgs: string[] = [];
  const take = (o: unknown) => {
    if (o && typeof o === 'object' && typeof (o as { message?: unknown }).message === 'string')
      msgs.push((o as { message: string }).message);
  };
  if (Array.isArray(j)) j.forEach(take);
  else take(j);
  const text = msgs.length ? msgs.join('; ') : res.text.trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export class TopdeskApi {
  readonly http: HttpClient;
  readonly #auth: string;
  readonly #secret: string;
  readonly #base: string;
  readonly #headers: Record<string, string>;

  constructor(
    private readonly config: TopdeskConfig,
    fetchImpl?: typeof fetch,
  ) {
    this.#secret = config.appPassword;
    this.#auth = `BASIC ${Buffer.from(`${config.username}:${config.appPassword}`).toString('base64')}`;
    this.#base = `${config.url}/tas/api`;
    this.#headers = { accept: 'application/json; charset=utf-8' };
    if (config.partnerSolutionId) this.#headers['partner-solution-id'] = config.partnerSolutionId;
    const o: HttpClientOptions = {
      timeoutMs: config.http.timeoutMs,
      concurrency: config.http.concurrency,
      maxRetries: config.http.maxRetries,
      retryBaseMs: config.http.retryBaseMs,
      retryMaxMs: config.http.retryMaxMs,
    };
    if (fetchImpl) o.fetch = fetchImpl;
    this.http = new HttpClient(o);
  }

  /** Remove the secret from any text that might echo it (defence in depth). */
  scrub(text: string): string {
    return this.#secret.length >= 4 ? text.split(this.#secret).join('***') : text;
  }

  /** A permanent failure for this response: action, status and TOPdesk's message. */
  reject(res: HttpResponse, context: string): TargetRejectedError {
    // TOPdesk's text may quote a value (a login name, an address): masked before it is shown.
    const detail = redactForLog(this.scrub(errorText(res)));
    return new TargetRejectedError(`${context}: TOPdesk answered ${res.status}${detail ? ` (${detail})` : ''}`, {
      code: res.status,
    });
  }

  async call(method: string, path: string, opts: CallOptions): Promise<HttpResponse> {
    const url = new URL(`${this.#base}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers = { ...this.#headers, authorization: this.#auth };
    let res: HttpResponse;
    try {
      res = await this.http.request(url.toString(), {
        method,
        headers: opts.body ? { ...headers, 'content-type': 'application/json; charset=utf-8' } : headers,
        body: opts.body,
        retryUnsafe: opts.retryUnsafe,
      });
    } catch (err) {
      if (err instanceof HttpError) {
        throw new TopdeskUnavailableError(
          `${opts.context}: TOPdesk unavailable (${this.scrub(err.message)})`,
          err.status,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
    if (res.status === 401) {
      throw new TargetRejectedError(
        `${opts.context}: TOPdesk rejected the credentials of API user '${this.config.username}' (401); check the user name and the application password`,
        { code: 401 },
      );
    }
    if (res.status === 403) {
      throw new TargetRejectedError(
        `${opts.context}: API user '${this.config.username}' lacks the rights for ${method} ${url.pathname} (403)`,
        { code: 403 },
      );
    }
    return res;
  }

  /** GET a list: 204 (and 404 on some list endpoints) mean empty; `{results:[...]}` is unwrapped. */
  async list(path: string, opts: CallOptions): Promise<Record<string, unknown>[]> {
    const res = await this.call('GET', path, opts);
    if (res.status === 204 || res.status === 404) return [];
    if (res.status !== 200 && res.status !== 206) throw this.reject(res, opts.context);
    const j = res.json;
    const arr = Array.isArray(j)
      ? j
      : j && typeof j === 'object' && Array.isArray((j as { results?: unknown }).results)
        ? (j as { results: unknown[] }).results
        : j && typeof j === 'object' && Array.isArray((j as { item?: unknown }).item)
          ? (j as { item: unknown[] }).item
          : undefined;
    if (!arr) throw new TopdeskUnavailableError(`${opts.context}: TOPdesk sent an unexpected answer`, res.status);
    return arr.filter((x): x is Record<string, unknown> => !!x && typeof x === 'object');
  }
}

/** A FIQL string literal: single quotes, backslash-escaped. */
export function fiql(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
