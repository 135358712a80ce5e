/**
 * Activities that turn a person's HR data into a plan (rules, schedule, naming) and keep the
 * vault's identity reservations. All rule evaluation happens here, in the worker, so the
 * employee workflow stays a deterministic orchestrator and a rules change applies on the next wake.
 */
import type pg from 'pg';
import type { TargetConnector } from '../connectors/types.js';
import { descriptorOf, type PermissionNoun, type TargetRole } from '../connectors/targets/descriptors.js';
import type { ManagedAccount } from './targets.js';
import type { DesiredPermission, EntitlementReason, PlannedAction } from '../common/messages.js';
import { localDate, localTime, zonedMoment } from '../domain/dates.js';
import { evaluate, matchContract, matchPerson } from '../domain/entitlements.js';
import type { Person } from '../domain/model.js';
import { displayName, familyDisplayName, generateIdentity, identityCandidates } from '../domain/naming.js';
import { primaryContract } from '../domain/primary-contract.js';
import { timingsFor, type Rules } from '../domain/rules.js';
import { computeSchedule, employments } from '../domain/schedule.js';
import { reservationsOf, reserve, reservedByOthers, type IdentityKind } from '../vault/identities.js';

export interface Identity {
  username: string;
  userPrincipalName: string;
  email: string;
  /** Earlier addresses, kept as aliases. */
  aliases: string[];
  /** The login names of an adopted account: kept as they are (docs/ownership.md). */
  adopted?: boolean;
}

export interface TargetPlan {
  targetId: string;
  kind: string;
  /**
   * From the kind's descriptor (connectors/targets/descriptors.ts): the workflow reconciles
   * `directory` targets first and names permissions by `permissionNoun`. Absent in plans made
   * before descriptors existed; the workflow then falls back to the kind (`ad`).
   */
  role?: TargetRole;
  permissionNoun?: PermissionNoun;
  /** Rules grant this person an account in this target (now or within the creation window). */
  wantsAccount: boolean;
  wantsAccess: boolean;
  /** The first rule behind the account and behind its access (for preview and people). */
  accountReason?: EntitlementReason;
  accessReason?: EntitlementReason;
  createAt?: number;
  enableAt?: number;
  disableAt?: number;
  deleteAt?: number;
  /** Retention from the moment Tenure disables the account until it may be deleted. */
  retentionMs?: number;
  permissions: DesiredPermission[];
  /** One-off grants when the employment starts (account enabled) and when it ends (disabled). */
  onStart: string[];
  onLeave: string[];
}

export interface PersonPlan {
  ruleSetVersion: string;
  timeZone: string;
  displayName: string;
  primaryContractId?: string;
  departmentCode?: string;
  startDate?: string;
  endDate?: string;
  /** The first lifecycle moment's employment has contracts: false means withdrawn or never hired. */
  employed: boolean;
  targets: TargetPlan[];
  /** A contract boundary after which the entitlements may differ (wake up and re-plan then). */
  reevaluateAt?: number;
  managerKey?: string;
  managerEmployeeId?: string;
  /** The account attributes that do not depend on the reserved identity. */
  account: AccountAttributes;
  /** Rendered for the `upcoming` query: local wall times in the organisation's zone. */
  upcoming: PlannedAction[];
  /** Whether the person's source takes write-backs (absent in plans from before it was asked). */
  sourceWritesBack?: boolean;
}

export type AccountAttributes = Omit<ManagedAccount, 'username' | 'userPrincipalName' | 'email' | 'emailAliases'>;

export interface LifecycleDeps {
  pool: pg.Pool;
  /** The rules in force now (the vault's current version, else the worker's rules file). */
  rules: () => Rules | Promise<Rules>;
  targets: Map<string, TargetConnector>;
  mailDomain: string;
  upnSuffix: string;
  /**
   * The correlation value a person's accounts carry (AD employeeID, ...): see correlationByKey and
   * docs/ownership.md. Default: the bare source key.
   */
  correlationValue?: CorrelationValue;
  /** Change username/UPN on a name change (off by default: docs/lifecycle.md section 3). */
  renameUsernameOnNameChange?: boolean;
  /** Local parts never issued, besides the built-in role mailboxes (TENURE_RESERVED_LOCAL_PARTS). */
  reservedLocalParts?: readonly string[];
  /** Can this source take write-backs? Asked at plan time so the workflow skips the call otherwise. */
  sourceWritesBack?: (sourceId: string) => boolean;
}

