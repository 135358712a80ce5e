/**
 * The delivery record of day-one passwords (vault table day_one_passwords): how far setting and
 * mailing an account's initial password got. Never the password.
 */
import type pg from 'pg';

export type DeliveryState = 'setting' | 'sending' | 'unsent' | 'sent' | 'undeliverable';
export type DeliveryChannel = 'manager' | 'department' | 'fallback';

export interface Delivery {
  state: DeliveryState;
  attempts: number;
  channel?: DeliveryChannel;
  mustChange?: boolean;
  messageId?: string;
  problem?: string;
  sentAt?: Date;
}

export interface DeliveryKey {
  target: string;
  personKey: string;
  accountId: string;
}

export async function deliveryOf(db: pg.Pool, k: DeliveryKey): Promise<Delivery | null> {
  const r = await db.query<{
    state: DeliveryState;
    attempts: number;
    channel: DeliveryChannel | null;
    must_change: boolean | null;
    message_id: string | null;
    problem: string | null;
    sent_at: Date | null;
  }>('select * from day_one_passwords where target = $1 and person_key = $2 and account_id = $3', [
    k.target,
    k.personKey,
    k.accountId,
  ]);
  const row = r.rows[0];
  if (!row) return null;
  return {
    state: row.state,
    attempts: row.attempts,
    channel: row.channel ?? undefined,
    mustChange: row.must_change ?? undefined,
    messageId: row.message_id ?? undefined,
    problem: row.problem ?? undefined,
    sentAt: row.sent_at ?? undefined,
  };
}

/** Moves the delivery to `state`; `attempt: true` counts one more password set. */
export async function recordDelivery(
  db: pg.Pool,
  k: DeliveryKey,
  state: DeliveryState,
  fields: {
    attempt?: boolean;
    channel?: DeliveryChannel;
    mustChange?: boolean;
    messageId?: string;
    problem?: string;
  } = {},
): Promise<void> {
  await db.query(
    `insert into day_one_passwords (target, person_key, account_id, state, attempts, channel, must_change, message_id, problem, sent_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, case when $4 = 'sent' then now() end)
     on conflict (target, person_key, account_id) do update set
       state = $4,
       attempts = day_one_passwords.attempts + $5,
       channel = coalesce($6, day_one_passwords.channel),
       must_change = coalesce($7, day_one_passwords.must_change),
       message_id = coalesce($8, day_one_passwords.message_id),
       problem = $9,
       sent_at = case when $4 = 'sent' then now() else day_one_passwords.sent_at end,
       updated_at = now()`,
    [
      k.target,
      k.personKey,
      k.accountId,
      state,
      fields.attempt ? 1 : 0,
      fields.channel ?? null,
      fields.mustChange ?? null,
      fields.messageId ?? null,
      fields.problem ?? null,
    ],
  );
}
