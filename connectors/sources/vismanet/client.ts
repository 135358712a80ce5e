/**
 * The Visma.net HRM analytics API (docs/sources/vismanet.md): Visma Connect client-credentials token,
 * and the asynchronous export job — start, poll with backoff and a bound, download every file of
 * the result (pre-signed links, fetched without the bearer token).
 */
import {
  redactUrl,
  errorDetail,
  fetchWithRetry,
  realSleep,
  VismaNetError,
  type RetryPolicy,
  type Sleep,
} from './http.js';
import { CONTACT_INFORMATION_SCOPE, type VismaNetSettings } from './options.js';

/** Export datasets and the key of their file-URI list in the status answer. */
export const DATASETS = {
  employees: 'employeeFileUris',
  'employees/user-defined-field-histories': 'employeeUdfHistoryFileUris',
  contracts: 'contractFileUris',
  'contracts/user-defined-field-histories': 'contractUdfHistoryFileUris',
  'metadata/cost-centers': 'costCentersFileUris',
  'metadata/organization-units': 'organizationUnitsFileUris',
  users: 'usersFileUris',
} as const;
export type Dataset = keyof typeof DATASETS;

export interface DownloadedFile {
  dataset: Dataset;
  /** `employees/part1.csv`: the dataset and the URI's last path segment; never the query (signature). */
  name: string;
  bytes: Uint8Array;
}

export interface ExportResult {
  dataset: Dataset;
  jobId: string;
  changeTimestampBefore: string | null;
  files: DownloadedFile[];
  /** Status polls it took. */
  polls: number;
}

export interface ClientDeps {
  sleep?: Sleep;
  /** Clock for token expiry and job timeouts. */
  now?: () => number;
}

interface Token {
  value: string;
  /** Epoch ms after which it is not used any more. */
  renewAt: number;
}

export class VismaNetClient {
  readonly #secret: string;
  #token: Token | undefined;
  #pendingToken: Promise<Token> | undefined;
  private readonly sleep: Sleep;
  private readonly now: () => number;

  constructor(
    private readonly s: Omit<VismaNetSettings, 'clientSecret'>,
    clientSecret: string,
    deps: ClientDeps = {},
  ) {
    this.#secret = clientSecret;
    this.sleep = deps.sleep ?? realSleep;
    this.now = deps.now ?? Date.now;
  }

  private policy(timeoutMs = this.s.requestTimeoutMs): RetryPolicy {
    return {
      timeoutMs,
      maxRetries: this.s.maxRetries,
      retryBaseDelayMs: this.s.retryBaseDelayMs,
      retryMaxDelayMs: this.s.retryMaxDelayMs,
      maxRetryAfterMs: this.s.maxRetryAfterMs,
      maxRateLimitWaitMs: this.s.maxRateLimitWaitMs,
    };
  }

  /** Text fit for an error message: the client secret and the token removed, whatever the server echoed. */
  private scrub(text: string): string {
    let out = text;
    for (const secret of [this.#secret, this.#token?.value]) {
      if (secret && secret.length >= 4) out = out.split(secret).join('***');
    }
    return out;
  }

  // ------------------------------------------------------------ token

  scopes(): string[] {
    const scopes = [...this.s.scopes];
    if (this.s.includePersonalData && !scopes.includes(CONTACT_INFORMATION_SCOPE))
      scopes.push(CONTACT_INFORMATION_SCOPE);
    return scopes;
  }

  async token(): Promise<string> {
    if (this.#token && this.now() < this.#token.renewAt) return this.#token.value;
    // One token request at a time, shared by the concurrent jobs.
    this.#pendingToken ??= this.requestToken().finally(() => {
      this.#pendingToken = undefined;
    });
    this.#token = await this.#pendingToken;
    return this.#token.value;
  }

