/**
 * The rules file (docs/lifecycle.md section 2): targets, timings and rules, as a zod schema, parsed
 * from YAML or JSON text with line-precise errors. See docs/rules.md for the format.
 *
 * Pure: parses from a string. The file loader lives in `common/rules-file.ts` (node:fs), which workflow
 * code must not import.
 */
import { z } from 'zod';
import { ValueMatch } from './value-match.js';
import type { Node } from 'yaml';
import { cleanMessage, keyNode, locate, readYaml } from './yaml-document.js';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from './dates.js';
import { DEFAULT_DETERMINANTS, Determinant } from './primary-contract.js';
import { USERNAME_PATTERNS } from './naming.js';

// ---------------------------------------------------------------------------------------------
// Building blocks

const TIME_RE = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;
const HHMM = z
  .string({ error: 'expected a time as "HH:MM"' })
  .regex(TIME_RE, 'expected a time as "HH:MM" (or "HH:MM:SS")');
const Count = z
  .number({ error: 'expected a whole number' })
  .int('expected a whole number')
  .min(0, 'must not be negative');

const StringValue = z.string({ error: 'expected a string' }).trim().min(1, 'is empty');
/**
 * Lifecycle timings of a target (all optional in the file; see `DEFAULT_TIMINGS`).
 * The `...Seconds...` fields are exact overrides for demos and tests; when present they replace
 * their day-based counterpart.
 */
export const TimingsInput = z.strictObject({
  /** Account created at 00:00 this many days before the employment's first start date. */
  createDaysBeforeStart: Count.optional(),
  /** Local time on the start date at which the account is enabled. */
  enableAt: HHMM.optional(),
  /** Local time on the day *after* the last contract's end date at which the account is disabled. */
  disableAt: HHMM.optional(),
  /** Account deleted this many days after the disable moment. */
  deleteAfterDays: Count.optional(),
  /** Exact override: create this many seconds before the enable moment. */
  createSecondsBeforeStart: Count.optional(),
  /** Exact override: delete this many seconds after the disable moment. */
  deleteAfterSeconds: Count.optional(),
});
export type TimingsInput = z.infer<typeof TimingsInput>;

export interface Timings {
  createDaysBeforeStart: number;
  enableAt: string;
  disableAt: string;
  deleteAfterDays: number;
  createSecondsBeforeStart?: number | undefined;
  deleteAfterSeconds?: number | undefined;
}

/** What a fresh install gets (docs/lifecycle.md section 2). */
export const DEFAULT_TIMINGS: Readonly<Timings> = Object.freeze({
  createDaysBeforeStart: 14,
  enableAt: '07:00',
  disableAt: '00:00',
  deleteAfterDays: 90,
});

/** Fields a dynamic-permission template may use, with the contract/person value they read. */
export const TEMPLATE_FIELDS = [
  'department.code',
  'department.name',
  'title.code',
  'title.name',
  'location',
  'employer',
  'costCenter',
  'contract.id',
  'person.location',
  'person.source',
] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

const PLACEHOLDER_RE = /\{([^{}]*)\}/g;

