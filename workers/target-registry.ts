/**
 * Every target kind the worker can build. Each rules-file target is an instance: its `options`
 * over the kind's environment variables (connectors/targets/instance-config.ts), secrets only by
 * environment variable name. A target whose options give no connector setting runs on the
 * environment alone, as before.
 */
import type pg from 'pg';
import { AdTargetConnector } from '../connectors/targets/ad.js';
import { AdConfigSchema, adConfigInputFromEnv } from '../connectors/targets/ad/config.js';
import { EntraTargetConnector } from '../connectors/targets/entra.js';
import {
  ENTRA_EXTRA_PROPERTIES,
  EntraConfigSchema,
  entraConfigInputFromEnv,
} from '../connectors/targets/entra/config.js';
import { HelloIdTargetConnector } from '../connectors/targets/helloid.js';
import { HelloIdConfigSchema, helloIdConfigInputFromEnv } from '../connectors/targets/helloid/config.js';
import { instanceConfig, parseWith, type KindConfigSource } from '../connectors/targets/instance-config.js';
import { SpendCloudTargetConnector } from '../connectors/targets/spendcloud.js';
import { parseSpendCloudConfig, spendCloudConfigInputFromEnv } from '../connectors/targets/spendcloud/config.js';
import { TopdeskTargetConnector } from '../connectors/targets/topdesk.js';
import { TopdeskConfigSchema, topdeskConfigInputFromEnv } from '../connectors/targets/topdesk/config.js';
import type { TargetConnector } from '../connectors/types.js';
import {
  extraAttributeNames,
  parseAttributeTemplates,
  withAttributeTemplates,
} from '../connectors/targets/attribute-mapping.js';

/** A rules-file target: id, kind and its options. */
export interface TargetInstance {
  id: string;
  kind: string;
  options?: Record<string, unknown> | undefined;
}

export type TargetFactory = (
  target: TargetInstance,
  env: NodeJS.ProcessEnv,
  deps: { pool: pg.Pool },
) => TargetConnector;

export const AD_CONFIG: KindConfigSource<ReturnType<typeof AdConfigSchema.parse>> = {
  env: 'AD_*',
  inputFromEnv: adConfigInputFromEnv,
  parse: parseWith(AdConfigSchema, 'Active Directory'),
};
const ENTRA_CONFIG = {
  env: 'ENTRA_*',
  inputFromEnv: entraConfigInputFromEnv,
  parse: parseWith(EntraConfigSchema, 'Entra ID'),
};
const HELLOID_CONFIG = {
  env: 'HELLOID_*',
  inputFromEnv: helloIdConfigInputFromEnv,
  parse: parseWith(HelloIdConfigSchema, 'HelloID'),
};
const TOPDESK_CONFIG = {
  env: 'TOPDESK_*',
  inputFromEnv: topdeskConfigInputFromEnv,
  parse: parseWith(TopdeskConfigSchema, 'TOPdesk'),
};
const SPENDCLOUD_CONFIG = {
  env: 'SPENDCLOUD_*',
  inputFromEnv: spendCloudConfigInputFromEnv,
  parse: parseSpendCloudConfig,
};

/** HelloID templates may also name `userAttributes.<name>` (written under the user's userAttributes). */
const HELLOID_USER_ATTRIBUTE = /^userAttributes\.[A-Za-z0-9_-]{1,64}$/;

/** The target's `attributes` templates (AD may name extra LDAP attributes; the others the account fields). */
const templatesOf = (t: TargetInstance) =>
  parseAttributeTemplates(
    t,
    t.options?.attributes,
    t.kind === 'ad'
      ? 'ldap'
      : t.kind === 'entra'
        ? ENTRA_EXTRA_PROPERTIES
        : t.kind === 'helloid'
          ? HELLOID_USER_ATTRIBUTE
          : undefined,
  );

export const TARGET_KINDS: Record<string, TargetFactory> = {
  ad: (t, env) => {
    const templates = templatesOf(t);
    const config = { ...instanceConfig(t, AD_CONFIG, env), id: t.id, extraAttributes: extraAttributeNames(templates) };
    return withAttributeTemplates(new AdTargetConnector(config), templates);
  },
  helloid: (t, env) => {
    const templates = templatesOf(t);
    const extraUserAttributes = extraAttributeNames(templates).map((k) => k.slice('userAttributes.'.length));
    const config = { ...instanceConfig(t, HELLOID_CONFIG, env), id: t.id, extraUserAttributes };
    return withAttributeTemplates(new HelloIdTargetConnector(config), templates);
  },
  entra: (t, env) => {
    const templates = templatesOf(t);
    const extraProperties = extraAttributeNames(templates) as (typeof ENTRA_EXTRA_PROPERTIES)[number][];
    const config = { ...instanceConfig(t, ENTRA_CONFIG, env), id: t.id, extraProperties };
    return withAttributeTemplates(new EntraTargetConnector(config), templates);
  },
  topdesk: (t, env) =>
    withAttributeTemplates(
      new TopdeskTargetConnector({ ...instanceConfig(t, TOPDESK_CONFIG, env), id: t.id }),
      templatesOf(t),
    ),
  spendcloud: (t, env, { pool }) =>
    withAttributeTemplates(
      new SpendCloudTargetConnector(pool, { ...instanceConfig(t, SPENDCLOUD_CONFIG, env), id: t.id }),
      templatesOf(t),
    ),
};

export function createTarget(target: TargetInstance, env: NodeJS.ProcessEnv, deps: { pool: pg.Pool }): TargetConnector {
  const factory = TARGET_KINDS[target.kind];
  if (!factory) {
    throw new Error(
      `target '${target.id}' has kind '${target.kind}'; this worker knows ${Object.keys(TARGET_KINDS).join(', ')}`,
    );
  }
  return factory(target, env, deps);
}
