/**
 * Joining Raet records into the uniform model (docs/sources/raet.md: Beaufort, and HR Core
 * Business). Pure: records in, SourceImport out. Every person is validated with the Person schema;
 * a person whose own record or one of whose employments / assignments is malformed is rejected
 * with SourceRecordErrors keyed by its person code (so it keeps its last good data), the rest is
 * imported.
 */
import { addDays } from '../../../domain/dates.js';
import { Department, Person, type NameConvention } from '../../../domain/model.js';
import type { SourceImport, SourceRecordError } from '../../types.js';
import type { RaetSourceConfig } from './options.js';
import {
  EMPTY_MAPPING,
  isEmptyMapping,
  mapContract,
  mapPerson,
  mappedSourceFields,
  readPath,
  type MappingProblem,
  type SourceFieldMapping,
  type SourceView,
} from '../field-mapping.js';
import {
  nameConvention,
  typed,
  type RawAssignment,
  type RawCostAllocation,
  type RawEmployment,
  type RawExtension,
  type RawOrgUnit,
  type RawPerson,
  type RawRoleAssignment,
  type RawValue,
  type Read,
} from './records.js';

export const REJECTED = 'person rejected; it keeps its last good data';

/** The name of each endpoint whose records are referred to by index in record errors. */
export type Origins = Record<'persons' | 'employments' | 'assignments' | 'organizationUnits', string>;

/** What both APIs deliver: the employments, the organisation tree and the job profiles. */
interface EmploymentRecords {
  employments: Read<RawEmployment>[];
  organizationUnits: Read<RawOrgUnit>[];
  jobProfiles: RawValue[];
}

export interface BeaufortRecords extends EmploymentRecords {
  persons: Read<RawPerson>[];
  assignments: Read<RawAssignment>[];
  costAllocations: RawCostAllocation[];
  roleAssignments: RawRoleAssignment[];
  extensions: RawExtension[];
}

export interface BusinessRecords extends EmploymentRecords {
  employees: Read<RawPerson>[];
  companies: RawValue[];
  costCenters: RawValue[];
  classifications: RawValue[];
}

interface ContractDraft {
  input: Record<string, unknown>;
  origin: string;
  index: number;
  /** Contract model field → Raet field, for error messages. */
  fields: Record<string, string>;
  /** The raw records behind the contract, for the field mapping. */
  raw?: {
    employment?: Record<string, unknown>;
    assignment?: Record<string, unknown>;
    orgUnit?: Record<string, unknown>;
  };
}

const PERSON_FIELDS: Record<string, string> = {
  key: 'personCode',
  'name.given': 'firstNames',
  'name.nickName': 'knownAs',
  'name.initials': 'initials',
  'name.familyName': 'lastNameAtBirth',
  'name.familyNamePrefix': 'lastNameAtBirthPrefix',
  'name.partnerName': 'partnerName',
  'name.partnerNamePrefix': 'partnerNamePrefix',
  'name.convention': 'nameAssembleOrder',
  businessEmail: 'emailAddresses.Business',
  businessPhone: 'phoneNumbers.Business',
};

/** Contract field → field of an employment record: HR Core Business's names (Beaufort's differ in a few). */
const EMPLOYMENT_FIELDS: Record<string, string> = {
  id: 'id',
  startDate: 'hireDate',
  endDate: 'dischargeDate',
  department: 'organizationUnit',
  'department.code': 'organizationUnit',
  'department.name': 'organizationUnit',
  title: 'jobProfile',
  costCenter: 'costCenter',
  employer: 'company',
  fte: 'workingAmount.parttimePercentage',
  sequence: 'contractCode',
};

interface Ctx {
  cfg: RaetSourceConfig;
  today: string;
  errors: SourceRecordError[];
  origins: Origins;
  mapping: SourceFieldMapping;
  /** Person extension values by person code, codes without spaces (for `extension.<code>`). */
  extensions: Map<string, Record<string, string>>;
}

/** `person.<field>`, `person.phone.<type>`, `person.email.<type>`, `extension.<code>`. */
function personView(read: Read<RawPerson>, ext: Record<string, string> | undefined): SourceView {
  return (path) => {
    const [scope, ...rest] = path.split('.');
    if (scope === 'extension') return ext?.[rest.join('.').replace(/\s+/g, '')];
    if (scope !== 'person') return undefined;
    if (rest.length === 2 && rest[0] === 'phone') return typed(read.rec.phoneNumbers, rest[1]!, 'number');
    if (rest.length === 2 && rest[0] === 'email') return typed(read.rec.emailAddresses, rest[1]!, 'address');
    return readPath(read.raw, rest);
  };
}