/** A template such as `dept-{department.code}`; placeholders must name a `TEMPLATE_FIELDS` entry. */
const Template = StringValue.superRefine((s, ctx) => {
  for (const m of s.matchAll(PLACEHOLDER_RE)) {
    const field = (m[1] ?? '').trim();
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(field)) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown placeholder {${field}}; use one of ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}`,
      });
    }
  }
  if (/[{}]/.test(s.replace(PLACEHOLDER_RE, ''))) {
    ctx.addIssue({ code: 'custom', message: 'unbalanced { or } in template' });
  }
});

const PersonConditions = z.strictObject({
  source: ValueMatch.optional(),
  location: ValueMatch.optional(),
  convention: ValueMatch.optional(),
  /** Custom person fields by name. */
  custom: z.record(z.string(), ValueMatch).optional(),
});

/** AND between the conditions; per condition a list of values (OR) or operators (domain/value-match.ts). */
export const Conditions = z.strictObject({
  /** Contract department code. */
  department: ValueMatch.optional(),
  /** Contract title (job) code. */
  title: ValueMatch.optional(),
  location: ValueMatch.optional(),
  employer: ValueMatch.optional(),
  costCenter: ValueMatch.optional(),
  person: PersonConditions.optional(),
  /** A contract is in conditions from this many days before its start (default: the target's creation window). */
  daysBeforeStart: Count.optional(),
  /** A contract stays in conditions until this many days after its end date (default 0). */
  daysAfterEnd: Count.optional(),
});
export type Conditions = z.infer<typeof Conditions>;

const EventPermission = z
  .string({ error: 'expected a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9:._ -]{0,99}$/, 'letters, digits, colon, dot, underscore, space or hyphen');

export const TargetEntitlements = z.strictObject({
  /** An account, created disabled. */
  account: z.boolean().optional(),
  /** The account enabled (implies `account`). */
  accountAccess: z.boolean().optional(),
  /** Static permission names (groups, roles, licences). */
  permissions: z.array(StringValue, { error: 'expected an array of strings' }).optional(),
  /** Templates expanded per in-conditions contract, e.g. `dept-{department.code}`. */
  dynamicPermissions: z.array(Template, { error: 'expected an array of strings' }).optional(),
  /**
   * One-off grants at lifecycle events, e.g. `ticket:onboarding` (TOPdesk). The engine appends
   * `:<event key>` (the employment's start or end date) and grants each once per event; they are
   * never revoked.
   */
  onStart: z.array(EventPermission, { error: 'expected an array of strings' }).optional(),
  onLeave: z.array(EventPermission, { error: 'expected an array of strings' }).optional(),
});
export type TargetEntitlements = z.infer<typeof TargetEntitlements>;

export const Rule = z.strictObject({
  name: StringValue,
  description: z.string().optional(),
  conditions: Conditions.default({}),
  /** Keyed by target id. */
  entitlements: z.record(z.string(), TargetEntitlements),
});
export type Rule = z.infer<typeof Rule>;

export const Target = z.strictObject({
  id: z
    .string({ error: 'expected a string' })
    .regex(/^[a-z][a-z0-9-]{0,31}$/, 'target id must be lower-case letters, digits or hyphen (max 32)'),
  /** Connector kind, e.g. `ad`, `entra`, `topdesk`, `spendcloud`. */
  kind: z
    .string({ error: 'expected a string' })
    .regex(/^[a-z][a-z0-9-]{0,31}$/, 'kind must be lower-case letters, digits or hyphen'),
  enabled: z.boolean().default(true),
  /** Overrides of `defaults.timings` for this target. */
  timings: TimingsInput.optional(),
  /** Connector-specific settings, validated by the connector. */
  options: z.record(z.string(), z.unknown()).optional(),
});
export type Target = z.infer<typeof Target>;

export const Rules = z
  .strictObject({
    /** Rule-set version, recorded in every entitlement's reason. */
    version: z
      .union([z.string(), z.number()], { error: 'expected a version string' })
      .transform(String)
      .pipe(z.string().trim().min(1, 'is empty')),
    timeZone: z
      .string({ error: 'expected an IANA time zone name' })
      .refine(isValidTimeZone, 'unknown time zone (expected an IANA name such as Europe/Amsterdam)')
      .default(DEFAULT_TIME_ZONE),
    /** Ordered primary-contract determinants, e.g. `[sequence, fte desc, startDate]`. */
    primaryContract: z
      .array(Determinant, { error: 'expected an array of strings' })
      .min(1)
      .default([...DEFAULT_DETERMINANTS]),
    defaults: z.strictObject({ timings: TimingsInput.default({}) }).default({ timings: {} }),
    /**
     * How new persons' login names are built (domain/naming.ts). One identity per person serves
     * every target, so this is set once, not per target; a change applies to persons who get
     * their username from then on (a username, once given, is kept).
     */
    naming: z
      .strictObject({
        usernamePattern: z.enum(USERNAME_PATTERNS, {
          error: `expected one of ${USERNAME_PATTERNS.join(', ')}`,
        }),
      })
      .optional(),
    targets: z.array(Target, { error: 'expected an array of targets' }).min(1, 'at least one target is needed'),
    rules: z.array(Rule, { error: 'expected an array of rules' }).default([]),
  })
  .superRefine((r, ctx) => {
    const ids = new Set<string>();
    r.targets.forEach((t, i) => {
      if (ids.has(t.id))
        ctx.addIssue({ code: 'custom', path: ['targets', i, 'id'], message: `duplicate target id '${t.id}'` });
      ids.add(t.id);
    });
    const names = new Set<string>();
    r.rules.forEach((rule, i) => {
      if (names.has(rule.name))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name '${rule.name}'` });
      names.add(rule.name);
      for (const targetId of Object.keys(rule.entitlements)) {
        if (!ids.has(targetId)) {
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'entitlements', targetId],
            message: `unknown target '${targetId}' (targets: ${[...ids].join(', ')})`,
          });
        }
      }
    });
  });
