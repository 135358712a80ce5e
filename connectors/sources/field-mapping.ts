/**
 * A source's field mapping (config file: `fieldMapping` and `customFields` of a source, see
 * docs/configuration.md): which source field fills which field of the uniform person model
 * (domain/model.ts) beyond what the connector maps itself.
 *
 * Keys are model fields (`location`, `mobilePhone`, `gender`, `custom.<name>`, `contract.hoursPerWeek`,
 * `contract.custom.<name>`, ...); values are source field paths in the connector's own vocabulary
 * (Raet: `person.phone.Mobile`, `employment.workingAmount.amountOfWork`, `extension.WERKPLEK`; see
 * docs/sources/raet.md). `customFields` lists source paths copied under their last segment:
 * person paths into `person.custom`, contract paths into `contract.custom`.
 *
 * Compiled once at config load (every problem with its key); applied per record by the connector,
 * where a value that does not fit is a SourceRecordError naming the record and the source field.
 */

/** Person fields a mapping may fill. */
export const PERSON_MAPPABLE = ['location', 'businessPhone', 'mobilePhone', 'gender'] as const;
export type PersonMappable = (typeof PERSON_MAPPABLE)[number];

/** Contract fields a mapping may fill (written `contract.<field>` in the config). */
export const CONTRACT_MAPPABLE = [
  'location',
  'title.code',
  'title.name',
  'contractType',
  'hoursPerWeek',
  'costCenter',
  'employer',
] as const;
export type ContractMappable = (typeof CONTRACT_MAPPABLE)[number];

/** What a connector can read: the path prefixes of its person records and of its contract records. */
export interface MappingScopes {
  /** e.g. `['person.', 'extension.']`: readable for person and contract fields. */
  person: readonly string[];
  /** e.g. `['employment.', 'assignment.', 'orgUnit.']`: readable for contract fields only. */
  contract: readonly string[];
}

export interface SourceFieldMapping {
  person: Partial<Record<PersonMappable, string>>;
  contract: Partial<Record<ContractMappable, string>>;
  /** Custom person field name → source path. */
  personCustom: Record<string, string>;
  /** Custom contract field name → source path. */
  contractCustom: Record<string, string>;
}

export const EMPTY_MAPPING: SourceFieldMapping = { person: {}, contract: {}, personCustom: {}, contractCustom: {} };

export function isEmptyMapping(m: SourceFieldMapping | undefined): boolean {
  return (
    !m ||
    (!Object.keys(m.person).length &&
      !Object.keys(m.contract).length &&
      !Object.keys(m.personCustom).length &&
      !Object.keys(m.contractCustom).length)
  );
}

/** Every source path the mapping reads. */
export function mappedPaths(m: SourceFieldMapping): string[] {
  return [
    ...Object.values(m.person),
    ...Object.values(m.contract),
    ...Object.values(m.personCustom),
    ...Object.values(m.contractCustom),
  ].filter((p): p is string => typeof p === 'string');
}

export interface MappingIssue {
  /** Under the source entry: `['fieldMapping', 'gender']`, `['customFields', 2]`. */
  path: PropertyKey[];
  message: string;
}

const CUSTOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Source fields that hold data Tenure has no business keeping (docs/sources/model.md): never mapped. */
const SENSITIVE = /(birth|bsn|ssn|socialsecurity|iban|bankaccount|salary|wage|privateaddress|nationality)/i;
const PATH = /^[A-Za-z_][A-Za-z0-9_ -]*(\.[A-Za-z0-9_ -]+)+$/;

/** Validates `fieldMapping` and `customFields` against the connector's scopes. */
export function compileFieldMapping(
  fieldMapping: Record<string, string> | undefined,
  customFields: string[] | undefined,
  scopes: MappingScopes,
): { ok: true; mapping: SourceFieldMapping } | { ok: false; issues: MappingIssue[] } {
  const issues: MappingIssue[] = [];
  const mapping: SourceFieldMapping = { person: {}, contract: {}, personCustom: {}, contractCustom: {} };
  const inScope = (path: string, prefixes: readonly string[]) => prefixes.some((p) => path.startsWith(p));
  const checkPath = (at: PropertyKey[], path: string, contractLevel: boolean): boolean => {
    const allowed = contractLevel ? [...scopes.person, ...scopes.contract] : scopes.person;
    if (!PATH.test(path) || !inScope(path, allowed)) {
      issues.push({
        path: at,
        message: `'${path}' is not a source field this connector reads for a ${contractLevel ? 'contract' : 'person'} field (paths start with ${allowed.join(', ')})`,
      });
      return false;
    }
    if (SENSITIVE.test(path.replace(/[\s_-]/g, ''))) {
      issues.push({ path: at, message: `'${path}' holds personal data Tenure does not import` });
      return false;
    }
    return true;
  };

  for (const [key, path] of Object.entries(fieldMapping ?? {})) {
    const at = ['fieldMapping', key];
    let m: RegExpExecArray | null;
    if ((PERSON_MAPPABLE as readonly string[]).includes(key)) {
      if (checkPath(at, path, false)) mapping.person[key as PersonMappable] = path;
    } else if ((m = /^contract\.(.+)$/.exec(key)) && (CONTRACT_MAPPABLE as readonly string[]).includes(m[1]!)) {
      if (checkPath(at, path, true)) mapping.contract[m[1] as ContractMappable] = path;
    } else if ((m = /^contract\.custom\.(.+)$/.exec(key))) {
      if (!CUSTOM_NAME.test(m[1]!)) issues.push({ path: at, message: 'custom field names: letters, digits, _ or -' });
      else if (checkPath(at, path, true)) mapping.contractCustom[m[1]!] = path;
    } else if ((m = /^custom\.(.+)$/.exec(key))) {
      if (!CUSTOM_NAME.test(m[1]!)) issues.push({ path: at, message: 'custom field names: letters, digits, _ or -' });
      else if (checkPath(at, path, false)) mapping.personCustom[m[1]!] = path;
    } else {
      issues.push({
        path: at,
        message: `not a mappable model field; use one of ${[...PERSON_MAPPABLE, ...CONTRACT_MAPPABLE.map((f) => `contract.${f}`), 'custom.<name>', 'contract.custom.<name>'].join(', ')}`,
      });
    }
  }
  (customFields ?? []).forEach((path, i) => {
    const at = ['customFields', i];
    const personLevel = inScope(path, scopes.person);
    if (!checkPath(at, path, true)) return;
    const name = (path.split('.').at(-1) ?? '').replace(/[^A-Za-z0-9_-]/g, '');
    if (!CUSTOM_NAME.test(name)) {
      issues.push({ path: at, message: `'${path}' gives no usable custom field name` });
      return;
    }
    const into = personLevel ? mapping.personCustom : mapping.contractCustom;
    if (into[name] !== undefined && into[name] !== path) {
      issues.push({ path: at, message: `custom field '${name}' is mapped twice` });
      return;
    }
    into[name] = path;
  });
  return issues.length ? { ok: false, issues } : { ok: true, mapping };
}

