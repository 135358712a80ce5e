/**
 * The day-one password (docs/lifecycle.md): when Tenure enables an account it created for the
 * first time, it sets a fresh random password (by default the user must change it at the next
 * logon) and mails it to the person's manager, or to the mailbox configured for the department,
 * else to a fallback mailbox. The same function sets and sends, so the password exists only in
 * this process's memory and in that one mail: never in workflow history, the audit log, the vault,
 * logs, status or metrics.
 *
 * Retries: the vault records how far the delivery got (vault/day-one-passwords.ts), never the
 * password. Set first, then mail, then record `sent`; a retry after `sent` does nothing. A retry
 * after the password was set and the mail may have left (a crash or a timeout in that window)
 * cannot know the first password, so it sets a new one and its mail says it replaces the earlier
 * one: the earlier mail is never silently wrong. A mail that surely did not leave is just redone.
 *
 * Entra ID gets a Temporary Access Pass instead (made by Graph, valid `accessPassLifetimeMinutes`),
 * delivered the same way.
 *
 * Settings per target (rules file `targets[].options.dayOnePassword`; off when absent).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import { z } from 'zod';
import type { MailTemplates } from '../alerts/mail-templates.js';
import { generatePassword } from '../connectors/targets/ad/password.js';
import { TARGET_DESCRIPTORS, targetLabel } from '../connectors/targets/descriptors.js';
import { DEFAULT_TIME_ZONE } from '../domain/dates.js';
import type { AccountReference, TargetConnector } from '../connectors/types.js';
import { appendAudit } from '../vault/audit.js';
import { ownedAccount } from '../vault/accounts.js';
import { deliveryOf, recordDelivery, type DeliveryChannel, type DeliveryKey } from '../vault/day-one-passwords.js';
import { managerContact } from './manager-mail.js';
import { mailMayHaveLeft, notificationMessageId, type MailSender } from './notify.js';

// ------------------------------------------------------------------ settings

/** Target kinds whose connector can give day-one access (their descriptor says so): AD a password, Entra ID a Temporary Access Pass. */
export const DAY_ONE_PASSWORD_KINDS = [...TARGET_DESCRIPTORS.values()]
  .filter((d) => d.dayOnePassword)
  .map((d) => d.kind);

export const DayOnePasswordSettingsSchema = z.strictObject({
  /** `false` switches delivery off while keeping the block in the file. */
  enabled: z.boolean().default(true),
  /** The user must change the password at the next logon (AD: pwdLastSet = 0). */
  mustChange: z.boolean().default(true),
  /** Department code → mailbox: that department's passwords go there instead of to the manager. */
  departmentMailboxes: z.record(z.string().trim().min(1), z.email()).default({}),
  /** Where a password goes when the person has no manager with a known address. */
  fallbackMailbox: z.email().optional(),
  /** Entra ID: how long the Temporary Access Pass is valid, in minutes (Graph allows 60 to 43200). */
  accessPassLifetimeMinutes: z.number().int().min(60).max(43200).default(480),
});
export type DayOnePasswordSettings = z.output<typeof DayOnePasswordSettingsSchema>;

