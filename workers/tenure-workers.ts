/**
 * Assembles Tenure's workers from settings: the lifecycle queue (employee and poll workflows,
 * rules, vault, sources, mail) and one queue per target (its writes, a bounded number at once).
 */
import { z } from 'zod';
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import pg from 'pg';
import { createConnectivityActivities, connectivityDepsFromEnv } from '../activities/connectivity.js';
import { correlationFor, createLifecycleActivities } from '../activities/lifecycle.js';
import { createManagerMailActivities } from '../activities/manager-mail.js';
import { createNotifyActivities, Mailer } from '../activities/notify.js';
import { createPollActivities } from '../activities/poll.js';
import { bulkPacingFromEnv, queuedTasks, type BulkPacingSettings } from '../activities/bulk-pacing.js';
import { createHeldPollPreviewer } from '../activities/held-poll-preview.js';
import { createReferenceActivities } from '../activities/references.js';
import { createTargetActivities } from '../activities/targets.js';
import { dayOnePasswordSettingsOf, type DayOnePasswordSettings } from '../activities/day-one-password.js';
import { ownershipSettingsOf, type OwnershipSettings } from '../connectors/ownership.js';
import { createWriteBackActivities } from '../activities/writeback.js';
import { createRetentionActivities } from '../activities/retention.js';
import { createFileExportActivities } from '../activities/file-exports.js';
import type { ThresholdSettings } from '../domain/thresholds.js';
import { createSources, loadTenureConfig, sourceSchedules, thresholdsBySource } from '../common/tenure-config.js';
import { thresholdsFromEnvJson } from '../common/thresholds-config.js';
import { tenureSourceRegistry } from './source-registry.js';
import { assertKnownTargetKinds, createTarget, descriptorOf } from '../connectors/targets/descriptors.js';
import { LIFECYCLE_TASK_QUEUE, targetTaskQueue } from '../common/task-queues.js';
import { FileSource } from '../connectors/sources/file.js';
import type { SourceConnector, TargetConnector } from '../connectors/types.js';
import type { Rules } from '../domain/rules.js';
import { loadRulesFile } from '../common/rules-file.js';
import { workerDataConverterFromEnv } from './temporal-connection.js';
import { observeActivities, type ActivityObserver } from '../metrics/activity-observer.js';
import { metricsObserver } from '../metrics/activity-metrics.js';
import { metricsListenFromEnv, serveMetrics, type MetricsListen, type MetricsServer } from '../metrics/http-server.js';
import { TenureMetrics, visibilityCounter } from '../metrics/tenure-metrics.js';
import { AdminAlerts } from '../alerts/admin-alerts.js';
import { alertSettingsFromEnv, type AlertSettings } from '../alerts/config.js';
import { MailTemplates, templateSettingsFromEnv } from '../alerts/mail-templates.js';
import { alertObserver } from '../alerts/observer.js';
import { createAlertSweepActivities } from '../alerts/sweep.js';
import { createBulkReprovisionActivities } from '../activities/bulk-reprovision.js';
import { createRulesProvider, type RulesProvider } from './rules-provider.js';
import { createRulesApplyActivities, rulesApplyLimitsFromEnv } from '../activities/rules-apply.js';

export interface TenureSettings {
  databaseUrl: string;
  rulesFile: string;
  /** File sources: id → export path (quick start without a config file). */
  fileSources: { id: string; path: string; every: string; thresholds?: ThresholdSettings }[];
  /** The sources config file (common/tenure-config.ts); when set, its sources are used too. */
  configFile?: string;
  mailDomain: string;
  upnSuffix: string;
  /** Activities at once on each target worker (TENURE_AD_MAX_CONCURRENT, TENURE_TARGET_MAX_CONCURRENT). */
  targetConcurrency: TargetConcurrency;
  /**
   * Employee workflows the lifecycle worker keeps in memory (TENURE_MAX_CACHED_WORKFLOWS). Each
   * one holds 61 KiB of heap when created; 10,000 asleep with the default cache kept the worker at
   * 815 MiB (measured: docs/temporal.md "Worker cache"). An evicted one is replayed from its history
   * when it wakes. The SDK's default grows with the machine's memory (thousands here).
   */
  maxCachedWorkflows: number;
  /** Bulk lane and pacing of large polls (TENURE_BULK_FROM, TENURE_BULK_IN_FLIGHT; activities/bulk-pacing.ts). */
  bulkPacing: BulkPacingSettings;
  /** Where GET /metrics listens; none: metrics are still kept (runtime.metrics) but not served. */
  metrics?: MetricsListen;
  /** Extra local parts never issued to a person (comma-separated TENURE_RESERVED_LOCAL_PARTS). */
  reservedLocalParts: string[];
  /** Days after the last account deletion before a person's data is erased; null = never (TENURE_RETENTION_DAYS=off). */
  retentionDays: number | null;
  /** Which rule set of the vault this installation plans with (TENURE_RULES_SET, default `default`). */
  rulesSet: string;
  env: NodeJS.ProcessEnv;
}

