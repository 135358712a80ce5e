/**
 * Thresholds on what one poll of an HR source may do before an admin has to approve it
 * (docs/configuration.md): the settings, their defaults, and the check of a poll's counts against
 * them. Pure: the counts come from the vault (vault/polls.ts), the settings from the config file
 * (common/thresholds-config.ts).
 */
import { DEFAULT_TIME_ZONE } from './dates.js';
import { formatDuration } from './durations.js';

export interface ThresholdReason {
  /**
   * `import`: this poll alone; `window`: this poll plus the accepted polls of the rolling window;
   * `truncated`: records read dropped; `firstPoll`: the source's first poll (go-live) waits for approval.
   */
  scope: 'import' | 'window' | 'truncated' | 'firstPoll';
  metric: 'removed' | 'endingToday' | 'changes' | 'recordsRead';
  /** The count that went over (for `truncated`: the records read now). */
  value: number;
  /** What percentages are of: persons in the snapshot (window: the most in the window); for `truncated`, records read by the last accepted poll. */
  base: number;
  /** The limit that tripped and its unit. */
  limit: number;
  unit: 'persons' | 'percent';
  /** For people: `removed: 6 of 20 persons (30%) in this import; limit 10%`. */
  message: string;
}

export const THRESHOLD_METRICS = ['removed', 'endingToday', 'changes'] as const;
export type ThresholdMetric = (typeof THRESHOLD_METRICS)[number];

/** A limit on one count: over `max` persons, or over `maxPercent` of the base, the poll holds. */
export interface Limit {
  max?: number;
  maxPercent?: number;
}
export type Limits = Record<ThresholdMetric, Limit>;

export interface ThresholdSettings {
  /** Limits on what this import alone would do. */
  perImport: Limits;
  /** Limits on this import plus the source's earlier polls in the last `windowMs` (accepted, or failed after signalling). */
  window: Limits;
  windowMs: number;
  /** Records read dropped by more than this percentage vs the last accepted poll: held. null: off. */
  truncatedPercent: number | null;
  /**
   * Percentages are taken of at least this many persons (records): on a smaller source a
   * percentage limit acts as an absolute one (10% of 20: more than 2 persons holds).
   */
  minBaseForPercent: number;
  /** `endingToday` counts employments ending today or within this many days after today. */
  endingHorizonDays: number;
  /** The first poll of a source (go-live): `hold` waits for an admin's approval, `accept` does not. */
  firstPoll: 'hold' | 'accept';
  /** The organisation's zone: what "today" is. */
  timeZone: string;
}

/**
 * What a source gets when its thresholds say nothing. Conservative guesses, not measured on real
 * tenants: every one is a setting.
 */
export const DEFAULT_THRESHOLDS: Readonly<ThresholdSettings> = Object.freeze({
  perImport: { removed: { maxPercent: 10 }, endingToday: { maxPercent: 10 }, changes: { maxPercent: 50 } },
  window: { removed: { maxPercent: 20 }, endingToday: { maxPercent: 20 }, changes: {} },
  windowMs: 24 * 3_600_000,
  truncatedPercent: 10,
  minBaseForPercent: 20,
  endingHorizonDays: 7,
  firstPoll: 'hold',
  timeZone: DEFAULT_TIME_ZONE,
});

/** The counts a poll is checked on. */
export type ThresholdFigures = Record<ThresholdMetric, number>;

export interface ThresholdInput {
  /** What this import would do. */
  current: ThresholdFigures;
  /** Persons in the last accepted snapshot. */
  base: number;
  /** This import plus the earlier polls in the window, and the largest population in the window. */
  window: { figures: ThresholdFigures; base: number; polls: number };
  recordsRead: number;
  /** Records read by the last accepted poll; undefined when there is none. */
  lastRecordsRead?: number;
  /** No poll of the source was ever accepted: this one is its go-live. */
  firstPoll?: boolean;
  /** What the first poll would do, for its reason. */
  added?: number;
}

