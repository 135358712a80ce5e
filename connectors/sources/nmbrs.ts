/**
 * Visma Nmbrs source over the SOAP v3 API (docs/sources/nmbrs.md).
 *
 * Per company: the personal info of all employees (newest version per employee), all employments
 * (one contract each), and — for employees missing from the bulk list — `PersonalInfo_GetCurrent`.
 * Per employee with a contract inside the end-date threshold: the current department, function,
 * manager (resolved by e-mail to an employee) and cost center, identical on every contract.
 * Departments come from `DebtorService.Department_GetList`, or from the contracts. The company's
 * contract list (contract type, hours) is read only when the field mapping names `contract.*`.
 *
 * A malformed record becomes a SourceRecordError (origin = operation, key, field, reason) and the
 * rest is imported; a transport failure or SOAP fault anywhere fails the whole import (throws), so
 * nobody is treated as gone because of a half import.
 */
import { z } from 'zod';
import { Department, Person, type PersonInput } from '../../domain/model.js';
import type { SourceConnector, SourceImport, SourceRecordError, WriteBackValues } from '../types.js';
import { REJECTED } from './file.js';
import { addDays, mapLimit, mapNaamstelling, newestVersion, nmbrsDate, todayIn } from './nmbrs/mapping.js';
import { domainValue, parseNmbrsOptions, type NmbrsSettings, type NmbrsSourceOptions } from './nmbrs/options.js';
import { list, NmbrsError, NmbrsSoapClient, obj, text, type NmbrsService, type SoapParams } from './nmbrs/soap.js';
import { compact } from './compact.js';
import {
  EMPTY_MAPPING,
  isEmptyMapping,
  mapContract,
  mapPerson,
  mappedPaths,
  mappedSourceFields,
  type MappingProblem,
  type SourceFieldMapping,
} from './field-mapping.js';
import {
  NMBRS_MAPPING_SCOPES,
  contractsOfEmployments,
  nmbrsContractView,
  nmbrsPersonView,
  readsNmbrsContracts,
} from './nmbrs/field-mapping.js';

export { NmbrsSourceOptions, type NmbrsSettings } from './nmbrs/options.js';
export { NmbrsError, NmbrsFaultError } from './nmbrs/soap.js';
export { NMBRS_MAPPING_SCOPES };

export interface NmbrsSourceDeps {
  sleep?: (ms: number) => Promise<void>;
  /** The source's compiled field mapping (config file `fieldMapping` / `customFields`). */
  mapping?: SourceFieldMapping;
}

export const OP = {
  personalInfoAll: 'PersonalInfoWithoutBSN_Get_GetAllEmployeesByCompany',
  employmentsAll: 'Employment_GetAll_AllEmployeesByCompany',
  contractsAll: 'Contract_GetAll_AllEmployeesByCompany',
  listByCompany: 'List_GetByCompany',
  personalInfoCurrent: 'PersonalInfo_GetCurrent',
  personalInfoUpdate: 'PersonalInfo_UpdateCurrent',
  department: 'Department_GetCurrent',
  function: 'Function_GetCurrent',
  manager: 'Manager_GetCurrent',
  costCenter: 'CostCenter_GetCurrent',
  departmentList: 'Department_GetList',
} as const;

/** Flat text fields of one XML record (nil / empty → undefined). */
type Fields = Record<string, string | undefined>;

function fields(o: Record<string, unknown> | undefined): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(o ?? {})) if (!k.startsWith('@_')) out[k] = text(v);
  return out;
}

interface Employee {
  employeeId: string;
  companyId: number;
  /** Operation and 0-based index of the personal-info record. */
  origin: string;
  index: number;
  info?: Fields;
  employments: Fields[];
  /** Contract records, read only when the field mapping names `contract.*`. */
  contracts: Fields[];
  errors: SourceRecordError[];
}

interface Current {
  department?: Fields;
  function?: Fields;
  manager?: Fields;
  costCenter?: string;
}

const WHOLE = /^\d{1,18}$/;
const Email = z.email();

export class NmbrsSource implements SourceConnector {
  readonly id: string;
  private readonly s: NmbrsSettings;
  private readonly client: NmbrsSoapClient;
  private readonly mapping: SourceFieldMapping;

