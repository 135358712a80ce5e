/**
 * Manager notifications by e-mail (SMTP, nodemailer): "the account of X is ready" before a start,
 * "the accounts of X have been disabled" at a leaver's disable moment. The texts are templates
 * (templates/mail/, docs/alerts.md).
 *
 * Configuration (environment, validated by `smtpConfigFromEnv()`):
 *   SMTP_HOST               required
 *   SMTP_PORT               default 465 when SMTP_SECURE, else 587
 *   SMTP_SECURE             `true`: TLS from the first byte (port 465); default false
 *   SMTP_STARTTLS_REQUIRED  refuse to send without STARTTLS; default true when SMTP_USER is set,
 *                           so credentials never cross the network in the clear
 *   SMTP_USER / SMTP_PASSWORD   optional AUTH credentials (the password is never logged)
 *   SMTP_FROM               required, `Tenure <tenure@example.org>` or a bare address
 *   SMTP_TLS_INSECURE       `true` accepts any server certificate (tests only)
 *
 * The message carries no secret: there is no password in the input, by type and by schema.
 * Its Message-ID is derived from the caller's idempotency key, so a retried activity produces the
 * same Message-ID and the receiving side can de-duplicate.
 *
 * Errors: a permanent SMTP rejection (5xx for the envelope or the message) throws
 * `NotificationRejected` (name and class name), which the workflow lists as non-retryable.
 * Invalid input throws a non-retryable ApplicationFailure of type `InvalidNotification`.
 * Everything else (4xx, connection, TLS, authentication) is a plain, retryable Error.
 */
import { INSECURE_TRANSPORT_SWITCH, insecureTransportAllowed } from '../connectors/transport.js';
import { targetLabel } from '../connectors/targets/descriptors.js';
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { z } from 'zod';
import { MailTemplates } from '../alerts/mail-templates.js';

// ------------------------------------------------------------------ configuration

const NoLineBreaks = /^[^\r\n]*$/;

const boolFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v === 'true' || v === '1' || v === 'yes'));

const SmtpEnv = z.object({
  SMTP_HOST: z.string().trim().min(1, 'SMTP_HOST is required').regex(NoLineBreaks),
  SMTP_PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'SMTP_PORT must be a port number')
    .transform(Number)
    .refine((n) => n > 0 && n < 65536, 'SMTP_PORT must be 1..65535')
    .optional(),
  SMTP_SECURE: boolFromEnv,
  SMTP_STARTTLS_REQUIRED: boolFromEnv,
  SMTP_USER: z.string().regex(NoLineBreaks).optional(),
  SMTP_PASSWORD: z.string().optional(),
  SMTP_FROM: z.string().trim().min(3, 'SMTP_FROM is required').regex(NoLineBreaks, 'SMTP_FROM must be one line'),
  SMTP_TLS_INSECURE: boolFromEnv,
});

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  requireTls: boolean;
  user?: string;
  /** Never logged: `describeSmtpConfig()` redacts it. */
  password?: string;
  from: string;
  tlsInsecure: boolean;
}

export function smtpConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SmtpConfig {
  const parsed = SmtpEnv.safeParse({
    SMTP_HOST: env.SMTP_HOST,
    SMTP_PORT: env.SMTP_PORT || undefined,
    SMTP_SECURE: env.SMTP_SECURE,
    SMTP_STARTTLS_REQUIRED: env.SMTP_STARTTLS_REQUIRED,
    SMTP_USER: env.SMTP_USER || undefined,
    SMTP_PASSWORD: env.SMTP_PASSWORD || undefined,
    SMTP_FROM: env.SMTP_FROM,
    SMTP_TLS_INSECURE: env.SMTP_TLS_INSECURE,
  });
  if (!parsed.success) {
    // Issues name the variable and the rule, never the value (the password included).
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || 'SMTP'}: ${i.message}`);
    throw new Error(`invalid SMTP configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  if (e.SMTP_TLS_INSECURE && !insecureTransportAllowed(env))
    throw new Error(
      `invalid SMTP configuration: SMTP_TLS_INSECURE accepts any certificate and is for tests only (${INSECURE_TRANSPORT_SWITCH}=1)`,
    );
  if (Boolean(e.SMTP_USER) !== Boolean(e.SMTP_PASSWORD)) {
    throw new Error('invalid SMTP configuration: SMTP_USER and SMTP_PASSWORD must be set together');
  }
  const secure = e.SMTP_SECURE ?? false;
  return {
    host: e.SMTP_HOST,
    port: e.SMTP_PORT ?? (secure ? 465 : 587),
    secure,
    requireTls: !secure && (e.SMTP_STARTTLS_REQUIRED ?? Boolean(e.SMTP_USER)),
    user: e.SMTP_USER,
    password: e.SMTP_PASSWORD,
    from: e.SMTP_FROM,
    tlsInsecure: e.SMTP_TLS_INSECURE ?? false,
  };
}

