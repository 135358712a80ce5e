/**
 * Configuration of the HelloID directory target connector (docs/targets/helloid.md).
 *
 * Environment contract (helloIdConfigFromEnv):
 *   HELLOID_URL                  https://<tenant>.helloid.com/api/v1 (a URL without a path gets /api/v1)
 *   HELLOID_API_KEY              API key (Security > API), sent as the Basic auth user name
 *   HELLOID_API_SECRET           API secret, the Basic auth password (never logged)
 *   HELLOID_CORRELATION_FIELD    default userAttributes.employeeId (any userAttributes.<name>)
 *   HELLOID_USERNAME_FROM        userPrincipalName (default) | username | email: which DesiredAccount
 *                                field becomes the HelloID userName
 *   HELLOID_SOURCE               default Local (Local | AD | IDP)
 *   HELLOID_INITIAL_PASSWORD     random (default) | none
 *   HELLOID_MUST_CHANGE_PASSWORD default true
 *   HELLOID_UPDATE_USERNAME      default true: a changed userName is sent as IdentifierObject.userName
 *   HELLOID_SET_MANAGER          default true: managedByUserGUID from the manager's account
 *   HELLOID_ADOPT_BY_USERNAME    default false: when true, a user with the same userName and no correlation value
 *                                is taken over on create (a user with another value is a conflict)
 *   HELLOID_GROUP_PATTERN        optional regular expression: the groups listPermissions reports
 *   HELLOID_PAGE_SIZE            default 1000 (take)
 *   HELLOID_TIMEOUT_MS           default 60000 per request (the connector's value in the spec)
 *   HELLOID_CONCURRENCY          default 4 calls in flight
 *   HELLOID_MAX_RETRIES          default 3 retries of transient failures (idempotent calls only)
 */
import { z } from 'zod';
import { envBool as bool, envInt as int } from '../../env-values.js';

const CorrelationField = z
  .string()
  .trim()
  .regex(/^userAttributes\.[A-Za-z0-9_-]+$/, 'must be userAttributes.<name>');

export const HelloIdConfigSchema = z
  .object({
    /** Connector id, used as `target` in audit entries. */
    id: z.string().min(1).default('helloid'),
    url: z
      .string()
      .trim()
      .regex(/^https?:\/\/[^/\s]+(\/\S*)?$/i, 'must be an http(s) URL such as https://<tenant>.helloid.com/api/v1'),
    apiKey: z.string().min(1),
    apiSecret: z.string().min(1),
    /** Where the employee number lives in HelloID. */
    correlationField: CorrelationField.default('userAttributes.employeeId'),
    /**
     * userAttributes the target's attribute templates write and compare besides department and title
     * (connectors/targets/attribute-mapping.ts): names without the `userAttributes.` prefix.
     */
    extraUserAttributes: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)).default([]),
    userNameFrom: z.enum(['userPrincipalName', 'username', 'email']).default('userPrincipalName'),
    source: z.string().trim().min(1).default('Local'),
    initialPassword: z.enum(['random', 'none']).default('random'),
    mustChangePassword: z.boolean().default(true),
    updateUserName: z.boolean().default(true),
    setManager: z.boolean().default(true),
    adoptByUserName: z.boolean().default(false),
    /** Regular expression: groups listPermissions looks at (default all). */
    groupPattern: z
      .string()
      .min(1)
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression')
      .optional(),
    pageSize: z.number().int().min(1).max(1000).default(1000),
    /** Upper bound on pages read from one list (guards against a server that ignores `skip`). */
    maxPages: z.number().int().min(1).default(10_000),
    /** A product requested but awaiting approval is not requested again within this window (ms). */
    productRequestMemoryMs: z.number().int().min(0).default(3_600_000),
    http: z
      .object({
        timeoutMs: z.number().int().positive().default(60_000),
        concurrency: z.number().int().min(1).default(4),
        maxRetries: z.number().int().min(0).default(3),
        retryBaseMs: z.number().int().positive().default(500),
        retryMaxMs: z.number().int().positive().default(10_000),
        maxRateLimitWaits: z.number().int().min(0).default(50),
        rateLimitFallbackMs: z.number().int().positive().default(1_000),
      })
      .prefault({}),
  })
  .transform((c) => {
    const u = new URL(c.url);
    let path = u.pathname.replace(/\/+$/, '');
    if (path === '') path = '/api/v1';
    return { ...c, url: `${u.protocol}//${u.host}${path}` };
  });

export type HelloIdConfigInput = z.input<typeof HelloIdConfigSchema>;
export type HelloIdConfig = z.output<typeof HelloIdConfigSchema>;

/** Read the HELLOID_* variables (see the header) and validate them. Never echoes the secret. */
/** The configuration input the environment gives (unvalidated): the base a target instance's options override. */
export function helloIdConfigInputFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const opt = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const input = {
    url: env.HELLOID_URL,
    apiKey: env.HELLOID_API_KEY,
    apiSecret: env.HELLOID_API_SECRET,
    correlationField: opt('HELLOID_CORRELATION_FIELD'),
    userNameFrom: opt('HELLOID_USERNAME_FROM'),
    source: opt('HELLOID_SOURCE'),
    initialPassword: opt('HELLOID_INITIAL_PASSWORD'),
    mustChangePassword: bool('HELLOID_MUST_CHANGE_PASSWORD', env.HELLOID_MUST_CHANGE_PASSWORD),
    updateUserName: bool('HELLOID_UPDATE_USERNAME', env.HELLOID_UPDATE_USERNAME),
    setManager: bool('HELLOID_SET_MANAGER', env.HELLOID_SET_MANAGER),
    adoptByUserName: bool('HELLOID_ADOPT_BY_USERNAME', env.HELLOID_ADOPT_BY_USERNAME),
    groupPattern: opt('HELLOID_GROUP_PATTERN'),
    pageSize: int('HELLOID_PAGE_SIZE', env.HELLOID_PAGE_SIZE),
    http: {
      timeoutMs: int('HELLOID_TIMEOUT_MS', env.HELLOID_TIMEOUT_MS),
      concurrency: int('HELLOID_CONCURRENCY', env.HELLOID_CONCURRENCY),
      maxRetries: int('HELLOID_MAX_RETRIES', env.HELLOID_MAX_RETRIES),
    },
  };
  return input;
}

export function helloIdConfigFromEnv(env: NodeJS.ProcessEnv = process.env): HelloIdConfig {
  const input = helloIdConfigInputFromEnv(env);
  const parsed = HelloIdConfigSchema.safeParse(input);
  if (!parsed.success) {
    // Issue paths and messages only: never the input values (the secret is one of them).
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid HelloID configuration (HELLOID_* variables): ${problems.join('; ')}`);
  }
  return parsed.data;
}
