/**
 * Visma.net HRM analytics API simulator (docs/sources/vismanet.md and docs/sources/model.md): a real HTTP server on
 * 127.0.0.1 with a random free port.
 *
 * - `POST /connect/token`: client credentials (client_id, client_secret, tenant_id, scope);
 *   wrong credentials → 400 invalid_client, unknown scope → 400 invalid_scope. Tokens expire
 *   after `tokenTtlMs`, or after `tokenMaxUses` calls (a deterministic stand-in for expiry).
 * - `POST /v1/command/nl/hrm/<dataset>[?fields=!a,b]` → `{"jobId"}`; a dataset whose scope the
 *   token lacks → 401. `GET /v1/query/nl/hrm/<dataset>/<jobId>` → `{changeTimestampBefore,
 *   <xxx>FileUris, status}`: `queuedPolls` × `queuedStatus`, then `InProgress` until
 *   `pollsUntilDone` polls, then `Completed` (or `failedStatus`, or never).
 * - `GET /files/<jobId>/<name>.csv?sig=…`: pre-signed download; a bearer token is refused (400)
 *   like an S3 pre-signed URL, a wrong signature is 403. Results are split into several files by
 *   `rowsPerFile`.
 * - Faults: failing jobs, never-completing jobs, download 500s, every n-th API call 429, stalled
 *   status answers, a raw malformed tail appended to a dataset's last file.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const DATASET_FILE_KEYS = {
  employees: 'employeeFileUris',
  'employees/user-defined-field-histories': 'employeeUdfHistoryFileUris',
  contracts: 'contractFileUris',
  'contracts/user-defined-field-histories': 'contractUdfHistoryFileUris',
  'metadata/cost-centers': 'costCentersFileUris',
  'metadata/organization-units': 'organizationUnitsFileUris',
  users: 'usersFileUris',
} as const;
export type SimDataset = keyof typeof DATASET_FILE_KEYS;

const DATASET_SCOPE: Record<SimDataset, string> = {
  employees: 'hrmanalytics:nlhrm:exportemployees',
  'employees/user-defined-field-histories': 'hrmanalytics:nlhrm:exportemployees',
  contracts: 'hrmanalytics:nlhrm:exportcontracts',
  'contracts/user-defined-field-histories': 'hrmanalytics:nlhrm:exportcontracts',
  'metadata/cost-centers': 'hrmanalytics:nlhrm:exportmetadata',
  'metadata/organization-units': 'hrmanalytics:nlhrm:exportorganizationunits',
  users: 'hrmanalytics:nlhrm:exportusers',
};

export const ALL_SCOPES = [
  'hrmanalytics:nlhrm:exportemployees',
  'hrmanalytics:nlhrm:exportcontracts',
  'hrmanalytics:nlhrm:exportorganizationunits',
  'hrmanalytics:nlhrm:exportmetadata',
  'hrmanalytics:nlhrm:exportusers',
  'hrmanalytics:nlhrm:exportcontactinformation',
];

/** A dataset as rows of column → cell (missing / empty = empty cell). Column order = first seen. */
export type SimData = Partial<Record<SimDataset, Record<string, string>[]>>;

export interface VismaNetSimOptions {
  clientId: string;
  clientSecret: string;
  tenantId: string;
  data: SimData;
  grantedScopes?: string[];
  tokenTtlMs?: number;
  /** `expires_in` told to the client; default the real ttl. A larger value makes tokens expire "early". */
  advertisedExpiresIn?: number;
  /** A token stops working after this many API calls. */
  tokenMaxUses?: number;
  /** Status polls answered before completion (default 2: one InProgress, then Completed on the 2nd). */
  pollsUntilDone?: number | Partial<Record<SimDataset, number>>;
  /** The first this many polls answer `queuedStatus` instead of InProgress (unverified status). */
  queuedPolls?: number;
  queuedStatus?: string;
  /** Rows per CSV file; more rows → several files. Default: all in one. */
  rowsPerFile?: number | Partial<Record<SimDataset, number>>;
  /** Repeat the header in every file (default) or only in the first. */
  headerInEveryFile?: boolean;
  delimiter?: string;
  /** Byte encoding of the files. */
  encoding?: 'utf-8' | 'latin1';
  faults?: {
    /** These jobs end in `failedStatus` (default `Failed`) instead of Completed. */
    failJobs?: SimDataset[];
    failedStatus?: string;
    neverComplete?: SimDataset[];
    /** Downloads of these datasets answer 500 this many times (Infinity = always). */
    download500?: Partial<Record<SimDataset, number>>;
    /** Every n-th API call (command/query) answers 429 with Retry-After. */
    rateLimitEvery?: number;
    retryAfterSeconds?: number;
    /** Status polls answer only after this many ms (to exercise client timeouts). */
    stallStatusMs?: number;
    /** Raw text appended to the last file of a dataset (malformed rows). */
    rawAppend?: Partial<Record<SimDataset, string>>;
  };
}

