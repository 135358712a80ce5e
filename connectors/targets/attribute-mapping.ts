/**
 * Per-target attribute mapping (rules file `targets[].options.attributes`, docs/rules.md): which
 * person and contract fields go to which account attribute, as simple templates such as
 * `{{given}} {{surname}}` or `{{title}} ({{hoursPerWeek}} h)`.
 *
 * A key is either an account field every connector writes (`displayName`, `title`, `location`,
 * `username`, ...; see ACCOUNT_FIELDS) or, for AD, an LDAP attribute the connector then also
 * writes and compares (`mobile`, `telephoneNumber`, `extensionAttribute1`, ...). Rendering only
 * fills in text: the connector escapes it for its protocol as it does every value (an AD value is
 * an attribute value, the CN is escaped as a DN component; Graph and HelloID get JSON), so a
 * template can never inject a filter, a DN or a JSON field. Control characters become spaces and the
 * result is trimmed; an empty result clears the attribute.
 */
import { z } from 'zod';
import type { DesiredAccount, TargetConnector } from '../types.js';

/** DesiredAccount fields a template may set, for every kind. */
export const ACCOUNT_FIELDS = [
  'username',
  'userPrincipalName',
  'email',
  'displayName',
  'givenName',
  'familyName',
  'initials',
  'title',
  'department',
  'company',
  'location',
] as const;
type AccountField = (typeof ACCOUNT_FIELDS)[number];

/** Login names must never be empty. */
const REQUIRED: ReadonlySet<string> = new Set(['username', 'userPrincipalName', 'displayName']);

/** Placeholders: `{{name}}`, `{{custom.<name>}}`, `{{contract.custom.<name>}}`. */
export const TEMPLATE_FIELDS = [
  'username',
  'userPrincipalName',
  'email',
  'displayName',
  'given',
  'surname',
  'initials',
  'title',
  'department',
  'departmentCode',
  'company',
  'location',
  'employeeId',
  'mobilePhone',
  'businessPhone',
  'gender',
  'contractType',
  'hoursPerWeek',
] as const;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const CUSTOM_PLACEHOLDER = /^(contract\.)?custom\.[A-Za-z0-9_-]{1,64}$/;

/** AD attributes a template may not set: they belong to the connector's own logic or to security. */
const AD_RESERVED = new Set(
  [
    'objectClass',
    'objectGUID',
    'objectSid',
    'cn',
    'name',
    'distinguishedName',
    'sAMAccountName',
    'userPrincipalName',
    'mail',
    'proxyAddresses',
    'displayName',
    'givenName',
    'sn',
    'initials',
    'title',
    'department',
    'company',
    'physicalDeliveryOfficeName',
    'employeeID',
    'manager',
    'member',
    'memberOf',
    'userAccountControl',
    'unicodePwd',
    'userPassword',
    'pwdLastSet',
    'accountExpires',
    'lockoutTime',
    'servicePrincipalName',
    'adminCount',
    'primaryGroupID',
    'sIDHistory',
    'msDS-AllowedToDelegateTo',
    'altSecurityIdentities',
  ].map((a) => a.toLowerCase()),
);

const Template = z
  .string({ error: 'expected a template string' })
  .max(500, 'longer than 500 characters')
  .superRefine((s, ctx) => {
    for (const m of s.matchAll(PLACEHOLDER)) {
      const f = m[1] ?? '';
      if (!(TEMPLATE_FIELDS as readonly string[]).includes(f) && !CUSTOM_PLACEHOLDER.test(f))
        ctx.addIssue({
          code: 'custom',
          message: `unknown placeholder {{${f}}}; use ${TEMPLATE_FIELDS.map((x) => `{{${x}}}`).join(', ')}, {{custom.<name>}} or {{contract.custom.<name>}}`,
        });
    }
    if (/\{\{|\}\}/.test(s.replace(PLACEHOLDER, ''))) ctx.addIssue({ code: 'custom', message: 'unbalanced {{ or }}' });
  });

export type AttributeTemplates = Record<string, string>;

/**
 * Validates a target's `attributes` option. `extra`: which names the kind writes besides the
 * account fields: `ldap` (AD: any attribute but the connector's own), a list (Entra ID: some Graph
 * properties), a pattern (HelloID: `userAttributes.<name>`), or none. Throws naming the target and the key.
 */
