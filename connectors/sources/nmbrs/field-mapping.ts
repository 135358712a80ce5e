/**
 * What a Nmbrs field mapping may read (docs/sources/nmbrs.md, "Field mapping"), and the view of one
 * employee's SOAP records the mapping reads through. Only records the connector fetches anyway,
 * except `contract.*`: the company-wide contract list (contract type, hours per week) is read only
 * when a mapping names one of its fields.
 */
import type { MappingScopes, SourceView } from '../field-mapping.js';
import { nmbrsDate } from './mapping.js';

/** PersonalInfo_V2 fields a mapping may read (the newest version, as Nmbrs sends it). */
export const NMBRS_PERSONAL_INFO_FIELDS = [
  'Id',
  'EmployeeNumber',
  'DisplayName',
  'FirstName',
  'Initials',
  'Prefix',
  'LastName',
  'Nickname',
  'Gender',
  'TelephoneWork',
  'TelephoneMobileWork',
  'EmailWork',
  'Naamstelling',
  'PartnerPrefix',
  'PartnerLastName',
  'Title',
  'TitleAfter',
  'CreationDate',
  'StartPeriod',
  'StartYear',
] as const;

/** Private PersonalInfo fields Tenure never imports (besides BSN and birth data, refused by name). */
const PRIVATE_FIELDS = new Set([
  'TelephonePrivate',
  'TelephoneMobilePrivate',
  'EmailPrivate',
  'BurgerlijkeStaat',
  'IdentificationType',
  'IdentificationNumber',
  'InCaseOfEmergency',
  'InCaseOfEmergencyPhone',
  'InCaseOfEmergencyRelation',
  'DeceasedDate',
  'TelephoneOther',
]);

/** `EmployeeContract` fields (Contract_GetAll_AllEmployeesByCompany; `EmployementType` as Nmbrs spells it). */
export const NMBRS_CONTRACT_FIELDS = [
  'ContractID',
  'StartDate',
  'EndDate',
  'TrialPeriod',
  'EmployementType',
  'EmploymentSequenceTaxId',
  'Indefinite',
  'PhaseClassification',
  'WrittenContract',
  'HoursPerWeek',
] as const;

/** Fields of the per-employee current department and function (`{ Id, Code, Description }`). */
const CODE_DESC = ['Id', 'Code', 'Description'];

const FIELD = /^[A-Za-z][A-Za-z0-9_]*$/;

function checkNmbrsPath(path: string): string | undefined {
  const [scope, ...rest] = path.split('.');
  const field = rest.join('.');
  if (scope === 'personalInfo') {
    if (PRIVATE_FIELDS.has(field)) return `'${path}' holds personal data Tenure does not import`;
    if (!(NMBRS_PERSONAL_INFO_FIELDS as readonly string[]).includes(field)) {
      return `'${path}' is not a PersonalInfo field Tenure reads (one of ${NMBRS_PERSONAL_INFO_FIELDS.join(', ')})`;
    }
    return undefined;
  }
  if (scope === 'department' || scope === 'function') {
    return CODE_DESC.includes(field)
      ? undefined
      : `'${path}' is not a field of the current ${scope} (Id, Code or Description)`;
  }
  if (scope === 'contract') {
    return (NMBRS_CONTRACT_FIELDS as readonly string[]).includes(field)
      ? undefined
      : `'${path}' is not an EmployeeContract field (one of ${NMBRS_CONTRACT_FIELDS.join(', ')})`;
  }
  // Employment records carry tenant-dependent fields beyond the documented ones: any plain field name.
  if (scope === 'employment' && !FIELD.test(field)) return `'${path}' is not an Employment field name`;
  return undefined;
}

export const NMBRS_MAPPING_SCOPES: MappingScopes = {
  person: ['personalInfo.'],
  contract: ['employment.', 'contract.', 'department.', 'function.'],
  check: checkNmbrsPath,
};

/** Nmbrs's numeric gender codes (spec: `1` man, `2` vrouw); other values go to the mapping as sent. */
const GENDER_CODES: Record<string, string> = { '1': 'M', '2': 'V' };

type Fields = Record<string, string | undefined>;

/** `personalInfo.<field>` of the newest personal-info version. */
export function nmbrsPersonView(info: Fields): SourceView {
  return (path) => {
    const [scope, field] = path.split('.');
    if (scope !== 'personalInfo' || field === undefined || !Object.hasOwn(info, field)) return undefined;
    const v = info[field];
    return field === 'Gender' && v !== undefined ? (GENDER_CODES[v.trim()] ?? v) : v;
  };
}

/** Whether a mapping reads the contract list (and so needs Contract_GetAll_AllEmployeesByCompany). */
export function readsNmbrsContracts(paths: readonly string[]): boolean {
  return paths.some((p) => p.startsWith('contract.'));
}

/**
 * The contract record of each employment (same order). A contract belongs to the employment it
 * starts in; when employments overlap, to the one that started last. Of an employment's contracts,
 * the one valid today counts, else the one that started last (ties: the newest record).
 */
export function contractsOfEmployments(
  employments: readonly Fields[],
  contracts: readonly Fields[],
  today: string,
): (Fields | undefined)[] {
  const day = (v: string | undefined) => {
    const d = nmbrsDate(v);
    return 'date' in d ? d.date : undefined;
  };
  const spans = employments.map((e) => ({ from: day(e.StartDate) ?? '', to: day(e.EndDate) ?? '9999-12-31' }));
  const owned: { c: Fields; start: string; end: string }[][] = employments.map(() => []);
  for (const c of contracts) {
    const start = day(c.StartDate);
    if (start === undefined) continue;
    let owner = -1;
    spans.forEach((sp, i) => {
      if (sp.from !== '' && sp.from <= start && start <= sp.to && (owner < 0 || sp.from > spans[owner]!.from))
        owner = i;
    });
    if (owner >= 0) owned[owner]!.push({ c, start, end: day(c.EndDate) ?? '9999-12-31' });
  }
  return owned.map((list) => {
    list.sort(
      (a, b) => a.start.localeCompare(b.start) || (a.c.CreationDate ?? '').localeCompare(b.c.CreationDate ?? ''),
    );
    const current = list.filter((x) => x.start <= today && x.end >= today);
    return (current.at(-1) ?? list.at(-1))?.c;
  });
}

/**
 * The person's view plus `employment.*` of one contract, `contract.*` of its contract record and the
 * employee's current `department.*` / `function.*`.
 */
export function nmbrsContractView(
  person: SourceView,
  records: { employment: Fields; contract?: Fields; department?: Fields; function?: Fields },
): SourceView {
  return (path) => {
    const [scope, field] = path.split('.');
    if (field === undefined) return undefined;
    if (scope === 'employment' || scope === 'contract' || scope === 'department' || scope === 'function') {
      const rec = records[scope];
      return rec && Object.hasOwn(rec, field) ? rec[field] : undefined;
    }
    return person(path);
  };
}
