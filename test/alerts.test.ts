// Admin alerts: every mail template renders in Dutch and English; a poll held by thresholds sends
// exactly one alert to a real SMTP sink (and one JSON body to a webhook), however often the
// alert is raised or the sweep runs; a person failing longer than the setting alerts once per episode.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { rejectPollUpdate, POLL_WORKFLOW_TYPE, type PollSummary } from '../common/messages.js';
import { AdminAlerts, type WebhookBody } from '../alerts/admin-alerts.js';
import { alertSettingsFromEnv } from '../alerts/config.js';
import { MailTemplates, SHIPPED_LANGUAGES, TEMPLATE_NAMES } from '../alerts/mail-templates.js';
import { shellArg } from '../alerts/observer.js';
import { Mailer } from '../activities/notify.js';
import { eventually, startHarness, type Harness, type Row } from './support/tenure-harness.js';
import { uniqueSuffix } from './support/env.js';

const SAMPLE_VIEW: Record<string, unknown> = {
  employeeDisplayName: 'Anna de Vries',
  managerName: 'Bram Bakker',
  username: 'anna.devries',
  email: 'anna.devries@example.test',
  startDate: '1 februari 2027',
  endDate: '31 maart 2027',
  label: 'Active Directory',
  recipientName: 'Bram Bakker',
  userPrincipalName: 'anna.devries@example.test',
  password: 'Sample-Password-2027!',
  mustChange: true,
  replacesEarlier: true,
  accounts: [
    { target: 'ad', label: 'Active Directory' },
    { target: 'topdesk', label: 'TOPdesk' },
  ],
  sourceId: 'raet',
  pollId: 42,
  workflowId: 'poll-raet-1',
  heldAt: '2027-02-01T06:00:00.000Z',
  reasons: ['removed: 6 of 20 persons (30%) in this import; limit 10%'],
  recordsRead: 14,
  previous: 20,
  added: 0,
  changed: 1,
  removed: 6,
  endingToday: 6,
  approveCommand: "tenure approve poll-raet-1 --reason 'checked the changes'",
  rejectCommand: "tenure reject poll-raet-1 --reason 'import is wrong'",
  personKey: 'raet:1001',
  health: 'failed',
  failingSince: '2027-02-01T06:00:00.000Z',
  failingFor: '5h',
  threshold: '4h',
  attempt: 5,
  error: 'HTTP 503 from the source',
  day: '2027-02-01',
  count: 2,
  alerts: [
    { raisedAt: '2027-02-01 07:00', subject: 'Tenure: poll raet#42 held by thresholds' },
    { raisedAt: '2027-02-01 08:00', subject: 'Tenure: provisioning of raet:1001 has been failing for 5h' },
  ],
};

describe('mail templates', () => {
  for (const lang of SHIPPED_LANGUAGES) {
    for (const name of TEMPLATE_NAMES) {
      test(`${lang}/${name} renders`, () => {
        const t = new MailTemplates({ languages: [lang] });
        const m = t.render(name, () => SAMPLE_VIEW);
        assert.ok(m.subject.length > 5 && !m.subject.includes('\n'), m.subject);
        assert.ok(m.text.length > 40);
        for (const part of [m.subject, m.text, m.html]) assert.doesNotMatch(part, /\{\{|\}\}/, 'every tag rendered');
        assert.match(m.html, new RegExp(`<div lang="${lang}">`));
      });
    }
  }

  test('values are escaped in HTML and missing optional facts leave no empty line', () => {
    const t = new MailTemplates();
    const m = t.render('accountReady', () => ({ employeeDisplayName: 'Anna <b>& Co</b>' }));
    assert.match(m.html, /Anna &lt;b&gt;&amp; Co&lt;\/b&gt;/);
    assert.doesNotMatch(m.html, /<b>& Co/);
    assert.doesNotMatch(m.text, /Gebruikersnaam|Username|Startdatum|Start date/);
    assert.match(m.text, /Beste leidinggevende,/);
    assert.doesNotMatch(m.text, /\n\n\n/);
    assert.equal(m.subject, 'Account gereed: Anna <b>& Co</b> / Account ready: Anna <b>& Co</b>');
  });

  test('the day-one mail names a Temporary Access Pass and its expiry instead of a password', () => {
    const t = new MailTemplates({ languages: ['en'] });
    const view = { ...SAMPLE_VIEW, accessPass: true, validUntil: '1 February 2027 at 15:00', mustChange: false };
    const m = t.render('dayOnePassword', () => view);
    assert.match(m.text, /Temporary Access Pass: Sample-Password-2027!\n {2}Valid until: 1 February 2027 at 15:00/);
    assert.doesNotMatch(m.text, /Initial password|must be changed/);
    assert.match(t.render('dayOnePassword', () => SAMPLE_VIEW).text, /Initial password: Sample-Password-2027!/);
  });

  test('a missing template or a bad language is refused at start-up', () => {
    assert.throws(() => new MailTemplates({ languages: ['fr'] }), /has no fr version/);
    assert.throws(() => alertSettingsFromEnv({ TENURE_ALERT_MAIL_TO: 'not-an-address' }), /TENURE_ALERT_MAIL_TO/);
    assert.throws(() => alertSettingsFromEnv({ TENURE_ALERT_DIGEST: '25:00' }), /TENURE_ALERT_DIGEST/);
    assert.equal(shellArg('poll-raet-1'), 'poll-raet-1');
    assert.equal(shellArg("it's"), `'it'\\''s'`);
  });
});

