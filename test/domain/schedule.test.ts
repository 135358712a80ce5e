import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Contract } from '../../domain/model.js';
import { DEFAULT_TIMINGS, parseRules } from '../../domain/rules.js';
import {
  computeSchedule,
  employments,
  lifecycleMoments,
  nextMoment,
  scheduleForTarget,
} from '../../domain/schedule.js';
import { contract, person } from './helpers.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const at = (s: string) => Date.parse(s);
const c = (id: string, start: string, end?: string) => Contract.parse(contract(id, start, end));

test('employments: chained and overlapping contracts merge, a gap starts a new one', () => {
  const list = [
    c('a', '2020-01-01', '2020-12-31'),
    c('b', '2021-01-01', '2021-06-30'), // chains (starts the day after)
    c('x', '2021-03-01', '2021-04-30'), // overlaps, ends earlier
    c('c', '2021-08-01', '2022-01-31'), // gap: new employment
    c('d', '2022-02-01'), // chains, open-ended
    c('e', '2030-01-01', '2030-12-31'), // swallowed by the open-ended one
  ];
  assert.deepEqual(employments(list.reverse()), [
    { startDate: '2020-01-01', endDate: '2021-06-30', contractIds: ['a', 'b', 'x'] },
    { startDate: '2021-08-01', contractIds: ['c', 'd', 'e'] },
  ]);
  assert.deepEqual(employments([]), []);
});

test('default timings: create 14 days before at 00:00, enable 07:00, disable 00:00 after the end, delete 90 days later', () => {
  const p = person({ contracts: [contract('c1', '2027-04-12', '2027-10-29')] });
  const s = computeSchedule(p, DEFAULT_TIMINGS, at('2027-01-01T00:00:00Z'))!;
  assert.equal(iso(s.createAt), '2027-03-28T22:00:00.000Z'); // 2027-03-29 00:00 CEST (after the DST change)
  assert.equal(iso(s.enableAt), '2027-04-12T05:00:00.000Z'); // 07:00 CEST
  assert.equal(iso(s.disableAt), '2027-10-29T22:00:00.000Z'); // 2027-10-30 00:00 CEST
  assert.equal(iso(s.deleteAt), '2028-01-27T23:00:00.000Z'); // 2028-01-28 00:00 CET: not shifted by the DST hour
  assert.deepEqual(s.employment, { startDate: '2027-04-12', endDate: '2027-10-29', contractIds: ['c1'] });
  assert.deepEqual(
    lifecycleMoments(s).map((m) => m.action),
    ['create', 'enable', 'disable', 'delete'],
  );
});

test('a start on the day after the spring-forward night is enabled at 05:00Z', () => {
  const p = person({ contracts: [contract('c1', '2027-03-29')] });
  const s = computeSchedule(p, DEFAULT_TIMINGS, at('2027-01-01T00:00:00Z'))!;
  assert.equal(iso(s.enableAt), '2027-03-29T05:00:00.000Z');
  assert.equal(iso(s.createAt), '2027-03-14T23:00:00.000Z'); // 2027-03-15 00:00 CET
});

test('open-ended: no disable and no delete', () => {
  const p = person({ contracts: [contract('c1', '2027-02-01')] });
  const s = computeSchedule(p, DEFAULT_TIMINGS, at('2027-06-01T00:00:00Z'))!;
  assert.equal(s.disableAt, undefined);
  assert.equal(s.deleteAt, undefined);
  assert.equal(nextMoment(s, at('2027-06-01T00:00:00Z')), undefined);
  assert.deepEqual(nextMoment(s, at('2027-01-01T00:00:00Z')), { action: 'create', at: s.createAt });
});

test('the first start of the employment and the last end count, across chained contracts', () => {
  const p = person({
    contracts: [contract('c2', '2027-07-01', '2027-12-31'), contract('c1', '2027-01-01', '2027-06-30')],
  });
  const s = computeSchedule(p, DEFAULT_TIMINGS, at('2027-08-01T00:00:00Z'))!;
  assert.equal(s.employment.startDate, '2027-01-01');
  assert.equal(iso(s.disableAt), '2027-12-31T23:00:00.000Z'); // 2028-01-01 00:00 CET
});

