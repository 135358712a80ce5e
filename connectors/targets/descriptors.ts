/**
 * One descriptor per target kind (docs/connector-contract.md, "Target descriptors"): everything the
 * engine needs to know about a kind, so no other module decides behaviour by comparing kind names.
 *
 * - `role`: `directory` holds the primary account and fixes the identity (username, UPN, e-mail),
 *   so it is reconciled first; `dependent` targets follow side by side; `file-export` targets are
 *   dependents whose accounts reach the system by a scheduled file export.
 * - `config`: the kind's environment prefix and parser; a rules-file target's `options` go over it
 *   (connectors/targets/instance-config.ts).
 * - `create`: the connector for one rules-file target.
 * - `connectivity`: a short reachability check of one target (the `checkConnectivity` workflow).
 * - `dayOnePassword`, `permissionNoun`, `listsOnlyManagedPermissions`, `exportFiles`: see below.
 *
 * Workflow code cannot import this module: planPerson copies `role` and `permissionNoun` into each
 * target's plan, and the workflow reads them from there.
 */
import type pg from 'pg';
import { AdTargetConnector } from './ad.js';
import { AdConfigSchema, adConfigInputFromEnv } from './ad/config.js';
import { checkAdConnectivity } from './ad/connectivity.js';
import {
  extraAttributeNames,
  parseAttributeTemplates,
  withAttributeTemplates,
  type AttributeTemplates,
} from './attribute-mapping.js';
import { EntraTargetConnector } from './entra.js';
import { ENTRA_EXTRA_PROPERTIES, EntraConfigSchema, entraConfigInputFromEnv } from './entra/config.js';
import { HelloIdTargetConnector } from './helloid.js';
import { HelloIdConfigSchema, helloIdConfigInputFromEnv } from './helloid/config.js';
import { instanceConfig, parseWith, type KindConfigSource } from './instance-config.js';
import { SpendCloudTargetConnector, exportAndUpload } from './spendcloud.js';
import { parseSpendCloudConfig, spendCloudConfigInputFromEnv } from './spendcloud/config.js';
import { checkSftpFolder } from './spendcloud/export.js';
import { TopdeskTargetConnector } from './topdesk.js';
import { TopdeskConfigSchema, topdeskConfigInputFromEnv } from './topdesk/config.js';
import type { TargetConnector } from '../types.js';

/** What a target is to the lifecycle: see the header. */
export type TargetRole = 'directory' | 'dependent' | 'file-export';
/** How summaries name a target's permissions: `ad: grant 2 groups`, `helloid: grant 1 permission`. */
export type PermissionNoun = 'group' | 'permission';

/** A rules-file target: id, kind and its options. */
export interface TargetInstance {
  id: string;
  kind: string;
  options?: Record<string, unknown> | undefined;
}

export interface TargetDeps {
  /** The worker's vault pool (Spend Cloud keeps its rows there). */
  pool: pg.Pool;
}

/** What one scheduled file export did (activities/file-exports.ts). */
export interface FileExportOutcome {
  target: string;
  persons: number;
  roles: number;
  files: number;
  attempts: number;
  millis: number;
}

export interface TargetDescriptor {
  kind: string;
  /** The product name, for the accounts listed in a manager's mail. */
  label: string;
  role: TargetRole;
  /** The environment variables the kind reads (`AD_*`), for messages and docs. */
  env: string;
  /** The connector of one rules-file target; throws naming the target and the option. */
  create(target: TargetInstance, env: NodeJS.ProcessEnv, deps: TargetDeps): TargetConnector;
  /** Reachability of one target: a line for the checklist, or a throw with the reason. */
  connectivity?: { component: string; check(target: TargetInstance, env: NodeJS.ProcessEnv): Promise<string> };
  /** The connector can give day-one access at the first enable (AD a password, Entra ID a Temporary Access Pass). */
  dayOnePassword: boolean;
  permissionNoun: PermissionNoun;
  /**
   * listPermissions answers only inside the connector's own managed scope (AD: the groups OU), so
   * a full check may revoke whatever it lists when `ownership.managedPermissions` is empty. Other
   * kinds list everything and revoke only Tenure's own grants (docs/ownership.md, "Full check").
   */
  listsOnlyManagedPermissions: boolean;
  /** `file-export` kinds: the scheduled full export and upload of one target. */
  exportFiles?(connector: TargetConnector, deps: TargetDeps, log: (line: string) => void): Promise<FileExportOutcome>;
}

/** The attribute names a kind's `attributes` templates may use besides the account fields. */
type TemplateExtras = Parameters<typeof parseAttributeTemplates>[2];

/**
 * A descriptor from a kind's typed parts: the instance configuration is parsed once per call and
 * handed to `build` and `check` with its own type.
 */
