/**
 * Options of the Visma.net HRM source (docs/sources/vismanet.md), validated with zod. Every point that
 * could not be verified against a live tenant is a setting here, with the likeliest value as default.
 */
import { z } from 'zod';
import { NameConvention } from '../../../domain/model.js';
import { isValidTimeZone } from '../../../domain/dates.js';

export const DEFAULT_TOKEN_URL = 'https://connect.visma.com/connect/token';
export const DEFAULT_API_BASE_URL = 'https://api.analytics1.hrm.visma.net';

/** Scopes for the datasets this source reads (docs/sources/vismanet.md). */
export const DEFAULT_SCOPES = [
  'hrmanalytics:nlhrm:exportemployees',
  'hrmanalytics:nlhrm:exportcontracts',
  'hrmanalytics:nlhrm:exportorganizationunits',
  'hrmanalytics:nlhrm:exportmetadata',
  'hrmanalytics:nlhrm:exportusers',
] as const;
/** Private contact data ("IncludePersonalData"); not needed by Tenure. */
export const CONTACT_INFORMATION_SCOPE = 'hrmanalytics:nlhrm:exportcontactinformation';

/** Salary and scale columns HelloID excludes from the contracts export (docs/sources/vismanet.md). */
export const DEFAULT_CONTRACT_FIELDS_EXCLUDE = [
  'catsrspfactor',
  'catsscale',
  'catsscaleid',
  'catsscalename',
  'dayspw',
  'distance',
  'garsalaryhour',
  'garscaletype',
  'garstep',
  'garstepname',
  'maxdistance',
  'ptfactor',
  'rosterid',
  'salaryfulltime',
  'salaryhour',
  'salaryhourextra',
  'salaryhourort',
  'salaryhourtravel',
  'salarytype',
  'scale',
  'scaletype',
  'scaletype_en',
  'step',
  'stepname',
] as const;

/** `nameusage` label → convention (docs/sources/model.md); anything else is `B`. */
export const DEFAULT_NAME_USAGE: Record<string, NameConvention> = {
  Eigen: 'B',
  'Part./eig.': 'PB',
  Partner: 'P',
  'Eig./Part.': 'BP',
};

/** HelloID's aggregation key columns (docs/sources/vismanet.md); `placeofbirth` is not in the export (unverified). */
export const DEFAULT_AGGREGATION_FIELDS = ['initials', 'gender', 'dateofbirth', 'placeofbirth', 'birthname'] as const;

const SOURCE_ID = /^[a-z][a-z0-9-]{0,31}$/;
const ms = (def: number) => z.number().int().min(0).max(86_400_000).default(def);
const column = z
  .string()
  .trim()
  .min(1)
  .transform((s) => s.toLowerCase());

export const CustomFieldMapping = z.object({
  /** UDF `fieldname` as Visma spells it, e.g. `Werk plek` (compared exactly, after trimming). */
  field: z.string().trim().min(1),
  /** Key in `Person.custom`. */
  key: z.string().trim().min(1).max(64),
  /** Which UDF column to take. */
  attribute: z.enum(['value', 'listname', 'startdate', 'enddate']).default('value'),
});