/** The configuration for logs: the password replaced by `***`. */
export function describeSmtpConfig(c: SmtpConfig): Record<string, unknown> {
  return { ...c, password: c.password ? '***' : undefined };
}

// ------------------------------------------------------------------ errors

/** A permanent (5xx) SMTP rejection: retrying the same mail will not help. */
export class NotificationRejected extends Error {
  constructor(
    message: string,
    readonly responseCode?: number,
  ) {
    super(message);
    this.name = 'NotificationRejected';
  }
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** Failures before the message could leave: no connection, TLS, login, or an envelope refused. */
const NOT_SENT_CODES = ['ECONNECTION', 'EDNS', 'ETLS', 'EAUTH', 'EENVELOPE', 'ECONNREFUSED'];

/**
 * Could the mail have been delivered despite this error? No when the server answered with a
 * refusal or the connection never got as far as the message; yes (to be safe) for a timeout or a
 * dropped connection during or after the message.
 */
export function mailMayHaveLeft(err: unknown): boolean {
  const e = err as { mayHaveLeft?: boolean };
  return e?.mayHaveLeft ?? true;
}

/** Maps a nodemailer error to the activity's error contract. */
export function classifySmtpError(err: unknown): Error {
  const e = err as SmtpError;
  const code = typeof e?.responseCode === 'number' ? e.responseCode : undefined;
  const mayHaveLeft = code === undefined && !NOT_SENT_CODES.includes(e?.code ?? '') && e?.command !== 'CONN';
  const classified = classifyCode(e, code);
  return Object.assign(classified, { mayHaveLeft });
}

function classifyCode(e: SmtpError, code: number | undefined): Error {
  const detail = e?.response ?? e?.message ?? String(e);
  // Authentication failures (535) are 5xx too, but they are a configuration problem that an
  // operator fixes; the notification must still go out afterwards, so they stay retryable.
  if (code !== undefined && code >= 500 && code < 600 && e.code !== 'EAUTH') {
    return new NotificationRejected(
      `mail rejected by the SMTP server (${code}${e.command ? ` at ${e.command}` : ''}): ${detail}`,
      code,
    );
  }
  const error = new Error(`mail not sent, will retry (${e?.code ?? 'error'}${code ? ` ${code}` : ''}): ${detail}`);
  error.name = 'NotificationDeferred';
  return error;
}

// ------------------------------------------------------------------ mailer

export interface OutgoingMail {
  to: { name?: string; address: string };
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

export class Mailer {
  readonly #transport: nodemailer.Transporter<SMTPPool.SentMessageInfo>;
  readonly from: string;

  constructor(readonly config: SmtpConfig) {
    this.from = config.from;
    // Pooled: a burst of mails (a big poll, admin alerts) reuses a few connections.
    this.#transport = nodemailer.createTransport({
      pool: true,
      maxConnections: 3,
      host: config.host,
      port: config.port,
      secure: config.secure,
      requireTLS: config.requireTls,
      auth: config.user ? { user: config.user, pass: config.password } : undefined,
      tls: config.tlsInsecure ? { rejectUnauthorized: false } : undefined,
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
      logger: false,
      debug: false,
    });
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): Mailer {
    return new Mailer(smtpConfigFromEnv(env));
  }

