/**
 * Every target kind the worker can build, from the rules file's `targets` (id, kind) and the
 * environment (each connector's own variables; secrets never in files).
 */
import type pg from 'pg';
import { AdTargetConnector, adConfigFromEnv } from '../connectors/targets/ad.js';
import { EntraTargetConnector, entraConfigFromEnv } from '../connectors/targets/entra.js';
import { HelloIdTargetConnector, helloIdConfigFromEnv } from '../connectors/targets/helloid.js';
import { SpendCloudTargetConnector } from '../connectors/targets/spendcloud.js';
import { spendCloudConfigFromEnv } from '../connectors/targets/spendcloud/config.js';
import { TopdeskTargetConnector, topdeskConfigFromEnv } from '../connectors/targets/topdesk.js';
import type { TargetConnector } from '../connectors/types.js';

export type TargetFactory = (id: string, env: NodeJS.ProcessEnv, deps: { pool: pg.Pool }) => TargetConnector;

export const TARGET_KINDS: Record<string, TargetFactory> = {
  ad: (id, env) => new AdTargetConnector({ ...adConfigFromEnv(env), id }),
  helloid: (id, env) => new HelloIdTargetConnector({ ...helloIdConfigFromEnv(env), id }),
  entra: (id, env) => new EntraTargetConnector({ ...entraConfigFromEnv(env), id }),
  topdesk: (id, env) => new TopdeskTargetConnector({ ...topdeskConfigFromEnv(env), id }),
  spendcloud: (id, env, { pool }) => new SpendCloudTargetConnector(pool, { ...spendCloudConfigFromEnv(env), id }),
};

export function createTarget(
  id: string,
  kind: string,
  env: NodeJS.ProcessEnv,
  deps: { pool: pg.Pool },
): TargetConnector {
  const factory = TARGET_KINDS[kind];
  if (!factory) {
    throw new Error(`target '${id}' has kind '${kind}'; this worker knows ${Object.keys(TARGET_KINDS).join(', ')}`);
  }
  return factory(id, env, deps);
}
