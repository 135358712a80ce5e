/**
 * The uniform person model every source maps into (docs/lifecycle.md section 1, docs/sources/model.md).
 *
 * The schemas are the boundary: zod `object` (not `looseObject`) drops every key it does not name,
 * so a BSN, salary, bank account, birth date or private address that a source sends never
 * reaches the vault, a workflow payload or a log line.
 */
import { z } from 'zod';

/** Calendar date `YYYY-MM-DD` in the organisation's time zone. */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  .refine((s) => {
    const [y, m, d] = s.split('-').map(Number) as [number, number, number];
    const t = new Date(Date.UTC(y, m - 1, d));
    return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
  }, 'not a real calendar date');
export type IsoDate = z.infer<typeof IsoDate>;

// Control characters never belong in a name or code; they break LDAP, CSV and mail headers.
// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const noControlChars = (s: string) => !/[\u0000-\u001f\u007f-\u009f]/.test(s);

/**
 * Characters that make a name display differently from what it is (display-name spoofing):
 * bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), bidi marks
 * (U+200E, U+200F, U+061C), zero-width and invisible joiners (U+200B-U+200D, U+2060-U+2064,
 * U+FEFF, U+180E, U+00AD soft hyphen), and lone UTF-16 surrogates or U+FFFD (broken text that
 * LDAP, XML and CSV writers mangle; JSON can carry a lone surrogate as an escape). Refused at the boundary with a per-record error, never stripped
 * silently: HR has to correct the record.
 */
const INVISIBLE = /[\u202a-\u202e\u2066-\u2069\u200b-\u200f\u061c\u2060-\u2064\ufeff\u180e\u00ad]/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** U+FFFD: what a lone surrogate or an invalid byte becomes once text was re-encoded. */
const REPLACEMENT = /\ufffd/;

