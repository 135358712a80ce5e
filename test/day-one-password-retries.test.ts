// The day-one password's retries, calling the shared function (activities/day-one-password.ts)
// directly against Samba AD, the vault and an SMTP sink: a retry after the mail went out sends
// nothing; a mail that surely did not leave is redone; a retry after a mail that may have left (the
// activity died in that window: simulated by a mailer that sends and then fails as a timeout would)
// sets a new password whose mail says it replaces the earlier one, and the newest works; a
// recipient the server refuses is reported, not retried.
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import { deliverDayOnePassword, type DayOnePasswordDeps } from '../activities/day-one-password.js';
import { Mailer, type MailSender } from '../activities/notify.js';
import { MailTemplates } from '../alerts/mail-templates.js';
import { AdTargetConnector, adConfigFromEnv } from '../connectors/targets/ad.js';
import type { AccountReference, DesiredAccount } from '../connectors/types.js';
import { recordOwned } from '../vault/accounts.js';
import { auditTrail } from '../vault/audit.js';
import { requireEnv } from './support/env.js';
import { SmtpSink, type SinkMessage } from './support/smtp-sink.js';

const RUN = randomBytes(3).toString('hex');
const MANAGER_MAILBOX = `servicedesk-${RUN}@tenure.test`;
const passwordIn = (m: SinkMessage) => /Initial password: (\S+)/.exec(m.text)?.[1];