  private async requestToken(): Promise<Token> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.s.clientId,
      client_secret: this.#secret,
      tenant_id: this.s.tenantId,
      scope: this.scopes().join(' '),
    });
    const res = await fetchWithRetry(
      this.s.tokenUrl,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: body.toString(),
      },
      this.policy(),
      'Visma Connect token',
      this.sleep,
    );
    if (!res.ok) {
      const detail = this.scrub(await errorDetail(res));
      const hint =
        res.status === 400 || res.status === 401
          ? ' (check the client id, client secret, tenant id and the scopes granted to the client)'
          : '';
      throw new VismaNetError(
        `Visma Connect token request was refused: HTTP ${res.status}${detail ? ` ${detail}` : ''}${hint}`,
        res.status,
      );
    }
    let doc: { access_token?: unknown; expires_in?: unknown };
    try {
      doc = (await res.json()) as typeof doc;
    } catch {
      throw new VismaNetError('Visma Connect token answer is not JSON');
    }
    if (typeof doc.access_token !== 'string' || doc.access_token === '') {
      throw new VismaNetError('Visma Connect token answer has no access_token');
    }
    const expiresIn = typeof doc.expires_in === 'number' ? doc.expires_in : Number(doc.expires_in ?? 3600);
    const life = (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600) * 1000;
    return { value: doc.access_token, renewAt: this.now() + Math.max(0, life - this.s.tokenRenewBeforeMs) };
  }

  /** An API call with the bearer token; one 401 renews the token and tries again (expired early). */
  private async api(method: 'GET' | 'POST', path: string, what: string, json?: unknown): Promise<unknown> {
    const url = new URL(path, this.s.apiBaseUrl).toString();
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      const res = await fetchWithRetry(
        url,
        {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(json === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        },
        this.policy(),
        what,
        this.sleep,
      );
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        this.#token = undefined;
        continue;
      }
      if (!res.ok) {
        const detail = this.scrub(await errorDetail(res));
        const hint =
          res.status === 401
            ? ' (the token is refused: is the scope for this dataset granted to the client?)'
            : res.status === 403
              ? ' (forbidden: check the tenant and the client permissions)'
              : '';
        throw new VismaNetError(
          `${what}: ${method} ${redactUrl(url)} answered HTTP ${res.status}${detail ? ` ${detail}` : ''}${hint}`,
          res.status,
        );
      }
      try {
        return await res.json();
      } catch {
        throw new VismaNetError(`${what}: ${method} ${redactUrl(url)} answered something that is not JSON`);
      }
    }
  }

  // ------------------------------------------------------------ export jobs

  /** Run one export: start the job, poll until it completes, download every file of the result. */
  async export(dataset: Dataset, exclude: readonly string[] = []): Promise<ExportResult> {
    const what = `Visma.net export ${dataset}`;
    const query = exclude.length ? `?fields=${encodeURIComponent(`!${exclude.join(',')}`)}` : '';
    const started = (await this.api('POST', `/v1/command/nl/hrm/${dataset}${query}`, what, {
      callbackAddress: this.s.callbackAddress ?? this.s.apiBaseUrl,
    })) as { jobId?: unknown };
    const jobId = typeof started?.jobId === 'string' || typeof started?.jobId === 'number' ? String(started.jobId) : '';
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(jobId))
      throw new VismaNetError(`${what}: the start answer has no usable jobId`);

    const deadline = this.now() + this.s.jobTimeoutMs;
    let interval = this.s.pollIntervalMs;
    let polls = 0;
    for (;;) {
      await this.sleep(interval);
      polls++;
      const status = (await this.api(
        'GET',
        `/v1/query/nl/hrm/${dataset}/${encodeURIComponent(jobId)}`,
        what,
      )) as Record<string, unknown> | null;
      const state = typeof status?.status === 'string' ? status.status : String(status?.status);
      if (this.s.completedStatuses.includes(state)) {
        const uris = status?.[DATASETS[dataset]];
        if (!Array.isArray(uris) || !uris.every((u) => typeof u === 'string')) {
          throw new VismaNetError(`${what}: job ${jobId} completed without a list of files (${DATASETS[dataset]})`);
        }
        const files: DownloadedFile[] = [];
        // One after the other: files can be big, and order keeps line numbers meaningful.
        for (const [i, uri] of (uris as string[]).entries()) {
          const file = await this.download(dataset, uri, i, what);
          // Two links with the same file name: number them so errors still point at one file.
          if (files.some((f) => f.name === file.name)) file.name = `${file.name}#${i + 1}`;
          files.push(file);
        }
        const ts = status?.changeTimestampBefore;
        return { dataset, jobId, changeTimestampBefore: typeof ts === 'string' ? ts : null, files, polls };
      }
      if (!this.s.pendingStatuses.includes(state)) {
        throw new VismaNetError(`${what}: job ${jobId} ended with status ${JSON.stringify(state).slice(0, 80)}`);
      }
      if (this.now() + interval > deadline) {
        throw new VismaNetError(
          `${what}: job ${jobId} still ${state} after ${polls} polls; gave up after ${this.s.jobTimeoutMs} ms`,
        );
      }
      interval = Math.min(Math.round(interval * this.s.pollBackoff), this.s.pollMaxIntervalMs);
    }
  }

  private async download(dataset: Dataset, uri: string, index: number, what: string): Promise<DownloadedFile> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new VismaNetError(`${what}: file ${index + 1} has an invalid URI`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new VismaNetError(`${what}: file ${index + 1} is not an http(s) URI`);
    }
    // http:// is refused by fetchWithRetry outside tests (TENURE_ALLOW_INSECURE_TRANSPORT).
    const base = decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '') || `file${index + 1}`;
    const name = `${dataset}/${base}`;
    // Pre-signed link: no Authorization header.
    const res = await fetchWithRetry(
      url.toString(),
      { method: 'GET', redirect: 'follow' },
      this.policy(this.s.downloadTimeoutMs),
      `${what} download`,
      this.sleep,
    );
    if (!res.ok) {
      await res.body?.cancel();
      throw new VismaNetError(
        `${what}: download of ${name} (${redactUrl(uri)}) answered HTTP ${res.status}`,
        res.status,
      );
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > this.s.maxFileBytes) {
      await res.body?.cancel();
      throw new VismaNetError(`${what}: ${name} is ${declared} bytes, over the limit of ${this.s.maxFileBytes}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new VismaNetError(`${what}: download of ${name} broke off (${(e as Error).name})`);
    }
    if (bytes.byteLength > this.s.maxFileBytes) {
      throw new VismaNetError(
        `${what}: ${name} is ${bytes.byteLength} bytes, over the limit of ${this.s.maxFileBytes}`,
      );
    }
    return { dataset, name, bytes };
  }
}