/** The person's view plus `employment.*`, `assignment.*` and `orgUnit.*` of one contract. */
function contractView(person: SourceView, raw: ContractDraft['raw']): SourceView {
  return (path) => {
    const [scope, ...rest] = path.split('.');
    if (scope === 'employment' || scope === 'assignment' || scope === 'orgUnit') return readPath(raw?.[scope], rest);
    return person(path);
  };
}

/**
 * Applies the source's field mapping to a person and its contracts. A mapped value that does not
 * fit rejects the person, with an error naming the record and the Raet field.
 */
function applyMapping(
  ctx: Ctx,
  read: Read<RawPerson>,
  input: Record<string, unknown>,
  drafts: ContractDraft[],
  personOrigin: string,
): boolean {
  if (isEmptyMapping(ctx.mapping)) return true;
  const code = read.rec.personCode as string;
  const pv = personView(read, ctx.extensions.get(code));
  const located: (MappingProblem & { origin: string; line: number })[] = [];
  const personProblems: MappingProblem[] = [];
  const mapped = mapPerson(ctx.mapping, pv, personProblems);
  Object.assign(input, mapped.fields);
  if (Object.keys(mapped.custom).length) input.custom = { ...(input.custom as object), ...mapped.custom };
  for (const p of personProblems) located.push({ ...p, origin: personOrigin, line: read.index });
  const sourceFields = mappedSourceFields(ctx.mapping);
  for (const d of drafts) {
    const problems: MappingProblem[] = [];
    mapContract(ctx.mapping, contractView(pv, d.raw), d.input, problems);
    for (const p of problems) located.push({ ...p, origin: d.origin, line: d.index });
    d.fields = { ...d.fields, ...sourceFields.contract };
  }
  for (const p of located)
    err(ctx, { origin: p.origin, line: p.line, key: code, field: p.field, reason: `${p.reason}; ${REJECTED}` });
  return located.length === 0;
}

/** A person with a malformed employment (or assignment) record is rejected whole: it keeps its last good data. */
function rejectTainted(ctx: Ctx, origin: string, line: number, key: string, malformed: string): void {
  err(ctx, { origin, line, key, field: 'personCode', reason: `has malformed ${malformed} records; ${REJECTED}` });
}

/** A date at or after the sentinel (`9999-12-31`) is "no end". */
function endOf(date: string | undefined, sentinel: string): string | undefined {
  if (!date) return undefined;
  return sentinel && date >= sentinel ? undefined : date;
}

function err(ctx: Ctx, e: Omit<SourceRecordError, 'source'>) {
  ctx.errors.push({ source: ctx.cfg.id, ...e });
}

function deptCode(ou: RawOrgUnit | undefined, key: 'shortName' | 'id'): string | undefined {
  return ou ? (key === 'id' ? ou.id : ou.shortName) : undefined;
}

function personInput(ctx: Ctx, p: RawPerson, table: Record<string, NameConvention>): Record<string, unknown> {
  return {
    source: ctx.cfg.id,
    key: p.personCode,
    name: {
      given: p.firstNames,
      nickName: p.knownAs,
      initials: p.initials,
      familyName: p.lastNameAtBirth,
      familyNamePrefix: p.lastNameAtBirthPrefix,
      partnerName: p.partnerName,
      partnerNamePrefix: p.partnerNamePrefix,
      convention: nameConvention(p.nameAssembleOrder, table),
    },
    businessEmail: typed(p.emailAddresses, 'Business', 'address'),
    businessPhone: typed(p.phoneNumbers, 'Business', 'number'),
    custom: {},
    contracts: [],
  };
}

