/**
 * Lifecycle moments of a person on one target (docs/lifecycle.md sections 2 and 4): create, enable,
 * disable and delete, as epoch milliseconds. The employee workflow sleeps on these, so this is
 * pure and deterministic: `now` is a parameter.
 *
 * Employments: contracts that overlap or chain (the next starts at the latest the day after the
 * previous one ends) form one employment; a gap of one day or more starts a new employment.
 *
 * Moments of an employment (local wall time in the rules' time zone, DST-safe via `zonedMoment`):
 * - createAt  = 00:00 on (first start − createDaysBeforeStart), or enableAt − createSecondsBeforeStart;
 * - enableAt  = enableAt time (07:00) on the first start date;
 * - disableAt = disableAt time (00:00) on the day after the last end date; none when open-ended;
 * - deleteAt  = disableAt time on (that day + deleteAfterDays), or disableAt + deleteAfterSeconds.
 * Moments are not clamped to `now`: a moment in the past means "due now".
 *
 * Which employment is current at `now` (walking employments in order):
 * - the first one that is not yet disabled (running, or in the future);
 * - but an ended employment is skipped when the next employment's createAt is at or before its
 *   deleteAt (a rehire before deletion: the deletion is cancelled and the next employment governs);
 * - otherwise an ended employment stays current until its deleteAt (waiting for deletion);
 * - when every employment has ended, the last one.
 */
import type { Contract, Person } from './model.js';
import { DEFAULT_TIME_ZONE, addDays, compareDates, zonedMoment } from './dates.js';
import { timingsFor, type Rules, type Timings } from './rules.js';

export interface Employment {
  startDate: string;
  /** Inclusive last day; absent = open-ended. */
  endDate?: string;
  /** Contract ids, in start order. */
  contractIds: string[];
}

export interface Schedule {
  employment: Employment;
  createAt: number;
  enableAt: number;
  /** Absent for an open-ended employment. */
  disableAt?: number;
  /** Absent for an open-ended employment. */
  deleteAt?: number;
  timeZone: string;
}

export type LifecycleAction = 'create' | 'enable' | 'disable' | 'delete';

/** Contracts merged into employments, in start order. */
export function employments(contracts: readonly Contract[]): Employment[] {
  const sorted = [...contracts].sort(
    (a, b) => compareDates(a.startDate, b.startDate) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const out: Employment[] = [];
  let cur: Employment | undefined;
  for (const c of sorted) {
    if (cur && (cur.endDate === undefined || compareDates(c.startDate, addDays(cur.endDate, 1)) <= 0)) {
      cur.contractIds.push(c.id);
      if (cur.endDate !== undefined) {
        if (c.endDate === undefined) delete cur.endDate;
        else if (compareDates(c.endDate, cur.endDate) > 0) cur.endDate = c.endDate;
      }
      continue;
    }
    cur = { startDate: c.startDate, contractIds: [c.id], ...(c.endDate !== undefined ? { endDate: c.endDate } : {}) };
    out.push(cur);
  }
  return out;
}

/** The lifecycle moments of one employment. */
export function employmentMoments(e: Employment, timings: Timings, timeZone: string = DEFAULT_TIME_ZONE): Schedule {
  const enableAt = zonedMoment(e.startDate, timings.enableAt, timeZone);
  const createAt =
    timings.createSecondsBeforeStart !== undefined
      ? enableAt - timings.createSecondsBeforeStart * 1000
      : zonedMoment(addDays(e.startDate, -timings.createDaysBeforeStart), '00:00', timeZone);
  const s: Schedule = { employment: e, createAt, enableAt, timeZone };
  if (e.endDate !== undefined) {
    const dayAfterEnd = addDays(e.endDate, 1);
    s.disableAt = zonedMoment(dayAfterEnd, timings.disableAt, timeZone);
    s.deleteAt =
      timings.deleteAfterSeconds !== undefined
        ? s.disableAt + timings.deleteAfterSeconds * 1000
        : zonedMoment(addDays(dayAfterEnd, timings.deleteAfterDays), timings.disableAt, timeZone);
  }
  return s;
}

/** The schedule of the current employment at `now` (see the module comment); undefined without contracts. */
export function computeSchedule(
  person: Pick<Person, 'contracts'>,
  timings: Timings,
  now: number,
  timeZone: string = DEFAULT_TIME_ZONE,
): Schedule | undefined {
  const all = employments(person.contracts).map((e) => employmentMoments(e, timings, timeZone));
  for (let i = 0; i < all.length; i++) {
    const s = all[i]!;
    if (s.disableAt === undefined || now < s.disableAt) return s;
    const next = all[i + 1];
    if (!next) return s;
    if (next.createAt <= s.deleteAt!) continue; // rehire before deletion
    if (now < s.deleteAt!) return s;
  }
  return undefined; // unreachable with contracts: the loop returns at the last employment
}

/** `computeSchedule` with the target's effective timings and the rules' time zone. */
export function scheduleForTarget(
  person: Pick<Person, 'contracts'>,
  rules: Rules,
  targetId: string,
  now: number,
): Schedule | undefined {
  return computeSchedule(person, timingsFor(rules, targetId), now, rules.timeZone);
}

/** The schedule's moments in time order (create, enable, then disable and delete if any). */
export function lifecycleMoments(s: Schedule): { action: LifecycleAction; at: number }[] {
  const list: { action: LifecycleAction; at: number }[] = [
    { action: 'create', at: s.createAt },
    { action: 'enable', at: s.enableAt },
  ];
  if (s.disableAt !== undefined) list.push({ action: 'disable', at: s.disableAt });
  if (s.deleteAt !== undefined) list.push({ action: 'delete', at: s.deleteAt });
  return list.sort((a, b) => a.at - b.at);
}

/** The first moment strictly after `now`, if any: what the workflow sleeps until. */
export function nextMoment(s: Schedule, now: number): { action: LifecycleAction; at: number } | undefined {
  return lifecycleMoments(s).find((m) => m.at > now);
}