export const VismaNetSourceOptions = z.object({
  /** Source id: person keys become `<id>:<employeeid>`. */
  id: z.string().regex(SOURCE_ID, 'must be lower-case letters, digits or hyphen').default('vismanet'),
  tokenUrl: z.url().default(DEFAULT_TOKEN_URL),
  apiBaseUrl: z.url().default(DEFAULT_API_BASE_URL),
  /** Put in every export command; HelloID sends the API base URL and polls instead. */
  callbackAddress: z.url().optional(),
  clientId: z.string().min(1, 'is empty'),
  clientSecret: z.string().min(1, 'is empty'),
  tenantId: z.string().min(1, 'is empty'),
  scopes: z
    .array(z.string().min(1))
    .min(1)
    .default([...DEFAULT_SCOPES]),
  /** Also request the contact-information scope (private contact data; Tenure does not map it). */
  includePersonalData: z.boolean().default(false),
  /** Renew the token this long before `expires_in` runs out. */
  tokenRenewBeforeMs: ms(60_000),

  /** Timeout of one API call (token, command, status). */
  requestTimeoutMs: ms(30_000),
  /** Timeout of one file download. */
  downloadTimeoutMs: ms(300_000),
  maxRetries: z.number().int().min(0).max(20).default(3),
  retryBaseDelayMs: ms(1_000),
  retryMaxDelayMs: ms(30_000),
  /** Rate limits are unverified: 429 answers are waited out (Retry-After), up to this in total per call. */
  maxRetryAfterMs: ms(120_000),
  maxRateLimitWaitMs: ms(600_000),

  /** First wait between two status polls (HelloID: 4 s). */
  pollIntervalMs: ms(4_000),
  /** Each further wait is the previous one times this. */
  pollBackoff: z.number().min(1).max(10).default(1.5),
  pollMaxIntervalMs: ms(30_000),
  /** Give up on a job that is not complete after this long (HelloID has no bound). */
  jobTimeoutMs: ms(3_600_000),
  /** Status names meaning "not done yet" (only `InProgress` is documented; others unverified). */
  pendingStatuses: z.array(z.string().min(1)).min(1).default(['InProgress']),
  completedStatuses: z.array(z.string().min(1)).min(1).default(['Completed']),
  /** Export jobs running at the same time. */
  maxConcurrentJobs: z.number().int().min(1).max(10).default(3),

  /** CSV quoting and encoding are unverified: comma and UTF-8 per the spec, configurable. */
  delimiter: z.enum([',', ';', '\t']).default(','),
  encoding: z.enum(['utf-8', 'windows-1252', 'iso-8859-1']).default('utf-8'),
  /**
   * Header row in every file of a multi-file result (`each`), only in the first (`first`), or
   * detected per file by comparing its first line with the first file's header (`auto`). Unverified.
   */
  multiFileHeader: z.enum(['auto', 'each', 'first']).default('auto'),
  maxFileBytes: z
    .number()
    .int()
    .min(1)
    .default(200 * 1024 * 1024),

  /** `?fields=!…` exclusion list for the contracts export. */
  contractFieldsExclude: z.array(column).default([...DEFAULT_CONTRACT_FIELDS_EXCLUDE]),
  employeeFieldsExclude: z.array(column).default([]),

  /** Contracts that ended more than this many days before today are left out; null = keep all. */
  cutOffDays: z.number().int().min(0).nullable().default(90),
  /** Leave out persons with no contract left after the cut-off (HelloID's default). */
  excludePersonsWithoutContracts: z.boolean().default(true),
  /** Organisation time zone for "today". */
  timeZone: z.string().refine(isValidTimeZone, 'unknown time zone').default('Europe/Amsterdam'),

  /** Merge employee records of one human (Visma makes one per contract) into one person. */
  aggregation: z
    .object({
      enabled: z.boolean().default(true),
      /** Employee columns that together identify a human; compared without diacritics, case-insensitive. */
      fields: z
        .array(column)
        .min(1)
        .default([...DEFAULT_AGGREGATION_FIELDS]),
      /** A record with any of these empty is never merged (an empty key would join strangers). */
      requireFields: z.array(column).default(['dateofbirth', 'birthname']),
      /**
       * A column that identifies the human for certain (e.g. a personnel number kept the same
       * across contracts). When set, records are merged on it alone. When not set, records that
       * share the `fields` key are merged only when they also agree on every `confirmFields`
       * column; otherwise they are twins or a data error, and are reported, never merged.
       */
      strongIdentifier: column.optional(),
      confirmFields: z.array(column).default(['firstname', 'nickname']),
    })
    .prefault({}),

  /** Manager hop: users.employeeid (current HelloID) or users.emailaddress = businessemailaddress (before 2025). */
  managerVia: z.enum(['employeeid', 'email']).default('employeeid'),
  /** Map `contracts.costcenter` (a name) to its code through metadata/cost-centers; false = keep the name. */
  costCenterLookup: z.boolean().default(true),
  /** fte = weekhoursfixed / this; null = no fte. The full-time week is not in the spec (unverified). */
  fullTimeHours: z.number().positive().max(80).nullable().default(36),
  /** `nameusage` label → convention; labels beyond table 1.4 are unverified. */
  nameUsageColumn: column.default('nameusage'),
  nameUsage: z.record(z.string(), NameConvention).default({ ...DEFAULT_NAME_USAGE }),

  /** Employee user-defined fields → Person.custom. Empty: the UDF export is not requested at all. */
  customFields: z.array(CustomFieldMapping).default([]),
  /** UDF rows are histories: take the row valid today (`current`, else the last row), or the last row (HelloID). */
  udfHistory: z.enum(['current', 'last-row']).default('current'),
});
export type VismaNetSourceOptions = z.input<typeof VismaNetSourceOptions>;
export type VismaNetSettings = z.output<typeof VismaNetSourceOptions>;
