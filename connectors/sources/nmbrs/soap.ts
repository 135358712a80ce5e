/**
 * A small SOAP 1.1/1.2 client for the Nmbrs v3 services (docs/sources/nmbrs.md). Envelopes are built with
 * fast-xml-parser's XMLBuilder (every value escaped by the builder) and answers parsed with its
 * XMLParser; nothing is concatenated into XML by hand.
 *
 * Failures:
 * - a SOAP fault (HTTP 500 with a Fault body) → NmbrsFaultError, never retried (auth, validation);
 * - 429 → wait for Retry-After (bounded number of waits), then try again;
 * - 5xx without a fault, network errors and timeouts → retried with exponential backoff, bounded;
 * - anything else → NmbrsError.
 * The token never appears in a message: fault texts are scrubbed of it.
 */
import { parseRetryAfter } from '../../http.js';
import { isRefusedRedirect, requireHttps } from '../../transport.js';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

export type NmbrsService = 'EmployeeService' | 'DebtorService' | 'CompanyService';

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

export type NmbrsErrorKind = 'auth' | 'fault' | 'transport' | 'http' | 'rateLimit' | 'protocol' | 'notFound';

export class NmbrsError extends Error {
  constructor(
    readonly kind: NmbrsErrorKind,
    /** `EmployeeService.PersonalInfo_GetCurrent` */
    readonly operation: string,
    message: string,
    readonly status?: number,
  ) {
    super(`Nmbrs ${operation}: ${message}`);
    this.name = 'NmbrsError';
  }
}

export class NmbrsFaultError extends NmbrsError {
  constructor(
    operation: string,
    /** Numeric Nmbrs error code from the fault text, when there is one. */
    readonly code: number | undefined,
    /** The fault text (token removed). */
    readonly faultText: string,
    readonly faultCode: string,
    status?: number,
  ) {
    const auth = code !== undefined && code >= 1001 && code <= 1003;
    super(
      auth ? 'auth' : 'fault',
      operation,
      auth
        ? `authentication failed (${faultText}); check the username, token and domain of the API user`
        : `SOAP fault ${faultCode ? `${faultCode}: ` : ''}${faultText}`,
      status,
    );
    this.name = 'NmbrsFaultError';
  }
}

export interface SoapClientConfig {
  baseUrl: string;
  servicePath: string;
  namespaceBase: string;
  soapVersion: '1.1' | '1.2';
  auth: { header: 'withDomain' | 'plain'; username: string; token: string; domain?: string };
  maxRetries: number;
  retryBaseDelayMs: number;
  maxRateLimitWaits: number;
  maxRetryAfterMs: number;
  maxCallsPerSecond: number;
  maxResponseBytes: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** A request parameter tree: element name → value; arrays repeat the element; null = xsi:nil. */
export type SoapValue = string | number | boolean | null | undefined | SoapParams | SoapValue[];
export interface SoapParams {
  [element: string]: SoapValue;
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
  suppressBooleanAttributes: false,
  processEntities: true,
});

/** Parser for SOAP answers: namespace prefixes removed, all values kept as strings. */
export function soapParser(isArray?: (name: string, path: string) => boolean): XMLParser {
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    htmlEntities: true,
    isArray: isArray ? (name, jpath, _leaf, isAttr) => !isAttr && isArray(name, String(jpath)) : undefined,
  });
}

/** Elements that are lists in Nmbrs answers (by element name, or `parent.name` where names are reused). */
const LIST_ELEMENTS = new Set([
  'PersonalInfoItem',
  'PersonalInfo_V2',
  'EmployeeEmploymentItem',
  'Employment',
  'Employee',
  'EmployeeCostCenter',
  'Company',
]);
export function isNmbrsList(name: string, path: string): boolean {
  if (LIST_ELEMENTS.has(name)) return true;
  return name === 'Department' && path.endsWith('Department_GetListResult.Department');
}

const responseParser = soapParser(isNmbrsList);

/** Add the namespace prefix to every element of a parameter tree; null → `xsi:nil`. */
function prefixed(v: SoapValue, prefix: string): unknown {
  if (v === null) return { '@_xsi:nil': 'true' };
  if (Array.isArray(v)) return v.map((x) => prefixed(x, prefix));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      out[`${prefix}:${k}`] = prefixed(x, prefix);
    }
    return out;
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return v === undefined ? '' : String(v);
}