/** Maps a person's source and source key to the correlation value in the targets. */
export type CorrelationValue = (source: string, key: string) => string;

export const bareKey: CorrelationValue = (_source, key) => key;
export const sourceQualified: CorrelationValue = (source, key) => `${source}:${key}`;

/**
 * The correlation rule for a worker's set of sources: `bare` (the source key as is), `qualified`
 * (`<source>:<key>`), or `auto` (the default): bare with one source, qualified with several, so two
 * sources with the same key never share an account.
 */
export function correlationFor(setting: string | undefined, sourceCount: number): CorrelationValue {
  const mode = (setting ?? 'auto').trim().toLowerCase();
  if (mode === 'bare') return bareKey;
  if (mode === 'qualified') return sourceQualified;
  if (mode !== 'auto') throw new Error(`TENURE_CORRELATION must be auto, bare or qualified (got '${setting}')`);
  return sourceCount > 1 ? sourceQualified : bareKey;
}

export function createLifecycleActivities(deps: LifecycleDeps) {
  return {
    /** Evaluates rules, the primary contract and the lifecycle moments for one person, now. */
    async planPerson(input: { person: Person; now?: number }): Promise<PersonPlan> {
      const plan = planPerson(await deps.rules(), input.person, input.now ?? Date.now(), deps.correlationValue);
      return deps.sourceWritesBack ? { ...plan, sourceWritesBack: deps.sourceWritesBack(input.person.source) } : plan;
    },

    /**
     * The person's username, UPN and e-mail: reserved ones first (a rehire gets the old
     * username back), else the first free candidate in every target and the reservation table.
     * On a name change the e-mail follows the new name and the old one becomes an alias.
     */
    async reserveIdentity(input: { personKey: string; person: Person; current?: Identity }): Promise<Identity> {
      return reserveIdentity(deps, input.personKey, input.person, input.current);
    },
  };
}

export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;

export function planPerson(
  rules: Rules,
  person: Person,
  now: number,
  correlationValue: CorrelationValue = bareKey,
): PersonPlan {
  const tz = rules.timeZone;
  const today = localDate(now, tz);
  const evaluation = evaluate(person, rules, today);
  const primary = primaryContract(person.contracts, today, rules.primaryContract);
  const targets: TargetPlan[] = [];
  const upcoming: PlannedAction[] = [];
  let employed = false;
  const selectedContracts: Record<string, string[]> = {};
  for (const t of rules.targets) {
    if (!t.enabled) continue;
    const schedule = computeSchedule(person, timingsFor(rules, t.id), now, tz);
    // Until the disable moment (which may be later on the day after the end date) the person
    // keeps the entitlements of their last working day.
    const end = schedule?.employment.endDate;
    const lastDay =
      end && today > end && schedule?.disableAt !== undefined && now < schedule.disableAt ? end : undefined;
    const desired = (lastDay ? evaluate(person, rules, lastDay) : evaluation).targets[t.id];
    if (schedule) employed = true;
    const giving = [...(desired?.account?.reasons ?? []), ...(desired?.accountAccess?.reasons ?? [])];
    if (giving.length)
      selectedContracts[t.id] = [...new Set(giving.flatMap((r) => (r.contractId ? [r.contractId] : [])))].sort();
    const descriptor = descriptorOf(t);
    const plan: TargetPlan = {
      targetId: t.id,
      kind: t.kind,
      role: descriptor.role,
      permissionNoun: descriptor.permissionNoun,
      wantsAccount: Boolean(desired?.account) || Boolean(desired?.accountAccess),
      wantsAccess: Boolean(desired?.accountAccess),
      accountReason: desired?.account?.reasons[0],
      accessReason: desired?.accountAccess?.reasons[0],
      createAt: schedule?.createAt,
      enableAt: schedule?.enableAt,
      disableAt: schedule?.disableAt,
      deleteAt: schedule?.deleteAt,
      retentionMs: retentionMs(timingsFor(rules, t.id)),
      onStart: [],
      onLeave: [],
      permissions: (desired?.permissions ?? []).map((p) => ({
        target: t.id,
        name: p.name,
        dynamic: p.reasons.some((r) => r.template),
        reasons: p.reasons,
      })),
    };
    const events = lifecycleEvents(rules, person, t.id);
    plan.onStart = events.onStart;
    plan.onLeave = events.onLeave;
    targets.push(plan);
    if (!schedule) continue;
    const moments: [string, number | undefined, string][] = [
      ['createAccount', schedule.createAt, `create ${t.id} account (disabled)`],
      ['enableAccount', schedule.enableAt, `enable ${t.id} account`],
      ['disableAccount', schedule.disableAt, `disable ${t.id} account, revoke its permissions, notify the manager`],
      ['deleteAccount', schedule.deleteAt, `delete ${t.id} account`],
    ];
    for (const [action, at, description] of moments) {
      if (at === undefined || at <= now) continue;
      upcoming.push({
        action,
        target: t.id,
        at: new Date(at).toISOString(),
        local: `${localDate(at, tz)} ${localTime(at, tz)}`,
        description,
      });
    }
  }
  upcoming.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

  // Entitlements can change when any contract starts or ends: wake then to re-plan.
  let reevaluateAt: number | undefined;
  for (const c of person.contracts) {
    for (const day of [c.startDate, c.endDate ? nextDay(c.endDate) : undefined]) {
      if (!day) continue;
      const at = zonedMoment(day, '00:00', tz);
      if (at > now && (reevaluateAt === undefined || at < reevaluateAt)) reevaluateAt = at;
    }
  }

  const employment = employments(person.contracts).find((e) => primary && e.contractIds.includes(primary.id));
  return {
    ruleSetVersion: evaluation.ruleSetVersion,
    timeZone: tz,
    displayName: displayName(person.name),
    primaryContractId: primary?.id,
    departmentCode: primary?.department.code,
    startDate: employment?.startDate,
    endDate: employment?.endDate,
    employed,
    targets,
    reevaluateAt,
    managerKey: primary?.managerKey ? `${person.source}:${primary.managerKey}` : undefined,
    managerEmployeeId: primary?.managerKey ? correlationValue(person.source, primary.managerKey) : undefined,
    account: {
      ...accountAttributes(
        person,
        primary?.id,
        correlationValue(person.source, person.key),
        primary?.managerKey ? correlationValue(person.source, primary.managerKey) : undefined,
      ),
      selectedContracts,
    },
    upcoming,
  };
}