test('rehire after a gap: the old employment waits for deletion, then the new one governs', () => {
  const p = person({
    contracts: [contract('old', '2025-01-01', '2026-12-31'), contract('new', '2027-09-01')],
  });
  // Still employed: the old employment.
  let s = computeSchedule(p, DEFAULT_TIMINGS, at('2026-06-01T00:00:00Z'))!;
  assert.equal(s.employment.startDate, '2025-01-01');
  // Ended; deletion (2027-04-01 00:00) comes before the rehire's create moment (2027-08-18): waiting to delete.
  s = computeSchedule(p, DEFAULT_TIMINGS, at('2027-02-01T00:00:00Z'))!;
  assert.equal(s.employment.startDate, '2025-01-01');
  assert.equal(iso(s.deleteAt), '2027-03-31T22:00:00.000Z');
  assert.deepEqual(nextMoment(s, at('2027-02-01T00:00:00Z'))?.action, 'delete');
  // After the deletion: the new employment, created 14 days before its start.
  s = computeSchedule(p, DEFAULT_TIMINGS, at('2027-04-02T00:00:00Z'))!;
  assert.equal(s.employment.startDate, '2027-09-01');
  assert.deepEqual(s.employment.contractIds, ['new']);
  assert.equal(iso(s.createAt), '2027-08-17T22:00:00.000Z');
  assert.equal(s.disableAt, undefined);
});

test('rehire before the deletion moment cancels the deletion: the new employment governs at once', () => {
  const p = person({
    contracts: [contract('old', '2025-01-01', '2027-01-31'), contract('new', '2027-03-01', '2027-12-31')],
  });
  // In the gap, before the new create moment: the new employment already governs (the old
  // account is not deleted; its "create" is a no-op for the workflow).
  let s = computeSchedule(p, DEFAULT_TIMINGS, at('2027-02-10T12:00:00Z'))!;
  assert.equal(s.employment.startDate, '2027-03-01');
  assert.deepEqual(nextMoment(s, at('2027-02-10T12:00:00Z'))?.action, 'create');
  s = computeSchedule(p, DEFAULT_TIMINGS, at('2027-02-20T12:00:00Z'))!;
  assert.deepEqual(nextMoment(s, at('2027-02-20T12:00:00Z'))?.action, 'enable');
  assert.equal(iso(s.enableAt), '2027-03-01T06:00:00.000Z');
});

test('after everything ended and was deleted, the last employment is returned; no contracts, no schedule', () => {
  const p = person({ contracts: [contract('a', '2020-01-01', '2020-12-31')] });
  const s = computeSchedule(p, DEFAULT_TIMINGS, at('2027-01-01T00:00:00Z'))!;
  assert.equal(s.employment.startDate, '2020-01-01');
  assert.equal(nextMoment(s, at('2027-01-01T00:00:00Z')), undefined);
  assert.equal(computeSchedule(person(), DEFAULT_TIMINGS, 0), undefined);
});

test('seconds overrides for demos, per target, in the rules time zone', () => {
  const rules = parseRules(`version: "1"
timeZone: UTC
defaults:
  timings: { enableAt: "09:30", disableAt: "18:00" }
targets:
  - id: ad
    kind: ad
    timings: { createSecondsBeforeStart: 120, deleteAfterSeconds: 300 }
  - id: td
    kind: topdesk
`);
  const p = person({ contracts: [contract('c1', '2027-05-03', '2027-05-03')] });
  const now = at('2027-05-01T00:00:00Z');
  const ad = scheduleForTarget(p, rules, 'ad', now)!;
  assert.equal(iso(ad.enableAt), '2027-05-03T09:30:00.000Z');
  assert.equal(iso(ad.createAt), '2027-05-03T09:28:00.000Z');
  assert.equal(iso(ad.disableAt), '2027-05-04T18:00:00.000Z');
  assert.equal(iso(ad.deleteAt), '2027-05-04T18:05:00.000Z');
  const td = scheduleForTarget(p, rules, 'td', now)!;
  assert.equal(iso(td.createAt), '2027-04-19T00:00:00.000Z');
  assert.equal(iso(td.deleteAt), '2027-08-02T18:00:00.000Z');
});

test('deterministic: same input, same output', () => {
  const p = person({
    contracts: [contract('b', '2027-01-01', '2027-03-31'), contract('a', '2027-01-01', '2027-02-28')],
  });
  const q = person({ contracts: [...p.contracts].reverse() });
  assert.deepEqual(computeSchedule(p, DEFAULT_TIMINGS, 1e12), computeSchedule(q, DEFAULT_TIMINGS, 1e12));
});