async function bindCode(upn: string, password: string): Promise<string> {
  const c = new LdapClient({ url: requireEnv('AD_URL'), tlsOptions: { rejectUnauthorized: false }, timeout: 10_000 });
  try {
    await c.bind(upn, password);
    return 'ok';
  } catch (err) {
    return /data ([0-9a-f]+)/.exec((err as Error).message)?.[1] ?? (err as Error).message;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

describe('day-one password retries (Samba AD, vault, SMTP sink)', () => {
  let pool: pg.Pool;
  let ad: AdTargetConnector;
  let sink: SmtpSink;
  let mailer: Mailer;
  const templates = new MailTemplates({ languages: ['en'] });
  let n = 0;

  before(async () => {
    pool = new pg.Pool({ connectionString: requireEnv('DATABASE_URL'), max: 2 });
    ad = new AdTargetConnector({ ...adConfigFromEnv(), id: `ad-${RUN}` });
    sink = await new SmtpSink().start();
    mailer = new Mailer({
      host: sink.host,
      port: sink.port,
      secure: false,
      requireTls: false,
      from: 'tenure@tenure.test',
      tlsInsecure: false,
    });
  });
  after(async () => {
    mailer?.close();
    await ad?.close();
    await sink?.stop();
    await pool?.end();
  });

  /** A disabled account Tenure created (recorded so), and the call that enables it for the first time. */
  async function newAccount() {
    n += 1;
    const id = `d1${RUN}${n}`;
    const desired: DesiredAccount = {
      personKey: `retry:${id}`,
      employeeId: id,
      username: `r${RUN}${n}`,
      userPrincipalName: `r${RUN}${n}@tenure.test`,
      email: `r${RUN}${n}@tenure.test`,
      emailAliases: [],
      displayName: `Retry Person ${RUN} ${n}`,
      givenName: 'Retry',
      familyName: `Person ${n}`,
      location: 'Utrecht',
    };
    const created = await ad.create(desired);
    const account = created.account as AccountReference;
    const personKey = `retry:${id}`;
    await recordOwned(pool, ad.id, personKey, 'created', account);
    const call = {
      target: ad.id,
      personKey,
      cause: 'test',
      account,
      employee: {
        displayName: desired.displayName,
        username: desired.username,
        userPrincipalName: desired.userPrincipalName,
        departmentCode: 'RETRY',
      },
    };
    await ad.enable(account);
    return { call, upn: desired.userPrincipalName };
  }

  const deps = (send: MailSender = mailer): DayOnePasswordDeps => ({
    pool,
    mailer: send,
    templates,
    kind: 'ad',
    settings: {
      enabled: true,
      mustChange: false,
      departmentMailboxes: { RETRY: MANAGER_MAILBOX },
      accessPassLifetimeMinutes: 480,
    },
  });
  const mailsFor = (upn: string) => sink.messages.filter((m) => m.text.includes(upn));

  test('a retry after the mail was sent sends nothing', async () => {
    const { call, upn } = await newAccount();
    assert.equal((await deliverDayOnePassword(deps(), call, ad))?.outcome, 'success');
    assert.equal((await deliverDayOnePassword(deps(), call, ad))?.outcome, 'unchanged');
    assert.equal(mailsFor(upn).length, 1);
    assert.equal(await bindCode(upn, passwordIn(mailsFor(upn)[0]!)!), 'ok');
  });

  test('a mail that surely did not leave is redone with a new password, without a "replaces" note', async () => {
    const { call, upn } = await newAccount();
    sink.refuseRecipient(MANAGER_MAILBOX, 451);
    await assert.rejects(deliverDayOnePassword(deps(), call, ad), /will retry/);
    sink.clearRefusals();
    const state = await pool.query('select state from day_one_passwords where account_id = $1', [call.account.id]);
    assert.equal(state.rows[0]?.state, 'unsent');
    assert.equal((await deliverDayOnePassword(deps(), call, ad))?.outcome, 'success');
    const mails = mailsFor(upn);
    assert.equal(mails.length, 1);
    assert.doesNotMatch(mails[0]!.text, /replaces an earlier mail/);
    assert.equal(await bindCode(upn, passwordIn(mails[0]!)!), 'ok');
  });

  test('after a mail that may have left, the retry says it replaces it, and the newest password works', async () => {
    const { call, upn } = await newAccount();
    // The mail leaves, then the activity fails as on a timeout after the message (it cannot know).
    const leavesThenTimesOut: MailSender = {
      async send(mail) {
        await mailer.send(mail);
        throw Object.assign(new Error('mail not sent, will retry (ETIMEDOUT): timeout after DATA'), {
          name: 'NotificationDeferred',
          mayHaveLeft: true,
        });
      },
    };
    await assert.rejects(deliverDayOnePassword(deps(leavesThenTimesOut), call, ad), /ETIMEDOUT/);
    assert.equal((await deliverDayOnePassword(deps(), call, ad))?.outcome, 'success');
    const [first, second] = mailsFor(upn);
    assert.ok(first && second, 'two mails');
    assert.doesNotMatch(first.text, /replaces an earlier mail/);
    assert.match(second.text, /This mail replaces an earlier mail/);
    assert.notEqual(first.messageId, second.messageId);
    assert.notEqual(passwordIn(first), passwordIn(second));
    // The newest password is the account's. (The replaced one may still be accepted for a while:
    // Samba, like AD for NTLM, honours an "old password allowed period" after a reset.)
    assert.equal(await bindCode(upn, passwordIn(second)!), 'ok', 'the newest one works');
    const audit = await auditTrail(pool, call.personKey);
    assert.ok(audit.some((a) => a.action === 'dayOnePassword' && /replaces an earlier mail/.test(a.message ?? '')));
  });

  test('a recipient the server refuses is reported and not retried', async () => {
    const { call, upn } = await newAccount();
    sink.refuseRecipient(MANAGER_MAILBOX, 550);
    try {
      const out = await deliverDayOnePassword(deps(), call, ad);
      assert.equal(out?.outcome, 'failed');
      assert.match(out!.message, /refused the department mailbox/);
      assert.equal((await deliverDayOnePassword(deps(), call, ad))?.outcome, 'failed', 'a retry reports the same');
    } finally {
      sink.clearRefusals();
    }
    assert.equal(mailsFor(upn).length, 0);
    const audit = await auditTrail(pool, call.personKey);
    assert.equal(audit.filter((a) => a.action === 'dayOnePassword' && a.outcome === 'failed').length, 1);
  });
});
