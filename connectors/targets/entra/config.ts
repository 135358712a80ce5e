/**
 * Configuration of the Entra ID target connector (Microsoft Graph v1.0, client credentials).
 *
 * Environment contract (entraConfigFromEnv):
 *   ENTRA_TENANT_ID        directory (tenant) id or verified domain
 *   ENTRA_CLIENT_ID        application (client) id of the app registration
 *   ENTRA_CLIENT_SECRET    its client secret value (never logged)
 *   GRAPH_URL              default https://graph.microsoft.com/v1.0
 *   LOGIN_URL              default https://login.microsoftonline.com
 *   ENTRA_SCOPE            default https://graph.microsoft.com/.default
 *   ENTRA_UPN_SUFFIX       appended when a userPrincipalName has no '@' (optional)
 *   ENTRA_MAIL_DOMAIN      appended when an e-mail address has no '@' (optional)
 *   ENTRA_USAGE_LOCATION   two-letter country code set on new users (needed for group-based licensing)
 *   ENTRA_FORCE_CHANGE_PASSWORD      default true
 *   ENTRA_SET_MAIL                   write `mail` (default true; off when Exchange Online owns it)
 *   ENTRA_GROUP_PREFIXES             comma-separated: listPermissions reports only these groups
 *   ENTRA_DELETE_MODE                soft (default) | permanent (also purge from deleted items)
 *   ENTRA_REVOKE_SESSIONS_ON_DISABLE default true: a leaver's open sessions end with the disable
 *   ENTRA_ADVANCED_QUERY             send ConsistencyLevel: eventual + $count=true (default false)
 *   ENTRA_TIMEOUT_MS, ENTRA_CONCURRENCY, ENTRA_MAX_RETRIES, ENTRA_PAGE_SIZE
 */
import { z } from 'zod';
import { envBool as bool, envInt as int } from '../../env-values.js';

const Url = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^\s]+$/i, 'must be an http(s) URL')
  .transform((s) => s.replace(/\/+$/, ''));

/** Graph user properties an attribute template may set besides the account fields (docs/targets/entra.md). */
export const ENTRA_EXTRA_PROPERTIES = ['mobilePhone', 'employeeType', 'preferredLanguage'] as const;

export const EntraConfigSchema = z.object({
  /** Properties of ENTRA_EXTRA_PROPERTIES the target's attribute templates write and compare. */
  extraProperties: z.array(z.enum(ENTRA_EXTRA_PROPERTIES)).default([]),
  /** Connector id, used as `target` in audit entries. */
  id: z.string().min(1).default('entra'),
  tenantId: z.string().trim().min(1),
  clientId: z.string().trim().min(1),
  clientSecret: z.string().min(1),
  graphUrl: Url.default('https://graph.microsoft.com/v1.0'),
  loginUrl: Url.default('https://login.microsoftonline.com'),
  scope: z.string().trim().min(1).default('https://graph.microsoft.com/.default'),
  upnSuffix: z.string().trim().min(1).optional(),
  mailDomain: z.string().trim().min(1).optional(),
  /** Two-letter country code for new users; group-based licences cannot be assigned without it. */
  usageLocation: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code')
    .transform((s) => s.toUpperCase())
    .optional(),
  /** The spec lists the property without its value: a setting, default true. */
  forceChangePasswordNextSignIn: z.boolean().default(true),
  passwordLength: z.number().int().min(16).max(256).default(24),
  /** Write `mail` (Exchange Online manages it once a mailbox exists: then turn it off). */
  setMail: z.boolean().default(true),
  /** listPermissions reports only groups whose displayName starts with one of these; empty = all groups. */
  managedGroupPrefixes: z.array(z.string().min(1)).default([]),
  /** soft: DELETE the user (kept in deleted items, restorable; 30 days per the spec, unverified); permanent: purge as well. */
  deleteMode: z.enum(['soft', 'permanent']).default('soft'),
  revokeSessionsOnDisable: z.boolean().default(true),
  /** Send `ConsistencyLevel: eventual` and `$count=true` with $filter queries (advanced queries). */
  advancedQuery: z.boolean().default(false),
  /** Clearing a value: Graph accepts null; the HelloID mapping sends a space. */
  clearWith: z.enum(['null', 'space']).default('null'),
  /** $top for list calls (Graph: 1..999). */
  pageSize: z.number().int().min(1).max(999).default(100),
  /** Most pages followed for one list (guards against a nextLink loop). */
  maxPages: z.number().int().min(1).default(1000),
  http: z
    .object({
      timeoutMs: z.number().int().positive().default(30_000),
      tokenTimeoutMs: z.number().int().positive().default(15_000),
      concurrency: z.number().int().min(1).default(4),
      maxRetries: z.number().int().min(0).default(3),
      retryBaseMs: z.number().int().min(0).default(500),
      retryMaxMs: z.number().int().min(0).default(10_000),
      maxRateLimitWaits: z.number().int().min(0).default(50),
      rateLimitFallbackMs: z.number().int().min(0).default(5_000),
      maxRetryAfterMs: z.number().int().min(0).default(120_000),
    })
    .prefault({}),
});

