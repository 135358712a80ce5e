/**
 * The `thresholds` of a source in the config file (common/tenure-config.ts): the zod schema and
 * how a source's entry is filled in from the defaults (domain/thresholds.ts).
 */
import { z } from 'zod';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from '../domain/dates.js';
import { parseDuration } from '../domain/durations.js';
import { DEFAULT_THRESHOLDS, THRESHOLD_METRICS, type Limits, type ThresholdSettings } from '../domain/thresholds.js';

export const DurationText = z
  .string({ error: 'expected a duration such as "5m", "24h" or "2d"' })
  .refine((s) => parseDuration(s) !== undefined, 'expected a duration such as "5m", "24h" or "2d"');

const LimitInput = z.strictObject({
  max: z
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(0, 'must not be negative')
    .optional(),
  maxPercent: z
    .number({ error: 'expected a percentage (a number from 0 to 100)' })
    .min(0, 'must not be negative')
    .max(100, 'must be at most 100')
    .optional(),
});
const LimitsInput = z.strictObject({
  removed: LimitInput.optional(),
  endingToday: LimitInput.optional(),
  changes: LimitInput.optional(),
});

/** The `thresholds` of a source in the config file; every part optional (DEFAULT_THRESHOLDS). */
export const ThresholdsInput = z.strictObject({
  perImport: LimitsInput.optional(),
  window: LimitsInput.extend({ duration: DurationText.optional() }).optional(),
  truncatedPercent: z
    .number({ error: 'expected a percentage, or null to switch the check off' })
    .min(0, 'must not be negative')
    .max(100, 'must be at most 100')
    .nullable()
    .optional(),
  minBaseForPercent: z
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(0, 'must not be negative')
    .optional(),
  endingHorizonDays: z
    .number({ error: 'expected a whole number of days' })
    .int('expected a whole number of days')
    .min(0, 'must not be negative')
    .max(366, 'must be at most 366')
    .optional(),
  firstPoll: z.enum(['hold', 'accept'], { error: 'expected hold or accept' }).optional(),
});
export type ThresholdsInput = z.input<typeof ThresholdsInput>;

/**
 * Defaults filled in per count: a count given in the file replaces that count's default as a
 * whole (`removed: {}` switches the removed limits off; `removed: { max: 5 }` drops the default
 * percentage).
 */
export function resolveThresholds(input: ThresholdsInput = {}, timeZone?: string): ThresholdSettings {
  const parsed = ThresholdsInput.parse(input);
  const limits = (given: z.infer<typeof LimitsInput> | undefined, defaults: Limits): Limits => {
    const out = {} as Limits;
    for (const m of THRESHOLD_METRICS) out[m] = { ...(given?.[m] ?? defaults[m]) };
    return out;
  };
  const zone = timeZone ?? DEFAULT_TIME_ZONE;
  if (!isValidTimeZone(zone)) throw new Error(`unknown time zone ${JSON.stringify(zone)}`);
  return {
    perImport: limits(parsed.perImport, DEFAULT_THRESHOLDS.perImport),
    window: limits(parsed.window, DEFAULT_THRESHOLDS.window),
    windowMs: parsed.window?.duration ? (parseDuration(parsed.window.duration) as number) : DEFAULT_THRESHOLDS.windowMs,
    truncatedPercent:
      parsed.truncatedPercent === undefined ? DEFAULT_THRESHOLDS.truncatedPercent : parsed.truncatedPercent,
    minBaseForPercent: parsed.minBaseForPercent ?? DEFAULT_THRESHOLDS.minBaseForPercent,
    endingHorizonDays: parsed.endingHorizonDays ?? DEFAULT_THRESHOLDS.endingHorizonDays,
    firstPoll: parsed.firstPoll ?? DEFAULT_THRESHOLDS.firstPoll,
    timeZone: zone,
  };
}

/**
 * Thresholds given as JSON text in an environment variable (the quick-start file source without
 * a config file): validated like the config file's `thresholds`; an error names the variable.
 */
export function thresholdsFromEnvJson(text: string, variable: string, timeZone?: string): ThresholdSettings {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${variable}: not valid JSON (expected the thresholds of docs/configuration.md as JSON)`);
  }
  const parsed = ThresholdsInput.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${variable}: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}`);
  }
  return resolveThresholds(parsed.data, timeZone);
}
