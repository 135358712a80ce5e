/**
 * Assembles Tenure's workers from settings: the lifecycle queue (employee and poll workflows,
 * rules, vault, sources, mail) and the Active Directory queue (directory writes, bounded
 * concurrency because the directory serialises writes anyway).
 */
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import pg from 'pg';
import { createConnectivityActivities, connectivityDepsFromEnv } from '../activities/connectivity.js';
import { createLifecycleActivities } from '../activities/lifecycle.js';
import { createManagerMailActivities } from '../activities/manager-mail.js';
import { createNotifyActivities, Mailer } from '../activities/notify.js';
import { createPollActivities } from '../activities/poll.js';
import { createTargetActivities } from '../activities/targets.js';
import { createWriteBackActivities } from '../activities/writeback.js';
import { createFileExportActivities } from '../activities/file-exports.js';
import type { ThresholdSettings } from '../activities/poll.js';
import { createSources, loadTenureConfig, sourceSchedules, thresholdsBySource } from '../common/tenure-config.js';
import { tenureSourceRegistry } from './source-registry.js';
import { createTarget } from './target-registry.js';
import { LIFECYCLE_TASK_QUEUE, targetTaskQueue } from '../common/task-queues.js';
import { FileSource } from '../connectors/sources/file.js';
import type { SourceConnector, TargetConnector } from '../connectors/types.js';
import type { Rules } from '../domain/rules.js';
import { loadRulesFile } from '../domain/rules-file.js';
import { dataConverterFromEnv } from './temporal-connection.js';
import { createRulesProvider, type RulesProvider } from './rules-provider.js';
import { createRulesApplyActivities, rulesApplyLimitsFromEnv } from '../activities/rules-apply.js';

export interface TenureSettings {
  databaseUrl: string;
  rulesFile: string;
  /** File sources: id → export path (quick start without a config file). */
  fileSources: { id: string; path: string; every: string }[];
  /** The sources config file (common/tenure-config.ts); when set, its sources are used too. */
  configFile?: string;
  mailDomain: string;
  upnSuffix: string;
  adMaxConcurrent: number;
  /** Which rule set of the vault this installation plans with (TENURE_RULES_SET, default `default`). */
  rulesSet: string;
  env: NodeJS.ProcessEnv;
}

export function tenureSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TenureSettings {
  const need = (k: string) => {
    const v = env[k];
    if (!v) throw new Error(`${k} is not set`);
    return v;
  };
  const fileSources = env.TENURE_FILE_SOURCE
    ? [{ id: env.TENURE_FILE_SOURCE_ID ?? 'file', path: env.TENURE_FILE_SOURCE, every: env.TENURE_POLL_EVERY ?? '5m' }]
    : [];
  return {
    databaseUrl: need('DATABASE_URL'),
    rulesFile: need('TENURE_RULES_FILE'),
    fileSources,
    configFile: env.TENURE_CONFIG_FILE || undefined,
    mailDomain: env.TENURE_MAIL_DOMAIN ?? env.AD_MAIL_DOMAIN ?? 'tenure.test',
    upnSuffix: env.AD_UPN_SUFFIX ?? 'tenure.test',
    adMaxConcurrent: Number(env.TENURE_AD_MAX_CONCURRENT ?? 4),
    rulesSet: env.TENURE_RULES_SET || 'default',
    env,
  };
}

export interface TenureRuntime {
  workers: Worker[];
  pool: pg.Pool;
  targets: Map<string, TargetConnector>;
  sources: Map<string, SourceConnector>;
  /** The rules file the worker started with (its targets are the connectors it runs). */
  rules: Rules;
  /** The rules in force now: the vault's current version, else the file. */
  rulesProvider: RulesProvider;
  /** Poll schedules of every configured source. */
  schedules: { id: string; every: string }[];
  close(): Promise<void>;
}

