/**
 * How a rule condition tests one field value: a list of exact values (OR between them), or an
 * operator object whose parts must all hold: `in` (one of), `not` (none of), `prefix` (starts with
 * one of), `contains` (contains one of), `regex` (a JavaScript regular expression, unanchored unless
 * it says ^ or $). Comparisons are case-sensitive, like the plain list.
 */
import { z } from 'zod';

const Value = z.string({ error: 'expected a string' }).trim().min(1, 'is empty');
const Values = z.array(Value, { error: 'expected an array of strings' }).min(1, 'expected at least one value');

const MAX_REGEX_LENGTH = 200;

const Pattern = z
  .string({ error: 'expected a regular expression as a string' })
  .min(1, 'is empty')
  .max(MAX_REGEX_LENGTH, `at most ${MAX_REGEX_LENGTH} characters`)
  .superRefine((s, ctx) => {
    try {
      new RegExp(s, 'u');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
    }
  });

const Operators = z
  .strictObject({
    in: Values.optional(),
    not: Values.optional(),
    prefix: Values.optional(),
    contains: Values.optional(),
    regex: Pattern.optional(),
  })
  .refine((o) => Object.values(o).some((v) => v !== undefined), {
    message: 'give at least one of in, not, prefix, contains, regex',
  });

const SHAPE_ERROR = 'expected an array of strings (or an object with in, not, prefix, contains or regex)';

/** A list or an operator object; errors point into whichever of the two was given. */
export const ValueMatch = z.unknown().transform((v, ctx): z.infer<typeof Values> | z.infer<typeof Operators> => {
  const schema = Array.isArray(v) ? Values : v !== null && typeof v === 'object' ? Operators : undefined;
  if (!schema) {
    ctx.addIssue({ code: 'custom', message: SHAPE_ERROR });
    return z.NEVER;
  }
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});
export type ValueMatch = z.output<typeof ValueMatch>;

const compiled = new Map<string, RegExp>();
function regexOf(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(pattern, 'u');
    compiled.set(pattern, re);
  }
  return re;
}

/**
 * True when `value` passes `m`. An empty field (undefined) passes only an operator object that
 * consists of `not` alone: "not FIN" holds for a contract without a department.
 */
export function matchesValue(m: ValueMatch, value: string | undefined): boolean {
  if (Array.isArray(m)) return value !== undefined && m.includes(value);
  if (value === undefined) return m.not !== undefined && Object.keys(m).every((k) => k === 'not');
  if (m.in && !m.in.includes(value)) return false;
  if (m.not && m.not.includes(value)) return false;
  if (m.prefix && !m.prefix.some((p) => value.startsWith(p))) return false;
  if (m.contains && !m.contains.some((p) => value.includes(p))) return false;
  if (m.regex !== undefined && !regexOf(m.regex).test(value)) return false;
  return true;
}

/** What `m` allows, for explanations: `FIN, HR` or `not FIN, prefix ZO`. */
export function describeMatch(m: ValueMatch): string[] {
  if (Array.isArray(m)) return m;
  const parts: string[] = [];
  if (m.in) parts.push(`one of ${m.in.join(' | ')}`);
  if (m.not) parts.push(`not ${m.not.join(' | ')}`);
  if (m.prefix) parts.push(`prefix ${m.prefix.join(' | ')}`);
  if (m.contains) parts.push(`contains ${m.contains.join(' | ')}`);
  if (m.regex !== undefined) parts.push(`regex /${m.regex}/`);
  return parts;
}