function retentionMs(t: { deleteAfterSeconds?: number; deleteAfterDays: number }): number {
  return t.deleteAfterSeconds !== undefined ? t.deleteAfterSeconds * 1000 : t.deleteAfterDays * 86_400_000;
}

/** The event grants of every rule that matches the person and at least one of their contracts. */
function lifecycleEvents(rules: Rules, person: Person, targetId: string): { onStart: string[]; onLeave: string[] } {
  const onStart = new Set<string>();
  const onLeave = new Set<string>();
  for (const rule of rules.rules) {
    const ent = rule.entitlements[targetId];
    if (!ent || (!ent.onStart && !ent.onLeave)) continue;
    if (!matchPerson(rule, person) || !person.contracts.some((c) => matchContract(rule, c))) continue;
    for (const p of ent.onStart ?? []) onStart.add(p);
    for (const p of ent.onLeave ?? []) onLeave.add(p);
  }
  return { onStart: [...onStart].sort(), onLeave: [...onLeave].sort() };
}

function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

async function reserveIdentity(
  deps: LifecycleDeps,
  personKey: string,
  person: Person,
  current?: Identity,
): Promise<Identity> {
  if (current?.adopted) return current; // an adopted account's names stay as they are
  const reserved = await reservationsOf(deps.pool, personKey);
  const employeeId = (deps.correlationValue ?? bareKey)(person.source, person.key);
  const pattern = (await deps.rules()).naming?.usernamePattern;
  const opts = {
    mailDomain: deps.mailDomain,
    upnSuffix: deps.upnSuffix,
    reservedLocalParts: deps.reservedLocalParts,
    pattern,
  };

  const takenInTargets = async (c: { username: string; userPrincipalName: string; email: string }) => {
    for (const [id, t] of deps.targets) {
      try {
        if (await t.isTaken(c, employeeId)) return true;
      } catch (err) {
        // The directory must answer; a dependent target that is down must not hold up the
        // directory account (it rejects a clash itself when it is back, visible in its status).
        if (await isDirectory(deps, id)) throw err;
      }
    }
    return false;
  };
  const values = (c: { username: string; userPrincipalName: string; email: string }) => [
    { kind: 'username' as IdentityKind, value: c.username },
    { kind: 'upn' as IdentityKind, value: c.userPrincipalName },
    { kind: 'email' as IdentityKind, value: c.email },
  ];

  const username = current?.username ?? reserved.username;
  const upn = current?.userPrincipalName ?? reserved.upn;
  if (username && upn && !deps.renameUsernameOnNameChange) {
    // Keep the username and UPN for good; only the e-mail follows a name change.
    const email = await nextFreeEmail(
      deps,
      personKey,
      person,
      employeeId,
      username,
      current?.email ?? reserved.emails.at(-1),
    );
    const previous = current?.email ?? reserved.emails.at(-1);
    const aliases = new Set([...(current?.aliases ?? []), ...reserved.emails.filter((e) => e !== email)]);
    if (previous && previous !== email) aliases.add(previous);
    aliases.delete(email);
    await reserve(deps.pool, personKey, [{ kind: 'email', value: email }]);
    return { username, userPrincipalName: upn, email, aliases: [...aliases].sort() };
  }

  const chosen = await generateIdentity(person.name, {
    ...opts,
    isTaken: async (c) => {
      if (await reservedByOthers(deps.pool, personKey, values(c))) return true;
      if (await takenInTargets(c)) return true;
      return !(await reserve(deps.pool, personKey, values(c)));
    },
  });
  const previous = current?.email;
  const aliases = new Set(current?.aliases ?? []);
  if (previous && previous !== chosen.email) aliases.add(previous);
  return {
    username: chosen.username,
    userPrincipalName: chosen.userPrincipalName,
    email: chosen.email,
    aliases: [...aliases].sort(),
  };
}