/** Validate one person with its contracts; errors point at the Raet endpoint and field. */
function validate(
  ctx: Ctx,
  read: Read<RawPerson>,
  input: Record<string, unknown>,
  drafts: ContractDraft[],
  personOrigin: string,
): Person | undefined {
  input.contracts = drafts.map((d) => d.input);
  const res = Person.safeParse(input);
  if (res.success) return res.data;
  const key = read.rec.personCode;
  const seen = new Set<string>();
  for (const issue of res.error.issues) {
    let origin = personOrigin;
    let line = read.index;
    let field: string;
    const path = issue.path.map(String);
    if (path[0] === 'contracts' && issue.path.length > 1 && typeof issue.path[1] === 'number') {
      const d = drafts[issue.path[1]];
      const rest = path.slice(2).join('.');
      field = (d && (d.fields[rest] ?? d.fields[path[2] ?? ''])) ?? (rest || 'contract');
      if (d) {
        origin = d.origin;
        line = d.index;
      }
    } else {
      field =
        PERSON_FIELDS[path.join('.')] ??
        mappedSourceFields(ctx.mapping).person[path.join('.')] ??
        (path.join('.') || '(record)');
    }
    const id = `${origin}\u0000${line}\u0000${field}`;
    if (seen.has(id)) continue;
    seen.add(id);
    err(ctx, { origin, line, ...(key ? { key } : {}), field, reason: `${issue.message}; ${REJECTED}` });
  }
  return undefined;
}

function sortErrors(errors: SourceRecordError[], origins: string[]) {
  const rank = (o: string) => {
    const i = origins.indexOf(o);
    return i < 0 ? origins.length : i;
  };
  errors.sort((a, b) => rank(a.origin) - rank(b.origin) || (a.line ?? 0) - (b.line ?? 0));
}

/** Departments from OUs; `managerOf` gives the OU id's manager person code. */
function departments(
  ctx: Ctx,
  ous: Read<RawOrgUnit>[],
  byId: Map<string, RawOrgUnit>,
  managerOf: (ouId: string) => string | undefined,
): Department[] {
  const out: Department[] = [];
  const seen = new Set<string>();
  const key = ctx.cfg.departmentKey ?? (ctx.cfg.variant === 'business' ? 'id' : 'shortName');
  for (const { rec: ou, index } of ous) {
    if (!ou.id || byId.get(ou.id) !== ou) continue; // duplicates / other slices
    const code = deptCode(ou, key);
    if (!code) {
      err(ctx, {
        origin: ctx.origins.organizationUnits,
        line: index,
        key: ou.id,
        field: key,
        reason: 'is empty; department skipped',
      });
      continue;
    }
    if (seen.has(code)) {
      err(ctx, {
        origin: ctx.origins.organizationUnits,
        line: index,
        key: code,
        field: key,
        reason: `department code ${code} is used by more than one organization unit; department skipped`,
      });
      continue;
    }
    seen.add(code);
    const res = Department.safeParse({
      code,
      name: ou.fullName,
      managerKey: managerOf(ou.id),
      parentCode: ou.parentOrgUnit ? deptCode(byId.get(ou.parentOrgUnit), key) : undefined,
    });
    if (res.success) out.push(res.data);
    else {
      const issue = res.error.issues[0];
      err(ctx, {
        origin: ctx.origins.organizationUnits,
        line: index,
        key: code,
        field: issue?.path.map(String).join('.') || 'shortName',
        reason: `${issue?.message ?? 'invalid'}; department skipped`,
      });
    }
  }
  return out;
}

/** The manager for a contract in OU `ouId`: the OU's manager, or up the tree when that is the person. */
function contractManager(
  ctx: Ctx,
  personCode: string,
  ouId: string | undefined,
  byId: Map<string, RawOrgUnit>,
  managerOf: (ouId: string) => string | undefined,
): string | undefined {
  if (!ctx.cfg.contractManagerFromDepartment || !ouId) return undefined;
  let id: string | undefined = ouId;
  for (let depth = 0; id && depth < 64; depth++) {
    const m = managerOf(id);
    if (m && (m !== personCode || !ctx.cfg.selfManagedUseParent)) return m;
    id = byId.get(id)?.parentOrgUnit;
  }
  return undefined;
}