/** The day-one password settings of one rules-file target, or undefined (off); a bad value names the target and field. */
export function dayOnePasswordSettingsOf(target: {
  id: string;
  kind: string;
  options?: Record<string, unknown>;
}): DayOnePasswordSettings | undefined {
  const raw = target.options?.dayOnePassword;
  if (raw === undefined) return undefined;
  const parsed = DayOnePasswordSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${['dayOnePassword', ...i.path].join('.')}: ${i.message}`);
    throw new Error(`target '${target.id}': invalid options: ${problems.join('; ')}`);
  }
  if (parsed.data.enabled && !TARGET_DESCRIPTORS.get(target.kind)?.dayOnePassword)
    throw new Error(
      `target '${target.id}': options.dayOnePassword is supported for ${DAY_ONE_PASSWORD_KINDS.join(', ')} targets only, not ${target.kind}`,
    );
  return parsed.data.enabled ? parsed.data : undefined;
}

// ------------------------------------------------------------------ the delivery

export interface DayOnePasswordDeps {
  pool: pg.Pool;
  mailer: MailSender;
  templates: MailTemplates;
  /** This target's settings; undefined: no day-one password. */
  settings: DayOnePasswordSettings | undefined;
  /** The target's kind, for the account's name in the mail. */
  kind: string;
}

/** What the mail needs to know about the person (from the workflow's plan and identity). */
export interface DayOneEmployee {
  displayName: string;
  username: string;
  userPrincipalName?: string;
  managerKey?: string;
  departmentCode?: string;
  startDate?: string;
}

export interface DayOnePasswordCall {
  target: string;
  personKey: string;
  cause: string;
  account: AccountReference;
  employee?: DayOneEmployee;
}

export interface DayOneOutcome {
  action: 'dayOnePassword';
  outcome: 'success' | 'unchanged' | 'failed';
  message: string;
}

type Recipient = { channel: DeliveryChannel; address: string; name?: string } | { problem: string };

async function recipientOf(deps: DayOnePasswordDeps, employee: DayOneEmployee): Promise<Recipient> {
  const settings = deps.settings!;
  const mailbox = employee.departmentCode ? settings.departmentMailboxes[employee.departmentCode] : undefined;
  if (mailbox) return { channel: 'department', address: mailbox };
  if (employee.managerKey) {
    const manager = await managerContact(deps.pool, employee.managerKey);
    if (manager.address) return { channel: 'manager', address: manager.address, name: manager.name };
  }
  if (settings.fallbackMailbox) return { channel: 'fallback', address: settings.fallbackMailbox };
  return {
    problem: employee.managerKey
      ? `manager ${employee.managerKey} has no e-mail address in the vault and no fallbackMailbox is set`
      : 'no manager on the primary contract and no fallbackMailbox is set',
  };
}

function formatDay(ymd: string | undefined, language: string): string | undefined {
  if (!ymd) return undefined;
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  const locale = language === 'nl' ? 'nl-NL' : language === 'en' ? 'en-GB' : language;
  return new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

function formatMoment(iso: string, language: string): string {
  const locale = language === 'nl' ? 'nl-NL' : language === 'en' ? 'en-GB' : language;
  return new Intl.DateTimeFormat(locale, {
    dateStyle: 'long',
    timeStyle: 'short',
    timeZone: DEFAULT_TIME_ZONE,
  }).format(new Date(iso));
}

/** An error on its way out (to the workflow's history, to logs) never carries the password. */
function scrubbed(err: unknown, password: string): unknown {
  if (!(err instanceof Error)) return new Error('day-one password: failure without details');
  const hide = (s: string | undefined) => s?.split(password).join('***');
  err.message = hide(err.message) ?? '';
  err.stack = hide(err.stack);
  return err;
}

function workflowOfActivity(): { workflowId?: string; runId?: string } {
  try {
    return Context.current().info.workflowExecution ?? {};
  } catch {
    return {}; // called outside an activity (a script, a test)
  }
}

async function audit(
  deps: DayOnePasswordDeps,
  call: DayOnePasswordCall,
  outcome: 'success' | 'failed',
  message: string,
  details: Record<string, unknown>,
): Promise<void> {
  await appendAudit(deps.pool, [
    {
      personKey: call.personKey,
      target: call.target,
      action: 'dayOnePassword',
      outcome,
      cause: call.cause,
      ...workflowOfActivity(),
      message,
      details,
    },
  ]);
}

/** The record write after the mail left: retried here, because a retry of the activity would set a new password. */
async function recordSent(deps: DayOnePasswordDeps, key: DeliveryKey): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await recordDelivery(deps.pool, key, 'sent');
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/**
 * Sets and delivers the day-one password of an account about to be enabled for the first time.
 * Returns null when it does not apply (off for the target, a connector without passwords, an
 * adopted account, or one Tenure enabled before); otherwise what happened, already audited. A
 * delivery that cannot succeed (no recipient, a permanent mail rejection) is `failed` and the
 * enable goes ahead; a passing failure (directory or mail server down) throws, to be retried.
 */
export async function deliverDayOnePassword(
  deps: DayOnePasswordDeps,
  call: DayOnePasswordCall,
  connector: TargetConnector,
): Promise<DayOneOutcome | null> {
  const settings = deps.settings;
  if (!settings || !(connector.setInitialPassword || connector.issueTemporaryAccessPass)) return null;
  const own = await ownedAccount(deps.pool, call.target, call.personKey);
  if (!own || own.origin !== 'created' || own.everEnabled) return null;

  const key: DeliveryKey = { target: call.target, personKey: call.personKey, accountId: call.account.id };
  const before = await deliveryOf(deps.pool, key);
  if (before?.state === 'sent')
    return { action: 'dayOnePassword', outcome: 'unchanged', message: 'day-one password delivered earlier' };
  if (before?.state === 'undeliverable')
    return {
      action: 'dayOnePassword',
      outcome: 'failed',
      message: `day-one password not delivered: ${before.problem}`,
    };

  const employee = call.employee;
  const to: Recipient = employee
    ? await recipientOf(deps, employee)
    : { problem: 'the enable call did not carry the employee (username, manager)' };
  if ('problem' in to) {
    await recordDelivery(deps.pool, key, 'undeliverable', { problem: to.problem });
    const message = `day-one password not set: ${to.problem}`;
    await audit(deps, call, 'failed', message, { reason: 'noRecipient' });
    return { action: 'dayOnePassword', outcome: 'failed', message };
  }
  const e = employee!;

  // A mail of an earlier attempt may have left with a password this attempt replaces.
  const replacesEarlier = before?.state === 'sending';
  const attempt = (before?.attempts ?? 0) + 1;
  const messageId = notificationMessageId(`dayOnePassword:${key.target}:${key.personKey}:${key.accountId}:${attempt}`);
  await recordDelivery(deps.pool, key, 'setting', {
    attempt: true,
    channel: to.channel,
    mustChange: settings.mustChange && Boolean(connector.setInitialPassword),
    messageId,
  });

  // AD: a password of Tenure's one generator; Entra ID: a Temporary Access Pass that Graph makes.
  let password = '';
  let validUntil: string | undefined;
  const mustChange = settings.mustChange && Boolean(connector.setInitialPassword);
  try {
    if (connector.setInitialPassword) {
      password = generatePassword({
        length: 20,
        avoid: [e.username, e.displayName, e.userPrincipalName?.split('@')[0] ?? ''],
      });
      await connector.setInitialPassword(call.account, password, { mustChange });
    } else {
      const pass = await connector.issueTemporaryAccessPass!(call.account, {
        lifetimeMinutes: settings.accessPassLifetimeMinutes,
      });
      password = pass.pass;
      validUntil = pass.validUntil;
    }
  } catch (err) {
    const clean = (password ? scrubbed(err, password) : err) as Error & { type?: string };
    if (clean.name === 'TargetRejected' || clean.type === 'TargetRejected') {
      await audit(deps, call, 'failed', `day-one password not set: ${clean.message}`, {});
      throw ApplicationFailure.nonRetryable(clean.message, 'TargetRejected');
    }
    throw clean;
  }
  await recordDelivery(deps.pool, key, 'sending');

  const label = targetLabel(deps.kind);
  const rendered = deps.templates.render('dayOnePassword', (language) => ({
    employeeDisplayName: e.displayName,
    recipientName: to.name,
    label,
    username: e.username,
    userPrincipalName: e.userPrincipalName,
    password,
    accessPass: validUntil !== undefined,
    validUntil: validUntil && formatMoment(validUntil, language),
    mustChange,
    startDate: formatDay(e.startDate, language),
    replacesEarlier,
  }));
  try {
    await deps.mailer.send({ to: { name: to.name, address: to.address }, messageId, ...rendered });
  } catch (err) {
    const clean = scrubbed(err, password) as Error;
    const rejected = clean.name === 'NotificationRejected';
    if (!mailMayHaveLeft(clean)) {
      const problem = rejected ? `the mail server refused the ${to.channel} mailbox` : undefined;
      await recordDelivery(deps.pool, key, rejected ? 'undeliverable' : 'unsent', { problem });
    }
    if (rejected) {
      const message = `day-one password set but not delivered: the mail server refused the ${to.channel} mailbox`;
      await audit(deps, call, 'failed', message, { channel: to.channel, reason: 'mailRejected' });
      return { action: 'dayOnePassword', outcome: 'failed', message };
    }
    throw clean;
  }
  await recordSent(deps, key);
  const what = validUntil ? 'day-one Temporary Access Pass issued' : 'day-one password set';
  const message =
    `${what}${mustChange ? ' (must change at next logon)' : ''} and mailed to the ` +
    (to.channel === 'manager' ? `manager ${e.managerKey}` : `${to.channel} mailbox`) +
    (replacesEarlier ? '; it replaces an earlier mail that may have left' : '');
  await audit(deps, call, 'success', message, {
    channel: to.channel,
    mustChange,
    ...(validUntil ? { accessPassValidUntil: validUntil } : {}),
    messageId,
    attempt,
    ...(replacesEarlier ? { replacesEarlier: true } : {}),
  });
  return { action: 'dayOnePassword', outcome: 'success', message };
}