export async function createTenureWorkers(opts: {
  settings: TenureSettings;
  connection: NativeConnection;
  client: Client;
  workflowBundle: WorkflowBundle;
  namespace?: string;
  /** Payload encryption (issue 3): defaults to the codec from TENURE_ENCRYPTION_KEYS in settings.env. */
  dataConverter?: DataConverter;
  /** Lifecycle task queue (default LIFECYCLE_TASK_QUEUE); target queues are derived from it. */
  taskQueue?: string;
}): Promise<TenureRuntime> {
  const { settings } = opts;
  const taskQueue = opts.taskQueue ?? LIFECYCLE_TASK_QUEUE;
  const dataConverter = opts.dataConverter ?? dataConverterFromEnv(settings.env); // payload encryption (issue 3)
  const rules = await loadRulesFile(settings.rulesFile);
  const pool = new pg.Pool({ connectionString: settings.databaseUrl, max: 10, application_name: 'tenure-worker' });
  // A connection the server drops while idle (a PostgreSQL restart or failover) must not end the
  // worker: the pool discards it and opens a new one; an activity caught mid-query is retried.
  pool.on('error', (err) => console.warn(`[vault] connection lost: ${err.message}`));
  const rulesProvider = createRulesProvider({
    pool,
    fileRules: rules,
    rulesSet: settings.rulesSet,
    log: (line) => console.log(line),
  });
  const targets = new Map<string, TargetConnector>();
  for (const t of rules.targets) {
    if (t.enabled) targets.set(t.id, createTarget(t.id, t.kind, settings.env, { pool }));
  }
  const sources = new Map<string, SourceConnector>();
  const schedules = settings.fileSources.map((s) => ({ id: s.id, every: s.every }));
  for (const s of settings.fileSources) sources.set(s.id, new FileSource({ id: s.id, path: s.path }));
  let thresholds = new Map<string, ThresholdSettings>();
  if (settings.configFile) {
    const config = await loadTenureConfig(settings.configFile, { registry: tenureSourceRegistry(), env: settings.env });
    for (const [id, source] of createSources(config)) sources.set(id, source);
    thresholds = thresholdsBySource(config);
    schedules.push(...sourceSchedules(config));
  }

  const mailer = Mailer.fromEnv(settings.env);
  const namespace = opts.namespace ?? settings.env.TEMPORAL_NAMESPACE ?? 'default';
  const lifecycleWorker = await Worker.create({
    connection: opts.connection,
    namespace,
    taskQueue,
    dataConverter,
    workflowBundle: opts.workflowBundle,
    activities: {
      ...createLifecycleActivities({
        pool,
        rules: () => rulesProvider.current(),
        targets,
        mailDomain: settings.mailDomain,
        upnSuffix: settings.upnSuffix,
      }),
      ...createManagerMailActivities({ pool, notify: createNotifyActivities(mailer) }),
      ...createPollActivities({ pool, client: opts.client, sources, thresholds, employeeTaskQueue: taskQueue }),
      ...createWriteBackActivities({ pool, sources }),
      ...createFileExportActivities({ pool, targets }),
      ...createConnectivityActivities(connectivityDepsFromEnv(settings.env)),
      ...createRulesApplyActivities({
        pool,
        client: opts.client,
        rulesSet: settings.rulesSet,
        sources: () => [...sources.keys()],
        taskQueue,
        limits: rulesApplyLimitsFromEnv(settings.env),
      }),
    },
  });
  // One worker per target, on that target's own queue; the directory's concurrency is bounded.
  const targetWorkers = await Promise.all(
    [...targets.keys()].map((id) =>
      Worker.create({
        connection: opts.connection,
        namespace,
        taskQueue: targetTaskQueue(taskQueue, id),
        dataConverter,
        activities: createTargetActivities({ pool, targets }),
        maxConcurrentActivityTaskExecutions: settings.adMaxConcurrent,
      }),
    ),
  );
  return {
    workers: [lifecycleWorker, ...targetWorkers],
    pool,
    targets,
    sources,
    rules,
    rulesProvider,
    schedules,
    async close() {
      for (const t of targets.values()) await t.close().catch(() => undefined);
      mailer.close();
      await pool.end();
    },
  };
}
