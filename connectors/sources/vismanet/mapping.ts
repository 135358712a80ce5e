/**
 * From the export tables to the uniform model (docs/sources/vismanet.md): employee records of one human
 * merged into one person (aggregation), contracts per person with the cut-off, managers per
 * contract through the users table, departments from the organization units, cost center codes,
 * employee user-defined fields → Person.custom, naming convention from `nameusage`.
 *
 * Every person is validated with the zod schemas of domain/model.ts; a record that fails becomes a
 * SourceRecordError carrying the *person* key, so the poller keeps that person's last good data.
 * Birth dates, genders and the like are read for the aggregation key only and never leave here.
 */
import type { z } from 'zod';
import { addDays, isIsoDate } from '../../../domain/dates.js';
import { Department, Person, type NameConvention } from '../../../domain/model.js';
import { removeDiacritics } from '../../../domain/naming.js';
import { canonicalJson } from '../../../common/snapshot.js';
import type { SourceImport, SourceRecordError } from '../../types.js';
import type { CsvRow, CsvTable } from './csv.js';
import type { VismaNetSettings } from './options.js';
import { compact } from '../compact.js';
import {
  EMPTY_MAPPING,
  isEmptyMapping,
  mapContract,
  mapPerson,
  mappedPaths,
  mappedSourceFields,
  type MappingProblem,
  type SourceFieldMapping,
} from '../field-mapping.js';
import { mappedUdfFields, vismaNetContractView, vismaNetPersonView } from './field-mapping.js';

export const REJECTED = 'record rejected; the person keeps its last good data';
const DEPT_REJECTED = 'department rejected';

export interface Tables {
  employees: CsvTable;
  contracts: CsvTable;
  organizationUnits: CsvTable;
  costCenters?: CsvTable;
  users: CsvTable;
  employeeUdf?: CsvTable;
}

type Settings = Pick<
  VismaNetSettings,
  | 'id'
  | 'cutOffDays'
  | 'excludePersonsWithoutContracts'
  | 'aggregation'
  | 'managerVia'
  | 'costCenterLookup'
  | 'fullTimeHours'
  | 'nameUsageColumn'
  | 'nameUsage'
  | 'customFields'
  | 'udfHistory'
>;

const collator = new Intl.Collator('en', { numeric: true });

/** `YYYY-MM-DD`, or a date-time starting with one; end-date sentinels become undefined. */
function readDate(v: string | undefined): { ok: true; date?: string } | { ok: false } {
  if (v === undefined) return { ok: true };
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(v);
  if (!m || !isIsoDate(m[1]!)) return { ok: false };
  const d = m[1]!;
  if (d === '0001-01-01' || d >= '9999-12-31') return { ok: true };
  return { ok: true, date: d };
}

/** `36`, `36.5`, `36,5`. */
function readDecimal(v: string): number | undefined {
  return /^\d+([.,]\d+)?$/.test(v) ? Number(v.replace(',', '.')) : undefined;
}

