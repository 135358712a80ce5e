/**
 * Calendar dates and wall-clock moments (docs/lifecycle.md section 1: "Dates are calendar dates in the
 * organisation's time zone; moments are computed in that zone").
 *
 * Pure and deterministic: no `Date.now()`, no node: imports, so Temporal workflow code can use it.
 * Time-zone arithmetic uses only `Intl.DateTimeFormat` (tz database of the runtime).
 *
 * A calendar date is a `YYYY-MM-DD` string; such strings compare correctly as strings, but use
 * `compareDates` for clarity.
 */

export const DEFAULT_TIME_ZONE = 'Europe/Amsterdam';

const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
// HH:MM, or HH:MM:SS for demos and tests that need a moment seconds ahead.
const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

function parseDate(date: string): [number, number, number] {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`not a date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) {
    throw new RangeError(`not a real calendar date: ${date}`);
  }
  return [y, mo, d];
}

function formatUtcDate(ms: number): string {
  const t = new Date(ms);
  const y = t.getUTCFullYear();
  const ys = y < 0 ? `-${String(-y).padStart(6, '0')}` : String(y).padStart(4, '0');
  return `${ys}-${String(t.getUTCMonth() + 1).padStart(2, '0')}-${String(t.getUTCDate()).padStart(2, '0')}`;
}

/** Days since 1970-01-01 (UTC-free day number of a calendar date). */
function dayNumber(date: string): number {
  const [y, m, d] = parseDate(date);
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

/** True for a valid `YYYY-MM-DD` calendar date. */
export function isIsoDate(s: string): boolean {
  try {
    parseDate(s);
    return true;
  } catch {
    return false;
  }
}

/** `date` plus `days` calendar days (negative to go back). */
export function addDays(date: string, days: number): string {
  if (!Number.isInteger(days)) throw new RangeError(`days must be an integer: ${days}`);
  return formatUtcDate((dayNumber(date) + days) * DAY_MS);
}

/** -1, 0 or 1 as `a` is before, equal to or after `b`. */
export function compareDates(a: string, b: string): -1 | 0 | 1 {
  const x = dayNumber(a);
  const y = dayNumber(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whole days from `a` to `b` (`b - a`; negative if `b` is earlier). */
export function daysBetween(a: string, b: string): number {
  return dayNumber(b) - dayNumber(a);
}

export function minDate(a: string, b: string): string {
  return compareDates(a, b) <= 0 ? a : b;
}

export function maxDate(a: string, b: string): string {
  return compareDates(a, b) >= 0 ? a : b;
}

/** Anything with a start date and an optional inclusive end date (a contract). */
export interface DateRange {
  startDate: string;
  /** Inclusive last day; absent = open-ended. */
  endDate?: string | undefined;
}

/** True when `date` lies within the range; the end date is inclusive, no end = open-ended. */
export function isActiveOn(range: DateRange, date: string): boolean {
  if (compareDates(range.startDate, date) > 0) return false;
  return range.endDate === undefined || compareDates(date, range.endDate) <= 0;
}

// ---------------------------------------------------------------------------------------------
// Time zones

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // Throws RangeError for an unknown zone, which is what we want.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      era: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True if `timeZone` is an IANA zone the runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallTime(epochMs: number, timeZone: string): WallTime {
  const parts = formatter(timeZone).formatToParts(new Date(epochMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => {
    const p = parts.find((x) => x.type === type);
    if (!p) throw new Error(`Intl.DateTimeFormat gave no ${type}`);
    return Number(p.value);
  };
  let year = get('year');
  const era = parts.find((x) => x.type === 'era')?.value;
  if (era === 'BC' || era === 'B') year = 1 - year;
  return {
    year,
    month: get('month'),
    day: get('day'),
    hour: get('hour') % 24,
    minute: get('minute'),
    second: get('second'),
  };
}

/** Offset of the zone from UTC at an instant, in ms (local = utc + offset), to the second. */
function offsetAt(epochMs: number, timeZone: string): number {
  const w = wallTime(epochMs, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const truncated = Math.floor(epochMs / 1000) * 1000;
  return asUtc - truncated;
}

/**
 * The instant (epoch ms) at which the wall clock in `timeZone` shows `time` (`HH:MM`) on `date`.
 *
 * Daylight-saving rules (documented behaviour, relied on by the schedule):
 * - **Gap** (the wall time does not exist, e.g. 02:30 on the spring-forward night, 2027-03-28 in
 *   Amsterdam): the result is the first valid instant after the gap, i.e. the moment of the
 *   transition itself (03:00 local = 01:00Z). Nothing is ever scheduled *later* than the first
 *   moment the clock has passed the requested time.
 * - **Overlap** (the wall time happens twice, e.g. 02:30 on 2027-10-31): the first occurrence
 *   (still on summer time: 00:30Z).
 */
export function zonedMoment(date: string, time: string, timeZone: string = DEFAULT_TIME_ZONE): number {
  // Pure and asked for the same few dates over and over (a whole-tenant preview plans 50,000
  // persons): remembered, in a bounded map.
  const key = `${date} ${time} ${timeZone}`;
  const known = zonedMoments.get(key);
  if (known !== undefined) return known;
  const at = computeZonedMoment(date, time, timeZone);
  if (zonedMoments.size >= 50_000) zonedMoments.clear();
  zonedMoments.set(key, at);
  return at;
}

const zonedMoments = new Map<string, number>();

function computeZonedMoment(date: string, time: string, timeZone: string): number {
  const [y, mo, d] = parseDate(date);
  const tm = TIME_RE.exec(time);
  if (!tm) throw new RangeError(`not a time (HH:MM): ${JSON.stringify(time)}`);
  const wall = Date.UTC(y, mo - 1, d, Number(tm[1]), Number(tm[2]), Number(tm[3] ?? 0));

  // Offsets that can apply around this wall time: a transition never happens twice within a day.
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const candidates = [...new Set([before, after])]
    .map((off) => wall - off)
    .filter((t) => t + offsetAt(t, timeZone) === wall)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0]!;

  // In a gap. The transition lies between the two interpretations; find the first instant that
  // already runs on the new offset (binary search to the millisecond).
  let lo = Math.min(wall - before, wall - after); // still on the old offset
  let hi = Math.max(wall - before, wall - after); // on the new offset
  const oldOffset = offsetAt(lo, timeZone);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid, timeZone) === oldOffset) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The calendar date in `timeZone` at an instant. */
export function localDate(epochMs: number, timeZone: string = DEFAULT_TIME_ZONE): string {
  const w = wallTime(epochMs, timeZone);
  return formatUtcDate(Date.UTC(w.year, w.month - 1, w.day));
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The wall-clock time `HH:MM` in `timeZone` at an instant. */
export function localTime(epochMs: number, timeZone: string = DEFAULT_TIME_ZONE): string {
  const w = wallTime(epochMs, timeZone);
  return `${pad2(w.hour)}:${pad2(w.minute)}`;
}

/** The calendar date and the wall-clock time `HH:MM:SS` in `timeZone` at an instant. */
export function localMoment(epochMs: number, timeZone: string = DEFAULT_TIME_ZONE): { date: string; time: string } {
  const w = wallTime(epochMs, timeZone);
  return {
    date: formatUtcDate(Date.UTC(w.year, w.month - 1, w.day)),
    time: `${pad2(w.hour)}:${pad2(w.minute)}:${pad2(w.second)}`,
  };
}