  constructor(options: NmbrsSourceOptions, deps: NmbrsSourceDeps = {}) {
    this.s = parseNmbrsOptions(options);
    this.id = this.s.id;
    this.mapping = deps.mapping ?? EMPTY_MAPPING;
    this.client = new NmbrsSoapClient({
      baseUrl: this.s.baseUrl,
      servicePath: this.s.servicePath,
      namespaceBase: this.s.namespaceBase,
      soapVersion: this.s.soapVersion,
      auth: {
        header: this.s.authHeader,
        username: this.s.username,
        token: this.s.token,
        domain: this.s.domain === undefined ? undefined : domainValue(this.s.domain, this.s.domainFormat),
      },
      maxRetries: this.s.maxRetries,
      retryBaseDelayMs: this.s.retryBaseDelayMs,
      maxRateLimitWaits: this.s.maxRateLimitWaits,
      maxRetryAfterMs: this.s.maxRetryAfterMs,
      maxCallsPerSecond: this.s.maxCallsPerSecond,
      maxResponseBytes: this.s.maxResponseBytes,
      sleep: deps.sleep,
    });
  }

  /** SOAP calls made so far by this source. */
  get callCount(): number {
    return this.client.calls;
  }

  private call(service: NmbrsService, op: string, params: SoapParams, bulk = false) {
    return this.client.call(service, op, params, bulk ? this.s.bulkTimeoutMs : this.s.timeoutMs);
  }

  private async companyIds(): Promise<number[]> {
    if (this.s.companies !== 'all') return [...new Set(this.s.companies)];
    const res = await this.call('CompanyService', this.s.allCompaniesOperation, {}, true);
    const ids = list(obj(res)?.Company)
      .map((c) => text(c.ID) ?? text(c.Id))
      .filter((v): v is string => v !== undefined && WHOLE.test(v))
      .map(Number);
    return [...new Set(ids)];
  }

