/**
 * Options of the Nmbrs SOAP v3 source (docs/sources/nmbrs.md). Every point that could not be
 * verified against a live tenant is a setting here, with the default documented in docs/sources/nmbrs.md.
 */
import { z } from 'zod';
import { NameConvention } from '../../../domain/model.js';

const SOURCE_ID = /^[a-z][a-z0-9-]{0,31}$/;
const Positive = z.int().positive();

/** The PersonalInfo fields the connector knows, in the order it emits them (schema order; unverified). */
export const PERSONAL_INFO_ORDER = [
  'Id',
  'Number',
  'EmployeeNumber',
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
  'Title',
  'TitleAfter',
] as const;
export type PersonalInfoField = (typeof PERSONAL_INFO_ORDER)[number];
const PersonalInfoFieldSchema = z.enum(PERSONAL_INFO_ORDER);

/** Naamstelling enum names (unverified: the Python SDK treats the field as a free string). */
export const DEFAULT_NAAMSTELLING_NAMES: Record<string, NameConvention> = {
  eigen: 'B',
  own: 'B',
  partner: 'P',
  partnereigen: 'PB',
  partnerown: 'PB',
  eigenpartner: 'BP',
  ownpartner: 'BP',
};

export const NmbrsSourceOptions = z.object({
  /** Source id, the prefix of every person key (`nmbrs:501`). */
  id: z.string().regex(SOURCE_ID, 'source id must be lower-case letters, digits or hyphen').default('nmbrs'),
  /** Scheme and host of the API (`https://api.nmbrs.nl`; Sweden `https://api.nmbrs.se`). */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.nmbrs.nl'),
  /** Path of the SOAP services under the base URL. */
  servicePath: z
    .string()
    .regex(/^\/[A-Za-z0-9/._-]*$/)
    .default('/soap/v3'),
  /** XML namespace base of the services (the body element namespace is `<base>/<Service>`). */
  namespaceBase: z.url().default('https://api.nmbrs.nl/soap/v3'),
  username: z.string().trim().min(1, 'is empty').max(200),
  token: z.string().min(1, 'is empty').max(500),
  /** Customer login sub-domain; required with `authHeader: 'withDomain'`. */
  domain: z.string().trim().min(1).max(200).optional(),
  /** `withDomain` = `AuthHeaderWithDomain` (v3), `plain` = `AuthHeader` (Username + Token only). */
  authHeader: z.enum(['withDomain', 'plain']).default('withDomain'),
  /** Domain form sent (unverified which one Nmbrs accepts): `mycompany` or `mycompany.nmbrs.nl`. */
  domainFormat: z.enum(['subdomain', 'hostname', 'asGiven']).default('subdomain'),
  /** Company ids to import, or `'all'` (CompanyService `List_GetAll`). */
  companies: z.union([z.literal('all'), z.array(Positive).min(1)]),
  /** Operation of CompanyService listing all companies (unverified for v3). */
  allCompaniesOperation: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('List_GetAll'),
  /** Debtors whose departments are imported (DebtorService `Department_GetList`); empty = from the contracts. */
  debtorIds: z.array(Positive).default([]),
  /** Employments that ended more than this many days ago are dropped; no employment left = no person. */
  endDateThresholdDays: z.int().min(0).max(3650).default(90),
  /** Reference date `YYYY-MM-DD`; default today in `timeZone`. */
  today: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  timeZone: z.string().default('Europe/Amsterdam'),
  soapVersion: z.enum(['1.1', '1.2']).default('1.2'),
  /** Timeout of one per-employee call. */
  timeoutMs: z.int().min(100).max(600_000).default(30_000),
  /** Timeout of one company-wide call (these can be slow for big companies). */
  bulkTimeoutMs: z.int().min(100).max(3_600_000).default(300_000),
  /** Parallel per-employee calls. */
  concurrency: z.int().min(1).max(32).default(4),
  /** Client-side pacing (Nmbrs fair use: about 150 calls/s, then a 0.5 s delay is added). */
  maxCallsPerSecond: z.number().positive().max(10_000).default(100),
  /** Retries of a transient failure (5xx without a SOAP fault, network error, timeout). */
  maxRetries: z.int().min(0).max(10).default(3),
  retryBaseDelayMs: z.int().min(0).max(60_000).default(500),
  /** 429 answers are waited out (Retry-After); at most this many waits per call ... */
  maxRateLimitWaits: z.int().min(0).max(100).default(10),
  /** ... each at most this long. */
  maxRetryAfterMs: z.int().min(0).max(600_000).default(60_000),
  /** Refuse a response body larger than this. */
  maxResponseBytes: z
    .int()
    .min(1024)
    .max(2 ** 31)
    .default(512 * 1024 * 1024),

  // ---- switches for points the spec marks unverified
  /** Naamstelling wire format: digits `1`-`4`, enum names, or either. */
  naamstellingFormat: z.enum(['auto', 'digit', 'name']).default('auto'),
  /** Enum name (lower-case, without spaces, `-`, `/`, `_`, `.`) → convention. */
  naamstellingNames: z.record(z.string(), NameConvention).default(DEFAULT_NAAMSTELLING_NAMES),
  /** An unknown Naamstelling: treat as `B` (as HelloID does) or reject the person. */
  unknownNaamstelling: z.enum(['B', 'reject']).default('B'),
  /** Nickname empty: use the first word of FirstName, or reject the person. */
  nickNameFallback: z.enum(['firstName', 'none']).default('firstName'),
  /** The business phone: first non-empty of these fields (HelloID uses TelephoneMobileWork only). */
  businessPhoneFrom: z
    .array(z.enum(['TelephoneWork', 'TelephoneMobileWork']))
    .default(['TelephoneWork', 'TelephoneMobileWork']),
  /** Title code from function `Code` (falls back to `Id` when Code is empty or "0") or from `Id`. */
  titleCodeFrom: z.enum(['code', 'id']).default('code'),
  /** Resolve `Manager_GetCurrent` to an employee by e-mail against EmailWork, or not at all. */
  managerMatch: z.enum(['email', 'none']).default('email'),
  fetchCostCenter: z.boolean().default(true),
  /** Employees in `List_GetByCompany` but missing from the bulk personal info: `PersonalInfo_GetCurrent` each. */
  personalInfoFallback: z.boolean().default(true),
  /** `EmployeeType` (= active filter) sent to `List_GetByCompany`: 0 active, 1 not active, 2 all. */
  listEmployeeType: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(2),
  /**
   * `all` (default): read, modify, write: every field of the current record is sent back with the
   * new EmailWork, so an update that clears fields it is not sent (unconfirmed for Nmbrs) loses
   * nothing. `mandatory`: only `writeBackResendFields` and EmailWork (the smallest update).
   */
  writeBackFields: z.enum(['all', 'mandatory']).default('all'),
  /** Fields that must be in the current record and are always sent (mandatory set unverified). */
  writeBackResendFields: z
    .array(PersonalInfoFieldSchema)
    .default(['Id', 'Number', 'EmployeeNumber', 'LastName', 'Birthday']),
  /** Element order of `PersonalInfo` in the update (schema order unverified). */
  personalInfoOrder: z.array(PersonalInfoFieldSchema).default([...PERSONAL_INFO_ORDER]),
});
export type NmbrsSourceOptions = z.input<typeof NmbrsSourceOptions>;
export type NmbrsSettings = z.output<typeof NmbrsSourceOptions>;

/** Parse options; the error names the fields only, never a value (the token stays out of it). */
export function parseNmbrsOptions(input: NmbrsSourceOptions): NmbrsSettings {
  const res = NmbrsSourceOptions.safeParse(input);
  if (!res.success) {
    const what = res.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new Error(`nmbrs source: invalid options (${what})`);
  }
  const s = res.data;
  if (s.authHeader === 'withDomain' && !s.domain) {
    throw new Error('nmbrs source: invalid options (domain: required with authHeader "withDomain")');
  }
  return s;
}

/** The Domain header value in the configured form. */
export function domainValue(domain: string, format: NmbrsSettings['domainFormat']): string {
  const bare = domain
    .trim()
    .replace(/^https?:\/\//i, '')
    .replace(/\/.*$/, '');
  if (format === 'asGiven') return domain.trim();
  const short = bare.replace(/\.nmbrs\.(nl|se|com)$/i, '');
  return format === 'subdomain' ? short : `${short}.nmbrs.nl`;
}