function describeKind<C>(d: {
  kind: string;
  label: string;
  role: TargetRole;
  config: KindConfigSource<C>;
  templateExtras?: TemplateExtras;
  build(t: TargetInstance, config: C, templates: AttributeTemplates, deps: TargetDeps): TargetConnector;
  connectivity?: { component: string; check(config: C): Promise<string> };
  dayOnePassword?: boolean;
  permissionNoun?: PermissionNoun;
  listsOnlyManagedPermissions?: boolean;
  exportFiles?: TargetDescriptor['exportFiles'];
}): TargetDescriptor {
  const { connectivity } = d;
  return {
    kind: d.kind,
    label: d.label,
    role: d.role,
    env: d.config.env,
    create(t, env, deps) {
      const templates = parseAttributeTemplates(t, t.options?.attributes, d.templateExtras);
      const config = { ...instanceConfig(t, d.config, env), id: t.id };
      return withAttributeTemplates(d.build(t, config, templates, deps), templates);
    },
    connectivity: connectivity && {
      component: connectivity.component,
      check: (t, env) => connectivity.check({ ...instanceConfig(t, d.config, env), id: t.id }),
    },
    dayOnePassword: d.dayOnePassword ?? false,
    permissionNoun: d.permissionNoun ?? 'permission',
    listsOnlyManagedPermissions: d.listsOnlyManagedPermissions ?? false,
    exportFiles: d.exportFiles,
  };
}

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

const AD = describeKind({
  kind: 'ad',
  label: 'Active Directory',
  role: 'directory',
  config: AD_CONFIG,
  templateExtras: 'ldap',
  build: (_t, config, templates) =>
    new AdTargetConnector({ ...config, extraAttributes: extraAttributeNames(templates) }),
  connectivity: { component: 'directory (LDAP)', check: checkAdConnectivity },
  dayOnePassword: true,
  permissionNoun: 'group',
  listsOnlyManagedPermissions: true,
});

const ENTRA = describeKind({
  kind: 'entra',
  label: 'Entra ID',
  role: 'dependent',
  config: ENTRA_CONFIG,
  templateExtras: ENTRA_EXTRA_PROPERTIES,
  build: (_t, config, templates) =>
    new EntraTargetConnector({
      ...config,
      extraProperties: extraAttributeNames(templates) as (typeof ENTRA_EXTRA_PROPERTIES)[number][],
    }),
  dayOnePassword: true,
});

/** HelloID templates may also name `userAttributes.<name>` (written under the user's userAttributes). */
const HELLOID_USER_ATTRIBUTE = /^userAttributes\.[A-Za-z0-9_-]{1,64}$/;

const HELLOID = describeKind({
  kind: 'helloid',
  label: 'HelloID',
  role: 'dependent',
  config: HELLOID_CONFIG,
  templateExtras: HELLOID_USER_ATTRIBUTE,
  build: (_t, config, templates) =>
    new HelloIdTargetConnector({
      ...config,
      extraUserAttributes: extraAttributeNames(templates).map((k) => k.slice('userAttributes.'.length)),
    }),
});

const TOPDESK = describeKind({
  kind: 'topdesk',
  label: 'TOPdesk',
  role: 'dependent',
  config: TOPDESK_CONFIG,
  build: (_t, config) => new TopdeskTargetConnector(config),
});

const SPENDCLOUD = describeKind({
  kind: 'spendcloud',
  label: 'Spend Cloud',
  role: 'file-export',
  config: SPENDCLOUD_CONFIG,
  build: (_t, config, _templates, { pool }) => new SpendCloudTargetConnector(pool, config),
  connectivity: {
    component: 'file drop (SFTP)',
    check: (config) => {
      if (!config.sftp) throw new Error('no SFTP connection configured (SPENDCLOUD_SFTP_HOST or SFTP_HOST)');
      return checkSftpFolder(config.sftp);
    },
  },
  async exportFiles(connector, { pool }, log) {
    if (!(connector instanceof SpendCloudTargetConnector))
      throw new Error(`target '${connector.id}' is not a Spend Cloud connector`);
    const r = await exportAndUpload(pool, connector.config, { log });
    return {
      target: r.target,
      persons: r.persons,
      roles: r.roles,
      files: r.files.length,
      attempts: r.attempts,
      millis: r.millis,
    };
  },
});

/** Every kind this build knows, by kind. */
export const TARGET_DESCRIPTORS: ReadonlyMap<string, TargetDescriptor> = new Map(
  [AD, ENTRA, HELLOID, TOPDESK, SPENDCLOUD].map((d) => [d.kind, d]),
);

/** The product name of a kind, for the accounts listed in a mail; an unknown kind is shown as is. */
export function targetLabel(kind: string): string {
  return TARGET_DESCRIPTORS.get(kind)?.label ?? kind;
}

/** The descriptor of a rules-file target's kind; an unknown kind names the target and the kinds known. */
export function descriptorOf(target: { id: string; kind: string }): TargetDescriptor {
  const d = TARGET_DESCRIPTORS.get(target.kind);
  if (!d)
    throw new Error(
      `target '${target.id}' has kind '${target.kind}'; this worker knows ${[...TARGET_DESCRIPTORS.keys()].join(', ')}`,
    );
  return d;
}

/** Refuses a rules file with a target of an unknown kind (enabled or not), naming every such target. */
export function assertKnownTargetKinds(targets: readonly { id: string; kind: string }[]): void {
  const unknown = targets.filter((t) => !TARGET_DESCRIPTORS.has(t.kind));
  if (unknown.length)
    throw new Error(
      `${unknown.map((t) => `target '${t.id}' has kind '${t.kind}'`).join('; ')}; this worker knows ${[...TARGET_DESCRIPTORS.keys()].join(', ')}`,
    );
}

/** The connector of one rules-file target. */
export function createTarget(target: TargetInstance, env: NodeJS.ProcessEnv, deps: TargetDeps): TargetConnector {
  return descriptorOf(target).create(target, env, deps);
}
