/**
 * Configuration of the Visma | ProActive Spend Cloud target (docs/targets/spendcloud.md): the mapping
 * settings the lifecycle actions use, and the export/upload settings `exportAndUpload` uses.
 * Every point that could not be verified against a live system is a setting here (see docs/targets/spendcloud.md).
 *
 * Environment contract (spendCloudConfigFromEnv):
 *   SPENDCLOUD_SFTP_HOST, SPENDCLOUD_SFTP_PORT (22), SPENDCLOUD_SFTP_USERNAME
 *   SPENDCLOUD_SFTP_PRIVATE_KEY_FILE   OpenSSH private key (key auth only; never logged)
 *   SPENDCLOUD_SFTP_PASSPHRASE         optional passphrase of that key (never logged)
 *   SPENDCLOUD_SFTP_HOST_KEY_FILE      the server's public host key (`ssh-ed25519 AAAA...` line): pinned
 *   SPENDCLOUD_SFTP_DIR                remote folder the importer reads (default `.`)
 *   SPENDCLOUD_PERSONS_FILE, SPENDCLOUD_ROLES_FILE   default ProActive.csv / ProActiveRoles.csv
 *   SPENDCLOUD_EMPLOYEE_NUMBER_COLUMN  header of the employee number column (default personeelsnummer; `off`: none)
 *   SPENDCLOUD_EMAIL_FROM              email (default) | userPrincipalName
 *   SPENDCLOUD_INACTIVE_PERSONS        omit (default) | withoutRoles
 *   SPENDCLOUD_TIME_ZONE               default Europe/Amsterdam (which contracts are active on the export day)
 *   SPENDCLOUD_ALLOW_EMPTY             1/true: upload an empty persons file instead of failing
 *   SPENDCLOUD_UPLOAD_ATTEMPTS, SPENDCLOUD_RETRY_DELAY_MS   default 3 / 2000
 * Without the SPENDCLOUD_SFTP_* variables the generic SFTP_* variables (scripts/services/sftp.sh) are used.
 */
import { z } from 'zod';
import { envInt as int } from '../../env-values.js';

const Positive = z.number().int().positive();

export const SpendCloudConfigSchema = z.object({
  /** Connector id: `target` in audit entries and the key of this tenant's rows in the tables. */
  id: z.string().min(1).max(64).default('spendcloud'),
  mapping: z
    .object({
      /** Persons `email` column: the e-mail address, or the UPN as the shipped fieldMapping.json does. */
      emailFrom: z.enum(['email', 'userPrincipalName']).default('email'),
      /** Remove diacritics from achternaam and tussenvoegsel (shipped mapping does). */
      removeDiacritics: z.boolean().default(true),
    })
    .default({ emailFrom: 'email', removeDiacritics: true }),
  sftp: z
    .object({
      host: z.string().trim().min(1),
      port: Positive.max(65535).default(22),
      username: z.string().trim().min(1),
      /** Path of the OpenSSH private key file, or the key itself (PEM/OpenSSH text). */
      privateKeyFile: z.string().min(1).optional(),
      privateKey: z.string().min(1).optional(),
      passphrase: z.string().min(1).optional(),
      /** The server's host key: a `.pub` file, or the `type base64` line itself. Mandatory: no TOFU. */
      hostKeyFile: z.string().min(1).optional(),
      hostKey: z.string().min(1).optional(),
      /** Remote folder the Spend Cloud import job reads. */
      dir: z.string().min(1).default('.'),
      readyTimeoutMs: Positive.default(10_000),
      /** One whole attempt (connect, both uploads, renames) must finish within this time. */
      attemptTimeoutMs: Positive.default(120_000),
    })
    .refine((s) => s.privateKeyFile || s.privateKey, { message: 'privateKeyFile or privateKey is required' })
    .refine((s) => s.hostKeyFile || s.hostKey, { message: 'hostKeyFile or hostKey is required (host key pinning)' })
    .optional(),
  upload: z
    .object({
      /** Attempts per export (1 = no retry). Each attempt is a fresh connection. */
      attempts: Positive.max(10).default(3),
      /** Delay before the 2nd attempt, doubled for each next one. */
      retryDelayMs: z.number().int().min(0).default(2_000),
    })
    .default({ attempts: 3, retryDelayMs: 2_000 }),
  files: z
    .object({
      persons: z
        .string()
        .regex(/^[^/\\]+$/, 'a file name, not a path')
        .default('ProActive.csv'),
      roles: z
        .string()
        .regex(/^[^/\\]+$/, 'a file name, not a path')
        .default('ProActiveRoles.csv'),
      /** Write the roles file (resources.ps1 only does when destinationFileRoles is set; sa-export always). */
      exportRoles: z.boolean().default(true),
      /** UTF-8 byte order mark, as Windows PowerShell 5.1 `Export-Csv -Encoding utf8` writes (unverified). */
      bom: z.boolean().default(true),
      /** CRLF as PowerShell 5.1 on Windows writes (unverified). */
      lineEnding: z.enum(['crlf', 'lf']).default('crlf'),
      /** Prefix cells starting with = + - @ TAB CR with a single quote (CSV formula injection). */
      formulaGuard: z.boolean().default(true),
      /**
       * The persons file's 7th column: the employee number under this header, on by default because
       * the importer matches persons by employee number (INFO_NL). null: the six columns of the
       * shipped export.
       */
      employeeNumberColumn: z.string().min(1).max(100).nullable().default('personeelsnummer'),
      /** Two contracts with the same department and function give two identical rows (shipped); true writes one. */
      dedupeRoles: z.boolean().default(false),
    })
    .default({
      persons: 'ProActive.csv',
      roles: 'ProActiveRoles.csv',
      exportRoles: true,
      bom: true,
      lineEnding: 'crlf',
      formulaGuard: true,
      employeeNumberColumn: 'personeelsnummer',
      dedupeRoles: false,
    }),
  export: z
    .object({
      /** The export day (which contracts are active) is the calendar date in this zone. */
      timeZone: z.string().min(1).default('Europe/Amsterdam'),
      /**
       * What the import does with persons missing from a full dump is unverified. `omit`: disabled
       * persons are left out (they disappear); `withoutRoles`: they stay in the persons file, without roles.
       */
      inactivePersons: z.enum(['omit', 'withoutRoles']).default('omit'),
      /** An empty persons file could make the import remove everybody: fail unless allowed. */
      allowEmpty: z.boolean().default(false),
    })
    .default({ timeZone: 'Europe/Amsterdam', inactivePersons: 'omit', allowEmpty: false }),
});

