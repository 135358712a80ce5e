/**
 * HTTP for the Visma.net HRM source: every request has a timeout, 429 is waited out (Retry-After),
 * transient failures (5xx, network errors, timeouts) are retried with exponential backoff up to a
 * bound. Error messages carry the method, the URL without its query string (pre-signed download
 * links carry a signature there) and the status; never a header, a body sent or a secret.
 */

import { parseRetryAfter } from '../../http.js';
import { isRefusedRedirect, requireHttps } from '../../transport.js';

export class VismaNetError extends Error {
  constructor(
    message: string,
    /** HTTP status when the failure was an HTTP answer. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'VismaNetError';
  }
}

export interface RetryPolicy {
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Retries after the first attempt for 5xx, network errors and timeouts. */
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Longest single wait a Retry-After may ask for (longer asks are capped to this). */
  maxRetryAfterMs: number;
  /** Total time one request may spend waiting on 429 answers before it fails. */
  maxRateLimitWaitMs: number;
}

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `https://host/path/file.csv?sig=...` → `https://host/path/file.csv`: safe to show. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

const TRANSIENT = new Set([500, 502, 503, 504]);

/**
 * fetch with timeout, 429 waiting and bounded retries. Returns the first response that is neither
 * 429 nor a transient 5xx (so 4xx answers come back to the caller to explain), or throws
 * VismaNetError when the retries or the rate-limit budget run out.
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit,
  policy: RetryPolicy,
  what: string,
  sleep: Sleep = realSleep,
): Promise<Response> {
  const shown = `${init.method ?? 'GET'} ${redactUrl(url)}`;
  requireHttps(`${what}: ${shown}`, url);
  let failures = 0;
  let waited = 0;
  for (;;) {
    let res: Response | undefined;
    let problem: string;
    try {
      // Token and API calls carry a secret or a bearer token: a redirect is refused, never followed
      // (a 307 would re-send the client secret to wherever it points). Callers without credentials
      // (pre-signed downloads) may pass `redirect: 'follow'`.
      res = await fetch(url, { redirect: 'error', ...init, signal: AbortSignal.timeout(policy.timeoutMs) });
    } catch (e) {
      if (isRefusedRedirect(e))
        throw new VismaNetError(`${what}: ${shown} answered with a redirect, which is never followed`);
      const name = (e as Error).name;
      problem = name === 'TimeoutError' ? `no answer within ${policy.timeoutMs} ms` : `network error (${causeOf(e)})`;
    }
    if (res) {
      if (res.status === 429) {
        await res.body?.cancel();
        const ask = parseRetryAfter(res.headers.get('retry-after'), Date.now()) ?? backoff(0, policy);
        const wait = Math.min(ask, policy.maxRetryAfterMs);
        if (waited + wait > policy.maxRateLimitWaitMs) {
          throw new VismaNetError(
            `${what}: ${shown} still rate limited (429) after waiting ${waited} ms in total`,
            429,
          );
        }
        waited += wait;
        await sleep(wait);
        continue;
      }
      if (!TRANSIENT.has(res.status)) return res;
      await res.body?.cancel();
      problem = `HTTP ${res.status}`;
    }
    if (failures >= policy.maxRetries) {
      throw new VismaNetError(`${what}: ${shown} failed: ${problem!} (after ${failures + 1} attempts)`, res?.status);
    }
    await sleep(backoff(failures, policy));
    failures++;
  }
}

function backoff(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.retryBaseDelayMs * 2 ** attempt, policy.retryMaxDelayMs);
}

function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? (e as Error).name ?? 'error';
}

/** The body as text, cut short, with nothing that looks like a token or secret. For error messages. */
export async function errorDetail(res: Response, max = 200): Promise<string> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    return '';
  }
  // An OAuth error answer: show its code and description only.
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    const parts = ['error', 'error_description', 'message', 'title']
      .map((k) => doc[k])
      .filter((v): v is string => typeof v === 'string');
    if (parts.length) text = parts.join(': ');
  } catch {
    // not JSON: the raw text
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