export function tenureSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  defaults: { metricsPort?: number } = {},
): TenureSettings {
  const need = (k: string) => {
    const v = env[k];
    if (!v) throw new Error(`${k} is not set`);
    return v;
  };
  const thresholdsJson = env.TENURE_FILE_SOURCE_THRESHOLDS;
  const fileSources = env.TENURE_FILE_SOURCE
    ? [
        {
          id: env.TENURE_FILE_SOURCE_ID ?? 'file',
          path: env.TENURE_FILE_SOURCE,
          every: env.TENURE_POLL_EVERY ?? '5m',
          ...(thresholdsJson
            ? { thresholds: thresholdsFromEnvJson(thresholdsJson, 'TENURE_FILE_SOURCE_THRESHOLDS') }
            : {}),
        },
      ]
    : [];
  const maxCachedWorkflows = maxCachedWorkflowsFromEnv(env.TENURE_MAX_CACHED_WORKFLOWS);
  return {
    databaseUrl: need('DATABASE_URL'),
    rulesFile: need('TENURE_RULES_FILE'),
    fileSources,
    configFile: env.TENURE_CONFIG_FILE || undefined,
    mailDomain: env.TENURE_MAIL_DOMAIN ?? env.AD_MAIL_DOMAIN ?? 'tenure.test',
    upnSuffix: env.AD_UPN_SUFFIX ?? 'tenure.test',
    targetConcurrency: targetConcurrencyFromEnv(env),
    maxCachedWorkflows,
    bulkPacing: bulkPacingFromEnv(env, maxCachedWorkflows),
    metrics: metricsListenFromEnv(env, defaults.metricsPort),
    retentionDays: retentionDaysFromEnv(env.TENURE_RETENTION_DAYS),
    reservedLocalParts: (env.TENURE_RESERVED_LOCAL_PARTS ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
    rulesSet: env.TENURE_RULES_SET || 'default',
    env,
  };
}

export const DEFAULT_RETENTION_DAYS = 90;
export const DEFAULT_MAX_CACHED_WORKFLOWS = 1000;

export interface TargetConcurrency {
  /** Targets whose role is `directory` (AD). */
  directory: number;
  /** Every other target (HTTP APIs, file exports). */
  other: number;
}

/**
 * Directory steps default to 16 at once. They share the connector's one LDAP connection, where the
 * directory works through them in turn, so more at once does not load the directory harder; but
 * grants to the same group that are under way together share one modify (connectors/targets/ad/
 * member-adds.ts). Measured with scripts/bench/provision.ts (scripts/bench/README.md): 1,000 hires
 * ran as fast at 16 as at 4 with 1.45 instead of 2.08 group modifies per person; 10,000 hires at 16
 * needed 1.28. Other targets keep 4: their APIs limit rates per tenant.
 */
export const DEFAULT_TARGET_CONCURRENCY: TargetConcurrency = { directory: 16, other: 4 };

function concurrencyFromEnv(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const r = z.coerce.number().int().min(1).max(64).safeParse(value.trim());
  if (!r.success) throw new Error(`${name}: a whole number from 1 to 64, not '${value}'`);
  return r.data;
}

/** How many steps a target's worker runs at once: by the role of the target's kind. */
export function targetStepsAtOnce(target: { id: string; kind: string }, c: TargetConcurrency): number {
  return descriptorOf(target).role === 'directory' ? c.directory : c.other;
}

/** TENURE_AD_MAX_CONCURRENT (directory targets) and TENURE_TARGET_MAX_CONCURRENT (the others). */
export function targetConcurrencyFromEnv(env: NodeJS.ProcessEnv): TargetConcurrency {
  return {
    directory: concurrencyFromEnv(
      'TENURE_AD_MAX_CONCURRENT',
      env.TENURE_AD_MAX_CONCURRENT,
      DEFAULT_TARGET_CONCURRENCY.directory,
    ),
    other: concurrencyFromEnv(
      'TENURE_TARGET_MAX_CONCURRENT',
      env.TENURE_TARGET_MAX_CONCURRENT,
      DEFAULT_TARGET_CONCURRENCY.other,
    ),
  };
}

/** TENURE_MAX_CACHED_WORKFLOWS: a whole number from 0 (no cache: every task replays) to 100,000. */
export function maxCachedWorkflowsFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_MAX_CACHED_WORKFLOWS;
  const r = z.coerce.number().int().min(0).max(100_000).safeParse(value.trim());
  if (!r.success) throw new Error(`TENURE_MAX_CACHED_WORKFLOWS: a whole number from 0 to 100000, not '${value}'`);
  return r.data;
}

