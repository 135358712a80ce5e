// The Spend Cloud export schedule: once a day at a local time (06:00 by default in the worker),
// switchable to an interval and back, against the real Temporal dev server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { ensureExportSchedules } from '../workers/schedules.js';
import { connectClient } from '../workers/temporal-connection.js';
import { uniqueSuffix } from './support/env.js';

describe('export schedule', () => {
  let client: Client;
  const id = `sc${uniqueSuffix()}`;
  before(async () => {
    client = await connectClient();
  });
  after(async () => {
    await client.schedule
      .getHandle(`export-${id}`)
      .delete()
      .catch(() => undefined);
    await client.connection.close();
  });

  test('daily at 06:00 Europe/Amsterdam; an interval when asked; back to daily', async () => {
    const taskQueue = `test-export-${id}`;
    await ensureExportSchedules(client, [{ id, at: '06:00', timeZone: 'Europe/Amsterdam' }], { taskQueue });
    const daily = await client.schedule.getHandle(`export-${id}`).describe();
    assert.equal(daily.spec.timezone, 'Europe/Amsterdam');
    assert.equal(daily.spec.intervals?.length ?? 0, 0);
    const cal = daily.spec.calendars?.[0];
    assert.deepEqual(cal?.hour, [{ start: 6, end: 6, step: 1 }]);
    assert.deepEqual(cal?.minute, [{ start: 0, end: 0, step: 1 }]);
    // The next run is 06:00 local time.
    const next = daily.info.nextActionTimes[0];
    assert.ok(next);
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Amsterdam',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(next);
    assert.equal(local, '06:00');

    await ensureExportSchedules(client, [{ id, every: '1h' }], { taskQueue });
    const hourly = await client.schedule.getHandle(`export-${id}`).describe();
    assert.equal(hourly.spec.calendars?.length ?? 0, 0);
    assert.equal(hourly.spec.intervals?.[0]?.every, 3_600_000);

    await ensureExportSchedules(client, [{ id, at: '05:30', timeZone: 'Europe/Amsterdam' }], { taskQueue });
    const again = await client.schedule.getHandle(`export-${id}`).describe();
    assert.equal(again.spec.intervals?.length ?? 0, 0);
    assert.deepEqual(again.spec.calendars?.[0]?.minute, [{ start: 30, end: 30, step: 1 }]);
  });

  test('a bad time is refused', async () => {
    await assert.rejects(
      ensureExportSchedules(client, [{ id: `${id}x`, at: '6:00', timeZone: 'Europe/Amsterdam' }]),
      /expected HH:MM/,
    );
  });
});