/** Undefined when `s` is clean, else the reason (naming the code point, never the text). */
export function unsafeTextReason(s: string): string | undefined {
  const m = INVISIBLE.exec(s);
  if (m) {
    const cp = `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return `contains an invisible or direction-changing character (${cp})`;
  }
  if (LONE_SURROGATE.test(s)) return 'contains a broken character (a lone UTF-16 surrogate)';
  if (REPLACEMENT.test(s)) return 'contains a broken character (U+FFFD, text decoded with the wrong encoding)';
  return undefined;
}

// Each schema is built once per length and with all its checks in one `check` call: zod copies a
// schema for every chained method, and the workflow sandbox builds this module again for every
// employee workflow it loads (a 1,000-hire CPU profile put the chained form at 4 ms each).
const texts = new Map<number, ReturnType<typeof buildText>>();
const optionalTexts = new Map<number, ReturnType<typeof buildOptionalText>>();

function buildText(max: number) {
  return z.string().check(
    z.trim(),
    z.maxLength(max, `longer than ${max} characters`),
    z.refine(noControlChars, 'contains control characters'),
    z.superRefine((s: string, ctx) => {
      const reason = unsafeTextReason(s);
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    }),
  );
}

function buildOptionalText(max: number) {
  return z.preprocess((v) => (v === '' || v === null ? undefined : v), Text(max).optional());
}

/** A trimmed, bounded, printable string. */
export function Text(max: number) {
  let schema = texts.get(max);
  if (!schema) texts.set(max, (schema = buildText(max)));
  return schema;
}

function OptionalText(max: number) {
  let schema = optionalTexts.get(max);
  if (!schema) optionalTexts.set(max, (schema = buildOptionalText(max)));
  return schema;
}

/** Key of a person within one source, e.g. `100234`. Safe in a workflow id. */
export const SourceKey = z
  .string()
  .trim()
  .min(1, 'is empty')
  .max(64, 'longer than 64 characters')
  .regex(/^[A-Za-z0-9._-]+$/, 'may only contain letters, digits, dot, underscore and hyphen');

/** Gender as targets such as Spend Cloud take it: `M`, `V` (vrouw), `X` (anything else). */
export const Gender = z.enum(['M', 'V', 'X']);
export type Gender = z.infer<typeof Gender>;

export const NameConvention = z.enum(['B', 'P', 'BP', 'PB']);
export type NameConvention = z.infer<typeof NameConvention>;

export const CodeName = z.object({
  code: Text(64).pipe(z.string().min(1, 'is empty')),
  name: OptionalText(200),
});
export type CodeName = z.infer<typeof CodeName>;

export const Contract = z
  .object({
    id: SourceKey,
    startDate: IsoDate,
    /** Inclusive last day; absent = open-ended. */
    endDate: IsoDate.optional(),
    department: CodeName,
    title: CodeName.optional(),
    location: OptionalText(100),
    /** The manager's person key in the same source. */
    managerKey: SourceKey.optional(),
    costCenter: OptionalText(64),
    employer: OptionalText(200),
    fte: z.number().min(0).max(2).optional(),
    sequence: z.number().int().min(0).optional(),
    /** Contract type as the source names it (`Vast`, `Tijdelijk`), from the source's field mapping. */
    contractType: OptionalText(100),
    /** Contracted hours per week, from the source's field mapping. */
    hoursPerWeek: z.number().min(0).max(80).optional(),
    /** Custom contract fields by name (the source's `customFields` / `fieldMapping`); absent when none. */
    custom: z.record(z.string().max(64), Text(500)).optional(),
  })
  .refine((c) => !c.endDate || c.endDate >= c.startDate, {
    message: 'ends before it starts',
    path: ['endDate'],
  });
export type Contract = z.infer<typeof Contract>;

export const PersonName = z.object({
  given: OptionalText(100),
  /** Roepnaam: what targets use as first name. */
  nickName: Text(100).pipe(z.string().min(1, 'is empty')),
  initials: OptionalText(20),
  familyName: Text(100).pipe(z.string().min(1, 'is empty')),
  familyNamePrefix: OptionalText(30),
  partnerName: OptionalText(100),
  partnerNamePrefix: OptionalText(30),
  convention: NameConvention.default('B'),
});
export type PersonName = z.infer<typeof PersonName>;

export const Person = z.object({
  /** Source system id, e.g. `file`, `raet`. */
  source: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'source id must be lower-case letters, digits or hyphen'),
  key: SourceKey,
  name: PersonName,
  businessEmail: z.preprocess((v) => (v === '' ? undefined : v), z.email().max(254).optional()),
  businessPhone: OptionalText(40),
  /** Business mobile number, from the source's field mapping. */
  mobilePhone: OptionalText(40),
  /** `M`, `V` (vrouw) or `X` (other, unknown), only when the source's field mapping asks for it. */
  gender: Gender.optional(),
  location: OptionalText(100),
  custom: z.record(z.string().max(64), Text(500)).default({}),
  contracts: z.array(Contract).max(100),
});
export type Person = z.infer<typeof Person>;
export type PersonInput = z.input<typeof Person>;

export const Department = z.object({
  code: Text(64).pipe(z.string().min(1)),
  name: OptionalText(200),
  managerKey: SourceKey.optional(),
  parentCode: OptionalText(64),
});
export type Department = z.infer<typeof Department>;

/** `raet:100234`: unique across sources; the vault's and workflow's key. */
export function personKey(p: Pick<Person, 'source' | 'key'>): string {
  return `${p.source}:${p.key}`;
}

/** `employee-raet:100234`: a workflow id with no personal data in it, only the opaque key. */
export function employeeWorkflowId(key: string): string {
  return `employee-${key}`;
}

/** A record a source could not accept, with enough to find it in the source. */
export interface SourceRecordError {
  source: string;
  /** File name or endpoint the record came from. */
  origin: string;
  /** 1-based line (files) or record index (APIs). */
  line?: number;
  /** The person or contract key, when it could be read. */
  key?: string;
  field: string;
  reason: string;
}