/**
 * A worker asked to stop (SIGTERM, SIGINT) waits for its running activities; a directory call that
 * never returns would keep the process alive for ever. After this long the workers give up, the
 * process exits, and the activities left running time out on the server and are retried elsewhere.
 */
export const WORKER_SHUTDOWN_FORCE_MS = 30_000;

/** `TENURE_RETENTION_DAYS`: a whole number of days (default 90), or `off`. */
export function retentionDaysFromEnv(v: string | undefined): number | null {
  if (v === undefined || v.trim() === '') return DEFAULT_RETENTION_DAYS;
  if (v.trim() === 'off') return null;
  if (!/^\d+$/.test(v.trim())) throw new Error('TENURE_RETENTION_DAYS must be a whole number of days or off');
  return Number(v.trim());
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
  metrics: TenureMetrics;
  alerts: AdminAlerts;
  alertSettings: AlertSettings;
  /** Set when settings.metrics asked for the /metrics endpoint. */
  metricsServer?: MetricsServer;
  close(): Promise<void>;
}

export async function createTenureWorkers(opts: {
  settings: TenureSettings;
  connection: NativeConnection;
  client: Client;
  workflowBundle: WorkflowBundle;
  namespace?: string;
  /**
   * Payload encryption (issue 3): defaults to the codec from TENURE_ENCRYPTION_KEYS in settings.env;
   * without keys the workers refuse to start unless TENURE_PAYLOADS_PLAINTEXT=1.
   */
  dataConverter?: DataConverter;
  /** Lifecycle task queue (default LIFECYCLE_TASK_QUEUE); target queues are derived from it. */
  taskQueue?: string;
  /** More activity observers (admin alerts), next to the metrics one. */
  activityObservers?: ActivityObserver[];
}): Promise<TenureRuntime> {
  const { settings } = opts;
  const taskQueue = opts.taskQueue ?? LIFECYCLE_TASK_QUEUE;
  const dataConverter = opts.dataConverter ?? workerDataConverterFromEnv(settings.env); // payload encryption (issue 3)
  const rules = await loadRulesFile(settings.rulesFile);
  // A kind this build has no descriptor for is refused now, disabled targets included: planning
  // asks every target's descriptor for its role.
  assertKnownTargetKinds(rules.targets);
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
  const ownership = new Map<string, OwnershipSettings & { kind: string }>();
  const dayOnePasswords = new Map<string, DayOnePasswordSettings>();
  for (const t of rules.targets) {
    if (t.enabled) targets.set(t.id, createTarget(t, settings.env, { pool }));
    ownership.set(t.id, { ...ownershipSettingsOf(t), kind: t.kind });
    const dayOne = dayOnePasswordSettingsOf(t);
    if (dayOne) dayOnePasswords.set(t.id, dayOne);
  }
  const sources = new Map<string, SourceConnector>();
  const schedules = settings.fileSources.map((s) => ({ id: s.id, every: s.every }));
  for (const s of settings.fileSources) sources.set(s.id, new FileSource({ id: s.id, path: s.path }));
  const thresholds = new Map<string, ThresholdSettings>();
  for (const s of settings.fileSources) if (s.thresholds) thresholds.set(s.id, s.thresholds);
  if (settings.configFile) {
    const config = await loadTenureConfig(settings.configFile, { registry: tenureSourceRegistry(), env: settings.env });
    for (const [id, source] of createSources(config)) sources.set(id, source);
    for (const [id, t] of thresholdsBySource(config)) thresholds.set(id, t);
    schedules.push(...sourceSchedules(config));
  }

  const correlationValue = correlationFor(settings.env.TENURE_CORRELATION, sources.size);
  const mailer = Mailer.fromEnv(settings.env);
  const namespace = opts.namespace ?? settings.env.TEMPORAL_NAMESPACE ?? 'default';
  const metrics = new TenureMetrics({
    rulesVersion: rules.version,
    persons: visibilityCounter(opts.client),
    ldapOperations: () => ldapOperationsOf(targets),
  });
  const alertSettings = alertSettingsFromEnv(settings.env);
  const templates = new MailTemplates(templateSettingsFromEnv(settings.env));
  const alerts = new AdminAlerts({ pool, settings: alertSettings, templates, mailer });
  const interceptors = {
    activity: [
      observeActivities([
        metricsObserver(metrics, pool),
        alertObserver(alerts, pool, alertSettings.writebackAttempts),
        ...(opts.activityObservers ?? []),
      ]),
    ],
  };
  const lifecycleWorker = await Worker.create({
    connection: opts.connection,
    namespace,
    taskQueue,
    dataConverter,
    interceptors,
    shutdownForceTime: WORKER_SHUTDOWN_FORCE_MS,
    maxCachedWorkflows: settings.maxCachedWorkflows,
    workflowBundle: opts.workflowBundle,
    activities: {
      ...createLifecycleActivities({
        pool,
        rules: () => rulesProvider.current(),
        targets,
        mailDomain: settings.mailDomain,
        upnSuffix: settings.upnSuffix,
        correlationValue,
        reservedLocalParts: settings.reservedLocalParts,
        sourceWritesBack: (id) => typeof sources.get(id)?.writeBack === 'function',
      }),
      ...createManagerMailActivities({ pool, notify: createNotifyActivities(mailer, templates) }),
      ...createPollActivities({
        pool,
        client: opts.client,
        sources,
        thresholds,
        employeeTaskQueue: taskQueue,
        pacing: {
          ...settings.bulkPacing,
          queued: () =>
            queuedTasks(opts.client, {
              workflows: [taskQueue],
              activities: [taskQueue, ...[...targets.keys()].map((id) => targetTaskQueue(taskQueue, id))],
            }),
        },
        previewHeldPoll: createHeldPollPreviewer({
          pool,
          client: opts.client,
          taskQueue,
          rules: () => rulesProvider.current(),
          targets,
          correlationValue,
        }),
      }),
      ...createWriteBackActivities({ pool, sources }),
      ...createReferenceActivities({ pool, client: opts.client }),
      ...createFileExportActivities({ pool, targets, kinds: new Map(rules.targets.map((t) => [t.id, t.kind])) }),
      ...createConnectivityActivities(
        connectivityDepsFromEnv(
          settings.env,
          rules.targets.filter((t) => t.enabled),
        ),
      ),
      ...createAlertSweepActivities({ alerts, client: opts.client }),
      ...createBulkReprovisionActivities({ client: opts.client, namespace }),
      ...createRetentionActivities({ pool, retentionDays: settings.retentionDays ?? DEFAULT_RETENTION_DAYS }),
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
  // One worker per target, on that target's own queue, each with a bounded number of steps at once.
  const targetWorkers = await Promise.all(
    rules.targets
      .filter((t) => targets.has(t.id))
      .map(({ id, kind }) =>
        Worker.create({
          connection: opts.connection,
          namespace,
          taskQueue: targetTaskQueue(taskQueue, id),
          dataConverter,
          interceptors,
          shutdownForceTime: WORKER_SHUTDOWN_FORCE_MS,
          activities: createTargetActivities({
            pool,
            targets,
            ownership,
            dayOnePassword: { settings: dayOnePasswords, mailer, templates },
          }),
          maxConcurrentActivityTaskExecutions: targetStepsAtOnce({ id, kind }, settings.targetConcurrency),
        }),
      ),
  );
  const metricsServer = settings.metrics ? await serveMetrics(metrics, settings.metrics) : undefined;
  return {
    workers: [lifecycleWorker, ...targetWorkers],
    pool,
    targets,
    sources,
    rules,
    rulesProvider,
    schedules,
    metrics,
    alerts,
    alertSettings,
    ...(metricsServer ? { metricsServer } : {}),
    async close() {
      await metricsServer?.close();
      for (const t of targets.values()) await t.close().catch(() => undefined);
      mailer.close();
      await pool.end();
    },
  };
}

/** The operation counts of the connectors that speak LDAP (those with `ldapOperations`). */
function ldapOperationsOf(targets: Map<string, TargetConnector>): { target: string; counts: Record<string, number> }[] {
  const out: { target: string; counts: Record<string, number> }[] = [];
  for (const [target, c] of targets) {
    const counted = (c as Partial<{ ldapOperations(): Record<string, number> }>).ldapOperations;
    if (typeof counted !== 'function') continue;
    const { writes: _writes, ...counts } = counted.call(c);
    out.push({ target, counts });
  }
  return out;
}
