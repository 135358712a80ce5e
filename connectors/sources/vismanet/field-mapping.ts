/**
 * What a Visma.net HRM field mapping may read (docs/sources/vismanet.md, "Field mapping"): columns
 * of the employees and contracts exports (the column lists of the analytics API) and employee
 * user-defined fields. Private columns (home address, private phone and e-mail, marital status)
 * and the salary and scale columns are refused at load; birth data by the shared rule.
 */
import type { MappingScopes, SourceView } from '../field-mapping.js';
import type { CsvRow } from './csv.js';

/** Employees export columns a mapping may read. */
export const VISMANET_EMPLOYEE_COLUMNS = [
  'salutationid',
  'salutation',
  'initials',
  'firstname',
  'nickname',
  'nameusage_en',
  'nameusage',
  'namecode',
  'formattedname',
  'gender',
  'titlebefore_en',
  'titlebefore',
  'titleafter_en',
  'titleafter',
  'language_en',
  'language',
  'partnername',
  'prefixpartnername',
  'officialdate',
  'employeegroupid',
  'employeegroupname_en',
  'employeegroupname',
  'ismanager',
  'companyid',
  'companyname',
  'boardnumber',
  'businessemailaddress',
  'businesswebemailaddress',
  'officemobilephonenumber',
  'officetelphonenumber',
  'officeextphonenumber',
  'officefaxphonenumber',
  'secretaryphonenumber',
  'odporgid',
  'employeeid',
  'existencestartutc',
] as const;

/** Contracts export columns a mapping may read (the person's own columns are read as `employee.*`). */
export const VISMANET_CONTRACT_COLUMNS = [
  'startdate',
  'enddate',
  'probation',
  'contracttypeindication_en',
  'contracttypeindication_nl',
  'endreason',
  'endreasonname_en',
  'endreasonname',
  'basesubcontractid',
  'cao',
  'externalcaocode',
  'type_en',
  'type',
  'costcenter_en',
  'costcenter',
  'orgunit',
  'orgunitname_en',
  'orgunitname',
  'extdepartmentid',
  'extdepartmentname_en',
  'extdepartmentname',
  'emptype',
  'emptypename_en',
  'emptypename',
  'expertiseid',
  'expertisename_en',
  'expertisename',
  'costunit_en',
  'costunit',
  'functionid',
  'functionname_en',
  'functionname',
  'weekhoursfixed',
  'weekhoursvar',
  'normalhours',
  'tariffid',
  'tariffname_en',
  'tariffname',
  'ispooler',
  'odporgid',
  'employeeid',
  'contractid',
  'subcontractid',
  'existencestartutc',
  'manageruserid',
  'managername',
] as const;

/** Employee columns with private contact or civil data: never imported. */
const PRIVATE_EMPLOYEE =
  /^(corraddress|home|postal|sickness|otheraddresses|otheremailaddresses|otherphonenumbers|privatemobilephonenumber|emergencyphonenumber|maritalstatus)/;

function checkVismaNetPath(path: string): string | undefined {
  const dot = path.indexOf('.');
  const scope = path.slice(0, dot);
  const column = path.slice(dot + 1);
  if (scope === 'udf') return undefined; // a user-defined field name as Visma spells it
  if (scope === 'employee') {
    if (PRIVATE_EMPLOYEE.test(column)) return `'${path}' holds personal data Tenure does not import`;
    if ((VISMANET_EMPLOYEE_COLUMNS as readonly string[]).includes(column)) return undefined;
    return `'${path}' is not a column of the Visma.net employees export Tenure reads (lower-case names, docs/sources/vismanet.md)`;
  }
  if ((VISMANET_CONTRACT_COLUMNS as readonly string[]).includes(column)) return undefined;
  return `'${path}' is not a column of the Visma.net contracts export Tenure reads (lower-case names; salary and scale columns are never read; docs/sources/vismanet.md)`;
}

export const VISMANET_MAPPING_SCOPES: MappingScopes = {
  person: ['employee.', 'udf.'],
  contract: ['contract.'],
  check: checkVismaNetPath,
};

/** `employee.<column>` of the person's main employee record, `udf.<field name>` its current UDF value. */
export function vismaNetPersonView(employee: CsvRow, udf: ReadonlyMap<string, CsvRow>): SourceView {
  return (path) => {
    const dot = path.indexOf('.');
    const scope = path.slice(0, dot);
    const name = path.slice(dot + 1);
    if (scope === 'employee') return employee.get(name);
    if (scope === 'udf') return udf.get(name)?.get('value');
    return undefined;
  };
}

/** The person's view plus `contract.<column>` of one contract row. */
export function vismaNetContractView(person: SourceView, contract: CsvRow): SourceView {
  return (path) => (path.startsWith('contract.') ? contract.get(path.slice('contract.'.length)) : person(path));
}

/** The UDF field names a mapping reads (`udf.<name>`): the UDF export is requested when there are any. */
export function mappedUdfFields(paths: readonly string[]): string[] {
  return [...new Set(paths.filter((p) => p.startsWith('udf.')).map((p) => p.slice(4)))];
}