// ---------------------------------------------------------------------------------------------
// Applying a mapping to one record

/** A mapped value that does not fit: the caller turns it into a SourceRecordError. */
export interface MappingProblem {
  /** The source field path. */
  field: string;
  reason: string;
}

/** Reads a source path; undefined when absent. */
export type SourceView = (path: string) => unknown;

/** Walks `a.b.c` through nested objects (own properties only). */
export function readPath(root: unknown, segments: readonly string[]): unknown {
  let v: unknown = root;
  for (const s of segments) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, s)) return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}

function text(v: unknown): string | undefined | Error {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return new Error(`expected text, got ${Array.isArray(v) ? 'a list' : typeof v}`);
  const t = v.trim();
  return t === '' ? undefined : t;
}

function hours(v: unknown): number | undefined | Error {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim().replace(',', '.')) : NaN;
  if (!Number.isFinite(n)) return new Error('expected a number of hours');
  return n;
}

const GENDERS: Record<string, 'M' | 'V' | 'X'> = {
  m: 'M',
  male: 'M',
  man: 'M',
  v: 'V',
  f: 'V',
  female: 'V',
  vrouw: 'V',
  woman: 'V',
  x: 'X',
  o: 'X',
  other: 'X',
  anders: 'X',
  'not known': 'X',
  notknown: 'X',
  unknown: 'X',
  onbekend: 'X',
};

/** `Male`/`M`/`man` → M, `Female`/`F`/`V`/`vrouw` → V, `X`/`Not Known`/`onbekend` → X; else an error. */
export function genderOf(v: unknown): 'M' | 'V' | 'X' | undefined | Error {
  const t = text(v);
  if (t === undefined || t instanceof Error) return t;
  return GENDERS[t.toLowerCase()] ?? new Error(`unknown gender value (expected Male, Female, M, V, X or Not Known)`);
}

function convert(field: string, v: unknown): unknown {
  if (field === 'hoursPerWeek') return hours(v);
  if (field === 'gender') return genderOf(v);
  return text(v);
}

/** The person fields and custom fields the mapping gives for one person record. */
export function mapPerson(
  m: SourceFieldMapping,
  view: SourceView,
  problems: MappingProblem[],
): { fields: Record<string, unknown>; custom: Record<string, string> } {
  const fields: Record<string, unknown> = {};
  for (const [field, path] of Object.entries(m.person)) {
    const v = convert(field, view(path));
    if (v instanceof Error) problems.push({ field: path, reason: `mapped to ${field}: ${v.message}` });
    else if (v !== undefined) fields[field] = v;
  }
  return { fields, custom: customOf(m.personCustom, view, problems, 'custom') };
}

/** Sets the mapped contract fields on a contract input (`title.*` merged into its title). */
export function mapContract(
  m: SourceFieldMapping,
  view: SourceView,
  input: Record<string, unknown>,
  problems: MappingProblem[],
): void {
  for (const [field, path] of Object.entries(m.contract)) {
    const v = convert(field, view(path));
    if (v instanceof Error) {
      problems.push({ field: path, reason: `mapped to contract.${field}: ${v.message}` });
      continue;
    }
    if (v === undefined) continue;
    if (field === 'title.code' || field === 'title.name') {
      const title = { ...((input.title as Record<string, unknown> | undefined) ?? {}) };
      title[field.slice(6)] = v;
      input.title = title;
    } else input[field] = v;
  }
  const custom = customOf(m.contractCustom, view, problems, 'contract.custom');
  if (Object.keys(custom).length) input.custom = custom;
}

function customOf(
  wanted: Record<string, string>,
  view: SourceView,
  problems: MappingProblem[],
  label: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(wanted)) {
    const v = text(view(path));
    if (v instanceof Error) problems.push({ field: path, reason: `mapped to ${label}.${name}: ${v.message}` });
    else if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Model path → source path, for naming the source field in a validation error of a mapped field. */
export function mappedSourceFields(m: SourceFieldMapping): {
  person: Record<string, string>;
  contract: Record<string, string>;
} {
  const person: Record<string, string> = { ...m.person };
  for (const [k, p] of Object.entries(m.personCustom)) person[`custom.${k}`] = p;
  const contract: Record<string, string> = { ...m.contract };
  for (const [k, p] of Object.entries(m.contractCustom)) contract[`custom.${k}`] = p;
  return { person, contract };
}