export interface SimRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  at: number;
  authorization: boolean;
  status: number;
}

interface Job {
  id: string;
  dataset: SimDataset;
  polls: number;
  sig: string;
  /** name → file content. */
  files: Map<string, Buffer>;
}

export interface VismaNetSim {
  /** API base URL (also hosts the token endpoint and files). */
  url: string;
  tokenUrl: string;
  requests: SimRequest[];
  jobs: Map<string, Job>;
  tokenRequests: number;
  /** Replace a dataset's rows (for the next jobs). */
  setData(dataset: SimDataset, rows: Record<string, string>[]): void;
  options: VismaNetSimOptions;
  close(): Promise<void>;
}

export function toCsv(
  rows: Record<string, string>[],
  delimiter = ',',
  exclude: Set<string> = new Set(),
): {
  header: string;
  lines: string[];
} {
  const cols: string[] = [];
  const seen = new Set<string>();
  for (const r of rows)
    for (const c of Object.keys(r))
      if (!seen.has(c) && !exclude.has(c)) {
        seen.add(c);
        cols.push(c);
      }
  const cell = (v: string | undefined) => {
    const s = v ?? '';
    return s.includes(delimiter) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return { header: cols.join(delimiter), lines: rows.map((r) => cols.map((c) => cell(r[c])).join(delimiter)) };
}

export async function startVismaNetSim(options: VismaNetSimOptions): Promise<VismaNetSim> {
  const o = options;
  const data: SimData = { ...o.data };
  const tokens = new Map<string, { expiresAt: number; scopes: Set<string>; uses: number }>();
  const jobs = new Map<string, Job>();
  const requests: SimRequest[] = [];
  const downloadFailures = new Map<SimDataset, number>();
  let apiCalls = 0;
  let base = '';
  const state = { tokenRequests: 0 };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const perDataset = <T>(v: T | Partial<Record<SimDataset, T>> | undefined, d: SimDataset, def: T): T =>
    v === undefined ? def : typeof v === 'object' && v !== null ? ((v as Partial<Record<SimDataset, T>>)[d] ?? def) : v;

  const buildFiles = (dataset: SimDataset, jobId: string, exclude: Set<string>): Map<string, Buffer> => {
    const rows = data[dataset] ?? [];
    const { header, lines } = toCsv(rows, o.delimiter ?? ',', exclude);
    const per = perDataset(o.rowsPerFile, dataset, Infinity);
    const parts: string[][] = [];
    for (let i = 0; i < lines.length; i += per) parts.push(lines.slice(i, i + per));
    if (!parts.length) parts.push([]);
    const files = new Map<string, Buffer>();
    const slug = dataset.replace(/\//g, '-');
    parts.forEach((part, i) => {
      const withHeader = i === 0 || o.headerInEveryFile !== false;
      let text = (withHeader ? [header, ...part] : part).join('\r\n') + '\r\n';
      if (i === parts.length - 1 && o.faults?.rawAppend?.[dataset]) text += o.faults.rawAppend[dataset];
      files.set(
        `${slug}-${jobId.slice(0, 8)}-part${i + 1}.csv`,
        Buffer.from(text, o.encoding === 'latin1' ? 'latin1' : 'utf8'),
      );
    });
    return files;
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const body = await readBody(req);

    // ---- token
    if (path === '/connect/token' && method === 'POST') {
      state.tokenRequests++;
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
      if (
        form.get('client_id') !== o.clientId ||
        form.get('client_secret') !== o.clientSecret ||
        form.get('tenant_id') !== o.tenantId
      ) {
        return json(res, 400, { error: 'invalid_client' });
      }
      const asked = (form.get('scope') ?? '').split(' ').filter(Boolean);
      const granted = new Set(o.grantedScopes ?? ALL_SCOPES);
      if (asked.some((s) => !ALL_SCOPES.includes(s))) return json(res, 400, { error: 'invalid_scope' });
      const token = randomBytes(24).toString('base64url');
      const ttl = o.tokenTtlMs ?? 3_600_000;
      tokens.set(token, { expiresAt: Date.now() + ttl, scopes: new Set(asked.filter((s) => granted.has(s))), uses: 0 });
      return json(res, 200, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: o.advertisedExpiresIn ?? Math.ceil(ttl / 1000),
      });
    }

    // ---- files (pre-signed)
    const file = /^\/files\/([^/]+)\/([^/]+)$/.exec(path);
    if (file && method === 'GET') {
      if (req.headers.authorization) {
        res.writeHead(400, { 'content-type': 'application/xml' });
        return void res.end(
          '<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>',
        );
      }
      const job = jobs.get(file[1]!);
      const content = job?.files.get(file[2]!);
      if (!job || !content || url.searchParams.get('sig') !== job.sig) {
        res.writeHead(403);
        return void res.end('AccessDenied');
      }
      const fail = o.faults?.download500?.[job.dataset] ?? 0;
      const failed = downloadFailures.get(job.dataset) ?? 0;
      if (failed < fail) {
        downloadFailures.set(job.dataset, failed + 1);
        res.writeHead(500);
        return void res.end('InternalError');
      }
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(content.length) });
      return void res.end(content);
    }

    // ---- API
    const cmd = /^\/v1\/command\/nl\/hrm\/(.+)$/.exec(path);
    const qry = /^\/v1\/query\/nl\/hrm\/(.+)\/([^/]+)$/.exec(path);
    if (!cmd && !qry) return json(res, 404, { message: 'Not Found' });
    apiCalls++;
    if (o.faults?.rateLimitEvery && apiCalls % o.faults.rateLimitEvery === 0) {
      return json(
        res,
        429,
        { message: 'Too Many Requests' },
        { 'retry-after': String(o.faults.retryAfterSeconds ?? 1) },
      );
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const tok = auth ? tokens.get(auth[1]!) : undefined;
    if (!tok || Date.now() >= tok.expiresAt || (o.tokenMaxUses !== undefined && tok.uses >= o.tokenMaxUses)) {
      return json(res, 401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    tok.uses++;
    const dataset = (cmd ? cmd[1] : qry![1]) as SimDataset;
    if (!(dataset in DATASET_FILE_KEYS)) return json(res, 404, { message: 'Not Found' });
    if (!tok.scopes.has(DATASET_SCOPE[dataset])) return json(res, 401, { message: 'Unauthorized' });

    if (cmd) {
      if (method !== 'POST') return json(res, 405, { message: 'Method Not Allowed' });
      let doc: unknown;
      try {
        doc = JSON.parse(body);
      } catch {
        return json(res, 400, { message: 'body is not JSON' });
      }
      if (typeof (doc as { callbackAddress?: unknown })?.callbackAddress !== 'string') {
        return json(res, 400, { message: 'callbackAddress is required' });
      }
      const fields = url.searchParams.get('fields');
      const exclude = new Set(fields?.startsWith('!') ? fields.slice(1).split(',') : []);
      const id = `${randomBytes(4).toString('hex')}-0000-4000-8000-${randomBytes(6).toString('hex')}`;
      jobs.set(id, {
        id,
        dataset,
        polls: 0,
        sig: randomBytes(12).toString('hex'),
        files: buildFiles(dataset, id, exclude),
      });
      return json(res, 200, { jobId: id });
    }
    if (method !== 'GET') return json(res, 405, { message: 'Method Not Allowed' });
    if (o.faults?.stallStatusMs) await new Promise((r) => setTimeout(r, o.faults?.stallStatusMs));
    const job = jobs.get(qry![2]!);
    if (!job || job.dataset !== dataset) return json(res, 404, { message: 'job not found' });
    job.polls++;
    const key = DATASET_FILE_KEYS[dataset];
    const done = perDataset(o.pollsUntilDone, dataset, 2);
    const pending = (status: string) => json(res, 200, { changeTimestampBefore: null, [key]: null, status });
    if (job.polls <= (o.queuedPolls ?? 0)) return pending(o.queuedStatus ?? 'Queued');
    if (o.faults?.neverComplete?.includes(dataset) || job.polls < done) return pending('InProgress');
    if (o.faults?.failJobs?.includes(dataset)) return pending(o.faults.failedStatus ?? 'Failed');
    return json(res, 200, {
      changeTimestampBefore: '2026-07-01T02:00:00Z',
      [key]: [...job.files.keys()].map((name) => `${base}/files/${job.id}/${name}?sig=${job.sig}`),
      status: 'Completed',
    });
  };

  const server = createServer((req, res) => {
    const at = Date.now();
    const u = new URL(req.url ?? '/', 'http://x');
    res.on('finish', () =>
      requests.push({
        method: req.method ?? 'GET',
        path: u.pathname,
        query: u.search,
        at,
        authorization: Boolean(req.headers.authorization),
        status: res.statusCode,
      }),
    );
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    tokenUrl: `${base}/connect/token`,
    requests,
    jobs,
    get tokenRequests() {
      return state.tokenRequests;
    },
    setData(dataset, rows) {
      data[dataset] = rows;
    },
    options: o,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------- the synthetic dataset (docs/sources/vismanet.md)

/**
 * The three people of the synthetic dataset, reference today 2026-07-01. With `secondEmployeeRecord`, Jan's
 * second contract arrives under employee record 10004 (Visma's default: one record per contract).
 * Contracts carry two salary columns the connector should exclude with `fields=!…`.
 */
export function syntheticDataset(opts: { secondEmployeeRecord?: boolean } = {}): SimData {
  const emp = (
    employeeid: string,
    initials: string,
    firstname: string,
    nickname: string,
    nameusage: string,
    nameusage_en: string,
    birthname: string,
    prefixbirthname: string,
    partnername: string,
    prefixpartnername: string,
    formattedname: string,
    dateofbirth: string,
    gender: string,
    businessemailaddress: string,
  ) => ({
    employeeid,
    odporgid: 'ORG1',
    initials,
    firstname,
    nickname,
    nameusage,
    nameusage_en,
    birthname,
    prefixbirthname,
    partnername,
    prefixpartnername,
    formattedname,
    dateofbirth,
    gender,
    companyid: '1',
    companyname: 'Gemeente Voorbeeld',
    businessemailaddress,
    homeemailaddress: `private.${employeeid}@example.org`,
  });
  const jan = emp(
    '10001',
    'J.P.',
    'Jan Pieter',
    'Jan',
    'Eigen',
    'Own',
    'Vries',
    'de',
    '',
    '',
    'Jan de Vries',
    '1980-04-12',
    'M',
    'j.devries@voorbeeld.nl',
  );
  const employees = [
    jan,
    emp(
      '10002',
      'P.',
      'Petra',
      'Petra',
      'Eigen',
      'Own',
      'Bakker',
      '',
      '',
      '',
      'Petra Bakker',
      '1975-09-30',
      'V',
      'p.bakker@voorbeeld.nl',
    ),
    emp(
      '10003',
      'S.',
      'Sanne',
      'Sanne',
      'Part./eig.',
      'Partner/own',
      'Berg',
      'van den',
      'Jong',
      'de',
      'Sanne de Jong-van den Berg',
      '1990-01-05',
      'V',
      's.jong@voorbeeld.nl',
    ),
  ];
  if (opts.secondEmployeeRecord)
    employees.push({ ...jan, employeeid: '10004', homeemailaddress: 'private.10004@example.org' });
  const con = (
    employeeid: string,
    contractid: string,
    startdate: string,
    enddate: string,
    type: string,
    orgunit: string,
    orgunitname: string,
    functionid: string,
    functionname: string,
    costcenter: string,
    weekhoursfixed: string,
    manageruserid: string,
    managername: string,
  ) => ({
    employeeid,
    contractid,
    subcontractid: '1',
    startdate,
    enddate,
    type,
    orgunit,
    orgunitname,
    functionid,
    functionname,
    costcenter,
    weekhoursfixed,
    manageruserid,
    managername,
    salaryhour: '31.75',
    scale: '10',
  });
  const secondJan = opts.secondEmployeeRecord ? '10004' : '10001';
  const secondJanContract = opts.secondEmployeeRecord ? '1' : '2';
  return {
    employees,
    contracts: [
      con(
        '10001',
        '1',
        '2015-03-01',
        '',
        'Vast',
        'ICT',
        'Informatievoorziening',
        'F003',
        'Teamleider ICT',
        'Kostenplaats ICT',
        '32',
        '',
        '',
      ),
      con(
        secondJan,
        secondJanContract,
        '2026-01-01',
        '2026-12-31',
        'Tijdelijk',
        'PZ',
        'Personeelszaken',
        'F002',
        'HR-adviseur',
        'Kostenplaats P&O',
        '4',
        'u-20002',
        'Petra Bakker',
      ),
      con(
        '10002',
        '1',
        '2010-06-01',
        '2026-05-15',
        'Vast',
        'PZ',
        'Personeelszaken',
        'F002',
        'HR-adviseur',
        'Kostenplaats P&O',
        '36',
        '',
        '',
      ),
      con(
        '10003',
        '1',
        '2022-09-01',
        '',
        'Vast',
        'ICT',
        'Informatievoorziening',
        'F001',
        'Systeembeheerder',
        'Kostenplaats ICT',
        '36',
        'u-20001',
        'Jan de Vries',
      ),
    ],
    'metadata/organization-units': [
      {
        orgunitid: 'ORG',
        orgunitparentid: '',
        orgname: 'Gemeente Voorbeeld',
        manageruserid: '',
        startdate: '2000-01-01',
        enddate: '',
      },
      {
        orgunitid: 'ICT',
        orgunitparentid: 'ORG',
        orgname: 'Informatievoorziening',
        manageruserid: 'u-20001',
        startdate: '2000-01-01',
        enddate: '',
      },
      {
        orgunitid: 'PZ',
        orgunitparentid: 'ORG',
        orgname: 'Personeelszaken',
        manageruserid: '',
        startdate: '2000-01-01',
        enddate: '',
      },
      {
        orgunitid: 'OLD',
        orgunitparentid: 'ORG',
        orgname: 'Opgeheven afdeling',
        manageruserid: '',
        startdate: '2000-01-01',
        enddate: '2020-12-31',
      },
    ],
    'metadata/cost-centers': [
      { costcenter: 'KP100', costcentername: 'Kostenplaats ICT' },
      { costcenter: 'KP200', costcentername: 'Kostenplaats P&O' },
    ],
    users: [
      { userid: 'u-20001', employeeid: '10001', emailaddress: 'j.devries@voorbeeld.nl' },
      { userid: 'u-20002', employeeid: '10002', emailaddress: 'p.bakker@voorbeeld.nl' },
    ],
    'employees/user-defined-field-histories': [
      {
        employeeid: '10003',
        fieldname: 'Werk plek',
        listname: '',
        value: 'Gebouw B',
        startdate: '2022-09-01',
        enddate: '2024-12-31',
      },
      {
        employeeid: '10003',
        fieldname: 'Werk plek',
        listname: '',
        value: 'Gebouw C',
        startdate: '2025-01-01',
        enddate: '',
      },
    ],
    'contracts/user-defined-field-histories': [],
  };
}

// ---------------------------------------------------------------- generated tenants

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Jan', 'Petra', 'Sanne', 'Kees', 'Fatima', 'Mohammed', 'Anouk', 'Daan', 'Zoë', 'Lars', 'Eva', 'Bram'];
const LAST: [string, string][] = [
  ['Vries', 'de'],
  ['Berg', 'van den'],
  ['Bakker', ''],
  ['Jansen', ''],
  ['Dijk', 'van'],
  ['Visser', ''],
  ['Yılmaz', ''],
  ['Hart', "'t"],
  ['Smit', ''],
  ['Meer', 'van der'],
];
const USAGE = ['Eigen', 'Eigen', 'Eigen', 'Partner', 'Part./eig.', 'Eig./Part.'];

export interface GeneratedTenant {
  data: SimData;
  /** Humans (persons after aggregation) and how many have two employee records. */
  humans: number;
  mergedHumans: number;
  contracts: number;
  units: number;
}

/**
 * A tenant of `humans` people: ~`twoRecordShare` of them have a second contract under a second
 * employee record (to be merged), every tenth has left, units of ~20 people with a manager, one
 * UDF ("Werk plek") with a two-row history per person.
 */
export function generateTenant(opts: { humans: number; seed?: number; twoRecordShare?: number }): GeneratedTenant {
  const rnd = prng(opts.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const units = Math.max(1, Math.ceil(opts.humans / 20));
  const data: Required<
    Pick<
      SimData,
      | 'employees'
      | 'contracts'
      | 'metadata/organization-units'
      | 'metadata/cost-centers'
      | 'users'
      | 'employees/user-defined-field-histories'
    >
  > = {
    employees: [],
    contracts: [],
    'metadata/organization-units': [
      {
        orgunitid: 'ROOT',
        orgunitparentid: '',
        orgname: 'Gemeente Groot',
        manageruserid: '',
        startdate: '2000-01-01',
        enddate: '',
      },
    ],
    'metadata/cost-centers': [],
    users: [],
    'employees/user-defined-field-histories': [],
  };
  for (let u = 0; u < units; u++) {
    data['metadata/cost-centers'].push({ costcenter: `KP${1000 + u}`, costcentername: `Kostenplaats ${u}` });
  }
  let nextId = 100000;
  const managerOfUnit = new Map<number, string>();
  let merged = 0;
  let contracts = 0;
  for (let h = 0; h < opts.humans; h++) {
    const id = String(nextId++);
    const unit = Math.floor(h / 20);
    const [birthname, prefix] = pick(LAST);
    const [partner, partnerPrefix] = pick(LAST);
    const usage = pick(USAGE);
    const first = pick(FIRST);
    // Birth dates 3 days apart: distinct humans never share an aggregation key (up to ~4800 humans).
    const dob = new Date(Date.UTC(1960, 0, 1) + ((h * 3) % 14_600) * 86_400_000).toISOString().slice(0, 10);
    const person = {
      employeeid: id,
      initials: `${first[0]}.${String.fromCharCode(65 + (h % 26))}.`,
      firstname: first,
      nickname: first,
      nameusage: usage,
      birthname,
      prefixbirthname: prefix,
      partnername: usage === 'Eigen' ? '' : partner,
      prefixpartnername: usage === 'Eigen' ? '' : partnerPrefix,
      dateofbirth: dob,
      gender: h % 2 ? 'V' : 'M',
      companyid: '1',
      companyname: 'Gemeente Groot',
      businessemailaddress: `p${id}@groot.example`,
    };
    data.employees.push(person);
    const left = h % 10 === 9;
    const isManager = h % 20 === 0;
    if (isManager) {
      managerOfUnit.set(unit, id);
      data.users.push({ userid: `u-${id}`, employeeid: id, emailaddress: person.businessemailaddress });
      data['metadata/organization-units'].push({
        orgunitid: `U${unit}`,
        orgunitparentid: 'ROOT',
        orgname: `Afdeling ${unit}`,
        manageruserid: `u-${id}`,
        startdate: '2000-01-01',
        enddate: '',
      });
    }
    data.contracts.push({
      employeeid: id,
      contractid: '1',
      subcontractid: '1',
      startdate: '2015-01-01',
      enddate: left ? '2026-06-15' : '',
      type: 'Vast',
      orgunit: `U${unit}`,
      orgunitname: `Afdeling ${unit}`,
      functionid: `F${h % 7}`,
      functionname: `Functie ${h % 7}`,
      costcenter: `Kostenplaats ${unit}`,
      weekhoursfixed: String(24 + (h % 13)),
      manageruserid: isManager ? '' : `u-${managerOfUnit.get(unit)}`,
      salaryhour: '30',
    });
    contracts++;
    data['employees/user-defined-field-histories'].push(
      {
        employeeid: id,
        fieldname: 'Werk plek',
        listname: '',
        value: 'Oud gebouw',
        startdate: '2015-01-01',
        enddate: '2024-12-31',
      },
      {
        employeeid: id,
        fieldname: 'Werk plek',
        listname: '',
        value: `Gebouw ${unit}`,
        startdate: '2025-01-01',
        enddate: '',
      },
    );
    if (!left && rnd() < (opts.twoRecordShare ?? 0.1)) {
      const second = String(nextId++);
      data.employees.push({ ...person, employeeid: second });
      data.contracts.push({
        employeeid: second,
        contractid: '1',
        subcontractid: '1',
        startdate: '2026-01-01',
        enddate: '2026-12-31',
        type: 'Tijdelijk',
        orgunit: `U${(unit + 1) % units}`,
        orgunitname: `Afdeling ${(unit + 1) % units}`,
        functionid: 'FP',
        functionname: 'Project',
        costcenter: `Kostenplaats ${(unit + 1) % units}`,
        weekhoursfixed: '4',
        manageruserid: '',
        salaryhour: '30',
      });
      merged++;
      contracts++;
    }
  }
  return {
    data,
    humans: opts.humans,
    mergedHumans: merged,
    contracts,
    units: data['metadata/organization-units'].length,
  };
}