describe('admin alerts against the real worker, vault and an SMTP sink', () => {
  let h: Harness;
  let hook: Server;
  const bodies: WebhookBody[] = [];
  const ADMIN = 'tenure-admins@tenure.test';

  before(async () => {
    hook = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString('utf8')));
      req.on('end', () => {
        assert.equal(req.headers.authorization, 'Bearer hook-token');
        bodies.push(JSON.parse(data) as WebhookBody);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    h = await startHarness(
      `
version: "alerts-1"
timeZone: Europe/Amsterdam
targets:
  - id: ad
    kind: ad
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
`,
      {
        TENURE_ALERT_MAIL_TO: ADMIN,
        TENURE_ALERT_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/tenure`,
        TENURE_ALERT_WEBHOOK_TOKEN: 'hook-token',
        TENURE_ALERT_FAILING_AFTER: '1h',
        // The default thresholds (the harness switches them off), without the go-live hold.
        TENURE_FILE_SOURCE_THRESHOLDS: JSON.stringify({ firstPoll: 'accept' }),
      },
    );
  });
  after(async () => {
    await h?.stop();
    await new Promise<void>((resolve) => hook?.close(() => resolve()));
  });

  test('a held poll sends exactly one alert, with the counts and the approve/reject commands', async () => {
    const rows: Row[] = Array.from({ length: 20 }, () => {
      const key = h.key();
      return { key, nick: 'Held', family: 'Poll', contract: `${key}c1`, start: '2031-01-01', dept: 'ZORG' };
    });
    h.writeExport(rows);
    assert.equal((await h.poll()).outcome, 'accepted');

    h.writeExport(rows.slice(5)); // 5 of 20 removed: 25%, over the default 10%
    const workflowId = `poll-${h.sourceId}-${uniqueSuffix()}`;
    const poll = await h.client.workflow.start(POLL_WORKFLOW_TYPE, {
      taskQueue: `tenure-test-${h.sourceId}`,
      workflowId,
      args: [{ sourceId: h.sourceId, batchSize: 50 }],
    });
    const isAlert = (m: { to: string[]; subject: string }) =>
      m.to.includes(ADMIN) && m.subject.includes(`poll ${h.sourceId}#`);
    const mail = await h.smtp.waitFor(isAlert, 60_000);
    assert.match(mail.subject, /held by thresholds/);
    assert.match(mail.subject, /tegengehouden door drempels/);
    assert.match(mail.text, /removed: 5 of 20 persons \(25%\)/);
    assert.match(mail.text, /Removed: 5/);
    assert.match(mail.text, /Verwijderd: 5/);
    assert.ok(mail.text.includes(`tenure approve ${workflowId} --reason 'checked the changes'`), mail.text);
    assert.ok(mail.text.includes(`tenure reject ${workflowId} --reason 'import is wrong'`), mail.text);
    assert.doesNotMatch(mail.text, /Held Poll/, 'no names in alerts');

    // Raising it again, delivering pending alerts and running the sweep send nothing more.
    const pollId = Number(/#(\d+)/.exec(mail.subject)?.[1]);
    assert.equal(
      await h.runtime.alerts.raise({
        kind: 'pollHeld',
        dedupeKey: `pollHeld:${pollId}`,
        subjectKey: String(pollId),
        details: {},
      }),
      false,
    );
    await h.runtime.alerts.deliver();
    await h.client.workflow.execute('adminAlertSweep', {
      taskQueue: `tenure-test-${h.sourceId}`,
      workflowId: `sweep-${h.sourceId}-${uniqueSuffix()}`,
    });

    const hooked = await eventually(
      async () => bodies.filter((b) => b.kind === 'pollHeld' && b.subjectKey === String(pollId)),
      (b) => b.length > 0,
    );
    assert.equal(hooked.length, 1);
    assert.equal(hooked[0]?.details.removed, 5);
    assert.equal(hooked[0]?.details.workflowId, workflowId);
    assert.match(hooked[0]?.summary ?? '', /held by thresholds/);

    await poll.executeUpdate(rejectPollUpdate, { args: [{ requestedBy: 'alerts-test', reason: 'test' }] });
    assert.equal(((await poll.result()) as PollSummary).outcome, 'rejected');
    assert.equal(h.smtp.messages.filter(isAlert).length, 1, 'exactly one alert mail');
    const { rows: stored } = await h.db.query(
      `select mailed_at, webhook_at, attempts from admin_alerts where dedupe_key = $1`,
      [`pollHeld:${pollId}`],
    );
    assert.equal(stored.length, 1);
    assert.ok(stored[0].mailed_at && stored[0].webhook_at);
    assert.equal(stored[0].attempts, 0);
  });

  test('a person failing longer than the setting alerts once per failing episode', async () => {
    const alerts = h.runtime.alerts;
    const person = {
      personKey: `${h.sourceId}:failing1`,
      workflowId: `employee-${h.sourceId}:failing1`,
      health: 'failed',
    };
    const t0 = Date.now();
    const isAlert = (m: { to: string[]; subject: string }) =>
      m.to.includes(ADMIN) && m.subject.includes(person.personKey);
    assert.equal(await alerts.sweepFailingPersons([person], t0), 0, 'just started failing: no alert yet');
    assert.equal(await alerts.sweepFailingPersons([person], t0 + 30 * 60_000), 0, 'half an hour: still none');
    assert.equal(await alerts.sweepFailingPersons([person], t0 + 61 * 60_000), 1, 'over an hour: one alert');
    assert.equal(await alerts.sweepFailingPersons([person], t0 + 120 * 60_000), 0, 'the same episode: no second');
    const mail = await h.smtp.waitFor(isAlert, 20_000);
    assert.match(mail.text, /tenure status .*failing1/);
    assert.match(mail.text, /longer than the 1h/);

    assert.equal(await alerts.sweepFailingPersons([], t0 + 121 * 60_000), 0, 'recovered');
    const t1 = Date.now();
    await alerts.sweepFailingPersons([person], t1);
    assert.equal(await alerts.sweepFailingPersons([person], t1 + 61 * 60_000), 1, 'a new episode alerts again');
    await eventually(
      async () => h.smtp.messages.filter(isAlert).length,
      (n) => n === 2,
      20_000,
    );
    assert.equal(h.smtp.messages.filter(isAlert).length, 2);
    await alerts.sweepFailingPersons([], t1 + 62 * 60_000);
  });
});

describe('daily digest', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(`
version: "digest-1"
timeZone: Europe/Amsterdam
targets:
  - id: ad
    kind: ad
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
`);
  });
  after(async () => {
    await h?.stop();
  });

  test('in digest mode alerts are kept and mailed once, together, after the digest time', async () => {
    const settings = alertSettingsFromEnv({ TENURE_ALERT_MAIL_TO: 'digest@tenure.test', TENURE_ALERT_DIGEST: '07:30' });
    const mailer = Mailer.fromEnv({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(h.smtp.port),
      SMTP_FROM: 'tenure@tenure.test',
    });
    const alerts = new AdminAlerts({
      pool: h.db,
      settings,
      templates: new MailTemplates(),
      mailer,
      log: () => undefined,
    });
    try {
      const tag = uniqueSuffix();
      for (const n of [1, 2])
        assert.equal(
          await alerts.raise({
            kind: 'writebackFailing',
            dedupeKey: `writebackFailing:digest-${tag}-${n}`,
            subjectKey: `${tag}:${n}`,
            details: {
              personKey: `${tag}:${n}`,
              sourceId: tag,
              workflowId: `employee-${tag}:${n}`,
              attempt: 5,
              error: 'x',
            },
          }),
          true,
        );
      assert.equal(
        h.smtp.messages.filter((m) => m.to.includes('digest@tenure.test')).length,
        0,
        'nothing mailed at once',
      );
      // A day of its own, far from today, so reruns and other tests never share it.
      const day = Date.UTC(2100 + Math.floor(Math.random() * 800), 0, 1 + Math.floor(Math.random() * 28));
      assert.equal(await alerts.sendDigestIfDue(day + 5 * 3_600_000), 0, '06:00 local: not yet');
      const sent = await alerts.sendDigestIfDue(day + 7 * 3_600_000); // 08:00 in Amsterdam (winter)
      assert.ok(sent >= 2, `the digest carries both alerts (${sent})`);
      assert.equal(await alerts.sendDigestIfDue(day + 9 * 3_600_000), 0, 'one digest a day');
      const digest = await h.smtp.waitFor((m) => m.to.includes('digest@tenure.test'), 20_000);
      assert.ok(digest.text.includes(`${tag}:1`) && digest.text.includes(`${tag}:2`));
      assert.equal(h.smtp.messages.filter((m) => m.to.includes('digest@tenure.test')).length, 1);
    } finally {
      mailer.close();
    }
  });
});
