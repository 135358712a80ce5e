/**
 * A Visma Nmbrs SOAP v3 simulator (docs/sources/nmbrs.md and docs/sources/model.md): a real HTTP server on 127.0.0.1 that
 * speaks SOAP 1.1 and 1.2 for exactly the operations the Nmbrs source uses. Requests are parsed
 * with fast-xml-parser, answers built with its XMLBuilder.
 *
 * - Auth header checked on every call (AuthHeaderWithDomain, or AuthHeader when the domain is not
 *   required); wrong credentials → HTTP 500 SOAP Fault with a 100x code.
 * - SOAP 1.1 needs a matching SOAPAction header (as ASMX does); the answer uses the request's version.
 * - Faults, HTTP errors (429 with Retry-After, 503, ...), delays and dropped connections injectable
 *   per operation; optional fair-use throttling (a delay above N calls per second, as Nmbrs does).
 * - PersonalInfo_UpdateCurrent rejects updates missing a mandatory field (fault 2000) and creates a
 *   new personal-info version; omitted fields are kept or cleared (setting; unverified).
 * - Data: the synthetic dataset of 8.4 (`syntheticTenant`) or `generateTenant(n)` of any size.
 *
 * Fault texts and codes are illustrative (the real fault XML is unverified).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

export type Val = string | number | boolean | null | undefined;

/** One personal-info version (`PersonalInfo_V2`); `null` = sent as xsi:nil, undefined = omitted. */
export interface SimPersonalInfo {
  Id: number;
  CreationDate: string;
  [field: string]: Val;
}

export interface SimEmployment {
  EmploymentId: number | string | null;
  CreationDate: string;
  StartDate: string | null;
  EndDate?: string | null;
  InitialStartDate?: string | null;
}

/** One contract record (`EmployeeContract`, spec 5.2: the spelling `EmployementType` is Nmbrs's). */
export interface SimContract {
  ContractID: number;
  CreationDate: string;
  StartDate: string | null;
  EndDate?: string | null;
  [field: string]: Val;
}

export interface SimCodeDesc {
  Id: number;
  Code: string | null;
  Description: string | null;
}

export interface SimManager {
  Number?: Val;
  FirstName?: Val;
  Name?: Val;
  Department?: Val;
  Function?: Val;
  PhoneNumber?: Val;
  Mobile?: Val;
  Fax?: Val;
  Email?: Val;
}

export interface SimCostCenter {
  Id: number;
  CostCenter: SimCodeDesc;
  Kostensoort?: { Code: string; Description: string };
  Percentage: number;
  Default: boolean;
}

export interface SimEmployee {
  employeeId: number;
  companyId: number;
  /** Versions, oldest first. */
  personalInfos: SimPersonalInfo[];
  employments: SimEmployment[];
  /** `Contract_GetAll_AllEmployeesByCompany` records (contract type, hours per week). */
  contracts?: SimContract[];
  department?: SimCodeDesc | null;
  function?: SimCodeDesc | null;
  manager?: SimManager | null;
  costCenters?: SimCostCenter[];
  /** Left out of PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany (still in List_GetByCompany). */
  missingFromBulk?: boolean;
  /** Private data the connector must never import (BSN etc.). */
  BSN?: string;
}

export interface SimTenant {
  auth: { username: string; token: string; domain: string };
  companies: { id: number; number: number; name: string; debtorId: number }[];
  debtors: { id: number; departments: SimCodeDesc[] }[];
  employees: SimEmployee[];
}

export type Injection = {
  /** Operation name (e.g. `Department_GetCurrent`); all operations when absent. */
  operation?: string;
  /** Let this many matching calls through first. */
  after?: number;
  /** How many matching calls it hits (default 1). */
  times?: number;
} & (
  | { kind: 'fault'; code: number; text: string }
  | { kind: 'http'; status: number; retryAfter?: string; body?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'reset' }
);

export interface CallRecord {
  service: string;
  operation: string;
  soapVersion: '1.1' | '1.2';
  /** Parameters of the body element (prefixes removed). */
  params: Record<string, unknown>;
  /** Element names inside `PersonalInfo` of an update, in document order. */
  personalInfoOrder?: string[];
  status: number;
  at: number;
}

