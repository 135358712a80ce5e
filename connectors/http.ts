/**
 * A small shared HTTP helper for API-based connectors (Raet, Visma.net, Nmbrs, ...).
 *
 * - every call has a timeout (`AbortSignal.timeout`);
 * - a concurrency limiter (at most N calls in flight) and a call budget per window (e.g. 100 calls
 *   a minute), plus an optional minimum spacing between call starts (Raet's 0.6 s "spike arrest");
 * - HTTP 429 is handled by waiting (`Retry-After` in seconds or as an HTTP date, else a fallback)
 *   and trying again, up to a generous bound: rate limits make an import slower, never fail it;
 * - transient failures (502/503/504/500, network errors, timeouts) are retried with exponential
 *   backoff, up to `maxRetries`; for non-idempotent methods only when the caller says so;
 * - errors are `HttpError`s whose message names the method, the URL *path* (never the query string,
 *   which may hold tokens) and the status — never a header, a request body or a secret.
 *
 * Time is injectable (`now`, `sleep`) so tests can run rate-limit windows of a second.
 */
import { isRefusedRedirect, requireHttps } from './transport.js';

export interface HttpClientOptions {
  /** Per-attempt timeout in ms. Default 30 000. */
  timeoutMs?: number;
  /** At most this many calls in flight. Default 4. */
  concurrency?: number;
  /** At most this many call starts per `windowMs` (sliding window). Default: unlimited. */
  callsPerWindow?: number;
  /** The budget window in ms. Default 60 000 (a minute). */
  windowMs?: number;
  /**
   * Extra ms added to the window: the server counts a call when it arrives, which may be later than
   * when we started it. Default min(500, windowMs / 10).
   */
  windowSlackMs?: number;
  /** Minimum ms between two call starts. Default 0. */
  minSpacingMs?: number;
  /** Retries of transient failures (5xx, network, timeout) per call. Default 3. */
  maxRetries?: number;
  /** First backoff in ms, doubled per retry. Default 500. */
  retryBaseMs?: number;
  /** Backoff cap in ms. Default 10 000. */
  retryMaxMs?: number;
  /** How many 429 answers one call may wait out before giving up. Default 50. */
  maxRateLimitWaits?: number;
  /** Wait after a 429 without a usable Retry-After, in ms. Default 1 000. */
  rateLimitFallbackMs?: number;
  /** Upper bound for one Retry-After wait, in ms. Default 120 000. */
  maxRetryAfterMs?: number;
  /** Status codes retried as transient. Default 500, 502, 503, 504. */
  retryStatuses?: readonly number[];
  /** Clock, ms. Default `Date.now`. */
  now?: () => number;
  /** Sleep, ms. Default a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** The fetch to use. Default the global fetch. */
  fetch?: typeof fetch;
  /** Where TENURE_ALLOW_INSECURE_TRANSPORT is read (test-only http://). Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; an object is sent as JSON; URLSearchParams as a form. */
  body?: string | URLSearchParams | Record<string, unknown>;
  /** Retry transient failures even though the method is not idempotent (e.g. a token POST). */
  retryUnsafe?: boolean;
  /** Override the client's timeout for this call. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  json: unknown;
}

export interface HttpStats {
  /** Attempts sent (each retry counts). */
  calls: number;
  /** 429 answers waited out. */
  rateLimited: number;
  /** Transient failures retried. */
  retried: number;
  /** Most calls seen in flight at once. */
  maxInFlight: number;
}

export class HttpError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 for a network error / timeout. */
    readonly status: number,
    readonly method: string,
    /** URL path without query string. */
    readonly path: string,
    /** Parsed error body, if any (not part of the message). */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** `Retry-After` as ms: delta-seconds (fractions accepted) or an HTTP date. Undefined if unusable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const s = Number(value.trim());
  if (Number.isFinite(s)) return s >= 0 ? Math.round(s * 1000) : undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** The URL's path only (no query, no credentials): safe for messages and logs. */
export function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid url)';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Concurrency + budget limiter. `acquire()` resolves when a call may start; call the returned
 * release when the call finished. FIFO, so no caller starves.
 */
export class RateLimiter {
  private inFlight = 0;
  private readonly starts: number[] = [];
  private lastStart = -Infinity;
  private readonly queue: (() => void)[] = [];
  private pumping = false;
  maxInFlight = 0;

  constructor(
    private readonly opts: {
      concurrency: number;
      callsPerWindow: number;
      windowMs: number;
      windowSlackMs: number;
      minSpacingMs: number;
      now: () => number;
      sleep: (ms: number) => Promise<void>;
    },
  ) {}

  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      this.queue.push(() => {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.inFlight--;
          void this.pump();
        });
      });
      void this.pump();
    });
  }

  /** Hold back new calls until `ms` from now (after a 429: the server's window is full). */
  pauseFor(ms: number) {
    // Counted as a call start in the future, so spacing and budget both respect it.
    this.lastStart = Math.max(this.lastStart, this.opts.now() + ms - this.opts.minSpacingMs);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.inFlight < this.opts.concurrency) {
        const wait = this.waitNeeded();
        if (wait > 0) {
          await this.opts.sleep(wait);
          continue;
        }
        const now = this.opts.now();
        this.starts.push(now);
        this.lastStart = now;
        (this.queue.shift() as () => void)();
      }
    } finally {
      this.pumping = false;
    }
  }

  private waitNeeded(): number {
    const { callsPerWindow, minSpacingMs, now } = this.opts;
    const windowMs = this.opts.windowMs + this.opts.windowSlackMs;
    const t = now();
    let wait = Math.max(0, this.lastStart + minSpacingMs - t);
    if (Number.isFinite(callsPerWindow)) {
      while (this.starts.length > 0 && (this.starts[0] as number) <= t - windowMs) this.starts.shift();
      if (this.starts.length >= callsPerWindow) {
        wait = Math.max(wait, (this.starts[0] as number) + windowMs - t + 1);
      }
    }
    return wait;
  }
}

