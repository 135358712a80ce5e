/**
 * The zod schemas of the person model (domain/model.ts exports them, built once), as a factory.
 *
 * This module exports only functions, so that the workflow sandbox can share it between workflows
 * (workers/workflow-bundle.ts SHARED_WORKFLOW_MODULES): the SDK deep-freezes the exports of shared
 * modules, and a frozen zod schema fails on first use (zod installs methods lazily). The schemas
 * a caller builds stay its own.
 */
import { z } from 'zod';

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

// Each text schema is built once per length and with all its checks in one `check` call: zod
// copies a schema for every chained method (a 1,000-hire CPU profile put the chained form of the
// Person schema at 4 ms, built once per employee workflow before the signal checks were shared).
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

export function OptionalText(max: number) {
  let schema = optionalTexts.get(max);
  if (!schema) optionalTexts.set(max, (schema = buildOptionalText(max)));
  return schema;
}

/**
 * zod's own e-mail pattern, as a copy of ours: zod resets a pattern's `lastIndex` before each test,
 * and the pattern zod exports is frozen where the worker shares this module (the SDK freezes what
 * shared modules export, zod's included).
 */
const EMAIL = new RegExp(z.regexes.email.source, z.regexes.email.flags);

/** Every schema of the person model, newly built (domain/model.ts holds the ones the code uses). */
export function buildPersonSchemas() {
  /** Calendar date `YYYY-MM-DD` in the organisation's time zone. */
  const IsoDate = z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
    .refine((s) => {
      const [y, m, d] = s.split('-').map(Number) as [number, number, number];
      const t = new Date(Date.UTC(y, m - 1, d));
      return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
    }, 'not a real calendar date');

  /** Key of a person within one source, e.g. `100234`. Safe in a workflow id. */
  const SourceKey = z
    .string()
    .trim()
    .min(1, 'is empty')
    .max(64, 'longer than 64 characters')
    .regex(/^[A-Za-z0-9._-]+$/, 'may only contain letters, digits, dot, underscore and hyphen');

  /** Gender as targets such as Spend Cloud take it: `M`, `V` (vrouw), `X` (anything else). */
  const Gender = z.enum(['M', 'V', 'X']);

  const NameConvention = z.enum(['B', 'P', 'BP', 'PB']);

  const CodeName = z.object({
    code: Text(64).pipe(z.string().min(1, 'is empty')),
    name: OptionalText(200),
  });

  const Contract = z
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

  const PersonName = z.object({
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

  const Person = z.object({
    /** Source system id, e.g. `file`, `raet`. */
    source: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'source id must be lower-case letters, digits or hyphen'),
    key: SourceKey,
    name: PersonName,
    businessEmail: z.preprocess((v) => (v === '' ? undefined : v), z.email({ pattern: EMAIL }).max(254).optional()),
    businessPhone: OptionalText(40),
    /** Business mobile number, from the source's field mapping. */
    mobilePhone: OptionalText(40),
    /** `M`, `V` (vrouw) or `X` (other, unknown), only when the source's field mapping asks for it. */
    gender: Gender.optional(),
    location: OptionalText(100),
    custom: z.record(z.string().max(64), Text(500)).default({}),
    contracts: z.array(Contract).max(100),
  });

  const Department = z.object({
    code: Text(64).pipe(z.string().min(1)),
    name: OptionalText(200),
    managerKey: SourceKey.optional(),
    parentCode: OptionalText(64),
  });

  return { IsoDate, SourceKey, Gender, NameConvention, CodeName, Contract, PersonName, Person, Department };
}

export type PersonSchemas = ReturnType<typeof buildPersonSchemas>;
