import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addDays,
  compareDates,
  daysBetween,
  isActiveOn,
  isIsoDate,
  localDate,
  localMoment,
  localTime,
  zonedMoment,
} from '../../domain/dates.js';

const iso = (ms: number) => new Date(ms).toISOString();

test('addDays crosses months, years and leap days', () => {
  assert.equal(addDays('2028-02-28', 1), '2028-02-29');
  assert.equal(addDays('2027-02-28', 1), '2027-03-01');
  assert.equal(addDays('2027-12-31', 1), '2028-01-01');
  assert.equal(addDays('2027-01-01', -1), '2026-12-31');
  assert.equal(addDays('2027-03-28', 14), '2027-04-11');
  assert.throws(() => addDays('2027-02-30', 1), RangeError);
  assert.throws(() => addDays('2027-1-1', 1), RangeError);
});

test('compareDates, daysBetween, isIsoDate', () => {
  assert.equal(compareDates('2027-01-01', '2027-01-02'), -1);
  assert.equal(compareDates('2027-01-02', '2027-01-02'), 0);
  assert.equal(compareDates('2028-01-01', '2027-12-31'), 1);
  assert.equal(daysBetween('2027-03-01', '2027-03-31'), 30);
  assert.equal(isIsoDate('2027-02-29'), false);
  assert.equal(isIsoDate('2028-02-29'), true);
});

test('isActiveOn: start and end date are inclusive, no end is open-ended', () => {
  const c = { startDate: '2027-02-01', endDate: '2027-02-28' };
  assert.equal(isActiveOn(c, '2027-01-31'), false);
  assert.equal(isActiveOn(c, '2027-02-01'), true);
  assert.equal(isActiveOn(c, '2027-02-28'), true);
  assert.equal(isActiveOn(c, '2027-03-01'), false);
  assert.equal(isActiveOn({ startDate: '2027-02-01' }, '2099-01-01'), true);
});

test('zonedMoment: winter and summer offsets in Amsterdam', () => {
  assert.equal(iso(zonedMoment('2027-01-15', '07:00')), '2027-01-15T06:00:00.000Z');
  assert.equal(iso(zonedMoment('2027-07-15', '07:00')), '2027-07-15T05:00:00.000Z');
  assert.equal(iso(zonedMoment('2027-01-15', '00:00')), '2027-01-14T23:00:00.000Z');
});

test('zonedMoment: 07:00 the day after the spring-forward night is 05:00Z', () => {
  assert.equal(iso(zonedMoment('2027-03-29', '07:00', 'Europe/Amsterdam')), '2027-03-29T05:00:00.000Z');
  // and on the night itself, 07:00 is already summer time
  assert.equal(iso(zonedMoment('2027-03-28', '07:00')), '2027-03-28T05:00:00.000Z');
  assert.equal(iso(zonedMoment('2027-03-28', '00:00')), '2027-03-27T23:00:00.000Z');
});

test('zonedMoment: a wall time in the spring-forward gap resolves to the end of the gap', () => {
  // 02:30 does not exist on 2027-03-28 in Amsterdam: the first valid instant after it is 03:00 CEST.
  assert.equal(iso(zonedMoment('2027-03-28', '02:30')), '2027-03-28T01:00:00.000Z');
  assert.equal(iso(zonedMoment('2027-03-28', '02:00')), '2027-03-28T01:00:00.000Z');
  assert.equal(iso(zonedMoment('2027-03-28', '03:00')), '2027-03-28T01:00:00.000Z');
  assert.equal(localTime(zonedMoment('2027-03-28', '02:30')), '03:00');
  // New York jumps at 02:00 local too, a different offset
  assert.equal(iso(zonedMoment('2027-03-14', '02:30', 'America/New_York')), '2027-03-14T07:00:00.000Z');
});

test('zonedMoment: an ambiguous wall time in the fall-back night takes the first occurrence', () => {
  assert.equal(iso(zonedMoment('2027-10-31', '02:30')), '2027-10-31T00:30:00.000Z'); // still CEST
  assert.equal(iso(zonedMoment('2027-10-31', '03:00')), '2027-10-31T02:00:00.000Z'); // CET
  assert.equal(iso(zonedMoment('2027-10-31', '01:59')), '2027-10-30T23:59:00.000Z');
});

test('zonedMoment: other zones and bad input', () => {
  assert.equal(iso(zonedMoment('2027-01-01', '00:00', 'Asia/Kolkata')), '2026-12-31T18:30:00.000Z');
  assert.equal(iso(zonedMoment('2027-06-01', '09:00', 'UTC')), '2027-06-01T09:00:00.000Z');
  assert.throws(() => zonedMoment('2027-01-01', '24:00'), RangeError);
  assert.throws(() => zonedMoment('2027-01-01', '07:00', 'Mars/Olympus'), RangeError);
});

test('localDate gives the calendar date in the zone', () => {
  assert.equal(localDate(Date.parse('2027-01-01T22:59:59Z')), '2027-01-01');
  assert.equal(localDate(Date.parse('2027-01-01T23:00:00Z')), '2027-01-02');
  assert.equal(localDate(Date.parse('2027-07-01T22:00:00Z')), '2027-07-02');
  assert.equal(localDate(Date.parse('2027-07-01T22:00:00Z'), 'UTC'), '2027-07-01');
  // round trip with zonedMoment every day across both DST changes
  for (let d = '2027-03-20'; d !== '2027-11-10'; d = addDays(d, 1)) {
    assert.equal(localDate(zonedMoment(d, '00:00')), d);
    assert.equal(localDate(zonedMoment(d, '07:00')), d);
  }
});

test('localMoment: the date and HH:MM:SS on the wall clock of the zone, across midnight and daylight saving', () => {
  assert.deepEqual(localMoment(Date.parse('2027-02-01T06:00:05Z')), { date: '2027-02-01', time: '07:00:05' });
  assert.deepEqual(localMoment(Date.parse('2027-07-01T22:00:00Z')), { date: '2027-07-02', time: '00:00:00' });
  assert.deepEqual(localMoment(Date.parse('2027-10-31T00:30:59Z')), { date: '2027-10-31', time: '02:30:59' });
  assert.deepEqual(localMoment(Date.parse('2027-10-31T01:30:59Z')), { date: '2027-10-31', time: '02:30:59' });
  assert.deepEqual(localMoment(Date.parse('2027-03-14T07:00:00Z'), 'America/New_York'), {
    date: '2027-03-14',
    time: '03:00:00',
  });
});
