/**
 * What a Nmbrs field mapping may read (docs/sources/nmbrs.md, "Field mapping"), and the view of one
 * employee's SOAP records the mapping reads through. Only records the connector fetches anyway:
 * a mapping never adds a call.
 */
import type { MappingScopes, SourceView } from '../field-mapping.js';

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
  // Employment records carry tenant-dependent fields beyond the documented ones: any plain field name.
  if (scope === 'employment' && !FIELD.test(field)) return `'${path}' is not an Employment field name`;
  return undefined;
}

export const NMBRS_MAPPING_SCOPES: MappingScopes = {
  person: ['personalInfo.'],
  contract: ['employment.', 'department.', 'function.'],
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

/** The person's view plus `employment.*` of one contract and the employee's current `department.*` / `function.*`. */
export function nmbrsContractView(
  person: SourceView,
  employment: Fields,
  current: { department?: Fields; function?: Fields },
): SourceView {
  return (path) => {
    const [scope, field] = path.split('.');
    if (field === undefined) return undefined;
    const rec =
      scope === 'employment'
        ? employment
        : scope === 'department'
          ? current.department
          : scope === 'function'
            ? current.function
            : undefined;
    if (scope === 'employment' || scope === 'department' || scope === 'function')
      return rec && Object.hasOwn(rec, field) ? rec[field] : undefined;
    return person(path);
  };
}