export function buildEnvelope(opts: {
  soapVersion: '1.1' | '1.2';
  namespace: string;
  header?: SoapParams;
  operation: string;
  params: SoapParams;
}): string {
  const env: Record<string, unknown> = {
    '@_xmlns:soap': opts.soapVersion === '1.2' ? SOAP12_NS : SOAP11_NS,
    '@_xmlns:xsi': XSI_NS,
    '@_xmlns:n': opts.namespace,
  };
  if (opts.header) env['soap:Header'] = prefixed(opts.header, 'n');
  env['soap:Body'] = { [`n:${opts.operation}`]: prefixed(opts.params, 'n') };
  return (
    builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'utf-8' }, 'soap:Envelope': env }) as string
  ).toString();
}

/** Text of a parsed element: nil, empty element and whitespace are `undefined`. */
export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (o['@_nil'] === 'true') return undefined;
    return text(o['#text']);
  }
  return undefined;
}

/** The element as an object (`undefined` for nil / empty / text). */
export function obj(v: unknown): Record<string, unknown> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  return o['@_nil'] === 'true' ? undefined : o;
}

export function list(v: unknown): Record<string, unknown>[] {
  const arr = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return arr.map((x) => obj(x)).filter((x): x is Record<string, unknown> => x !== undefined);
}

export interface ParsedFault {
  code: string;
  text: string;
}