export type EntraConfigInput = z.input<typeof EntraConfigSchema>;
export type EntraConfig = z.output<typeof EntraConfigSchema>;

/** Read the ENTRA_* / GRAPH_URL / LOGIN_URL variables and validate them. Never echoes the secret. */
/** The configuration input the environment gives (unvalidated): the base a target instance's options override. */
export function entraConfigInputFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const opt = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const input = {
    tenantId: env.ENTRA_TENANT_ID,
    clientId: env.ENTRA_CLIENT_ID,
    clientSecret: env.ENTRA_CLIENT_SECRET,
    graphUrl: opt('GRAPH_URL'),
    loginUrl: opt('LOGIN_URL'),
    scope: opt('ENTRA_SCOPE'),
    upnSuffix: opt('ENTRA_UPN_SUFFIX'),
    mailDomain: opt('ENTRA_MAIL_DOMAIN'),
    usageLocation: opt('ENTRA_USAGE_LOCATION'),
    forceChangePasswordNextSignIn: bool('ENTRA_FORCE_CHANGE_PASSWORD', env.ENTRA_FORCE_CHANGE_PASSWORD),
    setMail: bool('ENTRA_SET_MAIL', env.ENTRA_SET_MAIL),
    managedGroupPrefixes: opt('ENTRA_GROUP_PREFIXES')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    deleteMode: opt('ENTRA_DELETE_MODE'),
    revokeSessionsOnDisable: bool('ENTRA_REVOKE_SESSIONS_ON_DISABLE', env.ENTRA_REVOKE_SESSIONS_ON_DISABLE),
    advancedQuery: bool('ENTRA_ADVANCED_QUERY', env.ENTRA_ADVANCED_QUERY),
    pageSize: int('ENTRA_PAGE_SIZE', env.ENTRA_PAGE_SIZE),
    http: {
      timeoutMs: int('ENTRA_TIMEOUT_MS', env.ENTRA_TIMEOUT_MS),
      concurrency: int('ENTRA_CONCURRENCY', env.ENTRA_CONCURRENCY),
      maxRetries: int('ENTRA_MAX_RETRIES', env.ENTRA_MAX_RETRIES),
    },
  };
  return input;
}

export function entraConfigFromEnv(env: NodeJS.ProcessEnv = process.env): EntraConfig {
  const input = entraConfigInputFromEnv(env);
  const parsed = EntraConfigSchema.safeParse(input);
  if (!parsed.success) {
    // Issue paths and messages only: never the input values (the secret is one of them).
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid Entra ID configuration (ENTRA_* variables): ${problems.join('; ')}`);
  }
  return parsed.data;
}