export type Rules = z.infer<typeof Rules>;
export type RulesInput = z.input<typeof Rules>;

/** The effective timings of a target: built-in defaults < `defaults.timings` < the target's own. */
export function timingsFor(rules: Rules, targetId: string): Timings {
  const target = rules.targets.find((t) => t.id === targetId);
  if (!target) throw new RangeError(`unknown target '${targetId}'`);
  const merged: Timings = { ...DEFAULT_TIMINGS };
  for (const layer of [rules.defaults.timings, target.timings ?? {}]) {
    for (const [k, v] of Object.entries(layer))
      if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Parsing with positions

export interface RulesIssue {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** `rules[2].conditions.department`, or '' for the whole document. */
  path: string;
  message: string;
}

export function formatIssue(i: RulesIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export class RulesError extends Error {
  constructor(readonly issues: RulesIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'RulesError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      out += /^[A-Za-z_$][\w$]*$/.test(s) ? (out ? `.${s}` : s) : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/**
 * Parses and validates a rules file (YAML, or JSON, which YAML 1.2 reads as well). Throws
 * `RulesError` listing every problem as `file:line:column: path: message`.
 */
export function parseRules(text: string, fileName = 'rules.yaml'): Rules {
  const result = safeParseRules(text, fileName);
  if (!result.ok) throw new RulesError(result.issues);
  return result.rules;
}

export type ParseRulesResult = { ok: true; rules: Rules } | { ok: false; issues: RulesIssue[] };

export function safeParseRules(text: string, fileName = 'rules.yaml'): ParseRulesResult {
  const read = readYaml(text, fileName);
  if (!read.ok) return read;
  const { data, doc, at } = read;
  const parsed = Rules.safeParse(data);
  if (parsed.success) return { ok: true, rules: parsed.data };

  const issues = parsed.error.issues.map((issue): RulesIssue => {
    const path = issue.path;
    const located = locate(doc.contents as Node | null, path);
    const { node, complete } = located;
    let pos = at(located.at?.range?.[0]);
    let shownPath = formatPath(path);
    let message = cleanMessage(issue.message);
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      const kn = keyNode(node, key);
      if (kn) pos = at(kn.range?.[0]);
      shownPath = formatPath([...path, key]);
      message = issue.keys.length > 1 ? `unknown keys ${issue.keys.map((k) => `'${k}'`).join(', ')}` : 'unknown key';
    } else if (!complete && issue.code === 'invalid_type') {
      message = `missing (${message})`;
    }
    return { file: fileName, ...pos, path: shownPath, message };
  });
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, issues };
}