export interface NmbrsSimulatorOptions {
  tenant: SimTenant;
  /** Require AuthHeaderWithDomain (v3). Default true. */
  requireDomain?: boolean;
  /** Which Domain forms are accepted: `voorbeeld`, `voorbeeld.nmbrs.nl` or both (unverified). Default both. */
  acceptedDomainForms?: 'subdomain' | 'hostname' | 'both';
  /** Echo the token in the auth fault (a leaky server, to test that clients scrub it). */
  echoTokenInAuthFault?: boolean;
  /** Fair use: above this many calls per second each call waits `delayMs` (Nmbrs: about 150/s, 0.5 s). */
  throttle?: { maxPerSecond: number; delayMs: number };
  /** Extra latency of company-wide calls. */
  bulkDelayMs?: number;
  /** Naamstelling on the wire: digits (as stored) or enum names (unverified). */
  naamstellingFormat?: 'digit' | 'name';
  /** Fields PersonalInfo_UpdateCurrent requires (unverified). */
  requiredUpdateFields?: string[];
  /** What an update does with fields it did not get (unverified). Default keep. */
  omittedUpdateFields?: 'keep' | 'clear';
  /** Per-employee call for an unknown employee: a fault or an empty (nil) result. Default fault. */
  unknownEmployee?: 'fault' | 'nil';
  /** Reference date for the active filter and new versions. Default 2026-07-01. */
  today?: string;
}

export const DEFAULT_REQUIRED_UPDATE_FIELDS = ['Id', 'Number', 'EmployeeNumber', 'LastName', 'Birthday'];
export const NAAMSTELLING_NAMES: Record<string, string> = {
  '1': 'Eigen',
  '2': 'Partner',
  '3': 'PartnerEigen',
  '4': 'EigenPartner',
};

/** Element order of PersonalInfo_V2 / PersonalInfo in answers. */
const PI_ORDER = [
  'Id',
  'Number',
  'EmployeeNumber',
  'BSN',
  'DisplayName',
  'FirstName',
  'Initials',
  'Prefix',
  'LastName',
  'Nickname',
  'Gender',
  'NationalityCode',
  'PlaceOfBirth',
  'CountryOfBirthISOCode',
  'IdentificationType',
  'TelephoneWork',
  'TelephoneMobileWork',
  'TelephonePrivate',
  'TelephoneMobilePrivate',
  'EmailWork',
  'EmailPrivate',
  'BurgerlijkeStaat',
  'Naamstelling',
  'PartnerPrefix',
  'PartnerLastName',
  'Birthday',
  'CreationDate',
  'StartPeriod',
  'StartYear',
  'Title',
  'TitleAfter',
  'InCaseOfEmergency',
];

class SoapFault extends Error {
  constructor(
    readonly code: 'Client' | 'Server',
    text: string,
  ) {
    super(text);
  }
}

const parserStripped = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  htmlEntities: true,
});
const parserRaw = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: false,
  parseTagValue: false,
  trimValues: true,
  htmlEntities: true,
});
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
  suppressBooleanAttributes: false,
});

function txt(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (o['@_nil'] === 'true') return undefined;
    return txt(o['#text']);
  }
  return String(v);
}

/** A value for the builder: null → xsi:nil, booleans as `true`/`false`. */
function out(v: Val): unknown {
  if (v === null) return { '@_xsi:nil': 'true' };
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return v === undefined ? undefined : String(v);
}

function ordered(
  rec: Record<string, Val>,
  order: readonly string[],
  skip: readonly string[] = [],
): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const keys = [...order.filter((k) => k in rec), ...Object.keys(rec).filter((k) => !order.includes(k))];
  for (const k of keys) {
    if (skip.includes(k)) continue;
    const v = out(rec[k]);
    if (v !== undefined) o[k] = v;
  }
  return o;
}