/** Persons keyed by person code: the first record per id; two different ids with one code reject the code. */
function uniquePersons(ctx: Ctx, persons: Read<RawPerson>[], origin: string): Map<string, Read<RawPerson>> {
  const byCode = new Map<string, Read<RawPerson>>();
  const bad = new Set<string>();
  for (const r of persons) {
    const code = r.rec.personCode;
    if (!code) {
      err(ctx, { origin, line: r.index, field: 'personCode', reason: 'missing; record ignored' });
      continue;
    }
    const before = byCode.get(code);
    if (!before) byCode.set(code, r);
    else if (before.rec.id !== r.rec.id) {
      bad.add(code);
      err(ctx, {
        origin,
        line: r.index,
        key: code,
        field: 'personCode',
        reason: `person code also used by record ${before.rec.id ?? '?'} (index ${before.index}); ${REJECTED}`,
      });
    }
  }
  for (const code of bad) byCode.delete(code);
  return byCode;
}

function today(cfgToday: string): string {
  return cfgToday;
}

// ------------------------------------------------------------------------------- Beaufort

export function assembleBeaufort(
  cfg: RaetSourceConfig,
  todayDate: string,
  recs: BeaufortRecords,
  origins: Origins,
  parseErrors: SourceRecordError[],
  recordsRead: number,
  mapping: SourceFieldMapping = EMPTY_MAPPING,
): SourceImport {
  const extensions = new Map<string, Record<string, string>>();
  for (const x of recs.extensions) {
    if (!x.personCode || !x.bo4FieldCode || x.value === undefined) continue;
    const c = extensions.get(x.personCode) ?? {};
    c[x.bo4FieldCode.replace(/\s+/g, '')] ??= x.value;
    extensions.set(x.personCode, c);
  }
  const ctx: Ctx = { cfg, today: today(todayDate), errors: [...parseErrors], origins, mapping, extensions };
  const key = cfg.departmentKey ?? 'shortName';
  const ouById = new Map<string, RawOrgUnit>();
  const ouRawById = new Map<string, Record<string, unknown> | undefined>();
  for (const { rec, raw } of recs.organizationUnits)
    if (rec.id && !ouById.has(rec.id)) {
      ouById.set(rec.id, rec);
      ouRawById.set(rec.id, raw);
    }
  const jobById = new Map<string, RawValue>();
  for (const j of recs.jobProfiles) if (j.id && !jobById.has(j.id)) jobById.set(j.id, j);
  const allocation = new Map<string, RawCostAllocation>();
  for (const a of recs.costAllocations) {
    const k = `${a.personCode}_${a.employmentCode}`;
    if (!allocation.has(k)) allocation.set(k, a);
  }

  // Managers: active MGR roles, newest start first, then highest numeric person code; first per OU.
  const roles = recs.roleAssignments
    .filter(
      (r) =>
        r.shortName === cfg.managerRoleCode &&
        r.personCode &&
        r.organizationUnit &&
        (!r.startDate || r.startDate <= ctx.today) &&
        (!r.endDate || r.endDate >= ctx.today),
    )
    .sort(
      (a, b) =>
        (b.startDate ?? '').localeCompare(a.startDate ?? '') ||
        Number(b.personCode) - Number(a.personCode) ||
        (b.personCode ?? '').localeCompare(a.personCode ?? ''),
    );
  const managers = new Map<string, string>();
  for (const r of roles)
    if (!managers.has(r.organizationUnit as string)) managers.set(r.organizationUnit as string, r.personCode as string);
  const managerOf = (ouId: string) => managers.get(ouId);

  // Persons whose employment or assignment records were malformed are rejected as a whole.
  const tainted = new Set<string>();
  for (const e of parseErrors)
    if (e.key && (e.origin === origins.employments || e.origin === origins.assignments)) tainted.add(e.key);

  const employmentByKey = new Map<string, Read<RawEmployment>>();
  const employmentsOf = new Map<string, Read<RawEmployment>[]>();
  for (const r of recs.employments) {
    const code = r.rec.personCode;
    if (!code) continue;
    const k = `${code}_${r.rec.employmentCode}`;
    if (employmentByKey.has(k)) continue;
    employmentByKey.set(k, r);
    const list = employmentsOf.get(code) ?? [];
    list.push(r);
    employmentsOf.set(code, list);
  }
  const assignmentsOf = new Map<string, Read<RawAssignment>[]>();
  const seenAssignment = new Set<string>();
  for (const r of recs.assignments) {
    const code = r.rec.personCode;
    if (!code || r.rec.isActive === false) continue; // archived (2.9.5)
    if (r.rec.id && seenAssignment.has(r.rec.id)) continue;
    if (r.rec.id) seenAssignment.add(r.rec.id);
    const list = assignmentsOf.get(code) ?? [];
    list.push(r);
    assignmentsOf.set(code, list);
  }
  const custom = new Map<string, Record<string, string>>();
  for (const x of recs.extensions) {
    if (!x.personCode || !x.bo4FieldCode || x.value === undefined) continue;
    const c = custom.get(x.personCode) ?? {};
    c[x.bo4FieldCode.replace(/\s+/g, '')] ??= x.value;
    custom.set(x.personCode, c);
  }

  const fte = (e: RawEmployment | undefined) => {
    const p = e?.workingAmount?.parttimePercentage;
    return p === undefined ? undefined : Math.round(p * 100) / 10_000;
  };
  const seq = (e: RawEmployment | undefined) =>
    e?.contractCode && /^\d+$/.test(e.contractCode) ? Number(e.contractCode) : undefined;
  const title = (jobId: string | undefined, fallbackName?: string) => {
    if (!jobId) return undefined;
    const j = jobById.get(jobId);
    // Missing or inactive profiles are tolerated (2.9.8): the id and the employment's name stand in.
    return { code: j?.shortName ?? jobId, name: j?.fullName ?? fallbackName };
  };
  const dept = (ouId: string | undefined, emp?: RawEmployment) => {
    const ou = ouId ? ouById.get(ouId) : undefined;
    if (ou) return { code: deptCode(ou, key), name: ou.fullName };
    // Not in the OU list: the employment's own code/name when it describes that OU.
    if (emp && ouId === emp.organizationUnit) {
      return { code: key === 'id' ? emp.organizationUnit : emp.organizationUnitCode, name: emp.organizationUnitName };
    }
    return { code: undefined };
  };

  const persons: Person[] = [];
  for (const [code, read] of uniquePersons(ctx, recs.persons, origins.persons)) {
    if (tainted.has(code)) {
      rejectTainted(ctx, origins.persons, read.index, code, 'employment or assignment');
      continue;
    }
    const input = personInput(ctx, read.rec, cfg.beaufortNameOrder);
    if (cfg.includeExtensions) input.custom = custom.get(code) ?? {};
    const drafts: ContractDraft[] = [];
    const employmentContract = (r: Read<RawEmployment>): ContractDraft => {
      const e = r.rec;
      const alloc = allocation.get(`${code}_${e.employmentCode}`);
      return {
        origin: origins.employments,
        index: r.index,
        raw: { employment: r.raw, orgUnit: e.organizationUnit ? ouRawById.get(e.organizationUnit) : undefined },
        fields: {
          ...EMPLOYMENT_FIELDS,
          costCenter: 'costCenterCode',
          employer: 'payrollClientCode',
          managerKey: 'roleAssignments',
        },
        input: {
          id: e.id,
          startDate: e.hireDate,
          endDate: endOf(e.dischargeDate, cfg.openEndSentinel),
          department: dept(e.organizationUnit, e),
          title: title(e.jobProfile, e.jobProfileName),
          managerKey: contractManager(ctx, code, e.organizationUnit, ouById, managerOf),
          costCenter: alloc?.costCenterCode,
          employer: e.payrollClientCode,
          fte: fte(e),
          sequence: seq(e),
        },
      };
    };
    const emps = employmentsOf.get(code) ?? [];
    if (cfg.contractSource === 'employments') {
      for (const r of emps) drafts.push(employmentContract(r));
    } else {
      const covered = new Set<string>();
      for (const r of assignmentsOf.get(code) ?? []) {
        const a = r.rec;
        const emp = employmentByKey.get(`${code}_${a.employmentCode}`)?.rec;
        if (emp) covered.add(`${code}_${a.employmentCode}`);
        const ouId = a.organizationUnit ?? emp?.organizationUnit;
        const alloc = allocation.get(`${code}_${a.employmentCode}`);
        drafts.push({
          origin: origins.assignments,
          index: r.index,
          raw: {
            assignment: r.raw,
            employment: employmentByKey.get(`${code}_${a.employmentCode}`)?.raw,
            orgUnit: ouId ? ouRawById.get(ouId) : undefined,
          },
          fields: {
            ...EMPLOYMENT_FIELDS,
            startDate: 'startDate',
            endDate: 'endDate',
            employer: 'payrollClientCode',
            managerKey: 'roleAssignments',
          },
          input: {
            id: a.id ?? emp?.id,
            startDate: a.startDate ?? emp?.hireDate,
            endDate: endOf(a.endDate ?? emp?.dischargeDate, cfg.openEndSentinel),
            department: dept(ouId, emp),
            title: title(a.jobProfile ?? emp?.jobProfile, a.jobProfile ? undefined : emp?.jobProfileName),
            managerKey: contractManager(ctx, code, ouId, ouById, managerOf),
            costCenter: a.costCenter ?? alloc?.costCenterCode,
            employer: emp?.payrollClientCode,
            fte: fte(emp),
            sequence: seq(emp),
          },
        });
      }
      for (const r of emps) {
        if (covered.has(`${code}_${r.rec.employmentCode}`)) continue;
        if (cfg.includeEmploymentsWithoutAssignments) drafts.push(employmentContract(r));
        else {
          err(ctx, {
            origin: origins.employments,
            line: r.index,
            key: code,
            field: 'assignments',
            reason: `employment ${r.rec.id ?? r.rec.employmentCode ?? '?'} has no active assignment; not imported as a contract (includeEmploymentsWithoutAssignments is off)`,
          });
        }
      }
    }
    if (drafts.length === 0 && cfg.excludePersonsWithoutContracts) continue;
    if (!applyMapping(ctx, read, input, drafts, origins.persons)) continue;
    const person = validate(ctx, read, input, drafts, origins.persons);
    if (person) persons.push(person);
  }

  const depts = departments(ctx, recs.organizationUnits, ouById, managerOf);
  sortErrors(ctx.errors, [origins.persons, origins.employments, origins.assignments, origins.organizationUnits]);
  return { persons, departments: depts, errors: ctx.errors, recordsRead };
}

