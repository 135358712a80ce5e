/**
 * What creating a person's account in a target meets: nothing (a new account is made), Tenure's own
 * account (a create that got partly through), an existing account in scope that may be adopted, or
 * a refusal. Read-only: the create activity (activities/targets.ts) acts on this decision and
 * `tenure preview` shows it, so the two cannot drift apart.
 */
import type pg from 'pg';
import { DEFAULT_OWNERSHIP, ownershipSettingsOf, type OwnershipSettings } from '../connectors/ownership.js';
import type { Rules } from '../domain/rules.js';
import type { AccountLookup } from './preview.js';
import type { AccountReference, TargetConnector } from '../connectors/types.js';
import { ownedAccount, ownerOf } from '../vault/accounts.js';
import { reservedByOthers } from '../vault/identities.js';

export interface LoginNames {
  username: string;
  userPrincipalName: string;
  email: string;
}

export type ExistingAccount =
  | { kind: 'none' }
  | { kind: 'own'; account: AccountReference }
  | {
      kind: 'adopt';
      account: AccountReference;
      /** The account's enabled state as found. */
      enabled: boolean;
      /** The login names it carries now (kept unless `renameAdopted`). */
      found: LoginNames;
      /** The login names it carries after adoption. */
      names: LoginNames;
      renamed: boolean;
    }
  | { kind: 'refused'; why: string };

export async function existingAccount(
  deps: { pool: pg.Pool; connector: TargetConnector; settings: OwnershipSettings },
  call: { target: string; personKey: string },
  desired: LoginNames & { employeeId: string },
): Promise<ExistingAccount> {
  const c = deps.connector;
  const found = await c.correlate(desired.employeeId);
  if (!found) {
    const refusal = c.createRefusal ? await c.createRefusal(desired.employeeId) : null;
    return refusal ? { kind: 'refused', why: refusal } : { kind: 'none' };
  }
  const owner = await ownerOf(deps.pool, call.target, found.id);
  if (owner && owner.personKey !== call.personKey)
    return { kind: 'refused', why: 'create account: the correlated account is recorded for another person' };
  const own = await ownedAccount(deps.pool, call.target, call.personKey);
  // An adoption that was recorded but whose activity did not finish: adopt again (the same names).
  const adopting = owner?.personKey === call.personKey && own?.origin === 'adopted';
  const ours = owner?.personKey === call.personKey || (own?.origin === 'creating' && !own.accountId && !own.deletedAt);
  if (ours && !adopting) return { kind: 'own', account: found };

  if (deps.settings.adopt !== 'inScope')
    return {
      kind: 'refused',
      why: 'create account: an existing account correlates on the employee number and adoption is off for this target (ownership.adopt)',
    };
  const seen = c.inspect ? await c.inspect(found) : null;
  if (c.inspect && (!seen || !seen.inScope))
    return { kind: 'refused', why: 'create account: the correlated account is outside the target scope' };
  const current: LoginNames = {
    username: seen?.names.username ?? desired.username,
    userPrincipalName: seen?.names.userPrincipalName ?? desired.userPrincipalName,
    email: seen?.names.email ?? desired.email,
  };
  const names = deps.settings.renameAdopted
    ? { username: desired.username, userPrincipalName: desired.userPrincipalName, email: desired.email }
    : current;
  if (await reservedByOthers(deps.pool, call.personKey, reservationsOf(current)))
    return {
      kind: 'refused',
      why: "create account: the existing account's login names are reserved for another person",
    };
  return {
    kind: 'adopt',
    account: found,
    enabled: seen?.enabled ?? false,
    found: current,
    names,
    renamed: deps.settings.renameAdopted,
  };
}

export function reservationsOf(n: LoginNames): { kind: 'username' | 'upn' | 'email'; value: string }[] {
  const all = [
    { kind: 'username' as const, value: n.username },
    { kind: 'upn' as const, value: n.userPrincipalName },
    { kind: 'email' as const, value: n.email },
  ];
  return all.filter((r) => r.value.trim() !== '');
}

/**
 * The preview's read-only look-up (`tenure preview`, the held poll's preview): per target of the
 * rules, what a create would meet, with the ownership settings of the previewed rules.
 */
export function previewAccountLookup(deps: {
  pool: pg.Pool;
  targets: ReadonlyMap<string, TargetConnector>;
  rules: Rules;
}): AccountLookup {
  const settings = new Map(deps.rules.targets.map((t) => [t.id, ownershipSettingsOf(t)]));
  const none: LoginNames = { username: '', userPrincipalName: '', email: '' };
  return async (personKey, target, employeeId) => {
    const connector = deps.targets.get(target);
    if (!connector) return null;
    const r = await existingAccount(
      { pool: deps.pool, connector, settings: settings.get(target) ?? DEFAULT_OWNERSHIP },
      { target, personKey },
      { ...none, employeeId },
    );
    if (r.kind === 'refused') return { kind: 'refused', why: r.why };
    if (r.kind === 'adopt') return { kind: 'adopt', enabled: r.enabled, names: r.found, renamed: r.renamed };
    return null;
  };
}
