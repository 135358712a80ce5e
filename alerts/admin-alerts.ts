/**
 * Admin alerts: recorded once per event in the vault (admin_alerts, keyed by a dedupe key), then
 * delivered by mail to the admins (or collected into one daily digest) and to an optional webhook
 * as JSON. A delivery that fails stays pending and is tried again by the next alert sweep
 * (alerts/sweep.ts, run by a Temporal schedule); rows are claimed with SKIP LOCKED so two workers
 * never send the same alert. The Message-ID comes from the dedupe key, so a mail that went out
 * just before a crash and goes out again is recognisably the same mail.
 */
import type pg from 'pg';
import { notificationMessageId, type MailSender } from '../activities/notify.js';
import { localDate, localTime } from '../domain/dates.js';
import type { AlertSettings } from './config.js';
import type { MailTemplates, RenderedMail } from './mail-templates.js';

export type AlertKind = 'pollHeld' | 'personFailing' | 'writebackFailing';

export interface NewAlert {
  kind: AlertKind;
  /** The same event always gives the same key: a second raise is a no-op. */
  dedupeKey: string;
  /** Poll id, person key or workflow id: never a name. */
  subjectKey: string;
  /** The template's view (codes, counts, commands). */
  details: Record<string, unknown>;
}

interface AlertRow {
  id: string;
  dedupe_key: string;
  kind: AlertKind;
  subject_key: string;
  details: Record<string, unknown>;
  raised_at: Date;
  mailed_at: Date | null;
  webhook_at: Date | null;
}

/** The JSON body a webhook receives. */
export interface WebhookBody {
  source: 'tenure';
  kind: AlertKind;
  dedupeKey: string;
  subjectKey: string;
  raisedAt: string;
  summary: string;
  details: Record<string, unknown>;
}

export interface FailingPerson {
  personKey: string;
  workflowId: string;
  health: string;
}

/** Pending deliveries are given up after this many failed tries (the row stays, with its last error). */
const MAX_ATTEMPTS = 200;
const WEBHOOK_TIMEOUT_MS = 10_000;

export interface AdminAlertDeps {
  pool: pg.Pool;
  settings: AlertSettings;
  templates: MailTemplates;
  /** Needed when settings.mailTo is not empty. */
  mailer?: MailSender;
  log?: (line: string) => void;
}

export class AdminAlerts {
  constructor(private readonly deps: AdminAlertDeps) {}

