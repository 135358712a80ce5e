/**
 * Options of the Visma Raet source (docs/sources/raet.md). Every point that could not be
 * verified against a live tenant is a setting here rather than a guess in code.
 */
import { z } from 'zod';

const Url = z.url({ protocol: /^https?$/ });

export const RaetSourceOptions = z
  .object({
    /** Source id, prefix of every person key (`raet:100001`). */
    id: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/)
      .default('raet'),
    /** HR Core Beaufort (Youforce) or HR Core Business (YouServe, time-sliced records). */
    variant: z.enum(['beaufort', 'business']).default('beaufort'),
    /** `https://api.youforce.com` (Beaufort) or `https://api.youserve.nl` (Business). */
    baseUrl: Url,
    /** Token endpoint; default per auth style: Visma Connect, or `<baseUrl>/authentication/token` (legacy). */
    tokenUrl: Url.optional(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    /** Visma Connect tenant id (sent as `tenant_id`; the newer guide calls it optional). */
    tenantId: z.string().min(1).optional(),
    /**
     * Unverified for Business: Visma Connect (`tenant_id` in the token form, bearer only) or the
     * legacy token with `X-Client-Id` / `X-Raet-Tenant-Id` headers. Default: visma-connect.
     */
    authStyle: z.enum(['visma-connect', 'legacy']).default('visma-connect'),
    /** Refresh the cached token this many seconds before `expires_in` runs out. */
    tokenRefreshMarginSec: z.number().int().min(0).max(1800).default(120),
    /** IAM path prefix. */
    apiPath: z.string().startsWith('/').default('/iam/v1.0'),
    extensionsPath: z.string().startsWith('/').default('/extensions/v1.0/iam'),
    /** `take` per page. Whether more than 500 is honoured is unverified: default 500. */
    pageSize: z.number().int().min(1).max(10_000).default(500),
    /**
     * How to follow `nextLink` (format unverified): `query` re-uses only its query string on our own
     * base path (what HelloID does); `absolute` follows the URL as given, same origin only.
     */
    nextLinkMode: z.enum(['query', 'absolute']).default('query'),
    /** Give up on an endpoint after this many pages (bounds the paging loop). */
    maxPages: z.number().int().min(1).default(10_000),
    rateLimit: z
      .object({
        callsPerWindow: z.number().int().min(1).default(100),
        windowMs: z.number().int().min(1).default(60_000),
        concurrency: z.number().int().min(1).max(16).default(3),
        /** Spike arrest: 0.6 s between calls. Whether strictly enforced is unverified; 0 turns it off. */
        minSpacingMs: z.number().int().min(0).default(600),
        maxRateLimitWaits: z.number().int().min(1).default(100),
        maxRetryAfterMs: z.number().int().min(1).default(120_000),
        rateLimitFallbackMs: z.number().int().min(1).default(1_000),
      })
      .prefault({}),
    timeouts: z
      .object({
        requestMs: z.number().int().min(100).default(30_000),
        tokenMs: z.number().int().min(100).default(15_000),
      })
      .prefault({}),
    retries: z
      .object({
        max: z.number().int().min(0).max(10).default(3),
        baseMs: z.number().int().min(0).default(500),
        maxMs: z.number().int().min(0).default(10_000),
      })
      .prefault({}),
    /** Contracts from assignments (default, HelloID) or one per employment. Beaufort only. */
    contractSource: z.enum(['assignments', 'employments']).default('assignments'),
    /** Assignment mode: an employment without an active assignment becomes a contract itself. */
    includeEmploymentsWithoutAssignments: z.boolean().default(false),
    /** Drop persons without any contract (HelloID default on). */
    excludePersonsWithoutContracts: z.boolean().default(true),
    /** Department key (flip-flopped in HelloID): OU `shortName` or `id`. Default per variant. */
    departmentKey: z.enum(['shortName', 'id']).optional(),
    /** Role code of managers in roleAssignments. */
    managerRoleCode: z.string().min(1).default('MGR'),
    /** Fill `contract.managerKey` with the department's manager (HelloID derives it so). */
    contractManagerFromDepartment: z.boolean().default(true),
    /** A manager of their own department reports to the parent department's manager. */
    selfManagedUseParent: z.boolean().default(true),
    /** `9999-12-31` (and later) end dates become open-ended. HelloID skips this for Business; docs/sources/model.md says normalise. */
    openEndSentinel: z.string().default('9999-12-31'),
    /** Read `/extensions/v1.0/iam/persons` into `person.custom` (key = bo4FieldCode without spaces). */
    includeExtensions: z.boolean().default(false),
    /**
     * Beaufort `nameAssembleOrder` letters → convention (C vs D unverified, both BP). Override per tenant.
     */
    beaufortNameOrder: z.record(z.string(), z.enum(['B', 'P', 'BP', 'PB'])).default({
      E: 'B',
      P: 'P',
      B: 'PB',
      C: 'BP',
      D: 'BP',
    }),
    /** Business digits → convention (meaning of 4 unverified). */
    businessNameOrder: z.record(z.string(), z.enum(['B', 'P', 'BP', 'PB'])).default({
      '0': 'PB',
      '1': 'B',
      '2': 'P',
      '3': 'BP',
      '4': 'B',
    }),
    /** Business: keep employee slices ending at most this many days ago / starting within this many days. */
    businessLookBackDays: z.number().int().min(0).default(90),
    businessLookAheadDays: z.number().int().min(0).default(90),
    /** Business: keep employment slices that ended at most this many days ago (HelloID: 0, leavers vanish at once). */
    businessEmploymentLookBackDays: z.number().int().min(0).default(0),
    /** Reference date `YYYY-MM-DD` (tests); default today in `timeZone`. */
    today: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional(),
    timeZone: z.string().default('Europe/Amsterdam'),
    writeBack: z
      .object({
        /** Identity (UPN) via the users endpoint; must be enabled at Raet first. */
        identity: z.boolean().default(true),
        /** Which value becomes the Youforce identity. */
        identityFrom: z.enum(['userPrincipalName', 'businessEmail', 'username']).default('userPrincipalName'),
        /** Business e-mail via ContactDetails (Beaufort only). */
        contactDetails: z.boolean().default(true),
        /** Compare identities case-insensitively (whether the API does is unverified). */
        identityCaseInsensitive: z.boolean().default(false),
      })
      .prefault({}),
  })
  .strict();

export type RaetSourceOptions = z.input<typeof RaetSourceOptions>;
export type RaetSourceConfig = z.output<typeof RaetSourceOptions>;
