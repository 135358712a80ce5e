/**
 * Configuration of the TOPdesk target connector (docs/targets/topdesk.md).
 *
 * Environment contract (topdeskConfigFromEnv):
 *   TOPDESK_URL                     https://<customer>.topdesk.net (the API lives under /tas/api)
 *   TOPDESK_USERNAME                the API user
 *   TOPDESK_APP_PASSWORD            its application password (never logged)
 *   TOPDESK_PARTNER_SOLUTION_ID     optional `Partner-Solution-Id` header (our own id, never TOOL001)
 *   TOPDESK_ARCHIVING_REASON        archiving reason name for disable/delete (default "Persoon uit organisatie")
 *   TOPDESK_BRANCH_FALLBACK         branch name used when the person has no location (default: none = error)
 *   TOPDESK_DEPARTMENT              lookup | skip (default lookup)
 *   TOPDESK_DEPARTMENT_WHEN_EMPTY   error | clear (default error, as the Tools4ever connector)
 *   TOPDESK_DEPARTMENT_WHEN_MISSING error | create (default error)
 *   TOPDESK_BUDGETHOLDER_FROM       none | departmentCode | department | company (default none)
 *   TOPDESK_BUDGETHOLDER_WHEN_EMPTY, TOPDESK_BUDGETHOLDER_WHEN_MISSING   as for departments
 *   TOPDESK_MANAGER                 1/0: manage `manager` (default 1)
 *   TOPDESK_DISABLE_NOT_FOUND       notFound | error (default notFound; the Tools4ever connector errors)
 *   TOPDESK_ARCHIVED_UPDATE         unarchive | direct: how to PATCH an archived person (default unarchive)
 *   TOPDESK_CREATE_ARCHIVED         1/0: create persons archived until enable (default 1)
 *   TOPDESK_SEARCH_ARCHIVED         1/0: correlation also asks for archived persons (default 1)
 *   TOPDESK_SCOPE_BRANCHES          comma-separated branch names Tenure may correlate in and change (default: all)
 *   TOPDESK_TICKETS                 JSON object {"<kind>": <ticket spec> | null} (see TicketSpecSchema)
 *   TOPDESK_TICKETS_DISABLED        1: grant of a ticket permission creates nothing (success, "disabled")
 *   TOPDESK_TICKET_SEARCH           fiql | param: how tickets are searched by external number (unverified)
 *   TOPDESK_TIMEOUT_MS, TOPDESK_CONCURRENCY, TOPDESK_MAX_RETRIES
 */
import { z } from 'zod';
import { envBool as flag, envInt as int } from '../../env-values.js';

const Name = z.string().trim().min(1);

/** Who asks for the ticket: the person, the person's manager, or a fixed e-mail address. */
const Requester = z.union([z.literal('employee'), z.literal('manager'), z.email()]);

const ChangeSpec = z.object({
  type: z.literal('change'),
  /** Change template `number` (e.g. "Ws 006"); must be applicable for the API user. */
  templateNumber: Name,
  /** Templates: {{firstName}} {{surName}} {{dynamicName}} {{employeeNumber}} {{email}} {{jobTitle}} {{branch}} {{department}} {{kind}} {{eventKey}} {{date}}. */
  briefDescription: Name,
  request: z.string().default(''),
  changeType: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .pipe(z.enum(['simple', 'extensive']))
    .default('simple'),
  requester: Requester.default('employee'),
  /** Used when requester is `manager` and the person has none. */
  fallbackEmail: z.email().optional(),
  action: z.string().optional(),
  category: z.string().optional(),
  subCategory: z.string().optional(),
  impact: z.string().optional(),
  benefit: z.string().optional(),
  priority: z.string().optional(),
});

const IncidentSpec = z.object({
  type: z.literal('incident'),
  briefDescription: Name,
  /** HTML allowed. Same template variables as changes. */
  request: z.string().default(''),
  action: z.string().optional(),
  requester: Requester.default('employee'),
  fallbackEmail: z.email().optional(),
  /** Branch of the incident (mandatory in TOPdesk): a branch name, default the caller's branch. */
  branch: Name.optional(),
  /** Looked up by name (operator group by groupName); subcategory within the category. */
  operatorGroup: Name.optional(),
  category: Name.optional(),
  subcategory: Name.optional(),
  callType: Name.optional(),
  impact: Name.optional(),
  priority: Name.optional(),
  duration: Name.optional(),
  entryType: Name.optional(),
  urgency: Name.optional(),
  processingStatus: Name.optional(),
  /** Case-sensitive in TOPdesk. */
  status: z.enum(['firstLine', 'secondLine']).optional(),
});