/** Directory targets (their descriptor's role) fix the identity; every other target depends on them. */
async function isDirectory(deps: LifecycleDeps, targetId: string): Promise<boolean> {
  const target = (await deps.rules()).targets.find((t) => t.id === targetId);
  return target !== undefined && descriptorOf(target).role === 'directory';
}

/** The e-mail for the current name: the old one while the name is unchanged, else the first free candidate. */
async function nextFreeEmail(
  deps: LifecycleDeps,
  personKey: string,
  person: Person,
  employeeId: string,
  username: string,
  previous?: string,
): Promise<string> {
  for (const c of identityCandidates(person.name, {
    mailDomain: deps.mailDomain,
    upnSuffix: deps.upnSuffix,
    reservedLocalParts: deps.reservedLocalParts,
    pattern: (await deps.rules()).naming?.usernamePattern,
  })) {
    if (previous && c.email === previous) return previous;
    if (await reservedByOthers(deps.pool, personKey, [{ kind: 'email', value: c.email }])) continue;
    let taken = false;
    for (const [id, t] of deps.targets) {
      const candidate = { username, userPrincipalName: `${username}@${deps.upnSuffix}`, email: c.email };
      try {
        if (await t.isTaken(candidate, employeeId)) taken = true;
      } catch (err) {
        if (await isDirectory(deps, id)) throw err;
      }
    }
    if (!taken) return c.email;
  }
  throw new Error(`no free e-mail address for ${personKey}`);
}

/** The account attributes from the person and the primary contract (identity is added by the workflow). */
function accountAttributes(
  person: Person,
  primaryId: string | undefined,
  employeeId: string,
  managerEmployeeId: string | undefined,
): AccountAttributes {
  const primary = person.contracts.find((c) => c.id === primaryId);
  return {
    personKey: `${person.source}:${person.key}`,
    employeeId,
    displayName: displayName(person.name),
    givenName: person.name.nickName,
    familyName: familyDisplayName(person.name),
    initials: person.name.initials,
    title: primary?.title?.name ?? primary?.title?.code,
    department: primary?.department.name ?? primary?.department.code,
    departmentCode: primary?.department.code,
    company: primary?.employer,
    location: primary?.location ?? person.location,
    managerEmployeeId,
    // Filled only when the source's field mapping gives them (absent keys keep old plans as they were).
    ...defined({
      mobilePhone: person.mobilePhone,
      businessPhone: person.businessPhone,
      gender: person.gender,
      contractType: primary?.contractType,
      hoursPerWeek: primary?.hoursPerWeek,
      custom: Object.keys(person.custom ?? {}).length ? person.custom : undefined,
      contractCustom: primary?.custom,
    }),
    contracts: person.contracts,
    name: person.name,
  };
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
