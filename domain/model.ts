/**
 * The uniform person model every source maps into (docs/lifecycle.md section 1, docs/sources/model.md).
 *
 * The schemas are the boundary: zod `object` (not `looseObject`) drops every key it does not name,
 * so a BSN, salary, bank account, birth date or private address that a source sends never
 * reaches the vault, a workflow payload or a log line.
 */
import type { z } from 'zod';
import { buildPersonSchemas } from './person-schema.js';

export { Text, unsafeTextReason } from './person-schema.js';
export { personKey } from './person-key.js';

const schemas = buildPersonSchemas();

/** Calendar date `YYYY-MM-DD` in the organisation's time zone. */
export const IsoDate = schemas.IsoDate;
export type IsoDate = z.infer<typeof IsoDate>;

/** Key of a person within one source, e.g. `100234`. Safe in a workflow id. */
export const SourceKey = schemas.SourceKey;

/** Gender as targets such as Spend Cloud take it: `M`, `V` (vrouw), `X` (anything else). */
export const Gender = schemas.Gender;
export type Gender = z.infer<typeof Gender>;

export const NameConvention = schemas.NameConvention;
export type NameConvention = z.infer<typeof NameConvention>;

export const CodeName = schemas.CodeName;
export type CodeName = z.infer<typeof CodeName>;

export const Contract = schemas.Contract;
export type Contract = z.infer<typeof Contract>;

export const PersonName = schemas.PersonName;
export type PersonName = z.infer<typeof PersonName>;

export const Person = schemas.Person;
export type Person = z.infer<typeof Person>;
export type PersonInput = z.input<typeof Person>;

export const Department = schemas.Department;
export type Department = z.infer<typeof Department>;

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
