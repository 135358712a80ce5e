/**
 * Thresholds on what one poll of an HR source may do before an admin has to approve it
 * (docs/configuration.md): the settings, their defaults, and the check of a poll's counts against
 * them. Pure: the counts come from the vault (vault/polls.ts), the settings from the config file
 * (common/thresholds-config.ts).
 */
import type { ThresholdReason } from '../common/messages.js';
import { DEFAULT_TIME_ZONE } from './dates.js';
import { formatDuration } from './durations.js';

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
  /** Limits on this import plus the source's accepted polls in the last `windowMs`. */
  window: Limits;
  windowMs: number;
  /** Records read dropped by more than this percentage vs the last accepted poll: held. null: off. */
  truncatedPercent: number | null;
  /** Percentage limits (and the truncation check) apply only from this many persons (records) on. */
  minBaseForPercent: number;
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
  timeZone: DEFAULT_TIME_ZONE,
});

/** The counts a poll is checked on. */
export type ThresholdFigures = Record<ThresholdMetric, number>;

export interface ThresholdInput {
  /** What this import would do. */
  current: ThresholdFigures;
  /** Persons in the last accepted snapshot. */
  base: number;
  /** This import plus the accepted polls in the window, and the largest population in the window. */
  window: { figures: ThresholdFigures; base: number; polls: number };
  recordsRead: number;
  /** Records read by the last accepted poll; undefined when there is none. */
  lastRecordsRead?: number;
}

const METRIC_WORDS: Record<ThresholdMetric, string> = {
  removed: 'removed',
  endingToday: 'ending today',
  changes: 'changes',
};

function pct(n: number, base: number): number {
  return base > 0 ? Math.round((n / base) * 1000) / 10 : 0;
}

/** Every limit the figures go over (empty: proceed). Pure. */
export function evaluateThresholds(settings: ThresholdSettings, input: ThresholdInput): ThresholdReason[] {
  const reasons: ThresholdReason[] = [];
  const check = (scope: 'import' | 'window', limits: Limits, figures: ThresholdFigures, base: number) => {
    const where =
      scope === 'import'
        ? 'in this import'
        : `in the last ${formatDuration(settings.windowMs)} (${input.window.polls} accepted ${input.window.polls === 1 ? 'poll' : 'polls'} and this one)`;
    for (const metric of THRESHOLD_METRICS) {
      const value = figures[metric];
      const limit = limits[metric];
      const of = `${value} of ${base} ${base === 1 ? 'person' : 'persons'} (${pct(value, base)}%)`;
      const label = METRIC_WORDS[metric];
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
      if (
        limit.maxPercent !== undefined &&
        base > 0 &&
        base >= settings.minBaseForPercent &&
        (value / base) * 100 > limit.maxPercent
      ) {
        reasons.push({
          scope,
          metric,
          value,
          base,
          limit: limit.maxPercent,
          unit: 'percent',
          message: `${label}: ${of} ${where}; limit ${limit.maxPercent}%`,
        });
      }
    }
  };
  check('import', settings.perImport, input.current, input.base);
  check('window', settings.window, input.window.figures, input.window.base);

  const last = input.lastRecordsRead;
  if (
    settings.truncatedPercent !== null &&
    last !== undefined &&
    last > 0 &&
    last >= settings.minBaseForPercent &&
    ((last - input.recordsRead) / last) * 100 > settings.truncatedPercent
  ) {
    reasons.push({
      scope: 'truncated',
      metric: 'recordsRead',
      value: input.recordsRead,
      base: last,
      limit: settings.truncatedPercent,
      unit: 'percent',
      message: `truncated import: ${input.recordsRead} records read, ${last} by the last accepted poll (${pct(last - input.recordsRead, last)}% fewer); limit ${settings.truncatedPercent}%`,
    });
  }
  return reasons;
}
