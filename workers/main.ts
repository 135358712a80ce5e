/**
 * The Tenure worker process: migrates the vault, makes sure every source has its poll schedule,
 * and runs the lifecycle and directory workers until SIGINT/SIGTERM.
 */
import { migrate } from '../vault/migrate.js';
import { connectClient, connectWorker, temporalSettingsFromEnv } from './temporal-connection.js';
import { createTenureWorkers, tenureSettingsFromEnv } from './tenure-workers.js';
import { loadWorkflowBundle } from './workflow-bundle.js';
import {
  ensureExportSchedules,
  ensureRetentionSchedule,
  ensureSourceSchedules,
  exportSchedulesFor,
} from './schedules.js';
import { ensureAlertSweepSchedule } from './alert-schedule.js';

const settings = tenureSettingsFromEnv(process.env, { metricsPort: 9464 });
const temporal = temporalSettingsFromEnv();
// Off when the worker connects as the restricted role (compose: the tenure-migrate job migrates).
if (process.env.TENURE_MIGRATE !== 'off') await migrate(settings.databaseUrl, (line) => console.log(`[vault] ${line}`));
const [connection, client, workflowBundle] = await Promise.all([
  connectWorker(temporal),
  connectClient(temporal),
  loadWorkflowBundle(),
]);
const runtime = await createTenureWorkers({
  settings,
  connection,
  client,
  workflowBundle,
  namespace: temporal.namespace,
  taskQueue: process.env.TENURE_TASK_QUEUE || undefined,
});
if (process.env.TENURE_SCHEDULES !== 'off') {
  const taskQueue = process.env.TENURE_TASK_QUEUE || undefined;
  if (runtime.schedules.length > 0) await ensureSourceSchedules(client, runtime.schedules, { taskQueue });
  await ensureAlertSweepSchedule(client, runtime.alertSettings.sweepEvery, { taskQueue });
  if (settings.retentionDays !== null) await ensureRetentionSchedule(client, '1d', { taskQueue });
  const exports = exportSchedulesFor(runtime.rules.targets, process.env);
  if (exports.length > 0) await ensureExportSchedules(client, exports, { taskQueue });
}
console.log(
  `[worker] running on ${temporal.address} namespace ${temporal.namespace}: rules ${runtime.rules.version}, ` +
    `targets ${[...runtime.targets.keys()].join(', ') || 'none'}, sources ${[...runtime.sources.keys()].join(', ') || 'none'}` +
    (runtime.metricsServer ? `, metrics ${runtime.metricsServer.url}` : ''),
);
try {
  await Promise.all(runtime.workers.map((w) => w.run()));
} finally {
  await runtime.close();
  await client.connection.close();
  await connection.close();
}