export function parseAttributeTemplates(
  target: { id: string; kind: string },
  raw: unknown,
  extra?: 'ldap' | readonly string[] | RegExp,
): AttributeTemplates {
  if (raw === undefined) return {};
  const parsed = z.record(z.string(), Template).safeParse(raw);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const i of parsed.error.issues) problems.push(`options.attributes.${i.path.join('.')}: ${i.message}`);
  } else {
    for (const key of Object.keys(parsed.data)) {
      if ((ACCOUNT_FIELDS as readonly string[]).includes(key)) continue;
      if (extra instanceof RegExp) {
        if (!extra.test(key))
          problems.push(
            `options.attributes.${key}: a ${target.kind} target takes templates for ${ACCOUNT_FIELDS.join(', ')} and ${extra.source}`,
          );
      } else if (Array.isArray(extra)) {
        if (!extra.includes(key))
          problems.push(
            `options.attributes.${key}: a ${target.kind} target takes templates for ${[...ACCOUNT_FIELDS, ...extra].join(', ')}`,
          );
      } else if (extra !== 'ldap')
        problems.push(
          `options.attributes.${key}: a ${target.kind} target takes templates for ${ACCOUNT_FIELDS.join(', ')}`,
        );
      else if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(key))
        problems.push(`options.attributes.${key}: not an attribute name`);
      else if (AD_RESERVED.has(key.toLowerCase()))
        problems.push(
          `options.attributes.${key}: written by the connector itself; use the account field (${ACCOUNT_FIELDS.join(', ')})`,
        );
    }
  }
  if (problems.length) throw new Error(`target '${target.id}': ${problems.join('; ')}`);
  return parsed.success ? parsed.data : {};
}

/** The names a template adds besides the account fields (AD writes and compares these too). */
export function extraAttributeNames(templates: AttributeTemplates): string[] {
  return Object.keys(templates).filter((k) => !(ACCOUNT_FIELDS as readonly string[]).includes(k));
}

function valueOf(d: DesiredAccount, field: string): string {
  if (field.startsWith('contract.custom.')) return d.contractCustom?.[field.slice(16)] ?? '';
  if (field.startsWith('custom.')) return d.custom?.[field.slice(7)] ?? '';
  const map: Record<string, unknown> = {
    ...d,
    given: d.givenName,
    surname: d.familyName,
  };
  const v = map[field];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

// eslint-disable-next-line no-control-regex -- control characters never belong in an attribute
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Fills a template from the account's fields; undefined when it comes out empty. */
export function renderTemplate(template: string, d: DesiredAccount): string | undefined {
  const out = template
    .replace(PLACEHOLDER, (_m, f: string) => valueOf(d, f))
    .replace(CONTROL, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return out === '' ? undefined : out;
}

/** The desired account with the templates applied (account fields replaced, the rest as extras). */
export function applyTemplates(templates: AttributeTemplates, d: DesiredAccount): DesiredAccount {
  if (!Object.keys(templates).length) return d;
  const out: DesiredAccount = { ...d };
  const extras: Record<string, string | undefined> = {};
  for (const [key, template] of Object.entries(templates)) {
    const value = renderTemplate(template, d);
    if ((ACCOUNT_FIELDS as readonly string[]).includes(key)) {
      if (value === undefined && REQUIRED.has(key)) continue; // keep the generated value
      (out as unknown as Record<string, unknown>)[key as AccountField] = value ?? '';
    } else extras[key] = value;
  }
  if (Object.keys(extras).length) out.extraAttributes = extras;
  return out;
}

/**
 * The connector with its templates applied to every create and update; every other call passes
 * straight through (methods bound to the connector, so its private state works).
 */
export function withAttributeTemplates<T extends TargetConnector>(connector: T, templates: AttributeTemplates): T {
  if (!Object.keys(templates).length) return connector;
  return new Proxy(connector, {
    get(target, prop) {
      if (prop === 'create') return (d: DesiredAccount) => target.create(applyTemplates(templates, d));
      if (prop === 'update')
        return (ref: Parameters<T['update']>[0], d: DesiredAccount) => target.update(ref, applyTemplates(templates, d));
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
