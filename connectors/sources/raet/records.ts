/**
 * Raw Raet record schemas (docs/sources/raet.md): every field optional (Raet omits empty properties),
 * ids accepted as string or number and kept as strings, `null` treated as absent. `z.object`
 * drops every field not named here (birth dates, addresses, ... never leave this module).
 */
import { z } from 'zod';
import type { NameConvention } from '../../../domain/model.js';
import type { SourceRecordError } from '../../types.js';

const absent = (v: unknown) => (v === null || v === '' ? undefined : v);
export const Str = z.preprocess(
  absent,
  z
    .union([z.string(), z.number()])
    .transform((v) => String(v).trim())
    .optional(),
);
const Num = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : absent(v)),
  z.number().optional(),
);
const Bool = z.preprocess(absent, z.boolean().optional());
const DateStr = z.preprocess(
  absent,
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}(T.*)?$/, 'expected a date YYYY-MM-DD')
    .transform((s) => s.slice(0, 10))
    .optional(),
);
const Typed = (valueField: 'address' | 'number') =>
  z.preprocess(absent, z.array(z.union([z.null(), z.object({ type: Str, [valueField]: Str })])).optional());
const WorkingAmount = z.preprocess(absent, z.object({ amountOfWork: Num, parttimePercentage: Num }).optional());

/** The validity of one version of a record (Raet keeps the history). */
const Validity = { validFrom: DateStr, validUntil: DateStr };
/** The period an assignment or role runs. */
const Period = { startDate: DateStr, endDate: DateStr };
/** The employment a record belongs to. */
const OfEmployment = { personCode: Str, employmentCode: Str };

export const RawPerson = z.object({
  id: Str,
  personCode: Str,
  initials: Str,
  firstNames: Str,
  knownAs: Str,
  lastNameAtBirth: Str,
  lastNameAtBirthPrefix: Str,
  partnerName: Str,
  partnerNamePrefix: Str,
  nameAssembleOrder: Str,
  emailAddresses: Typed('address'),
  phoneNumbers: Typed('number'),
  ...Validity,
});
export type RawPerson = z.infer<typeof RawPerson>;

export const RawEmployment = z.object({
  id: Str,
  ...OfEmployment,
  contractCode: Str,
  hireDate: DateStr,
  dischargeDate: DateStr,
  organizationUnit: Str,
  organizationUnitCode: Str,
  organizationUnitName: Str,
  jobProfile: Str,
  jobProfileName: Str,
  payrollClientCode: Str,
  company: Str,
  costCenter: Str,
  classification: Str,
  workingAmount: WorkingAmount,
  isActive: Bool,
  ...Validity,
});
export type RawEmployment = z.infer<typeof RawEmployment>;

export const RawAssignment = z.object({
  id: Str,
  ...OfEmployment,
  ...Period,
  organizationUnit: Str,
  jobProfile: Str,
  costCenter: Str,
  workingAmount: WorkingAmount,
  isActive: Bool,
});
export type RawAssignment = z.infer<typeof RawAssignment>;

/** Job profiles, companies, cost centers, classifications. */
export const RawValue = z.object({ id: Str, shortName: Str, fullName: Str, ...Validity });
export type RawValue = z.infer<typeof RawValue>;

/** An organisation unit: a value with its place in the tree and its manager. */
export const RawOrgUnit = RawValue.extend({ parentOrgUnit: Str, manager: Str });
export type RawOrgUnit = z.infer<typeof RawOrgUnit>;

export const RawCostAllocation = z.object({ ...OfEmployment, costCenterCode: Str, costCenterName: Str });
export type RawCostAllocation = z.infer<typeof RawCostAllocation>;

export const RawRoleAssignment = z.object({ personCode: Str, shortName: Str, organizationUnit: Str, ...Period });
export type RawRoleAssignment = z.infer<typeof RawRoleAssignment>;

export const RawExtension = z.object({ personCode: Str, bo4FieldCode: Str, value: Str });
export type RawExtension = z.infer<typeof RawExtension>;

/** A parsed record with where it came from. */
export interface Read<T> {
  rec: T;
  /** 0-based index in the endpoint's stream of records. */
  index: number;
  /** The record as the API sent it, for the source's field mapping (connectors/sources/field-mapping.ts). */
  raw?: Record<string, unknown>;
}

/**
 * Parse one raw record. A non-object or a record failing its schema becomes a SourceRecordError
 * (first issue per field) keyed by the person code when readable.
 */
export function parseRecord<T>(
  schema: z.ZodType<T>,
  raw: unknown,
  at: { source: string; origin: string; index: number },
  errors: SourceRecordError[],
): T | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    errors.push({
      source: at.source,
      origin: at.origin,
      line: at.index,
      field: '(record)',
      reason: 'not an object; record skipped',
    });
    return undefined;
  }
  const res = schema.safeParse(raw);
  if (res.success) return res.data;
  const r = raw as Record<string, unknown>;
  const key = typeof r.personCode === 'string' || typeof r.personCode === 'number' ? String(r.personCode) : undefined;
  const seen = new Set<string>();
  for (const issue of res.error.issues) {
    const field = issue.path.map(String).join('.') || '(record)';
    if (seen.has(field)) continue;
    seen.add(field);
    errors.push({
      source: at.source,
      origin: at.origin,
      line: at.index,
      ...(key === undefined ? {} : { key }),
      field,
      reason: `${issue.message}; record skipped`,
    });
  }
  return undefined;
}

/** `nameAssembleOrder` → convention via the table of docs/sources/model.md (upper-cased; unknown → B). */
export function nameConvention(code: string | undefined, table: Record<string, NameConvention>): NameConvention {
  if (!code) return 'B';
  return table[code.trim().toUpperCase()] ?? table[code.trim()] ?? 'B';
}

/** First entry of a typed list (`emailAddresses`, `phoneNumbers`) with the given type. */
export function typed(
  list: ({ type?: string; [k: string]: unknown } | null)[] | undefined,
  type: string,
  field: 'address' | 'number',
): string | undefined {
  for (const x of list ?? []) {
    if (x && x.type?.toLowerCase() === type.toLowerCase() && typeof x[field] === 'string' && x[field] !== '') {
      return x[field] as string;
    }
  }
  return undefined;
}