export const TicketSpecSchema = z.discriminatedUnion('type', [ChangeSpec, IncidentSpec]);
export type TicketSpec = z.output<typeof TicketSpecSchema>;

const LookupBehaviour = {
  /** Value empty: fail (the connector's default) or clear the field (`{id: null}`). */
  whenEmpty: z.enum(['error', 'clear']).default('error'),
  /** Name not found in TOPdesk: fail, or create it (`POST {name}`, the connector's "resources"). */
  whenMissing: z.enum(['error', 'create']).default('error'),
};

const positiveInt = z.number().int().positive();

export const TopdeskConfigSchema = z.object({
  /** Connector id, used as `target` in audit entries. */
  id: z.string().min(1).default('topdesk'),
  url: z
    .string()
    .trim()
    .regex(/^https?:\/\/[^/?#]+(\/[^?#]*)?$/i, 'must be http(s)://host[/path]')
    .transform((u) => u.replace(/\/+$/, '').replace(/\/tas\/api$/i, '')),
  username: Name,
  appPassword: z.string().min(1),
  /** Sent as `Partner-Solution-Id` when set. Tools4ever's TOOL001 is theirs: not accepted. */
  partnerSolutionId: z
    .string()
    .trim()
    .min(1)
    .refine((v) => v.toUpperCase() !== 'TOOL001', 'TOOL001 is the partner id of Tools4ever, not ours')
    .optional(),
  http: z
    .object({
      timeoutMs: positiveInt.default(15_000),
      concurrency: positiveInt.default(4),
      maxRetries: z.number().int().min(0).default(3),
      retryBaseMs: positiveInt.default(500),
      retryMaxMs: positiveInt.default(10_000),
    })
    .default({ timeoutMs: 15_000, concurrency: 4, maxRetries: 3, retryBaseMs: 500, retryMaxMs: 10_000 }),
  /**
   * Whether archived persons come back from `GET /persons?query=...` without `archived` is
   * unverified: with this on, an empty answer is asked again with `archived=true`.
   */
  searchArchived: z.boolean().default(true),
  /**
   * Branches (by name, case-insensitive) whose persons Tenure may correlate with and change; empty:
   * every branch. A person in another branch is never a match and never changed.
   */
  scopeBranches: z.array(Name).default([]),
  /** Archiving reason (by name, case-insensitive) used by disable and delete. */
  archivingReason: Name.default('Persoon uit organisatie'),
  /** `mainframeLoginName` marker of managed and of deleted persons. */
  markers: z
    .object({ managed: Name.default('Managed by Tenure'), deleted: Name.default('Deleted by Tenure') })
    .default({ managed: 'Managed by Tenure', deleted: 'Deleted by Tenure' }),
  branch: z
    .object({
      /** Branch name when the person has no location. None: error (branch is mandatory). */
      fallback: Name.optional(),
      /** Not found: fail (default) or create with `country` and `independentBranch`. */
      whenMissing: z.enum(['error', 'create']).default('error'),
      country: Name.default('Nederland'),
    })
    .default({ whenMissing: 'error', country: 'Nederland' }),
  department: z
    .object({ mode: z.enum(['lookup', 'skip']).default('lookup'), ...LookupBehaviour })
    .default({ mode: 'lookup', whenEmpty: 'error', whenMissing: 'error' }),
  budgetHolder: z
    .object({
      /** DesiredAccount has no cost centre: which field holds the budget holder name. */
      from: z.enum(['none', 'departmentCode', 'department', 'company']).default('none'),
      ...LookupBehaviour,
    })
    .default({ from: 'none', whenEmpty: 'error', whenMissing: 'error' }),
  manager: z
    .object({
      /** Manage the `manager` field from DesiredAccount.managerLocator. */
      enabled: z.boolean().default(true),
      /** Set `isManager=true` on the manager first (unarchiving and re-archiving it if needed). */
      setIsManager: z.boolean().default(true),
    })
    .default({ enabled: true, setIsManager: true }),
  /**
   * Create archived (the engine's "create disabled"; enable unarchives at the start date). Off: the
   * person is created active, as the Tools4ever connector does.
   */
  createArchived: z.boolean().default(true),
  /** Disable of a person that is gone: `notFound` outcome (engine semantics) or an error (Tools4ever). */
  disableNotFound: z.enum(['notFound', 'error']).default('notFound'),
  /** PATCH on an archived person (unverified whether TOPdesk allows it): unarchive → PATCH → re-archive, or direct. */
  archivedUpdate: z.enum(['unarchive', 'direct']).default('unarchive'),
  /** Archive/unarchive the requester around a ticket when it is archived. */
  unarchiveRequester: z.boolean().default(true),
  lookupCacheMs: z.number().int().min(0).default(300_000),
  tickets: z
    .object({
      /** Off: a ticket grant succeeds without creating anything. */
      enabled: z.boolean().default(true),
      /** Ticket kind (`onboarding`, `offboarding`, ...) → what to create; null = configured off. */
      kinds: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), TicketSpecSchema.nullable()).default({}),
      /** How tickets are searched by external number (unverified): FIQL `query=` or `external_number=`. */
      search: z.enum(['fiql', 'param']).default('fiql'),
      /** Longest external number written; longer dedupe keys are hashed. */
      externalNumberMaxLength: z.number().int().min(24).max(255).default(60),
    })
    .default({ enabled: true, kinds: {}, search: 'fiql', externalNumberMaxLength: 60 }),
});

