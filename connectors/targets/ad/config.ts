/**
 * Configuration of the Active Directory target connector.
 *
 * Environment contract (adConfigFromEnv):
 *   AD_URL               ldaps://host:636, or ldap://host:389 with AD_STARTTLS=1
 *   AD_STARTTLS          1/true: upgrade an ldap:// connection with StartTLS before the bind
 *   AD_BIND_DN           service account DN (or UPN)
 *   AD_BIND_PASSWORD     its password (never logged)
 *   AD_BASE_DN           e.g. DC=tenure,DC=test
 *   AD_TLS_INSECURE      1/true: accept any server certificate; refused unless
 *                        TENURE_ALLOW_INSECURE_TRANSPORT=1 (tests only; plain ldap:// needs it too)
 *   AD_TLS_CA_FILE       PEM file with the CA that signed the DC certificate (production)
 *   AD_EMPLOYEES_OU      default OU=Employees,OU=Tenure,<base>
 *   AD_GROUPS_OU         default OU=Groups,OU=Tenure,<base>
 *   AD_DISABLED_OU       default OU=Disabled,OU=Tenure,<base>
 *   AD_LOCATION_OUS      optional JSON object {"<location name>": "<OU DN>"}
 *   AD_DEPARTMENT_OUS    optional JSON object {"<department code>": "<OU DN>"} (after the location OUs)
 *   AD_SEARCH_OUS        optional JSON array of OU DNs to correlate in (default: the managed OUs:
 *                        employees, disabled and mapped location OUs); accounts elsewhere are never
 *                        matched, changed or deleted
 *   AD_OUT_OF_SCOPE_MATCH  create (default) | report: a person whose only employeeID match is outside
 *                        the search OUs gets a new account, or the create is refused and reported
 *   AD_UPN_SUFFIX        default tenure.test (appended when a userPrincipalName has no '@')
 *   AD_MAIL_DOMAIN       optional (appended when an e-mail address has no '@')
 *   AD_CONNECT_TIMEOUT_MS, AD_TIMEOUT_MS   default 5000 / 15000
 */
import { z } from 'zod';
import { INSECURE_TRANSPORT_SWITCH, insecureTransportAllowed } from '../../transport.js';

const Dn = z.string().trim().min(3).regex(/=/, 'must be a distinguished name (attr=value,...)');

export const AdConfigSchema = z
  .object({
    /** Connector id, used as `target` in audit entries. */
    id: z.string().min(1).default('ad'),
    url: z
      .string()
      .trim()
      .regex(/^ldaps?:\/\/[^/]+\/?$/i, 'must be ldap://host[:port] or ldaps://host[:port]'),
    bindDN: z.string().trim().min(1),
    bindPassword: z.string().min(1),
    baseDN: Dn,
    employeesOU: Dn.optional(),
    /** Location name -> OU DN. Unknown locations get `OU=<location>,<employeesOU>`, created when missing. */
    locationOUs: z.record(z.string(), Dn).default({}),
    /** Department code -> OU DN, used when the location has no OU of its own (connectors/targets/ad/ous.ts). */
    departmentOUs: z.record(z.string(), Dn).default({}),
    /**
     * LDAP attributes besides the built-in ones that the connector writes and compares: the names of
     * the target's `attributes` templates (connectors/targets/attribute-mapping.ts).
     */
    extraAttributes: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/)).default([]),
    groupsOU: Dn.optional(),
    disabledOU: Dn.optional(),
    /** OUs to correlate in (subtree). Default: the managed OUs. */
    searchOUs: z.array(Dn).optional(),
    /** A match only outside the search OUs: create a new account beside it, or refuse and report. */
    outOfScopeMatch: z.enum(['create', 'report']).default('create'),
    upnSuffix: z.string().trim().min(1).default('tenure.test'),
    mailDomain: z.string().trim().min(1).optional(),
    tls: z
      .object({
        /** PEM CA bundle to verify the server certificate (production). */
        caFile: z.string().min(1).optional(),
        /** Accept any certificate. Tests against a self-signed Samba only. */
        insecure: z.boolean().default(false),
      })
      .default({ insecure: false }),
    timeouts: z
      .object({
        connectMs: z.number().int().positive().default(5000),
        operationMs: z.number().int().positive().default(15000),
      })
      .default({ connectMs: 5000, operationMs: 15000 }),
    /** Upgrade an ldap:// connection with StartTLS before binding. */
    startTls: z.boolean().default(false),
    /** Tests only (TENURE_ALLOW_INSECURE_TRANSPORT=1): plain ldap:// and tls.insecure allowed. */
    allowInsecureTransport: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    if (c.allowInsecureTransport) return;
    if (/^ldap:/i.test(c.url) && !c.startTls)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `ldap:// would send the service account's password in clear: use ldaps:// or AD_STARTTLS=1 (plain ldap:// only in tests, with ${INSECURE_TRANSPORT_SWITCH}=1)`,
      });
    if (c.tls.insecure)
      ctx.addIssue({
        code: 'custom',
        path: ['tls', 'insecure'],
        message: `AD_TLS_INSECURE turns certificate verification off and is refused outside tests (${INSECURE_TRANSPORT_SWITCH}=1); give the directory's CA in AD_TLS_CA_FILE`,
      });
  })
  .transform((c) => ({
    ...c,
    employeesOU: c.employeesOU ?? `OU=Employees,OU=Tenure,${c.baseDN}`,
    groupsOU: c.groupsOU ?? `OU=Groups,OU=Tenure,${c.baseDN}`,
    disabledOU: c.disabledOU ?? `OU=Disabled,OU=Tenure,${c.baseDN}`,
  }));

