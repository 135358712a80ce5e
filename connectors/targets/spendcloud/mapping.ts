/**
 * DesiredAccount -> the rows the connector keeps (docs/targets/spendcloud.md), and the optional extension
 * the engine passes for the roles: the person's contracts and name parts.
 */
import type { DesiredAccount } from '../../types.js';
import type { Contract, PersonName } from '../../../domain/model.js';
import { removeDiacritics } from '../../../domain/naming.js';

/** The contract fields the connector reads: structurally a domain `Contract`, so `person.contracts` fits. */
export type SpendCloudContract = Pick<Contract, 'id' | 'startDate' | 'endDate' | 'department' | 'title'>;

/** The name parts of the Dutch naming convention: structurally a domain `PersonName`. */
export type SpendCloudName = Pick<
  PersonName,
  'nickName' | 'familyName' | 'familyNamePrefix' | 'partnerName' | 'partnerNamePrefix' | 'convention'
>;

/**
 * What the Spend Cloud connector accepts: a DesiredAccount plus three optional fields.
 *
 * - `contracts`: the person's contracts (pass `person.contracts`). One role row per contract;
 *   the export writes the rows of the contracts active on the export day (start <= day <= end).
 *   Absent: one role row `primary` from `department`/`departmentCode`/`title` (the function
 *   profile code is then the title text, as DesiredAccount has no title code).
 * - `name`: the name parts; achternaam/tussenvoegsel then follow the shipped mapping
 *   (`Boele van den`, `van den`). Absent: achternaam = familyName, tussenvoegsel empty.
 * - `gender`: `M` -> M, `V` -> V, anything else or absent -> O.
 * - `selectedContracts`: per target id, the contracts the rules select for it (the contracts of the
 *   rules that give the account). With an entry for this target, only those contracts get a role
 *   row; without one (plans from before it existed), every contract does.
 */
export interface SpendCloudDesiredAccount extends DesiredAccount {
  contracts?: readonly SpendCloudContract[];
  selectedContracts?: Readonly<Record<string, readonly string[]>>;
  name?: SpendCloudName;
  gender?: string;
}

export interface PersonRow {
  voornaam: string;
  tussenvoegsel: string;
  achternaam: string;
  geslacht: 'M' | 'V' | 'O';
  email: string;
  gebruikersnaam: string;
}

export const PERSON_COLUMNS = [
  'voornaam',
  'tussenvoegsel',
  'achternaam',
  'geslacht',
  'email',
  'gebruikersnaam',
] as const;

export interface RoleRow {
  contractId: string;
  /** Department display name: exported as "Organisatorische Eenheid". */
  ou: string;
  oucode: string;
  functie: string;
  /** Title code: exported as "Functieprofiel Code". */
  functiecode: string;
  startDate: string | null;
  endDate: string | null;
}

function squash(s: string | undefined | null): string {
  return (s ?? '').trim().replace(/\s+/g, ' ');
}

/**
 * achternaam / tussenvoegsel per the shipped mapping: the first surname of the convention without
 * its prefix, then ` - <prefix> <second surname>` for BP/PB, then the first surname's prefix
 * appended: B `Boele van den`, BP `Boele - de Vries van den`, P `Vries de`, PB `Vries - van den Boele de`.
 */
export function surnameFields(name: SpendCloudName): { achternaam: string; tussenvoegsel: string } {
  const own = { prefix: squash(name.familyNamePrefix).toLowerCase(), family: squash(name.familyName) };
  const partnerFamily = squash(name.partnerName);
  const partner = partnerFamily
    ? { prefix: squash(name.partnerNamePrefix).toLowerCase(), family: partnerFamily }
    : undefined;
  const convention = name.convention ?? 'B';
  const order =
    !partner || convention === 'B'
      ? [own]
      : convention === 'P'
        ? [partner]
        : convention === 'BP'
          ? [own, partner]
          : [partner, own];
  const [first, second] = order as [typeof own, typeof own?];
  let achternaam = first.family;
  if (second) achternaam += ` - ${[second.prefix, second.family].filter(Boolean).join(' ')}`;
  if (first.prefix) achternaam += ` ${first.prefix}`;
  return { achternaam, tussenvoegsel: first.prefix };
}

export function genderCode(g: string | undefined): 'M' | 'V' | 'O' {
  const v = (g ?? '').trim().toUpperCase();
  return v === 'M' ? 'M' : v === 'V' ? 'V' : 'O';
}

export function personRow(
  d: SpendCloudDesiredAccount,
  opts: { emailFrom: 'email' | 'userPrincipalName'; removeDiacritics: boolean },
): PersonRow {
  const fold = (s: string) => (opts.removeDiacritics ? removeDiacritics(s) : s);
  const sur = d.name ? surnameFields(d.name) : { achternaam: squash(d.familyName), tussenvoegsel: '' };
  return {
    voornaam: squash(d.name?.nickName ?? d.givenName),
    tussenvoegsel: fold(sur.tussenvoegsel),
    achternaam: fold(sur.achternaam),
    geslacht: genderCode(d.gender),
    email: squash(opts.emailFrom === 'userPrincipalName' ? d.userPrincipalName : d.email),
    gebruikersnaam: d.username.trim(),
  };
}

export function roleRows(d: SpendCloudDesiredAccount, targetId?: string): RoleRow[] {
  if (d.contracts) {
    const selected = targetId === undefined ? undefined : d.selectedContracts?.[targetId];
    const contracts = selected ? d.contracts.filter((c) => selected.includes(c.id)) : d.contracts;
    return contracts.map((c) => ({
      contractId: c.id,
      ou: squash(c.department.name ?? c.department.code),
      oucode: squash(c.department.code),
      functie: squash(c.title?.name ?? c.title?.code),
      functiecode: squash(c.title?.code),
      startDate: c.startDate ?? null,
      endDate: c.endDate ?? null,
    }));
  }
  if (!d.department && !d.departmentCode) return [];
  return [
    {
      contractId: 'primary',
      ou: squash(d.department ?? d.departmentCode),
      oucode: squash(d.departmentCode ?? d.department),
      functie: squash(d.title),
      functiecode: squash(d.title),
      startDate: null,
      endDate: null,
    },
  ];
}