export type SpendCloudConfigInput = z.input<typeof SpendCloudConfigSchema>;
export type SpendCloudConfig = z.output<typeof SpendCloudConfigSchema>;
export type SpendCloudSftpConfig = NonNullable<SpendCloudConfig['sftp']>;

/** Validate; errors name the paths only, never the values (a key or passphrase may be among them). */
export function parseSpendCloudConfig(input: unknown): SpendCloudConfig {
  const parsed = SpendCloudConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid Spend Cloud configuration: ${problems.join('; ')}`);
  }
  const tz = parsed.data.export.timeZone;
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: tz });
  } catch {
    throw new Error(`invalid Spend Cloud configuration: export.timeZone: unknown time zone`);
  }
  return parsed.data;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/** Read SPENDCLOUD_* (falling back to SFTP_* for the connection), see the header. */
/** The configuration input the environment gives (unvalidated): the base a target instance's options override. */
export function spendCloudConfigInputFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const opt = (...keys: string[]) => {
    for (const k of keys) {
      const v = env[k];
      if (v !== undefined && v.trim() !== '') return v;
    }
    return undefined;
  };
  const host = opt('SPENDCLOUD_SFTP_HOST', 'SFTP_HOST');
  return {
    id: opt('SPENDCLOUD_ID'),
    mapping: {
      emailFrom: opt('SPENDCLOUD_EMAIL_FROM'),
    },
    sftp: host
      ? {
          host,
          port: int('SPENDCLOUD_SFTP_PORT', opt('SPENDCLOUD_SFTP_PORT', 'SFTP_PORT')),
          username: opt('SPENDCLOUD_SFTP_USERNAME', 'SFTP_USERNAME'),
          privateKeyFile: opt('SPENDCLOUD_SFTP_PRIVATE_KEY_FILE', 'SFTP_PRIVATE_KEY_FILE'),
          passphrase: opt('SPENDCLOUD_SFTP_PASSPHRASE'),
          hostKeyFile: opt('SPENDCLOUD_SFTP_HOST_KEY_FILE', 'SFTP_HOST_KEY_FILE'),
          dir: opt('SPENDCLOUD_SFTP_DIR'),
        }
      : undefined,
    upload: {
      attempts: int('SPENDCLOUD_UPLOAD_ATTEMPTS', opt('SPENDCLOUD_UPLOAD_ATTEMPTS')),
      retryDelayMs: int('SPENDCLOUD_RETRY_DELAY_MS', opt('SPENDCLOUD_RETRY_DELAY_MS')),
    },
    files: {
      persons: opt('SPENDCLOUD_PERSONS_FILE'),
      roles: opt('SPENDCLOUD_ROLES_FILE'),
      employeeNumberColumn: employeeNumberColumnFromEnv(opt('SPENDCLOUD_EMPLOYEE_NUMBER_COLUMN')),
    },
    export: {
      timeZone: opt('SPENDCLOUD_TIME_ZONE'),
      inactivePersons: opt('SPENDCLOUD_INACTIVE_PERSONS'),
      allowEmpty: truthy(env.SPENDCLOUD_ALLOW_EMPTY),
    },
  };
}

export function spendCloudConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SpendCloudConfig {
  return parseSpendCloudConfig(spendCloudConfigInputFromEnv(env));
}

/** `off` (or `none`) drops the employee number column; unset keeps the default header. */
function employeeNumberColumnFromEnv(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  return /^(off|none)$/i.test(value.trim()) ? null : value;
}