/** The Fault of a parsed envelope (SOAP 1.1 faultcode/faultstring or 1.2 Code/Reason), if any. */
export function faultOf(doc: unknown): ParsedFault | undefined {
  const body = obj(obj(obj(doc)?.Envelope)?.Body);
  const fault = obj(body?.Fault);
  if (!fault) return undefined;
  const code = text(fault.faultcode) ?? text(obj(fault.Code)?.Value) ?? '';
  const reason = obj(fault.Reason);
  const reasonText = Array.isArray(reason?.Text) ? reason.Text[0] : reason?.Text;
  const msg = text(fault.faultstring) ?? text(reasonText) ?? 'no fault text';
  return { code: code.replace(/^[A-Za-z0-9_-]+:/, ''), text: msg };
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class NmbrsSoapClient {
  private readonly sleep: (ms: number) => Promise<void>;
  private nextSlot = 0;
  /** Calls made (for tests and logs). */
  calls = 0;

  constructor(private readonly cfg: SoapClientConfig) {
    this.sleep = cfg.sleep ?? sleepReal;
  }

  namespace(service: NmbrsService): string {
    return `${this.cfg.namespaceBase.replace(/\/+$/, '')}/${service}`;
  }

  url(service: NmbrsService): string {
    return `${this.cfg.baseUrl.replace(/\/+$/, '')}${this.cfg.servicePath.replace(/\/+$/, '')}/${service}.asmx`;
  }

  private scrub(s: string): string {
    const t = this.cfg.auth.token;
    return t ? s.split(t).join('[token]') : s;
  }

  private authHeader(): SoapParams {
    const { header, username, token, domain } = this.cfg.auth;
    return header === 'withDomain'
      ? { AuthHeaderWithDomain: { Username: username, Token: token, Domain: domain ?? '' } }
      : { AuthHeader: { Username: username, Token: token } };
  }

  /** Space call starts at least 1/maxCallsPerSecond apart (shared by all concurrent calls). */
  private async pace(): Promise<void> {
    const gap = 1000 / this.cfg.maxCallsPerSecond;
    const now = Date.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + gap;
    if (at - now >= 1) await this.sleep(at - now);
  }

  /**
   * Call one operation and return the content of its `<Operation>Result` element (`undefined` when
   * empty or nil). Throws NmbrsError / NmbrsFaultError.
   */
  async call(
    service: NmbrsService,
    operation: string,
    params: SoapParams,
    timeoutMs: number,
  ): Promise<Record<string, unknown> | string | undefined> {
    const opName = `${service}.${operation}`;
    const ns = this.namespace(service);
    const action = `${ns}/${operation}`;
    const body = buildEnvelope({
      soapVersion: this.cfg.soapVersion,
      namespace: ns,
      header: this.authHeader(),
      operation,
      params,
    });
    const headers: Record<string, string> =
      this.cfg.soapVersion === '1.2'
        ? { 'content-type': `application/soap+xml; charset=utf-8; action="${action}"` }
        : { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${action}"` };

    let attempt = 0;
    let waits = 0;
    for (;;) {
      requireHttps(`Nmbrs ${opName}`, this.url(service));
      await this.pace();
      this.calls++;
      let res: Response;
      let xml: string;
      try {
        // The SOAP header carries the token: a redirect is refused, never followed.
        res = await fetch(this.url(service), {
          method: 'POST',
          headers,
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
        xml = await readBody(res, this.cfg.maxResponseBytes);
      } catch (e) {
        if (e instanceof TooLarge) throw new NmbrsError('protocol', opName, e.message);
        if (isRefusedRedirect(e))
          throw new NmbrsError('transport', opName, 'answered with a redirect, which is never followed');
        const err = e as Error;
        const why =
          err.name === 'TimeoutError' || err.name === 'AbortError'
            ? `no answer within ${timeoutMs} ms`
            : `${err.message}${(err.cause as Error | undefined)?.message ? ` (${(err.cause as Error).message})` : ''}`;
        if (attempt < this.cfg.maxRetries) {
          await this.sleep(this.backoff(attempt++));
          continue;
        }
        throw new NmbrsError('transport', opName, `${this.scrub(why)}; gave up after ${attempt + 1} attempts`);
      }

      if (res.status === 429) {
        const wait = parseRetryAfter(res.headers.get('retry-after'), Date.now()) ?? this.backoff(waits);
        if (waits >= this.cfg.maxRateLimitWaits) {
          throw new NmbrsError('rateLimit', opName, `still rate limited (429) after ${waits} waits`, 429);
        }
        waits++;
        await this.sleep(Math.min(wait, this.cfg.maxRetryAfterMs));
        continue;
      }

      let doc: unknown;
      let parseError: string | undefined;
      if (/<!DOCTYPE/i.test(xml)) parseError = 'answer contains a DOCTYPE (not allowed in SOAP)';
      else if (xml.trim() === '') parseError = 'empty answer';
      else {
        try {
          doc = responseParser.parse(xml);
        } catch (e) {
          parseError = `answer is not XML (${(e as Error).message.slice(0, 200)})`;
        }
      }
      const fault = doc === undefined ? undefined : faultOf(doc);
      if (fault) {
        const t = this.scrub(fault.text);
        const m = /\b(\d{4})\b/.exec(t);
        throw new NmbrsFaultError(opName, m ? Number(m[1]) : undefined, t, fault.code, res.status);
      }
      if (res.status >= 500) {
        if (attempt < this.cfg.maxRetries) {
          await this.sleep(this.backoff(attempt++));
          continue;
        }
        throw new NmbrsError('http', opName, `HTTP ${res.status}; gave up after ${attempt + 1} attempts`, res.status);
      }
      if (res.status < 200 || res.status >= 300) {
        throw new NmbrsError('http', opName, `HTTP ${res.status}`, res.status);
      }
      if (parseError) throw new NmbrsError('protocol', opName, parseError, res.status);
      const bodyEl = obj(obj(obj(doc)?.Envelope)?.Body);
      if (!bodyEl) throw new NmbrsError('protocol', opName, 'answer has no SOAP Body', res.status);
      const response = bodyEl[`${operation}Response`];
      if (response === undefined) {
        throw new NmbrsError('protocol', opName, `answer has no ${operation}Response element`, res.status);
      }
      const result = obj(response)?.[`${operation}Result`];
      if (result === undefined) return undefined;
      return obj(result) ?? text(result);
    }
  }

  private backoff(attempt: number): number {
    return this.cfg.retryBaseDelayMs * 2 ** attempt;
  }
}

class TooLarge extends Error {}

async function readBody(res: Response, max: number): Promise<string> {
  const len = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(len) && len > max) {
    await res.body?.cancel();
    throw new TooLarge(`answer is ${len} bytes, over the limit of ${max}`);
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) {
      throw new TooLarge(`answer is over the limit of ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}