/** A JSON-oriented fetch wrapper with limits, waiting and bounded retries. */
export class HttpClient {
  readonly stats: HttpStats = { calls: 0, rateLimited: 0, retried: 0, maxInFlight: 0 };
  private readonly o: Required<Omit<HttpClientOptions, 'fetch'>> & { fetch: typeof fetch };
  private readonly limiter: RateLimiter;

  constructor(options: HttpClientOptions = {}) {
    this.o = {
      timeoutMs: options.timeoutMs ?? 30_000,
      concurrency: options.concurrency ?? 4,
      callsPerWindow: options.callsPerWindow ?? Infinity,
      windowMs: options.windowMs ?? 60_000,
      windowSlackMs: options.windowSlackMs ?? Math.min(500, Math.round((options.windowMs ?? 60_000) / 10)),
      minSpacingMs: options.minSpacingMs ?? 0,
      maxRetries: options.maxRetries ?? 3,
      retryBaseMs: options.retryBaseMs ?? 500,
      retryMaxMs: options.retryMaxMs ?? 10_000,
      maxRateLimitWaits: options.maxRateLimitWaits ?? 50,
      rateLimitFallbackMs: options.rateLimitFallbackMs ?? 1_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
      retryStatuses: options.retryStatuses ?? [500, 502, 503, 504],
      now: options.now ?? Date.now,
      sleep: options.sleep ?? defaultSleep,
      fetch: options.fetch ?? ((...args) => fetch(...args)),
      env: options.env ?? process.env,
    };
    if (!(this.o.concurrency >= 1)) throw new RangeError('concurrency must be at least 1');
    if (!(this.o.callsPerWindow >= 1)) throw new RangeError('callsPerWindow must be at least 1');
    this.limiter = new RateLimiter(this.o);
  }

  /**
   * Send a request. Resolves with any final status the caller must interpret (2xx, 4xx other than
   * 429); throws HttpError for 5xx / network failures left after the retries and for 429s beyond
   * the bound. Never throws for a 4xx: the caller knows what a 404 means.
   */
  async request(url: string, req: HttpRequest = {}): Promise<HttpResponse> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = safePath(url);
    requireHttps(`${method} ${path}`, url, this.o.env);
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    let body: string | URLSearchParams | undefined;
    if (req.body instanceof URLSearchParams || typeof req.body === 'string') body = req.body;
    else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json; charset=utf-8';
      }
    }
    const retryTransient = req.retryUnsafe === true || IDEMPOTENT.has(method);
    let retries = 0;
    let waits = 0;
    for (;;) {
      const release = await this.limiter.acquire();
      this.stats.calls++;
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.limiter.maxInFlight);
      let res: Response;
      let text: string;
      try {
        res = await this.o.fetch(url, {
          method,
          headers,
          body,
          // Every call carries a credential (a bearer token, an API key, a client secret in a token
          // POST): never let a redirect, cross-origin or not, send it somewhere else.
          redirect: 'error',
          signal: AbortSignal.timeout(req.timeoutMs ?? this.o.timeoutMs),
        });
        text = await res.text();
      } catch (e) {
        release();
        if (isRefusedRedirect(e)) {
          throw new HttpError(`${method} ${path}: answered with a redirect, which is never followed`, 0, method, path);
        }
        const timedOut = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError';
        const what = timedOut ? `timed out after ${req.timeoutMs ?? this.o.timeoutMs} ms` : 'network error';
        if (retryTransient && retries < this.o.maxRetries) {
          await this.backoff(retries++);
          continue;
        }
        throw new HttpError(
          `${method} ${path}: ${what}${retries ? ` (after ${retries} retries)` : ''}`,
          0,
          method,
          path,
        );
      }
      release();
      const json = parseJson(text);
      if (res.status === 429) {
        if (waits >= this.o.maxRateLimitWaits) {
          throw new HttpError(
            `${method} ${path}: still rate limited (429) after waiting ${waits} times`,
            429,
            method,
            path,
            json,
          );
        }
        waits++;
        this.stats.rateLimited++;
        const after = parseRetryAfter(res.headers.get('retry-after'), this.o.now());
        const wait = Math.min(after ?? this.o.rateLimitFallbackMs, this.o.maxRetryAfterMs);
        this.limiter.pauseFor(wait);
        await this.o.sleep(wait);
        continue;
      }
      if (this.o.retryStatuses.includes(res.status)) {
        if (retryTransient && retries < this.o.maxRetries) {
          await this.backoff(retries++);
          continue;
        }
        throw new HttpError(
          `${method} ${path}: server error ${res.status}${retries ? ` (after ${retries} retries)` : ''}`,
          res.status,
          method,
          path,
          json,
        );
      }
      return { status: res.status, headers: res.headers, text, json };
    }
  }

  private async backoff(attempt: number) {
    this.stats.retried++;
    await this.o.sleep(Math.min(this.o.retryBaseMs * 2 ** attempt, this.o.retryMaxMs));
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