/** The OUs Tenure puts accounts in: employees, disabled and the mapped location OUs. */
export function managedOUsOf(c: Omit<AdConfig, 'bindPassword'>): string[] {
  return [c.employeesOU, c.disabledOU, ...Object.values(c.locationOUs), ...Object.values(c.departmentOUs ?? {})];
}

/** The OUs correlation looks in: the configured search OUs, else the managed OUs. */
export function searchOUsOf(c: Omit<AdConfig, 'bindPassword'>): string[] {
  return c.searchOUs ?? managedOUsOf(c);
}

export type AdConfigInput = z.input<typeof AdConfigSchema>;
export type AdConfig = z.output<typeof AdConfigSchema>;

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

function intOrUndefined(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

/** Read the AD_* variables (see the header) and validate them. Never echoes the password. */
/** The configuration input the environment gives (unvalidated): the base a target instance's options override. */
export function adConfigInputFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const opt = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  let locationOUs: Record<string, string> | undefined;
  const rawLocations = opt('AD_LOCATION_OUS');
  if (rawLocations) {
    try {
      locationOUs = JSON.parse(rawLocations) as Record<string, string>;
    } catch {
      throw new Error('AD_LOCATION_OUS must be a JSON object {"location": "OU=...,DC=..."}');
    }
  }
  let departmentOUs: Record<string, string> | undefined;
  const rawDepartments = opt('AD_DEPARTMENT_OUS');
  if (rawDepartments) {
    try {
      departmentOUs = JSON.parse(rawDepartments) as Record<string, string>;
    } catch {
      throw new Error('AD_DEPARTMENT_OUS must be a JSON object {"department code": "OU=...,DC=..."}');
    }
  }
  let searchOUs: string[] | undefined;
  const rawSearch = opt('AD_SEARCH_OUS');
  if (rawSearch) {
    try {
      searchOUs = JSON.parse(rawSearch) as string[];
    } catch {
      throw new Error('AD_SEARCH_OUS must be a JSON array ["OU=...,DC=...", ...]');
    }
  }
  const input = {
    url: env.AD_URL,
    bindDN: env.AD_BIND_DN,
    bindPassword: env.AD_BIND_PASSWORD,
    baseDN: env.AD_BASE_DN,
    employeesOU: opt('AD_EMPLOYEES_OU'),
    groupsOU: opt('AD_GROUPS_OU'),
    disabledOU: opt('AD_DISABLED_OU'),
    locationOUs,
    departmentOUs,
    searchOUs,
    outOfScopeMatch: opt('AD_OUT_OF_SCOPE_MATCH'),
    upnSuffix: opt('AD_UPN_SUFFIX'),
    mailDomain: opt('AD_MAIL_DOMAIN'),
    tls: { caFile: opt('AD_TLS_CA_FILE'), insecure: truthy(env.AD_TLS_INSECURE) },
    startTls: truthy(env.AD_STARTTLS),
    allowInsecureTransport: insecureTransportAllowed(env),
    timeouts: {
      connectMs: intOrUndefined('AD_CONNECT_TIMEOUT_MS', env.AD_CONNECT_TIMEOUT_MS),
      operationMs: intOrUndefined('AD_TIMEOUT_MS', env.AD_TIMEOUT_MS),
    },
  };
  return input;
}

export function adConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AdConfig {
  const input = adConfigInputFromEnv(env);
  const parsed = AdConfigSchema.safeParse(input);
  if (!parsed.success) {
    // Issue paths and messages only: never the input values (the password is one of them).
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid Active Directory configuration (AD_* variables): ${problems.join('; ')}`);
  }
  return parsed.data;
}