  async fetchAll(): Promise<SourceImport> {
    const s = this.s;
    const errors: SourceRecordError[] = [];
    const err = (e: Omit<SourceRecordError, 'source'>): SourceRecordError => ({ source: this.id, ...e });
    const today = s.today ?? todayIn(s.timeZone);
    const cutoff = addDays(today, -s.endDateThresholdDays);

    const employees = new Map<string, Employee>();
    const duplicated = new Set<string>();
    let recordsRead = 0;

    for (const companyId of await this.companyIds()) {
      // 1. personal info, newest version per employee
      const infoRes = await this.call('EmployeeService', OP.personalInfoAll, { CompanyID: companyId }, true);
      const items = list(obj(infoRes)?.PersonalInfoItem);
      recordsRead += items.length;
      const seenHere = new Set<string>();
      items.forEach((item, index) => {
        const id = text(item.EmployeeId);
        if (id === undefined || !WHOLE.test(id)) {
          errors.push(
            err({
              origin: OP.personalInfoAll,
              line: index,
              field: 'EmployeeId',
              reason: `${id === undefined ? 'is empty' : 'not a whole number'}; ${REJECTED}`,
            }),
          );
          return;
        }
        const versions = list(obj(item.EmployeePersonalInfos)?.PersonalInfo_V2).map(fields);
        const newest = newestVersion(versions.map((f) => ({ creationDate: f.CreationDate, id: f.Id, f })))?.f;
        const emp: Employee = {
          employeeId: id,
          companyId,
          origin: OP.personalInfoAll,
          index,
          info: newest,
          employments: [],
          contracts: [],
          errors: [],
        };
        if (!newest) {
          emp.errors.push(
            err({
              origin: OP.personalInfoAll,
              line: index,
              key: id,
              field: 'EmployeePersonalInfos',
              reason: `no personal info version; ${REJECTED}`,
            }),
          );
        }
        seenHere.add(id);
        this.addEmployee(employees, duplicated, emp, errors);
      });

      // 2. employees missing from the bulk list: one PersonalInfo_GetCurrent each
      if (s.personalInfoFallback) {
        const listed = await this.call(
          'EmployeeService',
          OP.listByCompany,
          { CompanyId: companyId, EmployeeType: s.listEmployeeType },
          true,
        );
        const missing = list(obj(listed)?.Employee)
          .map((e) => text(e.Id))
          .filter((id): id is string => id !== undefined && WHOLE.test(id) && !seenHere.has(id));
        const infos = await mapLimit([...new Set(missing)], s.concurrency, async (id) => ({
          id,
          info: obj(await this.call('EmployeeService', OP.personalInfoCurrent, { EmployeeId: Number(id) })),
        }));
        infos.forEach(({ id, info }, index) => {
          recordsRead++;
          const emp: Employee = {
            employeeId: id,
            companyId,
            origin: OP.personalInfoCurrent,
            index,
            info: info ? fields(info) : undefined,
            employments: [],
            contracts: [],
            errors: info
              ? []
              : [
                  err({
                    origin: OP.personalInfoCurrent,
                    line: index,
                    key: id,
                    field: 'PersonalInfo',
                    reason: `listed by ${OP.listByCompany} but has no personal info; ${REJECTED}`,
                  }),
                ],
          };
          this.addEmployee(employees, duplicated, emp, errors);
        });
      }

      // 3. employments
      const empRes = await this.call('EmployeeService', OP.employmentsAll, { CompanyID: companyId }, true);
      for (const item of list(obj(empRes)?.EmployeeEmploymentItem)) {
        const id = text(item.EmployeeId);
        const emp = id === undefined ? undefined : employees.get(id);
        if (!emp || emp.companyId !== companyId) continue; // employments of someone without personal info
        const byId = new Map<string, Fields>();
        const noId: Fields[] = [];
        for (const e of list(obj(item.EmployeeEmployments)?.Employment).map(fields)) {
          const eid = e.EmploymentId;
          if (eid === undefined) {
            noId.push(e);
            continue;
          }
          const before = byId.get(eid);
          // The same EmploymentId twice: the newest record wins.
          if (!before || (e.CreationDate ?? '') >= (before.CreationDate ?? '')) byId.set(eid, e);
        }
        emp.employments.push(...byId.values(), ...noId);
      }

      // 4. contracts (contract type, hours per week): only when the field mapping reads them
      if (readsNmbrsContracts(mappedPaths(this.mapping))) {
        const conRes = await this.call('EmployeeService', OP.contractsAll, { CompanyID: companyId }, true);
        for (const item of list(obj(conRes)?.EmployeeContractItem)) {
          const id = text(item.EmployeeId);
          const emp = id === undefined ? undefined : employees.get(id);
          if (!emp || emp.companyId !== companyId) continue;
          // The same ContractID can come several times: the newest record wins.
          const byId = new Map<string, Fields>();
          for (const c of list(obj(item.EmployeeContracts)?.EmployeeContract).map(fields)) {
            const key = c.ContractID ?? `#${byId.size}`;
            const before = byId.get(key);
            if (!before || (c.CreationDate ?? '') >= (before.CreationDate ?? '')) byId.set(key, c);
          }
          emp.contracts.push(...byId.values());
        }
      }
    }

    // Manager lookup: current EmailWork of every employee of the configured companies.
    const byEmail = new Map<string, Set<string>>();
    for (const e of employees.values()) {
      const mail = e.info?.EmailWork?.toLowerCase();
      if (!mail) continue;
      const set = byEmail.get(mail) ?? new Set<string>();
      set.add(e.employeeId);
      byEmail.set(mail, set);
    }

    // Contracts inside the threshold; no such contract = the person is not emitted.
    const candidates: { emp: Employee; employments: Fields[] }[] = [];
    for (const emp of employees.values()) {
      if (duplicated.has(emp.employeeId)) continue;
      const kept = emp.employments.filter((e) => {
        const end = nmbrsDate(e.EndDate);
        return !('date' in end) || end.date === undefined || end.date > cutoff;
      });
      if (kept.length > 0 || emp.errors.length > 0) candidates.push({ emp, employments: kept });
    }

    // Per-employee current department, function, manager and cost center (4 calls each).
    const needCurrent = candidates.filter((c) => c.emp.errors.length === 0);
    const currents = await mapLimit(needCurrent, s.concurrency, (c) => this.current(c.emp.employeeId));
    const currentOf = new Map(needCurrent.map((c, i) => [c.emp.employeeId, currents[i] as Current]));

    const persons: Person[] = [];
    for (const { emp, employments } of candidates) {
      if (emp.errors.length) {
        errors.push(...emp.errors);
        continue;
      }
      const res = this.toPerson(emp, employments, currentOf.get(emp.employeeId) ?? {}, byEmail, today);
      if ('person' in res) persons.push(res.person);
      else errors.push(...res.errors);
    }
    persons.sort((a, b) => Number(a.key) - Number(b.key));

    const departments = s.debtorIds.length ? await this.departments(errors) : departmentsOf(persons);
    return { persons, departments, errors, recordsRead };
  }

