/**
 * Manager notifications through a real SMTP server (test/support/smtp-sink.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Mailer,
  ManagerNotification,
  NotificationRejected,
  classifySmtpError,
  createNotifyActivities,
  describeSmtpConfig,
  notificationMessageId,
  smtpConfigFromEnv,
  type ManagerNotification as ManagerNotificationType,
} from '../activities/notify.js';
import { SmtpSink, decodeQuotedPrintable, decodeWords, parseMessage } from './support/smtp-sink.js';

// Compile-time proof: the input type has no field that could carry a password.
type PasswordLike = Extract<
  keyof ManagerNotificationType,
  `${string}${'password' | 'Password' | 'wachtwoord' | 'secret'}${string}`
>;
const noPasswordField: [PasswordLike] extends [never] ? true : false = true;

const unique = () => `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

function ready(overrides: Partial<ManagerNotificationType> = {}): ManagerNotificationType {
  return {
    kind: 'accountReady',
    personKey: 'file:1001',
    employeeDisplayName: 'Anna de Vries',
    managerEmail: 'boss@example.test',
    managerName: 'Bram Bakker',
    username: 'anna.devries',
    email: 'anna.devries@example.test',
    startDate: '2027-02-01',
    idempotencyKey: `employee-file:1001/accountReady/${unique()}`,
    ...overrides,
  };
}

describe('notify: SMTP configuration', () => {
  test('defaults and validation', () => {
    const c = smtpConfigFromEnv({ SMTP_HOST: 'mail.example.test', SMTP_FROM: 'Tenure <t@example.test>' });
    assert.equal(c.port, 587);
    assert.equal(c.secure, false);
    assert.equal(c.requireTls, false);
    const secure = smtpConfigFromEnv({ SMTP_HOST: 'h', SMTP_FROM: 't@example.test', SMTP_SECURE: 'true' });
    assert.equal(secure.port, 465);
    const authed = smtpConfigFromEnv({
      SMTP_HOST: 'h',
      SMTP_FROM: 't@x.test',
      SMTP_USER: 'u',
      SMTP_PASSWORD: 'hunter2-secret',
    });
    assert.equal(authed.requireTls, true, 'credentials imply STARTTLS required');
    assert.equal(JSON.stringify(describeSmtpConfig(authed)).includes('hunter2-secret'), false);
    assert.throws(() => smtpConfigFromEnv({ SMTP_FROM: 't@x.test' }), /SMTP_HOST/);
    assert.throws(() => smtpConfigFromEnv({ SMTP_HOST: 'h', SMTP_FROM: 't@x.test', SMTP_PORT: 'abc' }), /SMTP_PORT/);
    assert.throws(() => smtpConfigFromEnv({ SMTP_HOST: 'h', SMTP_FROM: 't@x.test', SMTP_USER: 'u' }), /together/);
    try {
      smtpConfigFromEnv({
        SMTP_HOST: 'h',
        SMTP_FROM: 't@x.test',
        SMTP_SECURE: 'maybe',
        SMTP_PASSWORD: 'hunter2-secret',
      });
      assert.fail('expected an error');
    } catch (err) {
      assert.match((err as Error).message, /SMTP_SECURE/);
      assert.equal((err as Error).message.includes('hunter2-secret'), false);
    }
  });

  test('classifies SMTP errors', () => {
    const perm = classifySmtpError(
      Object.assign(new Error('x'), { code: 'EENVELOPE', responseCode: 550, response: '550 no' }),
    );
    assert.equal(perm.name, 'NotificationRejected');
    assert.ok(perm instanceof NotificationRejected);
    const temp = classifySmtpError(
      Object.assign(new Error('x'), { code: 'EENVELOPE', responseCode: 451, response: '451 later' }),
    );
    assert.notEqual(temp.name, 'NotificationRejected');
    const conn = classifySmtpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' }));
    assert.notEqual(conn.name, 'NotificationRejected');
    const auth = classifySmtpError(Object.assign(new Error('bad creds'), { code: 'EAUTH', responseCode: 535 }));
    assert.notEqual(auth.name, 'NotificationRejected', 'auth failures are fixable configuration: retry');
  });
});

describe('notify: input', () => {
  test('the schema has no password field and refuses one', () => {
    assert.equal(noPasswordField, true);
    const fields = Object.keys(ManagerNotification.shape);
    assert.deepEqual(
      fields.filter((f) => /pass|wachtwoord|secret/i.test(f)),
      [],
    );
    const withPassword = { ...ready(), password: 'Zomer2027!' } as unknown;
    assert.equal(ManagerNotification.safeParse(withPassword).success, false);
  });

  test('refuses line breaks in names (header injection)', async () => {
    const activities = createNotifyActivities({ send: async () => assert.fail('must not send') });
    await assert.rejects(
      activities.notifyManager(ready({ managerName: 'Bram\r\nBcc: evil@example.test' })),
      (err: Error & { type?: string; nonRetryable?: boolean }) => {
        assert.equal(err.type, 'InvalidNotification');
        assert.equal(err.nonRetryable, true);
        assert.equal(err.message.includes('evil@example.test'), false, 'values are not echoed');
        return true;
      },
    );
    await assert.rejects(activities.notifyManager(ready({ employeeDisplayName: 'Anna\nX-Evil: 1' })), /line breaks/);
    await assert.rejects(activities.notifyManager(ready({ managerEmail: 'not-an-address' })), /managerEmail/);
  });

  test('the Message-ID is derived from the idempotency key', () => {
    assert.equal(notificationMessageId('k1'), notificationMessageId('k1'));
    assert.notEqual(notificationMessageId('k1'), notificationMessageId('k2'));
    assert.match(notificationMessageId('k1'), /^<[0-9a-f]{64}@tenure>$/);
  });
});

describe('notify: through a real SMTP server', () => {
  const sink = new SmtpSink();
  let mailer: Mailer;
  let notifyManager: ReturnType<typeof createNotifyActivities>['notifyManager'];

  before(async () => {
    await sink.start();
    mailer = Mailer.fromEnv(sink.env('Tenure <tenure@example.test>'));
    notifyManager = createNotifyActivities(mailer).notifyManager;
  });
  after(async () => {
    mailer?.close();
    await sink.stop();
  });

  test('account ready: recipients, subject, Dutch and English text, HTML', async () => {
    const input = ready();
    const { messageId } = await notifyManager(input);
    assert.equal(messageId, notificationMessageId(input.idempotencyKey));
    const m = await sink.waitFor((x) => x.messageId === messageId, 5000);

    assert.deepEqual(m.envelope.to, ['boss@example.test']);
    assert.equal(m.envelope.from, 'tenure@example.test');
    assert.deepEqual(m.to, ['boss@example.test']);
    assert.match(m.from, /tenure@example\.test/);
    assert.equal(m.subject, 'Account gereed: Anna de Vries / Account ready: Anna de Vries');
    assert.equal(m.header('auto-submitted'), 'auto-generated');

    assert.match(m.text, /Beste Bram Bakker,/);
    assert.match(m.text, /Het account van Anna de Vries is klaar voor de start op 1 februari 2027\./);
    assert.match(m.text, /Gebruikersnaam: anna\.devries/);
    assert.match(m.text, /Dear Bram Bakker,/);
    assert.match(m.text, /The account of Anna de Vries is ready for their start on 1 February 2027\./);
    assert.match(m.text, /E-mail address: anna\.devries@example\.test/);
    assert.match(m.html, /<p>Het account van Anna de Vries is klaar/);
    assert.match(m.html, /<strong>anna\.devries<\/strong>/);

    for (const body of [m.raw, m.text, m.html]) {
      assert.doesNotMatch(body, /password|wachtwoord/i);
    }
  });

  test('leaver disabled, without a manager name, with non-ASCII names', async () => {
    const input = ready({
      kind: 'leaverDisabled',
      employeeDisplayName: 'Zoë van den Berg-Ødegård',
      managerName: undefined,
      startDate: undefined,
      endDate: '2027-03-31',
      managerEmail: 'Chef@Example.test',
    });
    const { messageId } = await notifyManager(input);
    const m = await sink.waitFor((x) => x.messageId === messageId, 5000);
    assert.deepEqual(m.envelope.to, ['chef@example.test']);
    assert.equal(
      m.subject,
      'Accounts uitgeschakeld: Zoë van den Berg-Ødegård / Accounts disabled: Zoë van den Berg-Ødegård',
    );
    assert.match(m.text, /Beste leidinggevende,/);
    assert.match(
      m.text,
      /De accounts van Zoë van den Berg-Ødegård zijn uitgeschakeld na de laatste werkdag, 31 maart 2027\./,
    );
    assert.match(m.text, /Dear manager,/);
    assert.match(
      m.text,
      /The accounts of Zoë van den Berg-Ødegård have been disabled after their last working day, 31 March 2027\./,
    );
    assert.doesNotMatch(m.text, /Startdatum|Start date/);
    assert.match(m.html, /Zoë van den Berg-Ødegård/);
  });

  test('HTML escapes names', async () => {
    const { messageId } = await notifyManager(ready({ employeeDisplayName: 'Anna <b>& Co</b>' }));
    const m = await sink.waitFor((x) => x.messageId === messageId, 5000);
    assert.match(m.html, /Anna &lt;b&gt;&amp; Co&lt;\/b&gt;/);
    assert.doesNotMatch(m.html, /<b>& Co/);
  });

  test('a retried notification carries the same Message-ID', async () => {
    const input = ready();
    const first = await notifyManager(input);
    const second = await notifyManager(input);
    assert.equal(first.messageId, second.messageId);
    // The sink records a message before it answers 250, so both are here once the sends resolve.
    const copies = sink.messages.filter((x) => x.messageId === first.messageId);
    assert.equal(copies.length, 2, 'the receiving side sees two copies with one Message-ID and can drop the second');
    assert.equal(copies[0]!.text, copies[1]!.text);
  });

  test('a 550 for the recipient is NotificationRejected', async () => {
    sink.refuseRecipient('gone@example.test', 550, '5.1.1 User unknown');
    await assert.rejects(notifyManager(ready({ managerEmail: 'gone@example.test' })), (err: Error) => {
      assert.equal(err.name, 'NotificationRejected');
      assert.equal(err.constructor.name, 'NotificationRejected', 'Temporal uses the class name as the failure type');
      assert.equal((err as NotificationRejected).responseCode, 550);
      assert.match(err.message, /User unknown/);
      return true;
    });
  });

  test('a 451 for the recipient is retryable', async () => {
    sink.refuseRecipient('busy@example.test', 451);
    await assert.rejects(notifyManager(ready({ managerEmail: 'busy@example.test' })), (err: Error) => {
      assert.notEqual(err.name, 'NotificationRejected');
      assert.match(err.message, /451/);
      return true;
    });
  });

  test('a refused connection is retryable', async () => {
    const dead = new SmtpSink();
    await dead.start();
    const env = dead.env();
    await dead.stop();
    const m = Mailer.fromEnv(env);
    try {
      await assert.rejects(createNotifyActivities(m).notifyManager(ready()), (err: Error) => {
        assert.notEqual(err.name, 'NotificationRejected');
        return true;
      });
    } finally {
      m.close();
    }
  });
});

describe('notify: STARTTLS', () => {
  test('sends over STARTTLS when required (self-signed sink, TLS_INSECURE)', async () => {
    const sink = await new SmtpSink({ starttls: true }).start();
    const mailer = Mailer.fromEnv({ ...sink.env(), SMTP_STARTTLS_REQUIRED: 'true' });
    try {
      const { messageId } = await createNotifyActivities(mailer).notifyManager(ready());
      const m = await sink.waitFor((x) => x.messageId === messageId, 5000);
      assert.match(m.subject, /Account ready/);
    } finally {
      mailer.close();
      await sink.stop();
    }
  });
});

describe('smtp sink parsing', () => {
  test('quoted-printable, encoded words, nested multipart, base64', () => {
    assert.equal(decodeQuotedPrintable('Zo=C3=AB =\r\nis er').toString('utf8'), 'Zoë is er');
    assert.equal(decodeWords('=?UTF-8?Q?Zo=C3=AB_van?= =?UTF-8?B?w5hkZWfDpXJk?='), 'Zoë vanØdegård');
    const raw = [
      'From: "A, B" <a@example.test>',
      'To: x@example.test, "Y" <Y@Example.test>',
      'Subject: =?UTF-8?Q?Caf=C3=A9?=',
      'Message-ID: <abc@tenure>',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('héllo').toString('base64'),
      '--inner',
      'Content-Type: text/html; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '<p>h=E9llo</p>',
      '--inner--',
      '--outer',
      'Content-Type: text/plain',
      'Content-Disposition: attachment; filename=x.txt',
      '',
      'attachment',
      '--outer--',
      '',
    ].join('\r\n');
    const m = parseMessage(Buffer.from(raw, 'utf8'));
    assert.equal(m.subject, 'Café');
    assert.equal(m.messageId, '<abc@tenure>');
    assert.deepEqual(m.to, ['x@example.test', 'y@example.test']);
    assert.equal(m.text, 'héllo');
    assert.equal(m.html, '<p>héllo</p>');
  });
});