  /** Sends one mail; returns the Message-ID. Throws per `classifySmtpError`. */
  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    let info: SMTPPool.SentMessageInfo;
    try {
      info = await this.#transport.sendMail({
        from: this.from,
        to: mail.to.name ? { name: mail.to.name, address: mail.to.address } : mail.to.address,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
      });
    } catch (err) {
      throw classifySmtpError(err);
    }
    if (info.rejected.length > 0) {
      throw Object.assign(new NotificationRejected(`mail rejected for ${info.rejected.join(', ')}: ${info.response}`), {
        mayHaveLeft: false,
      });
    }
    return { messageId: info.messageId || mail.messageId };
  }

  /** Checks the connection and the credentials (for a worker's start-up check). */
  async verify(): Promise<void> {
    await this.#transport.verify();
  }

  close(): void {
    this.#transport.close();
  }
}

// ------------------------------------------------------------------ the notification

const OneLine = (max: number) => z.string().trim().min(1).max(max).regex(NoLineBreaks, 'must not contain line breaks');
const Ymd = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

export const ManagerNotification = z
  .object({
    kind: z.enum(['accountReady', 'leaverDisabled']),
    personKey: OneLine(200),
    employeeDisplayName: OneLine(200),
    managerEmail: z.email().max(254),
    managerName: OneLine(200).optional(),
    username: OneLine(100).optional(),
    email: z.email().max(254).optional(),
    startDate: Ymd.optional(),
    endDate: Ymd.optional(),
    /** The accounts of the event, one per target (one mail per event); absent in per-target mails. */
    accounts: z
      .array(z.strictObject({ target: OneLine(100), kind: OneLine(40) }))
      .max(50)
      .optional(),
    idempotencyKey: z.string().min(1).max(500),
  })
  // Unknown fields (a stray `password`, say) are refused rather than silently carried along.
  .strict();
export type ManagerNotification = z.infer<typeof ManagerNotification>;

/** `<sha256(idempotencyKey)@tenure>`: the same key always yields the same Message-ID. */
export function notificationMessageId(idempotencyKey: string): string {
  return `<${createHash('sha256').update(idempotencyKey, 'utf8').digest('hex')}@tenure>`;
}

function formatDate(ymd: string | undefined, language: string): string | undefined {
  if (!ymd) return undefined;
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (Number.isNaN(date.getTime())) return ymd;
  const locale = language === 'nl' ? 'nl-NL' : language === 'en' ? 'en-GB' : language;
  return new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
    date,
  );
}

let shippedTemplates: MailTemplates | undefined;

/**
 * Renders subject, plain text and HTML from the mail templates (templates/mail/<language>/
 * accountReady.txt and leaverDisabled.txt), in each configured language: Dutch, then English
 * by default.
 */
export function renderManagerNotification(
  n: ManagerNotification,
  templates: MailTemplates = (shippedTemplates ??= new MailTemplates()),
): Omit<OutgoingMail, 'to' | 'messageId'> {
  return templates.render(n.kind, (language) => ({
    employeeDisplayName: n.employeeDisplayName,
    managerName: n.managerName,
    username: n.username,
    email: n.email,
    startDate: formatDate(n.startDate, language),
    endDate: formatDate(n.endDate, language),
    accounts: n.accounts?.map((a) => ({ target: a.target, label: targetLabel(a.kind) })),
  }));
}

// ------------------------------------------------------------------ activities

/** Only what `Mailer.send` needs, so tests and other transports can stand in. */
export type MailSender = Pick<Mailer, 'send'>;

export function createNotifyActivities(mailer: MailSender, templates?: MailTemplates) {
  return {
    async notifyManager(input: ManagerNotification): Promise<{ messageId: string }> {
      const parsed = ManagerNotification.safeParse(input);
      if (!parsed.success) {
        // Report the fields and rules, not the values (they are personal data).
        const what = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
        throw ApplicationFailure.nonRetryable(`invalid manager notification: ${what}`, 'InvalidNotification');
      }
      const n = parsed.data;
      const rendered = renderManagerNotification(n, templates);
      return mailer.send({
        to: { name: n.managerName, address: n.managerEmail },
        messageId: notificationMessageId(n.idempotencyKey),
        ...rendered,
      });
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