  private addEmployee(
    employees: Map<string, Employee>,
    duplicated: Set<string>,
    emp: Employee,
    errors: SourceRecordError[],
  ) {
    const before = employees.get(emp.employeeId);
    if (!before) {
      employees.set(emp.employeeId, emp);
      return;
    }
    duplicated.add(emp.employeeId);
    errors.push({
      source: this.id,
      origin: emp.origin,
      line: emp.index,
      key: emp.employeeId,
      field: 'EmployeeId',
      reason: `employee appears in company ${before.companyId} and ${emp.companyId}; ${REJECTED}`,
    });
  }

  private async current(employeeId: string): Promise<Current> {
    const p = { EmployeeId: Number(employeeId) };
    const [dept, fn, mgr, cc] = await Promise.all([
      this.call('EmployeeService', OP.department, p),
      this.call('EmployeeService', OP.function, p),
      this.s.managerMatch === 'none' ? undefined : this.call('EmployeeService', OP.manager, p),
      this.s.fetchCostCenter ? this.call('EmployeeService', OP.costCenter, p) : undefined,
    ]);
    let costCenter: string | undefined;
    let best = -Infinity;
    for (const c of list(obj(cc)?.EmployeeCostCenter)) {
      const pct = Number(text(c.Percentage) ?? 0);
      const code = text(obj(c.CostCenter)?.Code);
      if (code !== undefined && (Number.isFinite(pct) ? pct : 0) > best) {
        best = Number.isFinite(pct) ? pct : 0;
        costCenter = code;
      }
    }
    const f = (v: unknown) => (obj(v) ? fields(obj(v)) : undefined);
    return { department: f(dept), function: f(fn), manager: f(mgr), costCenter };
  }

  private toPerson(
    emp: Employee,
    employments: Fields[],
    cur: Current,
    byEmail: Map<string, Set<string>>,
    today: string,
  ): { person: Person } | { errors: SourceRecordError[] } {
    const s = this.s;
    const info = emp.info ?? {};
    const errors: SourceRecordError[] = [];
    const base = { source: this.id, line: emp.index, key: emp.employeeId };
    const bad = (origin: string, field: string, reason: string) =>
      errors.push({ ...base, origin, field, reason: `${reason}; ${REJECTED}` });

    const naam = mapNaamstelling(info.Naamstelling, s);
    if ('error' in naam) bad(emp.origin, 'Naamstelling', naam.error);
    const nick =
      info.Nickname ?? (s.nickNameFallback === 'firstName' ? info.FirstName?.trim().split(/\s+/)[0] : undefined);
    const phoneField = s.businessPhoneFrom.find((k) => info[k] !== undefined);

    const dept = cur.department;
    if (employments.length && !dept?.Code) {
      bad(OP.department, 'Code', dept ? 'current department has no Code' : 'employee has no current department');
    }
    const fn = cur.function;
    const fnCode =
      s.titleCodeFrom === 'id' ? fn?.Id : fn?.Code !== undefined && fn.Code !== '0' ? fn.Code : (fn?.Id ?? fn?.Code);
    const title =
      fn && (fnCode !== undefined || fn.Description !== undefined) ? { code: fnCode, name: fn.Description } : undefined;

    let managerKey: string | undefined;
    const mgrMail = cur.manager?.Email?.toLowerCase();
    if (mgrMail) {
      const ids = byEmail.get(mgrMail);
      if (ids?.size === 1) {
        const [id] = ids;
        if (id !== emp.employeeId) managerKey = id;
      }
    }

    const contracts = employments.map((e) => {
      const start = nmbrsDate(e.StartDate);
      const end = nmbrsDate(e.EndDate);
      if ('error' in start) bad(OP.employmentsAll, 'StartDate', start.error);
      else if (start.date === undefined) bad(OP.employmentsAll, 'StartDate', 'is empty');
      if ('error' in end) bad(OP.employmentsAll, 'EndDate', end.error);
      if (e.EmploymentId === undefined) bad(OP.employmentsAll, 'EmploymentId', 'is empty');
      return {
        id: e.EmploymentId === undefined ? undefined : `Employment_${e.EmploymentId}`,
        startDate: 'date' in start ? start.date : undefined,
        endDate: 'date' in end ? end.date : undefined,
        department: { code: dept?.Code, name: dept?.Description },
        title,
        managerKey,
        costCenter: cur.costCenter,
        employer: String(emp.companyId),
      };
    });

    const custom: Record<string, string> = { companyId: String(emp.companyId) };
    if (info.EmployeeNumber !== undefined) custom.employeeNumber = `${emp.companyId}_${info.EmployeeNumber}`;
    if (info.TitleAfter !== undefined) custom.honorificSuffix = info.TitleAfter;

    const input: PersonInput = {
      source: this.id,
      key: emp.employeeId,
      name: {
        given: info.FirstName,
        nickName: nick as string,
        initials: info.Initials,
        familyName: info.LastName as string,
        familyNamePrefix: info.Prefix,
        partnerName: info.PartnerLastName,
        partnerNamePrefix: info.PartnerPrefix,
        convention: 'convention' in naam ? naam.convention : 'B',
      },
      businessEmail: info.EmailWork,
      businessPhone: phoneField ? info[phoneField] : undefined,
      custom,
      contracts: contracts as PersonInput['contracts'],
    };
    if (!isEmptyMapping(this.mapping)) this.applyMapping(emp, employments, cur, input, bad, today);
    if (errors.length) return { errors };
    const res = Person.safeParse(compact(input));
    if (res.success) return { person: res.data };
    const seen = new Set<string>();
    for (const issue of res.error.issues) {
      const [origin, field] = this.fieldOf(emp, issue.path, phoneField);
      if (seen.has(origin + field)) continue;
      seen.add(origin + field);
      const empty = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
      bad(origin, field, empty ? 'is empty' : issue.message);
    }
    return { errors };
  }

