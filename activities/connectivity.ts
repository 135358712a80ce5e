/**
 * Reachability checks of every real component Tenure depends on. Used by the
 * `checkConnectivity` workflow at start-up of the demo and by operators after a deployment.
 *
 * The vault is checked here; the targets by their descriptors (connectors/targets/descriptors.ts):
 * `checkDirectory` runs the connectivity check of every enabled target whose role is `directory`,
 * `checkSftp` of every `file-export` target (the activity names are the workflow's, kept for
 * running workflows). A role no configured target has is reported as such, not as a failure.
 */
import pg from 'pg';
import { descriptorOf, type TargetInstance, type TargetRole } from '../connectors/targets/descriptors.js';

export interface ComponentCheck {
  component: string;
  ok: boolean;
  detail: string;
  millis: number;
}

async function timed(component: string, fn: () => Promise<string>): Promise<ComponentCheck> {
  const started = Date.now();
  try {
    const detail = await fn();
    return { component, ok: true, detail, millis: Date.now() - started };
  } catch (err) {
    return { component, ok: false, detail: (err as Error).message, millis: Date.now() - started };
  }
}

export interface ConnectivityDeps {
  databaseUrl?: string;
  /** The rules file's enabled targets; each is checked with its own instance configuration. */
  targets: readonly TargetInstance[];
  env: NodeJS.ProcessEnv;
}

export function connectivityDepsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  targets: readonly TargetInstance[] = [],
): ConnectivityDeps {
  return { databaseUrl: env.DATABASE_URL, targets, env };
}

export function createConnectivityActivities(deps: ConnectivityDeps) {
  /** One line per target of the role; fails when any of them fails, naming each that did. */
  async function checkRole(role: TargetRole, component: string): Promise<ComponentCheck> {
    const checked = deps.targets.flatMap((t) => {
      const c = descriptorOf(t).connectivity;
      return descriptorOf(t).role === role && c ? [{ t, c }] : [];
    });
    // The descriptors' own names ('directory (LDAP)'); the role when no target has a check.
    const name = [...new Set(checked.map((x) => x.c.component))].join(', ') || component;
    return timed(name, async () => {
      if (!checked.length) return `no ${role} target with a connectivity check in the rules`;
      const results = await Promise.allSettled(checked.map(async ({ t, c }) => c.check(t, deps.env)));
      const lines = results.map((r, i) =>
        r.status === 'fulfilled'
          ? `${checked[i]!.t.id}: ${r.value}`
          : `${checked[i]!.t.id}: ${(r.reason as Error)?.message ?? String(r.reason)}`,
      );
      if (results.some((r) => r.status === 'rejected')) throw new Error(lines.join('; '));
      return lines.join('; ');
    });
  }

  return {
    async checkVault(): Promise<ComponentCheck> {
      return timed('vault (PostgreSQL)', async () => {
        if (!deps.databaseUrl) throw new Error('DATABASE_URL is not set');
        const client = new pg.Client({ connectionString: deps.databaseUrl });
        await client.connect();
        try {
          const r = await client.query<{ n: string }>('select count(*)::text as n from schema_migrations');
          return `${r.rows[0]?.n ?? 0} migrations applied`;
        } finally {
          await client.end();
        }
      });
    },

    /** The directory targets (role `directory`). */
    async checkDirectory(): Promise<ComponentCheck> {
      return checkRole('directory', 'directory');
    },

    /** The file-export targets (role `file-export`); named for the SFTP drop they upload to today. */
    async checkSftp(): Promise<ComponentCheck> {
      return checkRole('file-export', 'file export');
    },
  };
}

export type ConnectivityActivities = ReturnType<typeof createConnectivityActivities>;