export class NmbrsSimulator {
  readonly tenant: SimTenant;
  readonly calls: CallRecord[] = [];
  private readonly opts: NmbrsSimulatorOptions;
  private readonly injections: (Injection & { seen: number; hits: number })[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private recent: number[] = [];
  private versionSeq = 1_000_000;
  url = '';

  constructor(opts: NmbrsSimulatorOptions) {
    this.opts = opts;
    this.tenant = opts.tenant;
  }

  /** Base URL to give the connector (`http://127.0.0.1:<port>`); services under /soap/v3/. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`simulator error: ${e.message}`);
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  inject(i: Injection): void {
    this.injections.push({ ...i, seen: 0, hits: 0 });
  }

  clearInjections(): void {
    this.injections.length = 0;
  }

  employee(id: number): SimEmployee | undefined {
    return this.tenant.employees.find((e) => e.employeeId === id);
  }

  /** The current (newest) personal info of an employee. */
  currentInfo(id: number): SimPersonalInfo | undefined {
    const e = this.employee(id);
    return e ? newest(e.personalInfos) : undefined;
  }

  callsOf(operation: string): CallRecord[] {
    return this.calls.filter((c) => c.operation === operation);
  }

  private today(): string {
    return this.opts.today ?? '2026-07-01';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/soap\/v3\/(EmployeeService|DebtorService|CompanyService)\.asmx$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const service = m[1] as string;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 10 * 1024 * 1024) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(c as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const ctype = String(req.headers['content-type'] ?? '');
    let version: '1.1' | '1.2' = ctype.startsWith('application/soap+xml') ? '1.2' : '1.1';
    const record: CallRecord = {
      service,
      operation: '?',
      soapVersion: version,
      params: {},
      status: 200,
      at: Date.now(),
    };
    this.calls.push(record);
    const send = (status: number, body: unknown) => {
      record.status = status;
      const xml = this.envelope(version, body);
      res
        .writeHead(status, {
          'content-type': version === '1.2' ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8',
        })
        .end(xml);
    };
    const fault = (f: SoapFault) => send(500, this.faultBody(version, f));

    try {
      if (/<!DOCTYPE/i.test(raw)) throw new SoapFault('Client', 'DTD is prohibited in SOAP messages.');
      let rawDoc: Record<string, unknown>;
      let doc: Record<string, unknown>;
      try {
        rawDoc = parserRaw.parse(raw) as Record<string, unknown>;
        doc = parserStripped.parse(raw) as Record<string, unknown>;
      } catch {
        throw new SoapFault('Client', 'Request is not well-formed XML.');
      }
      const envKey = Object.keys(rawDoc).find((k) => k === 'Envelope' || k.endsWith(':Envelope'));
      const envRaw = envKey ? (rawDoc[envKey] as Record<string, unknown>) : undefined;
      const envPrefix = envKey?.includes(':') ? envKey.split(':')[0] : undefined;
      const envNs = envRaw?.[envPrefix ? `@_xmlns:${envPrefix}` : '@_xmlns'];
      if (envNs === SOAP12_NS) version = '1.2';
      else if (envNs === SOAP11_NS) version = '1.1';
      else throw new SoapFault('Client', 'Not a SOAP envelope (unknown envelope namespace).');
      record.soapVersion = version;

      const env = doc.Envelope as Record<string, unknown>;
      const body = env?.Body as Record<string, unknown> | undefined;
      const opName = body && typeof body === 'object' ? Object.keys(body).find((k) => !k.startsWith('@_')) : undefined;
      if (!opName) throw new SoapFault('Client', 'SOAP Body has no operation element.');
      record.operation = opName;
      const ns = `https://api.nmbrs.nl/soap/v3/${service}`;
      const opNs = this.namespaceOf(rawDoc, envKey as string, opName);
      if (opNs !== ns)
        throw new SoapFault('Client', `Unknown operation element ${opName} in namespace ${opNs ?? '(none)'}.`);
      if (version === '1.1') {
        const action = String(req.headers.soapaction ?? '').replace(/^"|"$/g, '');
        if (action !== `${ns}/${opName}`) {
          throw new SoapFault('Client', `Server did not recognize the value of HTTP Header SOAPAction: ${action}.`);
        }
      }
      const params = (body?.[opName] && typeof body[opName] === 'object' ? body[opName] : {}) as Record<
        string,
        unknown
      >;
      record.params = params;
      if (opName === 'PersonalInfo_UpdateCurrent') {
        const pi = params.PersonalInfo;
        record.personalInfoOrder =
          pi && typeof pi === 'object' ? Object.keys(pi).filter((k) => !k.startsWith('@_')) : [];
      }

      this.checkAuth(env.Header as Record<string, unknown> | undefined);

      // throttling and injections
      const now = Date.now();
      this.recent = this.recent.filter((t) => now - t < 1000);
      this.recent.push(now);
      if (this.opts.throttle && this.recent.length > this.opts.throttle.maxPerSecond) {
        await sleep(this.opts.throttle.delayMs);
      }
      for (const inj of this.injections) {
        if (inj.operation && inj.operation !== opName) continue;
        if (inj.seen++ < (inj.after ?? 0)) continue;
        if (inj.hits >= (inj.times ?? 1)) continue;
        inj.hits++;
        if (inj.kind === 'delay') await sleep(inj.ms);
        else if (inj.kind === 'reset') {
          record.status = 0;
          req.socket.destroy();
          return;
        } else if (inj.kind === 'fault') throw new SoapFault('Server', `${inj.code}: ${inj.text}`);
        else {
          record.status = inj.status;
          res.writeHead(inj.status, {
            'content-type': 'text/html',
            ...(inj.retryAfter === undefined ? {} : { 'retry-after': inj.retryAfter }),
          });
          res.end(inj.body ?? `<html><body>HTTP ${inj.status}</body></html>`);
          return;
        }
      }

      const result = await this.dispatch(service, opName, params);
      const respBody: Record<string, unknown> = { '@_xmlns': ns };
      if (result !== undefined) respBody[`${opName}Result`] = result;
      send(200, { [`${opName}Response`]: respBody });
    } catch (e) {
      if (e instanceof SoapFault) fault(e);
      else throw e;
    }
  }

  /** Namespace URI of the operation element, resolving its prefix on Envelope, Body or itself. */
  private namespaceOf(rawDoc: Record<string, unknown>, envKey: string, opName: string): string | undefined {
    const env = rawDoc[envKey] as Record<string, unknown>;
    const bodyKey = Object.keys(env).find((k) => k === 'Body' || k.endsWith(':Body'));
    const body = (bodyKey ? env[bodyKey] : undefined) as Record<string, unknown> | undefined;
    const opKey = body ? Object.keys(body).find((k) => k === opName || k.endsWith(`:${opName}`)) : undefined;
    if (!opKey || !body) return undefined;
    const op = (typeof body[opKey] === 'object' ? body[opKey] : {}) as Record<string, unknown>;
    const prefix = opKey.includes(':') ? opKey.split(':')[0] : undefined;
    const attr = prefix ? `@_xmlns:${prefix}` : '@_xmlns';
    return (op[attr] ?? body[attr] ?? env[attr]) as string | undefined;
  }

  private checkAuth(header: Record<string, unknown> | undefined): void {
    const { auth } = this.tenant;
    const withDomain = header?.AuthHeaderWithDomain as Record<string, unknown> | undefined;
    const plain = header?.AuthHeader as Record<string, unknown> | undefined;
    const h = withDomain ?? plain;
    if (!h) throw new SoapFault('Client', '1001: No authentication header');
    if (!withDomain && this.opts.requireDomain !== false) {
      throw new SoapFault('Client', '1001: Authentication header with domain is required (AuthHeaderWithDomain)');
    }
    const token = txt(h.Token) ?? '';
    if (txt(h.Username) !== auth.username || token !== auth.token) {
      const echo = this.opts.echoTokenInAuthFault ? ` (token '${token}')` : '';
      throw new SoapFault('Client', `1002: Invalid username or token${echo}`);
    }
    if (withDomain) {
      const d = txt(withDomain.Domain) ?? '';
      const forms = this.opts.acceptedDomainForms ?? 'both';
      const ok =
        ((forms === 'subdomain' || forms === 'both') && d === auth.domain) ||
        ((forms === 'hostname' || forms === 'both') && d === `${auth.domain}.nmbrs.nl`);
      if (!ok) throw new SoapFault('Client', '1003: Invalid domain');
    }
  }

  private envelope(version: '1.1' | '1.2', body: unknown): string {
    const xml = builder.build({
      '?xml': { '@_version': '1.0', '@_encoding': 'utf-8' },
      'soap:Envelope': {
        '@_xmlns:soap': version === '1.2' ? SOAP12_NS : SOAP11_NS,
        '@_xmlns:xsi': XSI_NS,
        '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
        'soap:Body': body,
      },
    });
    return String(xml);
  }

  private faultBody(version: '1.1' | '1.2', f: SoapFault): unknown {
    if (version === '1.1') {
      return { 'soap:Fault': { faultcode: `soap:${f.code}`, faultstring: f.message, detail: '' } };
    }
    return {
      'soap:Fault': {
        'soap:Code': { 'soap:Value': `soap:${f.code === 'Client' ? 'Sender' : 'Receiver'}` },
        'soap:Reason': { 'soap:Text': { '@_xml:lang': 'en', '#text': f.message } },
        'soap:Detail': '',
      },
    };
  }

  private company(id: unknown) {
    const c = this.tenant.companies.find((x) => String(x.id) === txt(id));
    if (!c) throw new SoapFault('Server', `2002: Company ${txt(id) ?? ''} not found or not accessible`);
    return c;
  }

  private emp(id: unknown): SimEmployee | undefined {
    const e = this.tenant.employees.find((x) => String(x.employeeId) === txt(id));
    if (!e && this.opts.unknownEmployee !== 'nil') {
      throw new SoapFault('Server', `2004: Employee ${txt(id) ?? ''} not found`);
    }
    return e;
  }

  private info(pi: SimPersonalInfo, withNumber: boolean): Record<string, unknown> {
    const rec: Record<string, Val> = { ...pi };
    if (this.opts.naamstellingFormat === 'name' && typeof rec.Naamstelling !== 'object') {
      const n = rec.Naamstelling;
      if (n !== undefined && n !== null) rec.Naamstelling = NAAMSTELLING_NAMES[String(n)] ?? String(n);
    }
    return ordered(rec, PI_ORDER, withNumber ? [] : ['Number', 'BSN']);
  }

  private active(e: SimEmployee): boolean {
    const today = this.today();
    return e.employments.some((x) => x.StartDate !== null && (!x.EndDate || x.EndDate.slice(0, 10) >= today));
  }

  private async dispatch(service: string, op: string, p: Record<string, unknown>): Promise<unknown> {
    const bulk = async () => {
      if (this.opts.bulkDelayMs) await sleep(this.opts.bulkDelayMs);
    };
    if (service === 'CompanyService' && op === 'List_GetAll') {
      return { Company: this.tenant.companies.map((c) => ({ ID: c.id, Number: c.number, Name: c.name })) };
    }
    if (service === 'DebtorService' && op === 'Department_GetList') {
      const d = this.tenant.debtors.find((x) => String(x.id) === txt(p.DebtorId));
      if (!d) throw new SoapFault('Server', `2003: Debtor ${txt(p.DebtorId) ?? ''} not found`);
      return { Department: d.departments.map((x) => ordered({ ...x }, ['Id', 'Code', 'Description'])) };
    }
    if (service !== 'EmployeeService') throw new SoapFault('Client', `Unknown operation ${op}.`);
    switch (op) {
      case 'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany': {
        const c = this.company(p.CompanyID);
        await bulk();
        return {
          PersonalInfoItem: this.tenant.employees
            .filter((e) => e.companyId === c.id && !e.missingFromBulk)
            .map((e) => ({
              EmployeeId: e.employeeId,
              EmployeePersonalInfos: { PersonalInfo_V2: e.personalInfos.map((pi) => this.info(pi, false)) },
            })),
        };
      }
      case 'List_GetByCompany': {
        const c = this.company(p.CompanyId);
        const type = txt(p.EmployeeType);
        if (type !== '0' && type !== '1' && type !== '2') throw new SoapFault('Server', '2000: Invalid EmployeeType');
        await bulk();
        return {
          Employee: this.tenant.employees
            .filter((e) => e.companyId === c.id)
            .filter((e) => type === '2' || (type === '0') === this.active(e))
            .map((e) => {
              const pi = newest(e.personalInfos);
              return ordered({ Id: e.employeeId, Number: pi?.EmployeeNumber, DisplayName: pi?.DisplayName }, [
                'Id',
                'Number',
                'DisplayName',
              ]);
            }),
        };
      }
      case 'EmployeeType_GetList':
        return {
          EmployeeType: [
            { Id: 0, Description: 'Active' },
            { Id: 1, Description: 'NotActive' },
            { Id: 2, Description: 'All' },
          ],
        };
      case 'Employment_GetAll_AllEmployeesByCompany': {
        const c = this.company(p.CompanyID);
        await bulk();
        return {
          EmployeeEmploymentItem: this.tenant.employees
            .filter((e) => e.companyId === c.id)
            .map((e) => ({
              EmployeeId: e.employeeId,
              EmployeeEmployments: {
                Employment: e.employments.map((x) =>
                  ordered({ ...x }, ['EmploymentId', 'CreationDate', 'StartDate', 'EndDate', 'InitialStartDate']),
                ),
              },
            })),
        };
      }
      case 'Contract_GetAll_AllEmployeesByCompany': {
        const c = this.company(p.CompanyID);
        await bulk();
        const order = ['ContractID', 'CreationDate', 'StartDate', 'TrialPeriod', 'EndDate', 'EmployementType'];
        return {
          EmployeeContractItem: this.tenant.employees
            .filter((e) => e.companyId === c.id)
            .map((e) => ({
              EmployeeId: e.employeeId,
              EmployeeContracts: { EmployeeContract: (e.contracts ?? []).map((x) => ordered({ ...x }, order)) },
            })),
        };
      }
      case 'Department_GetCurrent':
      case 'Function_GetCurrent': {
        const e = this.emp(p.EmployeeId);
        const v = op === 'Department_GetCurrent' ? e?.department : e?.function;
        return v ? ordered({ ...v }, ['Id', 'Code', 'Description']) : out(null);
      }
      case 'Manager_GetCurrent': {
        const e = this.emp(p.EmployeeId);
        const order = [
          'Number',
          'FirstName',
          'Name',
          'Department',
          'Function',
          'PhoneNumber',
          'Mobile',
          'Fax',
          'Email',
        ];
        return e?.manager ? ordered({ ...e.manager }, order) : out(null);
      }
      case 'CostCenter_GetCurrent': {
        const e = this.emp(p.EmployeeId);
        return {
          EmployeeCostCenter: (e?.costCenters ?? []).map((c) => ({
            Id: c.Id,
            CostCenter: ordered({ ...c.CostCenter }, ['Id', 'Code', 'Description']),
            ...(c.Kostensoort ? { Kostensoort: c.Kostensoort } : {}),
            Percentage: c.Percentage,
            Default: c.Default ? 'true' : 'false',
          })),
        };
      }
      case 'PersonalInfo_GetCurrent': {
        const e = this.emp(p.EmployeeId);
        const pi = e ? newest(e.personalInfos) : undefined;
        if (!e || !pi) return out(null);
        return this.info({ ...pi, Number: pi.EmployeeNumber, BSN: e.BSN }, true);
      }
      case 'PersonalInfo_UpdateCurrent':
        return this.update(p);
      default:
        throw new SoapFault('Client', `Unknown operation ${op}.`);
    }
  }

  private update(p: Record<string, unknown>): undefined {
    const e = this.emp(p.EmployeeId);
    if (!e) throw new SoapFault('Server', `2004: Employee ${txt(p.EmployeeId) ?? ''} not found`);
    const cur = newest(e.personalInfos);
    const sent = (p.PersonalInfo && typeof p.PersonalInfo === 'object' ? p.PersonalInfo : {}) as Record<
      string,
      unknown
    >;
    for (const f of this.opts.requiredUpdateFields ?? DEFAULT_REQUIRED_UPDATE_FIELDS) {
      if (txt(sent[f]) === undefined) throw new SoapFault('Server', `2000: Invalid or missing field ${f}`);
    }
    if (cur && txt(sent.Id) !== undefined && txt(sent.Id) !== String(cur.Id)) {
      throw new SoapFault('Server', '2000: Invalid field Id (not the current personal info)');
    }
    const email = txt(sent.EmailWork);
    if (email !== undefined && !/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(email)) {
      throw new SoapFault('Server', '2000: Invalid field EmailWork');
    }
    const base: SimPersonalInfo =
      this.opts.omittedUpdateFields === 'clear'
        ? { Id: 0, CreationDate: '' }
        : { ...(cur ?? { Id: 0, CreationDate: '' }) };
    for (const [k, v] of Object.entries(sent)) {
      if (k.startsWith('@_') || k === 'Id' || k === 'Number') continue;
      base[k] = txt(v) ?? '';
    }
    base.Id = this.versionSeq++;
    base.CreationDate = `${this.today()}T12:00:00`;
    e.personalInfos.push(base);
    return undefined;
  }
}

function newest(list: SimPersonalInfo[]): SimPersonalInfo | undefined {
  return [...list]
    .sort((a, b) => (a.CreationDate < b.CreationDate ? -1 : a.CreationDate > b.CreationDate ? 1 : a.Id - b.Id))
    .at(-1);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- data

/** The synthetic tenant of docs/sources/nmbrs.md (today = 2026-07-01). */
export function syntheticTenant(): SimTenant {
  const ict: SimCodeDesc = { Id: 31, Code: '2', Description: 'Informatievoorziening' };
  const hr: SimCodeDesc = { Id: 30, Code: '1', Description: 'Personeelszaken' };
  const cc = (code: string, desc: string, pct = 100): SimCostCenter => ({
    Id: 55,
    CostCenter: { Id: 61, Code: code, Description: desc },
    Kostensoort: { Code: '4000', Description: 'Salaris' },
    Percentage: pct,
    Default: true,
  });
  const jan = {
    Number: 1,
    FirstName: 'Jan',
    Name: 'de Vries',
    Department: 'Informatievoorziening',
    Function: 'Teamleider ICT',
    PhoneNumber: '030-1234567',
    Mobile: '',
    Fax: '',
    Email: 'j.devries@voorbeeld.nl',
  };
  return {
    auth: { username: 'api@voorbeeld.nl', token: '0123abcd', domain: 'voorbeeld' },
    companies: [{ id: 12345, number: 1, name: 'Voorbeeld B.V.', debtorId: 777 }],
    debtors: [{ id: 777, departments: [hr, ict] }],
    employees: [
      {
        employeeId: 501,
        companyId: 12345,
        BSN: '123456782',
        personalInfos: [
          {
            Id: 9101,
            EmployeeNumber: 1,
            DisplayName: 'Jan de Vries',
            FirstName: 'Jan Pieter',
            Initials: 'J.P.',
            Prefix: 'de',
            LastName: 'Vries',
            Nickname: 'Jan',
            Gender: 'male',
            Naamstelling: 1,
            EmailWork: 'j.vries@voorbeeld.nl',
            TelephoneMobileWork: '06-12345678',
            Birthday: '1980-04-12T00:00:00',
            CreationDate: '2015-02-20T10:00:00',
            StartPeriod: 3,
            StartYear: 2015,
            PartnerPrefix: null,
            PartnerLastName: null,
          },
          {
            Id: 9102,
            EmployeeNumber: 1,
            DisplayName: 'Jan de Vries',
            FirstName: 'Jan Pieter',
            Initials: 'J.P.',
            Prefix: 'de',
            LastName: 'Vries',
            Nickname: 'Jan',
            Gender: 'male',
            Naamstelling: 1,
            EmailWork: 'j.devries@voorbeeld.nl',
            Birthday: '1980-04-12T00:00:00',
            CreationDate: '2025-11-03T09:12:00',
            StartPeriod: 11,
            StartYear: 2025,
          },
        ],
        employments: [
          {
            EmploymentId: 7701,
            CreationDate: '2015-02-20T10:00:00',
            StartDate: '2015-03-01T00:00:00',
            EndDate: null,
            InitialStartDate: '2015-03-01T00:00:00',
          },
          {
            EmploymentId: 7702,
            CreationDate: '2025-12-01T10:00:00',
            StartDate: '2026-01-01T00:00:00',
            EndDate: '2026-12-31T00:00:00',
            InitialStartDate: '2026-01-01T00:00:00',
          },
        ],
        department: ict,
        function: { Id: 42, Code: '100', Description: 'Teamleider ICT' },
        manager: {
          Number: null,
          FirstName: 'Directie',
          Name: 'Voorbeeld',
          Email: 'directie@voorbeeld.nl',
        },
        costCenters: [cc('KP050', 'Kostenplaats Staf', 20), cc('KP100', 'Kostenplaats ICT', 80)],
      },
      {
        employeeId: 502,
        companyId: 12345,
        personalInfos: [
          {
            Id: 9201,
            EmployeeNumber: 2,
            DisplayName: 'Petra Bakker',
            FirstName: 'Petra',
            Initials: 'P.',
            LastName: 'Bakker',
            Nickname: 'Petra',
            Gender: 'female',
            Naamstelling: 1,
            EmailWork: 'p.bakker@voorbeeld.nl',
            Birthday: '1975-09-30T00:00:00',
            CreationDate: '2010-05-20T08:00:00',
          },
        ],
        employments: [
          {
            EmploymentId: 7801,
            CreationDate: '2010-05-20T08:00:00',
            StartDate: '2010-06-01T00:00:00',
            EndDate: '2026-05-15T00:00:00',
            InitialStartDate: '2010-06-01T00:00:00',
          },
        ],
        department: hr,
        function: { Id: 43, Code: '0', Description: 'HR-adviseur' },
        manager: jan,
        costCenters: [cc('KP200', 'Kostenplaats HR')],
      },
      {
        employeeId: 503,
        companyId: 12345,
        personalInfos: [
          {
            Id: 9301,
            EmployeeNumber: 3,
            DisplayName: 'Sanne de Jong-van den Berg',
            FirstName: 'Sanne',
            Initials: 'S.',
            Prefix: 'van den',
            LastName: 'Berg',
            Nickname: 'Sanne',
            Gender: 'female',
            Naamstelling: 3,
            PartnerPrefix: 'de',
            PartnerLastName: 'Jong',
            EmailWork: 's.jong@voorbeeld.nl',
            TitleAfter: 'MSc',
            Birthday: '0001-01-01T00:00:00',
            CreationDate: '2022-08-15T14:30:00',
          },
        ],
        employments: [
          {
            EmploymentId: 7901,
            CreationDate: '2022-08-15T14:30:00',
            StartDate: '2022-09-01T00:00:00',
            EndDate: null,
            InitialStartDate: '2022-09-01T00:00:00',
          },
        ],
        department: ict,
        function: { Id: 41, Code: '101', Description: 'Systeembeheerder' },
        manager: jan,
        costCenters: [cc('KP100', 'Kostenplaats ICT')],
      },
    ],
  };
}

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Anna',
  'Bram',
  'Daan',
  'Emma',
  'Fenna',
  'Jeroen',
  'Lotte',
  'Mehmet',
  'Noor',
  'Ruben',
  'Saskia',
  'Thijs',
  'Yara',
  'Zoë',
];
const LAST: [string | undefined, string][] = [
  [undefined, 'Jansen'],
  ['de', 'Boer'],
  ['van', 'Dijk'],
  ['van den', 'Heuvel'],
  [undefined, 'Öztürk'],
  ["'t", 'Hart'],
  ['de', 'Groot'],
  [undefined, 'Smit'],
  ['van der', 'Meer'],
  [undefined, 'Mulder'],
];

export interface GenerateOptions {
  employees: number;
  companies?: number;
  seed?: number;
}

/**
 * A tenant of any size: employees spread over companies (ids 2001…), one debtor (888) with 8
 * departments; about 1 in 10 has two employments, 1 in 8 has left (half of them more than 90 days
 * ago), conventions cycle through 1-4, managers are the first employee of each department by e-mail,
 * and every 7th employee has no Nickname (FirstName fallback).
 */
export function generateTenant(o: GenerateOptions): SimTenant {
  const rand = rng(o.seed ?? 42);
  const nCompanies = Math.max(1, o.companies ?? 1);
  const departments: SimCodeDesc[] = Array.from({ length: 8 }, (_, i) => ({
    Id: 100 + i,
    Code: `D${i + 1}`,
    Description: `Afdeling ${i + 1}`,
  }));
  const employees: SimEmployee[] = [];
  const heads = new Map<string, SimEmployee>();
  for (let i = 0; i < o.employees; i++) {
    const id = 10_000 + i;
    const first = FIRST[Math.floor(rand() * FIRST.length)] as string;
    const [prefix, last] = LAST[Math.floor(rand() * LAST.length)] as [string | undefined, string];
    const [pPrefix, pLast] = LAST[Math.floor(rand() * LAST.length)] as [string | undefined, string];
    const conv = (i % 4) + 1;
    const partner = conv !== 1;
    const dept = departments[i % departments.length] as SimCodeDesc;
    const startYear = 2000 + Math.floor(rand() * 26);
    const left = i % 8 === 7;
    const endDate = left ? (i % 16 === 15 ? '2025-12-31T00:00:00' : '2026-06-15T00:00:00') : null;
    const email = `${first.toLowerCase().replace(/[^a-z]/g, '')}.${i}@example.test`;
    const e: SimEmployee = {
      employeeId: id,
      companyId: 2001 + (i % nCompanies),
      personalInfos: [
        {
          Id: 500_000 + i,
          EmployeeNumber: Math.floor(i / nCompanies) + 1,
          DisplayName: `${first} ${prefix ? `${prefix} ` : ''}${last}`,
          FirstName: first,
          Initials: `${first[0]}.`,
          Prefix: prefix ?? null,
          LastName: last,
          Nickname: i % 7 === 6 ? null : first,
          Gender: rand() < 0.5 ? 'male' : 'female',
          Naamstelling: conv,
          PartnerPrefix: partner ? (pPrefix ?? null) : null,
          PartnerLastName: partner ? pLast : null,
          EmailWork: email,
          TelephoneWork: `020-${String(1_000_000 + i).slice(1)}`,
          Birthday: i % 5 === 0 ? '0001-01-01T00:00:00' : '1985-01-01T00:00:00',
          CreationDate: `${startYear}-01-15T09:00:00`,
        },
      ],
      employments: [
        {
          EmploymentId: 800_000 + i * 2,
          CreationDate: `${startYear}-01-15T09:00:00`,
          StartDate: `${startYear}-02-01T00:00:00`,
          EndDate: endDate,
          InitialStartDate: `${startYear}-02-01T00:00:00`,
        },
        ...(i % 10 === 3
          ? [
              {
                EmploymentId: 800_000 + i * 2 + 1,
                CreationDate: '2026-01-01T09:00:00',
                StartDate: '2026-01-01T00:00:00',
                EndDate: '2026-12-31T00:00:00',
                InitialStartDate: '2026-01-01T00:00:00',
              },
            ]
          : []),
      ],
      department: dept,
      function: { Id: 200 + (i % 5), Code: String(300 + (i % 5)), Description: `Functie ${i % 5}` },
      costCenters: [
        {
          Id: 900 + i,
          CostCenter: { Id: 60 + (i % 3), Code: `KP${i % 3}`, Description: `Kostenplaats ${i % 3}` },
          Percentage: 100,
          Default: true,
        },
      ],
    };
    const head = heads.get(dept.Code as string);
    if (head) {
      const hpi = head.personalInfos[0] as SimPersonalInfo;
      e.manager = { Number: hpi.EmployeeNumber, FirstName: hpi.FirstName, Name: hpi.LastName, Email: hpi.EmailWork };
    } else {
      heads.set(dept.Code as string, e);
      e.manager = null;
    }
    employees.push(e);
  }
  return {
    auth: { username: 'api@example.test', token: 'generated-token-5f1c', domain: 'example' },
    companies: Array.from({ length: nCompanies }, (_, i) => ({
      id: 2001 + i,
      number: i + 1,
      name: `Bedrijf ${i + 1}`,
      debtorId: 888,
    })),
    debtors: [{ id: 888, departments }],
    employees,
  };
}