  get #mailsEach(): boolean {
    return this.deps.settings.mailTo.length > 0 && !this.deps.settings.digestAt && Boolean(this.deps.mailer);
  }

  get #webhook(): boolean {
    return Boolean(this.deps.settings.webhookUrl);
  }

  #log(line: string): void {
    (this.deps.log ?? ((l: string) => console.warn(`[alerts] ${l}`)))(line);
  }

  /** Records the alert (once per dedupe key) and tries to deliver it now. True when it was new. */
  async raise(alert: NewAlert): Promise<boolean> {
    const { rows } = await this.deps.pool.query<{ id: string }>(
      `insert into admin_alerts (dedupe_key, kind, subject_key, details) values ($1, $2, $3, $4::jsonb)
       on conflict (dedupe_key) do nothing returning id`,
      [alert.dedupeKey, alert.kind, alert.subjectKey, JSON.stringify(alert.details)],
    );
    const id = rows[0]?.id;
    if (!id) return false;
    this.#log(`${alert.kind} ${alert.subjectKey}`);
    await this.deliver([Number(id)]).catch((err: unknown) =>
      this.#log(`delivery of ${alert.dedupeKey} deferred: ${(err as Error).message}`),
    );
    return true;
  }

  render(row: Pick<AlertRow, 'kind' | 'details'>): RenderedMail {
    return this.deps.templates.render(row.kind, () => row.details);
  }

  /** Delivers pending alerts (all, or just `ids`); returns how many deliveries went out. */
  async deliver(ids?: number[]): Promise<{ mailed: number; webhooks: number; failed: number }> {
    const report = { mailed: 0, webhooks: 0, failed: 0 };
    const mail = this.#mailsEach;
    const hook = this.#webhook;
    if (!mail && !hook) return report;
    const db = await this.deps.pool.connect();
    try {
      await db.query('begin');
      const { rows } = await db.query<AlertRow>(
        `select id, dedupe_key, kind, subject_key, details, raised_at, mailed_at, webhook_at from admin_alerts
          where (($1 and mailed_at is null) or ($2 and webhook_at is null)) and attempts < $3
            and ($4::bigint[] is null or id = any($4::bigint[]))
          order by id limit 100 for update skip locked`,
        [mail, hook, MAX_ATTEMPTS, ids ?? null],
      );
      for (const row of rows) {
        const errors: string[] = [];
        let mailedNow = false;
        let hookedNow = false;
        const rendered = this.render(row);
        if (mail && !row.mailed_at) {
          try {
            await this.#mail(rendered, `alert/${row.dedupe_key}`);
            mailedNow = true;
            report.mailed++;
          } catch (err) {
            errors.push(`mail: ${(err as Error).message}`);
          }
        }
        if (hook && !row.webhook_at) {
          try {
            await this.#post(row, rendered.subject);
            hookedNow = true;
            report.webhooks++;
          } catch (err) {
            errors.push(`webhook: ${(err as Error).message}`);
          }
        }
        if (errors.length) report.failed++;
        await db.query(
          `update admin_alerts set
             mailed_at = case when $2 then now() else mailed_at end,
             webhook_at = case when $3 then now() else webhook_at end,
             attempts = attempts + case when $4::text is null then 0 else 1 end,
             last_error = coalesce($4, last_error)
           where id = $1`,
          [row.id, mailedNow, hookedNow, errors.length ? errors.join('; ').slice(0, 1000) : null],
        );
      }
      await db.query('commit');
    } catch (err) {
      await db.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
    return report;
  }

  /**
   * In digest mode: once the local digest time of a day has passed, mails every alert not mailed
   * yet as one message (nothing to say: no mail). One digest per day, even with several workers.
   */
  async sendDigestIfDue(now = Date.now()): Promise<number> {
    const { digestAt, timeZone, mailTo } = this.deps.settings;
    if (!digestAt || mailTo.length === 0 || !this.deps.mailer) return 0;
    const day = localDate(now, timeZone);
    if (localTime(now, timeZone).slice(0, 5) < digestAt) return 0;
    const db = await this.deps.pool.connect();
    try {
      await db.query('begin');
      const { rows } = await db.query<AlertRow>(
        `select id, dedupe_key, kind, subject_key, details, raised_at, mailed_at, webhook_at from admin_alerts
          where mailed_at is null and attempts < $1 order by id for update skip locked`,
        [MAX_ATTEMPTS],
      );
      const claimed = await db.query(
        `insert into alert_digests (day, alerts) values ($1, $2) on conflict (day) do nothing returning day`,
        [day, rows.length],
      );
      if (claimed.rowCount === 0 || rows.length === 0) {
        // Already sent today, or nothing to send (then today's row is kept: no second look today).
        await db.query(rows.length === 0 && claimed.rowCount === 1 ? 'commit' : 'rollback');
        return 0;
      }
      const alerts = rows.map((r) => ({
        raisedAt: `${localDate(r.raised_at.getTime(), timeZone)} ${localTime(r.raised_at.getTime(), timeZone).slice(0, 5)}`,
        subject: this.render(r).subject,
      }));
      const digest = this.deps.templates.render('alertDigest', () => ({ day, count: rows.length, alerts }));
      await this.#mail(digest, `alert-digest/${day}`);
      await db.query(`update admin_alerts set mailed_at = now(), digest_day = $2 where id = any($1::bigint[])`, [
        rows.map((r) => r.id),
        day,
      ]);
      await db.query('commit');
      return rows.length;
    } catch (err) {
      await db.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }

  /**
   * Keeps track of who is failing (from the ProvisioningHealth search attribute) and since when;
   * raises one alert per failing episode once it has lasted longer than the setting.
   */
  async sweepFailingPersons(seen: readonly FailingPerson[], now = Date.now()): Promise<number> {
    const { pool, settings } = this.deps;
    const at = new Date(now);
    await pool.query(
      `insert into failing_persons (person_key, workflow_id, health, failing_since, last_seen)
         select k, w, h, $4, $4 from unnest($1::text[], $2::text[], $3::text[]) as t(k, w, h)
       on conflict (person_key) do update set health = excluded.health, workflow_id = excluded.workflow_id, last_seen = $4`,
      [seen.map((p) => p.personKey), seen.map((p) => p.workflowId), seen.map((p) => p.health), at],
    );
    // Recovered (or gone): the next failure is a new episode with a new alert.
    await pool.query(`delete from failing_persons where not (person_key = any($1::text[]))`, [
      seen.map((p) => p.personKey),
    ]);
    const { rows } = await pool.query<{
      person_key: string;
      workflow_id: string;
      health: string;
      failing_since: Date;
    }>(
      `select person_key, workflow_id, health, failing_since from failing_persons where failing_since <= $1 order by person_key`,
      [new Date(now - settings.failingAfterMs)],
    );
    let raised = 0;
    for (const r of rows) {
      const since = r.failing_since.getTime();
      const isNew = await this.raise({
        kind: 'personFailing',
        dedupeKey: `personFailing:${r.person_key}:${since}`,
        subjectKey: r.person_key,
        details: {
          personKey: r.person_key,
          workflowId: r.workflow_id,
          health: r.health,
          failingSince: r.failing_since.toISOString(),
          failingFor: describeSpan(now - since),
          threshold: describeSpan(settings.failingAfterMs),
        },
      });
      if (isNew) raised++;
    }
    return raised;
  }

  async #mail(rendered: RenderedMail, idempotencyKey: string): Promise<void> {
    const mailer = this.deps.mailer;
    if (!mailer) throw new Error('no mailer configured');
    // One message to all admins (one Message-ID), each address its own envelope recipient.
    const [first, ...rest] = this.deps.settings.mailTo;
    await mailer.send({
      to: { address: [first, ...rest].join(', ') },
      messageId: notificationMessageId(idempotencyKey),
      ...rendered,
    });
  }

  async #post(row: AlertRow, summary: string): Promise<void> {
    const body: WebhookBody = {
      source: 'tenure',
      kind: row.kind,
      dedupeKey: row.dedupe_key,
      subjectKey: row.subject_key,
      raisedAt: row.raised_at.toISOString(),
      summary,
      details: row.details,
    };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.deps.settings.webhookToken) headers.authorization = `Bearer ${this.deps.settings.webhookToken}`;
    const res = await fetch(this.deps.settings.webhookUrl as string, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
  }
}

/** `4h`, `1d2h`, `35m`. */
export function describeSpan(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours}h${minutes % 60}m` : `${hours}h`;
  return `${Math.floor(hours / 24)}d${hours % 24 ? `${hours % 24}h` : ''}`;
}