  /**
   * Fills the mapped person and contract fields (docs/sources/nmbrs.md, "Field mapping"). A mapped
   * value that does not fit is reported through `bad` with the operation and the mapped field.
   */
  private applyMapping(
    emp: Employee,
    employments: Fields[],
    cur: Current,
    input: PersonInput,
    bad: (origin: string, field: string, reason: string) => void,
    today: string,
  ): void {
    const pv = nmbrsPersonView(emp.info ?? {});
    const problems: MappingProblem[] = [];
    const mapped = mapPerson(this.mapping, pv, problems);
    Object.assign(input, mapped.fields);
    input.custom = { ...input.custom, ...mapped.custom };
    const contractRecords = contractsOfEmployments(employments, emp.contracts, today);
    employments.forEach((e, i) => {
      const contract = input.contracts[i] as unknown as Record<string, unknown>;
      const records = {
        employment: e,
        contract: contractRecords[i],
        department: cur.department,
        function: cur.function,
      };
      mapContract(this.mapping, nmbrsContractView(pv, records), contract, problems);
    });
    const seen = new Set<string>();
    for (const p of problems) {
      // The same field on every contract of the person: reported once.
      if (seen.has(p.field + p.reason)) continue;
      seen.add(p.field + p.reason);
      bad(this.originOf(emp, p.field), p.field, p.reason);
    }
  }

  /** The operation a mapped source path was read from. */
  private originOf(emp: Employee, sourcePath: string): string {
    const scope = sourcePath.split('.')[0];
    if (scope === 'employment') return OP.employmentsAll;
    if (scope === 'contract') return OP.contractsAll;
    if (scope === 'department') return OP.department;
    if (scope === 'function') return OP.function;
    return emp.origin;
  }

  /** Model path → [operation, Nmbrs field] for a record error. */
  private fieldOf(emp: Employee, path: readonly PropertyKey[], phoneField?: string): [string, string] {
    const p = path.map(String);
    const mapped = mappedSourceFields(this.mapping);
    if (p[0] === 'contracts' && p.length > 2) {
      const rest = p.slice(2).join('.');
      const source = mapped.contract[rest] ?? mapped.contract[p[2]!];
      if (source !== undefined) return [this.originOf(emp, source), source];
      if (rest.startsWith('department')) return [OP.department, rest.endsWith('name') ? 'Description' : 'Code'];
      if (rest.startsWith('title')) {
        return [OP.function, rest.endsWith('name') ? 'Description' : this.s.titleCodeFrom === 'id' ? 'Id' : 'Code'];
      }
      if (rest === 'managerKey') return [OP.manager, 'Email'];
      if (rest === 'costCenter') return [OP.costCenter, 'CostCenter.Code'];
      if (rest === 'employer') return [OP.employmentsAll, 'CompanyID'];
      const f: Record<string, string> = { id: 'EmploymentId', startDate: 'StartDate', endDate: 'EndDate' };
      return [OP.employmentsAll, f[rest] ?? rest];
    }
    const f: Record<string, string> = {
      key: 'EmployeeId',
      'name.nickName': 'Nickname',
      'name.given': 'FirstName',
      'name.initials': 'Initials',
      'name.familyName': 'LastName',
      'name.familyNamePrefix': 'Prefix',
      'name.partnerName': 'PartnerLastName',
      'name.partnerNamePrefix': 'PartnerPrefix',
      'name.convention': 'Naamstelling',
      businessEmail: 'EmailWork',
      businessPhone: phoneField ?? 'TelephoneWork',
      'custom.employeeNumber': 'EmployeeNumber',
      'custom.honorificSuffix': 'TitleAfter',
    };
    const source = mapped.person[p.join('.')] ?? mapped.person[p.slice(0, 2).join('.')];
    if (source !== undefined) return [this.originOf(emp, source), source];
    return [emp.origin, f[p.join('.')] ?? p.join('.')];
  }