// ------------------------------------------------------------------------------- HR Core Business

const validOn = (r: { validFrom?: string; validUntil?: string }, day: string) =>
  (!r.validFrom || r.validFrom <= day) && (!r.validUntil || r.validUntil >= day);

export function assembleBusiness(
  cfg: RaetSourceConfig,
  todayDate: string,
  recs: BusinessRecords,
  origins: Origins,
  parseErrors: SourceRecordError[],
  recordsRead: number,
  mapping: SourceFieldMapping = EMPTY_MAPPING,
): SourceImport {
  const ctx: Ctx = { cfg, today: todayDate, errors: [...parseErrors], origins, mapping, extensions: new Map() };
  const key = cfg.departmentKey ?? 'id';
  const day = ctx.today;
  const ahead = addDays(day, cfg.businessLookAheadDays);
  const back = addDays(day, -cfg.businessLookBackDays);
  const empBack = addDays(day, -cfg.businessEmploymentLookBackDays);

  // Employee slices (3): validUntil >= today-90, validFrom <= today+90; per person code the latest
  // validUntil, then the earliest validFrom.
  const employeeIdToCode = new Map<string, string>();
  for (const { rec } of recs.employees) if (rec.id && rec.personCode) employeeIdToCode.set(rec.id, rec.personCode);
  const bestSlice = new Map<string, Read<RawPerson>>();
  const withoutCode: Read<RawPerson>[] = [];
  for (const r of recs.employees) {
    const e = r.rec;
    if (!e.personCode) {
      withoutCode.push(r);
      continue;
    }
    if ((e.validUntil && e.validUntil < back) || (e.validFrom && e.validFrom > ahead)) continue;
    const before = bestSlice.get(e.personCode);
    const later = (a?: string) => a ?? '9999-99-99';
    if (
      !before ||
      later(e.validUntil) > later(before.rec.validUntil) ||
      (later(e.validUntil) === later(before.rec.validUntil) && (e.validFrom ?? '') < (before.rec.validFrom ?? ''))
    ) {
      bestSlice.set(e.personCode, r);
    }
  }
  for (const r of withoutCode)
    err(ctx, { origin: origins.persons, line: r.index, field: 'personCode', reason: 'missing; record ignored' });

  // Value lists and OUs: the slice valid today.
  const todayBy = <T extends RawValue | RawOrgUnit>(list: T[], k: 'id' | 'shortName') => {
    const m = new Map<string, T>();
    for (const v of list) {
      const id = v[k];
      if (id && validOn(v, day) && !m.has(id)) m.set(id, v);
    }
    return m;
  };
  const companies = todayBy(recs.companies, 'shortName');
  const costCenters = todayBy(recs.costCenters, 'shortName');
  const classifications = todayBy(recs.classifications, 'shortName');
  const jobs = todayBy(recs.jobProfiles, 'id');
  for (const j of recs.jobProfiles) if (j.id && !jobs.has(j.id)) jobs.set(j.id, j);
  const ous = recs.organizationUnits.filter((r) => validOn(r.rec, day));
  const ouById = todayBy(
    ous.map((r) => r.rec),
    'id',
  );
  const managerOf = (ouId: string) => {
    const m = ouById.get(ouId)?.manager;
    return m ? employeeIdToCode.get(m) : undefined;
  };
  void classifications; // Division is not in the uniform model; the lookup is kept for completeness.

  // Employments: validUntil >= today, validFrom <= today+90; one slice per id (the one valid today, else the earliest).
  const tainted = new Set<string>();
  for (const e of parseErrors) if (e.key && e.origin === origins.employments) tainted.add(e.key);
  const slices = new Map<string, Read<RawEmployment>>();
  for (const r of recs.employments) {
    const e = r.rec;
    if (!e.id || !e.personCode) continue;
    if ((e.validUntil && e.validUntil < empBack) || (e.validFrom && e.validFrom > ahead)) continue;
    const before = slices.get(e.id);
    if (
      !before ||
      (!validOn(before.rec, day) && (validOn(e, day) || (e.validFrom ?? '') < (before.rec.validFrom ?? '')))
    ) {
      slices.set(e.id, r);
    }
  }
  const employmentsOf = new Map<string, Read<RawEmployment>[]>();
  for (const r of slices.values()) {
    const list = employmentsOf.get(r.rec.personCode as string) ?? [];
    list.push(r);
    employmentsOf.set(r.rec.personCode as string, list);
  }

  const persons: Person[] = [];
  const candidates = [...bestSlice.values()].sort((a, b) => a.index - b.index);
  for (const read of candidates) {
    const code = read.rec.personCode as string;
    if (tainted.has(code)) {
      rejectTainted(ctx, origins.persons, read.index, code, 'employment');
      continue;
    }
    const input = personInput(ctx, read.rec, cfg.businessNameOrder);
    const drafts: ContractDraft[] = (employmentsOf.get(code) ?? []).map((r) => {
      const e = r.rec;
      const ou = e.organizationUnit ? ouById.get(e.organizationUnit) : undefined;
      const job = e.jobProfile ? jobs.get(e.jobProfile) : undefined;
      const company = e.company ? companies.get(e.company) : undefined;
      const p = e.workingAmount?.parttimePercentage;
      return {
        origin: origins.employments,
        index: r.index,
        raw: { employment: r.raw, orgUnit: ous.find((o) => o.rec === ou)?.raw },
        fields: EMPLOYMENT_FIELDS,
        input: {
          id: e.id,
          startDate: e.hireDate,
          endDate: endOf(e.dischargeDate, cfg.openEndSentinel),
          department: {
            code: ou ? deptCode(ou, key) : key === 'id' ? e.organizationUnit : undefined,
            name: ou?.fullName,
          },
          title: e.jobProfile ? { code: job?.shortName ?? e.jobProfile, name: job?.fullName } : undefined,
          managerKey: contractManager(ctx, code, e.organizationUnit, ouById, managerOf),
          costCenter: e.costCenter ? (costCenters.get(e.costCenter)?.shortName ?? e.costCenter) : undefined,
          employer: company?.shortName ?? e.company,
          fte: p === undefined ? undefined : Math.round(p * 100) / 10_000,
          sequence: e.contractCode && /^\d+$/.test(e.contractCode) ? Number(e.contractCode) : undefined,
        },
      };
    });
    if (drafts.length === 0 && cfg.excludePersonsWithoutContracts) continue;
    if (!applyMapping(ctx, read, input, drafts, origins.persons)) continue;
    const person = validate(ctx, read, input, drafts, origins.persons);
    if (person) persons.push(person);
  }
  const depts = departments(ctx, ous, ouById, managerOf);
  sortErrors(ctx.errors, [origins.persons, origins.employments, origins.organizationUnits]);
  return { persons, departments: depts, errors: ctx.errors, recordsRead };
}