export type TopdeskConfigInput = z.input<typeof TopdeskConfigSchema>;
export type TopdeskConfig = z.output<typeof TopdeskConfigSchema>;

/** Read the TOPDESK_* variables (see the header) and validate them. Never echoes the password. */
/** The configuration input the environment gives (unvalidated): the base a target instance's options override. */
export function topdeskConfigInputFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const opt = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  let kinds: unknown;
  const rawTickets = opt('TOPDESK_TICKETS');
  if (rawTickets) {
    try {
      kinds = JSON.parse(rawTickets) as unknown;
    } catch {
      throw new Error('TOPDESK_TICKETS must be a JSON object {"onboarding": {...}, "offboarding": {...}}');
    }
  }
  const ticketsOff = flag('TOPDESK_TICKETS_DISABLED', env.TOPDESK_TICKETS_DISABLED);
  const input = {
    id: opt('TOPDESK_ID'),
    url: env.TOPDESK_URL,
    username: env.TOPDESK_USERNAME,
    appPassword: env.TOPDESK_APP_PASSWORD,
    partnerSolutionId: opt('TOPDESK_PARTNER_SOLUTION_ID'),
    http: {
      timeoutMs: int('TOPDESK_TIMEOUT_MS', env.TOPDESK_TIMEOUT_MS),
      concurrency: int('TOPDESK_CONCURRENCY', env.TOPDESK_CONCURRENCY),
      maxRetries: int('TOPDESK_MAX_RETRIES', env.TOPDESK_MAX_RETRIES),
    },
    searchArchived: flag('TOPDESK_SEARCH_ARCHIVED', env.TOPDESK_SEARCH_ARCHIVED),
    scopeBranches: env.TOPDESK_SCOPE_BRANCHES?.trim()
      ? env.TOPDESK_SCOPE_BRANCHES.split(',').map((b) => b.trim())
      : undefined,
    archivingReason: opt('TOPDESK_ARCHIVING_REASON'),
    branch: { fallback: opt('TOPDESK_BRANCH_FALLBACK') },
    department: {
      mode: opt('TOPDESK_DEPARTMENT'),
      whenEmpty: opt('TOPDESK_DEPARTMENT_WHEN_EMPTY'),
      whenMissing: opt('TOPDESK_DEPARTMENT_WHEN_MISSING'),
    },
    budgetHolder: {
      from: opt('TOPDESK_BUDGETHOLDER_FROM'),
      whenEmpty: opt('TOPDESK_BUDGETHOLDER_WHEN_EMPTY'),
      whenMissing: opt('TOPDESK_BUDGETHOLDER_WHEN_MISSING'),
    },
    manager: { enabled: flag('TOPDESK_MANAGER', env.TOPDESK_MANAGER) },
    createArchived: flag('TOPDESK_CREATE_ARCHIVED', env.TOPDESK_CREATE_ARCHIVED),
    disableNotFound: opt('TOPDESK_DISABLE_NOT_FOUND'),
    archivedUpdate: opt('TOPDESK_ARCHIVED_UPDATE'),
    tickets: {
      enabled: ticketsOff === undefined ? undefined : !ticketsOff,
      kinds,
      search: opt('TOPDESK_TICKET_SEARCH'),
    },
  };
  return input;
}

export function topdeskConfigFromEnv(env: NodeJS.ProcessEnv = process.env): TopdeskConfig {
  const input = topdeskConfigInputFromEnv(env);
  const parsed = TopdeskConfigSchema.safeParse(input);
  if (!parsed.success) {
    // Paths and messages only: never the values (the application password is one of them).
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid TOPdesk configuration (TOPDESK_* variables): ${problems.join('; ')}`);
  }
  return parsed.data;
}