  private async departments(errors: SourceRecordError[]): Promise<Department[]> {
    const out = new Map<string, Department>();
    for (const debtorId of [...new Set(this.s.debtorIds)]) {
      const res = await this.call('DebtorService', OP.departmentList, { DebtorId: debtorId }, true);
      list(obj(res)?.Department).forEach((d, index) => {
        const f = fields(d);
        const parsed = Department.safeParse({ code: f.Code, name: f.Description });
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const field = issue?.path[0] === 'name' ? 'Description' : 'Code';
          errors.push({
            source: this.id,
            origin: OP.departmentList,
            line: index,
            key: f.Code,
            field,
            reason: `${issue?.message ?? 'invalid'}; department rejected`,
          });
          return;
        }
        if (!out.has(parsed.data.code)) out.set(parsed.data.code, parsed.data);
      });
    }
    return [...out.values()];
  }

  /**
   * Write the generated work e-mail back (docs/sources/nmbrs.md): read the current personal info, stop if
   * it already holds the value, else `PersonalInfo_UpdateCurrent` with every field of the current
   * record (read, modify, write; `writeBackFields: mandatory` sends only the mandatory ones) and
   * the new EmailWork, in schema order. `businessEmail: ''` clears the work e-mail.
   * Username and UPN have no place in Nmbrs and are ignored.
   */
  async writeBack(personSourceKey: string, values: WriteBackValues): Promise<'written' | 'unchanged'> {
    const op = `EmployeeService.${OP.personalInfoUpdate}`;
    if (values.businessEmail === undefined) return 'unchanged';
    const key = personSourceKey.trim();
    if (!WHOLE.test(key)) throw new NmbrsError('notFound', op, 'the person key is not a numeric Nmbrs EmployeeId');
    const wanted = values.businessEmail.trim();
    if (wanted !== '' && !Email.safeParse(wanted).success) {
      throw new NmbrsError('fault', op, 'the business e-mail is not a valid address; nothing written');
    }
    const cur = obj(await this.call('EmployeeService', OP.personalInfoCurrent, { EmployeeId: Number(key) }));
    if (!cur) {
      throw new NmbrsError(
        'notFound',
        `EmployeeService.${OP.personalInfoCurrent}`,
        `employee ${key} not found; no account will be created`,
      );
    }
    const current = fields(cur);
    if ((current.EmailWork ?? '') === wanted) return 'unchanged';

    const pi: SoapParams = {};
    for (const name of this.s.personalInfoOrder) {
      if (name === 'EmailWork') {
        pi.EmailWork = wanted;
        continue;
      }
      const mandatory = this.s.writeBackResendFields.includes(name);
      // Read, modify, write: every field the record holds goes back unchanged (writeBackFields: all).
      if (!mandatory && !(this.s.writeBackFields === 'all' && current[name] !== undefined)) continue;
      const v = current[name];
      // Nmbrs's own "unknown" sentinel for a missing birthday; other fields are resent as read.
      if (v === undefined && name === 'Birthday') pi.Birthday = '0001-01-01T00:00:00';
      else if (v === undefined) {
        throw new NmbrsError(
          'fault',
          op,
          `employee ${key}: the current record has no ${name}, which must be resent with the update; nothing written`,
        );
      } else pi[name] = v;
    }
    await this.call('EmployeeService', OP.personalInfoUpdate, { EmployeeId: Number(key), PersonalInfo: pi });
    return 'written';
  }
}

/** Departments seen on the contracts (when no debtor is configured). */
function departmentsOf(persons: Person[]): Department[] {
  const out = new Map<string, Department>();
  for (const p of persons) {
    for (const c of p.contracts) {
      if (!out.has(c.department.code)) out.set(c.department.code, { code: c.department.code, name: c.department.name });
    }
  }
  return [...out.values()];
}
