/**
 * Admin alert settings from the environment (docs/alerts.md). No recipient and no webhook:
 * alerts are still recorded in the vault (admin_alerts) but go nowhere.
 */
import { z } from 'zod';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from '../domain/dates.js';

const DURATION = /^(\d+)\s*(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const Duration = z
  .string()
  .trim()
  .regex(DURATION, 'a duration like 30m, 4h or 1d')
  .transform((s) => {
    const [, n, unit] = DURATION.exec(s) as unknown as [string, string, keyof typeof UNIT_MS];
    return Number(n) * UNIT_MS[unit];
  })
  .refine((ms) => ms > 0, 'must be more than 0');

const AlertEnv = z.object({
  TENURE_ALERT_MAIL_TO: z
    .string()
    .trim()
    .transform((s) => s.split(',').map((a) => a.trim()))
    .pipe(z.array(z.email('every address must be an e-mail address')).min(1))
    .optional(),
  TENURE_ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
  TENURE_ALERT_WEBHOOK_TOKEN: z.string().min(1).optional(),
  TENURE_ALERT_DIGEST: z
    .string()
    .trim()
    .regex(/^(off|([01]\d|2[0-3]):[0-5]\d)$/, 'off or a local time HH:MM')
    .default('off'),
  TENURE_ALERT_TIME_ZONE: z.string().trim().refine(isValidTimeZone, 'an IANA time zone').default(DEFAULT_TIME_ZONE),
  TENURE_ALERT_FAILING_AFTER: Duration.default(4 * 3_600_000),
  TENURE_ALERT_WRITEBACK_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(5),
  TENURE_ALERT_SWEEP_EVERY: z.string().trim().regex(DURATION, 'a duration like 5m').default('5m'),
});

export interface AlertSettings {
  mailTo: string[];
  webhookUrl?: string;
  /** Sent as `Authorization: Bearer …`; never logged. */
  webhookToken?: string;
  /** Local HH:MM of the daily digest mail; undefined: every alert is mailed at once. */
  digestAt?: string;
  timeZone: string;
  failingAfterMs: number;
  writebackAttempts: number;
  /** How often the alert sweep runs (a Temporal schedule interval, e.g. `5m`). */
  sweepEvery: string;
}

export function alertSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AlertSettings {
  const pick = (k: string) => env[k]?.trim() || undefined;
  const parsed = AlertEnv.safeParse({
    TENURE_ALERT_MAIL_TO: pick('TENURE_ALERT_MAIL_TO'),
    TENURE_ALERT_WEBHOOK_URL: pick('TENURE_ALERT_WEBHOOK_URL'),
    TENURE_ALERT_WEBHOOK_TOKEN: pick('TENURE_ALERT_WEBHOOK_TOKEN'),
    TENURE_ALERT_DIGEST: pick('TENURE_ALERT_DIGEST'),
    TENURE_ALERT_TIME_ZONE: pick('TENURE_ALERT_TIME_ZONE'),
    TENURE_ALERT_FAILING_AFTER: pick('TENURE_ALERT_FAILING_AFTER'),
    TENURE_ALERT_WRITEBACK_ATTEMPTS: pick('TENURE_ALERT_WRITEBACK_ATTEMPTS'),
    TENURE_ALERT_SWEEP_EVERY: pick('TENURE_ALERT_SWEEP_EVERY'),
  });
  if (!parsed.success) {
    // Name the variable and the rule, never the value (the token is a secret).
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid alert settings: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return {
    mailTo: e.TENURE_ALERT_MAIL_TO ?? [],
    ...(e.TENURE_ALERT_WEBHOOK_URL ? { webhookUrl: e.TENURE_ALERT_WEBHOOK_URL } : {}),
    ...(e.TENURE_ALERT_WEBHOOK_TOKEN ? { webhookToken: e.TENURE_ALERT_WEBHOOK_TOKEN } : {}),
    ...(e.TENURE_ALERT_DIGEST === 'off' ? {} : { digestAt: e.TENURE_ALERT_DIGEST }),
    timeZone: e.TENURE_ALERT_TIME_ZONE,
    failingAfterMs: e.TENURE_ALERT_FAILING_AFTER,
    writebackAttempts: e.TENURE_ALERT_WRITEBACK_ATTEMPTS,
    sweepEvery: e.TENURE_ALERT_SWEEP_EVERY,
  };
}