function foldKeyPart(v: string | undefined): string {
  return removeDiacritics(v ?? '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

interface EmployeeRec {
  id: string;
  row: CsvRow;
  /** Problems with this record that reject its person. */
  problems: { origin: string; line: number; field: string; reason: string }[];
}

interface Group {
  key: string;
  members: EmployeeRec[];
  /** The record the person's own data comes from: the one whose id is the key. */
  main: EmployeeRec;
  contracts: { input: Record<string, unknown>; row: CsvRow }[];
  problems: { origin: string; line: number; field: string; reason: string }[];
  custom: Record<string, string>;
  customRows: Map<string, CsvRow>;
  /** UDF rows a field mapping reads (`udf.<fieldname>`), by field name. */
  udf: Map<string, CsvRow>;
}

const widthProblem = (row: CsvRow) =>
  row.width === row.headerWidth
    ? undefined
    : {
        origin: row.origin,
        line: row.line,
        field: '(row)',
        reason: `has ${row.width} cells where the header has ${row.headerWidth}`,
      };

export function mapExport(
  t: Tables,
  s: Settings,
  today: string,
  mapping: SourceFieldMapping = EMPTY_MAPPING,
): SourceImport {
  const source = s.id;
  const mapped = !isEmptyMapping(mapping);
  const mappedUdf = new Set(mappedUdfFields(mappedPaths(mapping)));
  const mappedFields = mappedSourceFields(mapping);
  const errors: SourceRecordError[] = [];

  // ---------------------------------------------------------------- employee records
  const employees = new Map<string, EmployeeRec>();
  for (const row of t.employees.rows) {
    const id = row.get('employeeid');
    if (!id) {
      errors.push({ source, origin: row.origin, line: row.line, field: 'employeeid', reason: `is empty; ${REJECTED}` });
      continue;
    }
    const rec: EmployeeRec = { id, row, problems: [] };
    const w = widthProblem(row);
    if (w) rec.problems.push(w);
    const before = employees.get(id);
    if (before && !before.problems.length && !rec.problems.length && !sameRow(before.row, row, t.employees)) {
      rec.problems.push({
        origin: row.origin,
        line: row.line,
        field: 'employeeid',
        reason: `employee ${id} appears again with different data (first at ${before.row.origin} line ${before.row.line})`,
      });
    }
    if (before) rec.problems.unshift(...before.problems);
    employees.set(id, rec);
  }

  // ---------------------------------------------------------------- aggregation
  const groupOf = new Map<string, Group>();
  const byAggKey = new Map<string, EmployeeRec[]>();
  const alone: EmployeeRec[] = [];
  const agg = s.aggregation;
  for (const rec of employees.values()) {
    const strong = agg.strongIdentifier ? rec.row.get(agg.strongIdentifier) : undefined;
    if (agg.enabled && agg.strongIdentifier) {
      if (strong === undefined) alone.push(rec);
      else {
        const k = `strong:${foldKeyPart(strong)}`;
        byAggKey.set(k, [...(byAggKey.get(k) ?? []), rec]);
      }
    } else if (agg.enabled && agg.requireFields.every((f) => rec.row.get(f) !== undefined)) {
      const k = canonicalJson(agg.fields.map((f) => foldKeyPart(rec.row.get(f))));
      const list = byAggKey.get(k) ?? [];
      list.push(rec);
      byAggKey.set(k, list);
    } else alone.push(rec);
  }
  // Without a strong identifier, a shared key is only a hint: records that disagree on a confirm
  // field (twins share initials, gender, birth date and birth name) are reported, not merged.
  const ambiguous = new Set<string>();
  if (!agg.strongIdentifier) {
    for (const [k, members] of byAggKey) {
      if (members.length < 2) continue;
      const differ = agg.confirmFields.filter((f) => new Set(members.map((m) => foldKeyPart(m.row.get(f)))).size > 1);
      if (!differ.length) continue;
      byAggKey.delete(k);
      const ids = members.map((m) => m.id).sort(collator.compare);
      for (const m of members) {
        ambiguous.add(m.id);
        errors.push({
          source,
          origin: m.row.origin,
          line: m.row.line,
          key: m.id,
          field: differ.join(', '),
          reason:
            `employee records ${ids.join(', ')} share the aggregation key but differ in ${differ.join(', ')}: ` +
            `different people (twins?) or a data error; not merged (set aggregation.strongIdentifier, or correct the records); ${REJECTED}`,
        });
      }
    }
  }
  for (const members of [...byAggKey.values(), ...alone.map((r) => [r])]) {
    members.sort((a, b) => collator.compare(a.id, b.id));
    const main = members[0]!;
    const group: Group = {
      key: main.id,
      members,
      main,
      contracts: [],
      problems: members.flatMap((m) => m.problems),
      custom: {},
      customRows: new Map(),
      udf: new Map(),
    };
    for (const m of members) groupOf.set(m.id, group);
  }
  const personKeyOf = (employeeId: string | undefined) =>
    employeeId === undefined ? undefined : groupOf.get(employeeId)?.key;

  // ---------------------------------------------------------------- managers (users table)
  const userToPerson = new Map<string, string | null>();
  const personsByEmail = new Map<string, Set<string>>();
  if (s.managerVia === 'email') {
    for (const rec of employees.values()) {
      const mail = rec.row.get('businessemailaddress')?.toLowerCase();
      if (!mail) continue;
      const set = personsByEmail.get(mail) ?? new Set();
      set.add(groupOf.get(rec.id)!.key);
      personsByEmail.set(mail, set);
    }
  }
  for (const row of t.users.rows) {
    const userId = row.get('userid');
    if (!userId) continue;
    let key: string | undefined;
    if (s.managerVia === 'email') {
      const set = personsByEmail.get(row.get('emailaddress')?.toLowerCase() ?? '');
      key = set?.size === 1 ? [...set][0] : undefined;
    } else key = personKeyOf(row.get('employeeid'));
    const before = userToPerson.get(userId);
    // The same user id pointing at two different persons: no manager rather than a guess.
    userToPerson.set(userId, before !== undefined && before !== key ? null : (key ?? null));
  }
  const managerOf = (userId: string | undefined) => (userId ? (userToPerson.get(userId) ?? undefined) : undefined);

  // ---------------------------------------------------------------- cost centers
  const costCodes = new Map<string, string>();
  for (const row of t.costCenters?.rows ?? []) {
    const code = row.get('costcenter');
    const name = row.get('costcentername');
    if (code && name && !costCodes.has(name)) costCodes.set(name, code);
  }

  // ---------------------------------------------------------------- contracts
  const cutOff = s.cutOffDays === null ? undefined : addDays(today, -s.cutOffDays);
  const contractOwner = new Map<string, { group: Group; row: CsvRow; sig: string }>();
  for (const row of t.contracts.rows) {
    const eid = row.get('employeeid');
    if (eid && ambiguous.has(eid)) continue; // reported with its employee record
    const group = eid ? groupOf.get(eid) : undefined;
    const problems: Group['problems'] = [];
    if (!eid || !group) {
      errors.push({
        source,
        origin: row.origin,
        line: row.line,
        ...(eid ? { key: eid } : {}),
        field: 'employeeid',
        reason: eid
          ? `no employee record ${eid} in the employees export; contract skipped`
          : 'is empty; contract skipped',
      });
      continue;
    }
    const w = widthProblem(row);
    if (w) {
      // Cells are shifted: nothing else in the row can be trusted.
      group.problems.push(w);
      continue;
    }
    const cid = row.get('contractid');
    const sid = row.get('subcontractid');
    if (!cid) problems.push({ origin: row.origin, line: row.line, field: 'contractid', reason: 'is empty' });
    if (!sid) problems.push({ origin: row.origin, line: row.line, field: 'subcontractid', reason: 'is empty' });
    const start = readDate(row.get('startdate'));
    const end = readDate(row.get('enddate'));
    if (!start.ok)
      problems.push({ origin: row.origin, line: row.line, field: 'startdate', reason: 'is not a date (YYYY-MM-DD)' });
    if (!end.ok)
      problems.push({ origin: row.origin, line: row.line, field: 'enddate', reason: 'is not a date (YYYY-MM-DD)' });
    let fte: number | undefined;
    const hours = row.get('weekhoursfixed');
    if (hours !== undefined) {
      const h = readDecimal(hours);
      if (h === undefined)
        problems.push({ origin: row.origin, line: row.line, field: 'weekhoursfixed', reason: 'is not a number' });
      else if (s.fullTimeHours !== null) fte = Math.round((h / s.fullTimeHours) * 10_000) / 10_000;
    }
    if (problems.length) {
      group.problems.push(...problems);
      continue;
    }
    const endDate = end.ok ? end.date : undefined;
    if (cutOff && endDate && endDate < cutOff) continue; // ended long ago: left out (CutOffDays)
    const id = `${eid}_${cid}_${sid}`;
    const costName = row.get('costcenter');
    const costCenter = costName === undefined ? undefined : s.costCenterLookup ? costCodes.get(costName) : costName;
    const functionId = row.get('functionid');
    const input: Record<string, unknown> = {
      id,
      startDate: start.ok ? (start.date ?? '') : '',
      endDate,
      department: { code: row.get('orgunit') ?? '', name: row.get('orgunitname') },
      title: functionId ? { code: functionId, name: row.get('functionname') } : undefined,
      managerKey: managerOf(row.get('manageruserid')),
      costCenter,
      employer: group.main.row.get('companyname'),
      fte,
    };
    const sig = canonicalJson(input);
    const before = contractOwner.get(id);
    if (before) {
      if (before.sig !== sig) {
        group.problems.push({
          origin: row.origin,
          line: row.line,
          field: 'contractid',
          reason: `contract ${id} appears again with different data (first at ${before.row.origin} line ${before.row.line})`,
        });
      }
      continue;
    }
    contractOwner.set(id, { group, row, sig });
    group.contracts.push({ input, row });
  }

  // ---------------------------------------------------------------- custom fields (employee UDF histories)
  if (t.employeeUdf && (s.customFields.length || mappedUdf.size)) {
    const wanted = new Map<string, (typeof s.customFields)[number][]>();
    for (const m of s.customFields) wanted.set(m.field, [...(wanted.get(m.field) ?? []), m]);
    for (const f of mappedUdf) wanted.set(f, wanted.get(f) ?? []);
    for (const row of t.employeeUdf.rows) {
      const field = row.get('fieldname');
      const maps = field ? wanted.get(field) : undefined;
      if (!maps) continue; // a field nobody asked for is never read
      const group = groupOf.get(row.get('employeeid') ?? '');
      if (!group) continue;
      const w = widthProblem(row);
      const from = readDate(row.get('startdate'));
      const to = readDate(row.get('enddate'));
      if (w || !from.ok || !to.ok) {
        group.problems.push(
          w ?? {
            origin: row.origin,
            line: row.line,
            field: !from.ok ? 'startdate' : 'enddate',
            reason: `is not a date (YYYY-MM-DD) in user-defined field ${field}`,
          },
        );
        continue;
      }
      if (s.udfHistory === 'current') {
        if ((from.date && from.date > today) || (to.date && to.date < today)) continue;
      }
      for (const m of maps) {
        const v = row.get(m.attribute);
        if (v === undefined) delete group.custom[m.key];
        else group.custom[m.key] = v;
        group.customRows.set(m.key, row);
      }
      if (mappedUdf.has(field!)) group.udf.set(field!, row);
    }
  }

  // ---------------------------------------------------------------- persons
  const persons: Person[] = [];
  const groups = [...new Set(groupOf.values())].sort((a, b) => collator.compare(a.key, b.key));
  for (const g of groups) {
    const err = (p: { origin: string; line: number; field: string; reason: string }) => {
      const other = p.origin.startsWith('employees/') && g.members.length > 1 ? employeeAt(g, p) : undefined;
      errors.push({
        source,
        origin: p.origin,
        line: p.line,
        key: g.key,
        field: p.field,
        reason: `${p.reason}${other && other !== g.key ? ` (employee record ${other} of person ${g.key})` : ''}; ${REJECTED}`,
      });
    };
    if (g.problems.length) {
      g.problems.forEach(err);
      continue;
    }
    if (!g.contracts.length && s.excludePersonsWithoutContracts) continue;
    const r = g.main.row;
    const label = r.get(s.nameUsageColumn);
    const input = {
      source,
      key: g.key,
      name: {
        given: r.get('firstname'),
        nickName: r.get('nickname'),
        initials: r.get('initials'),
        familyName: r.get('birthname'),
        familyNamePrefix: r.get('prefixbirthname'),
        partnerName: r.get('partnername'),
        partnerNamePrefix: r.get('prefixpartnername'),
        convention: conventionOf(label, s.nameUsage),
      },
      businessEmail: r.get('businessemailaddress'),
      custom: g.custom,
      contracts: g.contracts.map((c) => c.input),
    } as Record<string, unknown>;
    if (mapped) {
      const problems = applyMapping(mapping, g, input);
      if (problems.length) {
        problems.forEach(err);
        continue;
      }
    }
    const res = Person.safeParse(compact(input));
    if (res.success) {
      persons.push(res.data);
      continue;
    }
    zodIssues(res.error.issues, (path) => {
      if (path[0] === 'contracts' && typeof path[1] === 'number') {
        const c = g.contracts[path[1]];
        const rest = path.slice(2).map(String);
        const source = mappedFields.contract[rest.join('.')] ?? mappedFields.contract[rest.slice(0, 2).join('.')];
        if (source !== undefined) return { ...mappedOrigin(g, source, c?.row), field: source };
        return {
          origin: c?.row.origin ?? r.origin,
          line: c?.row.line ?? r.line,
          field: CONTRACT_COLUMN[String(path[2])] ?? String(path[2] ?? 'contractid'),
        };
      }
      const mappedSource =
        mappedFields.person[path.map(String).join('.')] ?? mappedFields.person[path.slice(0, 2).map(String).join('.')];
      if (mappedSource !== undefined) return { ...mappedOrigin(g, mappedSource), field: mappedSource };
      if (path[0] === 'custom') {
        const key = String(path[1] ?? '');
        const row = g.customRows.get(key);
        const m = s.customFields.find((x) => x.key === key);
        return {
          origin: row?.origin ?? r.origin,
          line: row?.line ?? r.line,
          field: m ? `${m.field} (${m.attribute})` : 'custom',
        };
      }
      const col = PERSON_COLUMN[path.map(String).join('.')] ?? path.map(String).join('.');
      return { origin: r.origin, line: r.line, field: col === 'name.convention' ? s.nameUsageColumn : col };
    }).forEach(err);
  }

  // ---------------------------------------------------------------- departments
  const departments = mapDepartments(t.organizationUnits, source, today, managerOf, errors);

  const order = ['employees/', 'contracts/', 'employees/user', 'metadata/organization-units/'];
  const rank = (o: string) => order.reduce((best, p, i) => (o.startsWith(p) ? i : best), order.length);
  errors.sort(
    (a, b) => rank(a.origin) - rank(b.origin) || collator.compare(a.origin, b.origin) || (a.line ?? 0) - (b.line ?? 0),
  );
  return { persons, departments, errors, recordsRead: t.employees.rows.length + t.contracts.rows.length };
}

/**
 * Fills the mapped person and contract fields of one person (docs/sources/vismanet.md, "Field
 * mapping"); returns the values that do not fit, each at the row it was read from.
 */
function applyMapping(
  mapping: SourceFieldMapping,
  g: Group,
  input: Record<string, unknown>,
): { origin: string; line: number; field: string; reason: string }[] {
  const out: { origin: string; line: number; field: string; reason: string }[] = [];
  const pv = vismaNetPersonView(g.main.row, g.udf);
  const personProblems: MappingProblem[] = [];
  const person = mapPerson(mapping, pv, personProblems);
  Object.assign(input, person.fields);
  input.custom = { ...g.custom, ...person.custom };
  for (const p of personProblems) out.push({ ...mappedOrigin(g, p.field), field: p.field, reason: p.reason });
  const seen = new Set(out.map((p) => `${p.origin}\u0000${p.line}\u0000${p.field}`));
  for (const c of g.contracts) {
    const problems: MappingProblem[] = [];
    mapContract(mapping, vismaNetContractView(pv, c.row), c.input, problems);
    for (const p of problems) {
      const at = mappedOrigin(g, p.field, c.row);
      const id = `${at.origin}\u0000${at.line}\u0000${p.field}`;
      if (seen.has(id)) continue; // a person column mapped to a contract field: once per person
      seen.add(id);
      out.push({ ...at, field: p.field, reason: p.reason });
    }
  }
  return out;
}

/** The row a mapped source path was read from: the contract row, the UDF row or the main employee record. */
function mappedOrigin(g: Group, sourcePath: string, contract?: CsvRow): { origin: string; line: number } {
  const row = sourcePath.startsWith('contract.')
    ? (contract ?? g.main.row)
    : sourcePath.startsWith('udf.')
      ? (g.udf.get(sourcePath.slice(4)) ?? g.main.row)
      : g.main.row;
  return { origin: row.origin, line: row.line };
}

function employeeAt(g: Group, p: { origin: string; line: number }): string | undefined {
  return g.members.find((m) => m.row.origin === p.origin && m.row.line === p.line)?.id;
}

function sameRow(a: CsvRow, b: CsvRow, table: CsvTable): boolean {
  for (const c of table.columns) if (a.get(c) !== b.get(c)) return false;
  return true;
}

export function conventionOf(label: string | undefined, table: Record<string, NameConvention>): NameConvention {
  if (!label) return 'B';
  if (table[label]) return table[label];
  const norm = (x: string) => x.toLowerCase().replace(/\s+/g, '');
  const hit = Object.entries(table).find(([k]) => norm(k) === norm(label));
  return hit ? hit[1] : 'B';
}

const PERSON_COLUMN: Record<string, string> = {
  key: 'employeeid',
  name: 'nickname',
  'name.given': 'firstname',
  'name.nickName': 'nickname',
  'name.initials': 'initials',
  'name.familyName': 'birthname',
  'name.familyNamePrefix': 'prefixbirthname',
  'name.partnerName': 'partnername',
  'name.partnerNamePrefix': 'prefixpartnername',
  businessEmail: 'businessemailaddress',
  contracts: 'contractid',
};

const CONTRACT_COLUMN: Record<string, string> = {
  id: 'contractid',
  startDate: 'startdate',
  endDate: 'enddate',
  department: 'orgunit',
  title: 'functionid',
  managerKey: 'manageruserid',
  costCenter: 'costcenter',
  employer: 'companyname',
  fte: 'weekhoursfixed',
};
const DEPT_COLUMN: Record<string, string> = {
  code: 'orgunitid',
  name: 'orgname',
  managerKey: 'manageruserid',
  parentCode: 'orgunitparentid',
};

/** One error per field (zod may report a bad value twice). */
function zodIssues(
  issues: readonly z.core.$ZodIssue[],
  at: (path: readonly PropertyKey[]) => { origin: string; line: number; field: string },
): { origin: string; line: number; field: string; reason: string }[] {
  const seen = new Set<string>();
  const out: { origin: string; line: number; field: string; reason: string }[] = [];
  for (const issue of issues) {
    const where = at(issue.path);
    const id = `${where.origin}\u0000${where.line}\u0000${where.field}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const reason =
      issue.code === 'invalid_type' && /received undefined$/.test(issue.message) ? 'is empty' : issue.message;
    out.push({ ...where, reason });
  }
  return out;
}

function mapDepartments(
  table: CsvTable,
  source: string,
  today: string,
  managerOf: (userId: string | undefined) => string | undefined,
  errors: SourceRecordError[],
): Department[] {
  const byCode = new Map<string, Department>();
  for (const row of table.rows) {
    const code = row.get('orgunitid');
    const w = widthProblem(row);
    if (!code || w) {
      errors.push({
        source,
        origin: row.origin,
        line: row.line,
        ...(code ? { key: code } : {}),
        field: w ? w.field : 'orgunitid',
        reason: `${w ? w.reason : 'is empty'}; ${DEPT_REJECTED}`,
      });
      continue;
    }
    const from = readDate(row.get('startdate'));
    const to = readDate(row.get('enddate'));
    if (!from.ok || !to.ok) {
      errors.push({
        source,
        origin: row.origin,
        line: row.line,
        key: code,
        field: from.ok ? 'enddate' : 'startdate',
        reason: `is not a date (YYYY-MM-DD); ${DEPT_REJECTED}`,
      });
      continue;
    }
    // Shown only while it exists: empty start = 1900-01-01, empty end = 2900-01-01.
    if ((from.date ?? '1900-01-01') > today || (to.date ?? '2900-01-01') < today) continue;
    const res = Department.safeParse(
      compact({
        code,
        name: row.get('orgname'),
        managerKey: managerOf(row.get('manageruserid')),
        parentCode: row.get('orgunitparentid'),
      }),
    );
    if (!res.success) {
      for (const p of zodIssues(res.error.issues, (path) => ({
        origin: row.origin,
        line: row.line,
        field: DEPT_COLUMN[String(path[0])] ?? String(path[0]),
      }))) {
        errors.push({ source, ...p, key: code, reason: `${p.reason}; ${DEPT_REJECTED}` });
      }
      continue;
    }
    byCode.set(code, res.data); // a later row of the same unit (history) wins
  }
  return [...byCode.values()].sort((a, b) => collator.compare(a.code, b.code));
}