function metricWords(metric: ThresholdMetric, settings: ThresholdSettings): string {
  if (metric !== 'endingToday') return metric;
  const days = settings.endingHorizonDays;
  return days === 0 ? 'ending today' : `ending within ${days} ${days === 1 ? 'day' : 'days'}`;
}

function pct(n: number, base: number): number {
  return base > 0 ? Math.round((n / base) * 1000) / 10 : 0;
}

/** What a percentage is taken of: the base, but at least `minBaseForPercent` (0 stays 0: nothing to measure against). */
export function percentBase(settings: ThresholdSettings, base: number): number {
  return base > 0 ? Math.max(base, settings.minBaseForPercent) : 0;
}

/** Every limit the figures go over (empty: proceed). Pure. */
export function evaluateThresholds(settings: ThresholdSettings, input: ThresholdInput): ThresholdReason[] {
  const reasons: ThresholdReason[] = [];
  const check = (scope: 'import' | 'window', limits: Limits, figures: ThresholdFigures, base: number) => {
    const where =
      scope === 'import'
        ? 'in this import'
        : `in the last ${formatDuration(settings.windowMs)} (${input.window.polls} earlier ${input.window.polls === 1 ? 'poll' : 'polls'} and this one)`;
    for (const metric of THRESHOLD_METRICS) {
      const value = figures[metric];
      const limit = limits[metric];
      const of = `${value} of ${base} ${base === 1 ? 'person' : 'persons'} (${pct(value, base)}%)`;
      const label = metricWords(metric, settings);
      if (limit.max !== undefined && value > limit.max) {
        reasons.push({
          scope,
          metric,
          value,
          base,
          limit: limit.max,
          unit: 'persons',
          message: `${label}: ${of} ${where}; limit ${limit.max} ${limit.max === 1 ? 'person' : 'persons'}`,
        });
      }
      const measured = percentBase(settings, base);
      if (limit.maxPercent !== undefined && measured > 0 && (value / measured) * 100 > limit.maxPercent) {
        const floor =
          measured > base
            ? ` of at least ${measured} persons (${Math.floor((limit.maxPercent * measured) / 100)} persons)`
            : '';
        reasons.push({
          scope,
          metric,
          value,
          base,
          limit: limit.maxPercent,
          unit: 'percent',
          message: `${label}: ${of} ${where}; limit ${limit.maxPercent}%${floor}`,
        });
      }
    }
  };
  check('import', settings.perImport, input.current, input.base);
  check('window', settings.window, input.window.figures, input.window.base);

  const last = input.lastRecordsRead;
  const lastMeasured = last === undefined ? 0 : percentBase(settings, last);
  if (
    settings.truncatedPercent !== null &&
    last !== undefined &&
    lastMeasured > 0 &&
    ((last - input.recordsRead) / lastMeasured) * 100 > settings.truncatedPercent
  ) {
    reasons.push({
      scope: 'truncated',
      metric: 'recordsRead',
      value: input.recordsRead,
      base: last,
      limit: settings.truncatedPercent,
      unit: 'percent',
      message: `truncated import: ${input.recordsRead} records read, ${last} by the last accepted poll (${pct(last - input.recordsRead, last)}% fewer); limit ${settings.truncatedPercent}%${lastMeasured > last ? ` of at least ${lastMeasured} records` : ''}`,
    });
  }

  if (input.firstPoll && settings.firstPoll === 'hold' && input.current.changes > 0) {
    const added = input.added ?? input.current.changes;
    reasons.push({
      scope: 'firstPoll',
      metric: 'changes',
      value: input.current.changes,
      base: input.base,
      limit: 0,
      unit: 'persons',
      message: `first poll of this source (go-live): ${added} ${added === 1 ? 'person' : 'persons'} would be provisioned; the first poll waits for approval (setting firstPoll: hold)`,
    });
  }
  return reasons;
}
