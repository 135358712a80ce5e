/**
 * Sleeping employee workflows: N hires whose contract starts tomorrow wait on a durable timer (the
 * re-evaluation at the contract's start, local midnight). Measures the worker's memory while they
 * sleep, SIGKILLs the worker and starts a new one, and times how the timers fire after the restart.
 *
 *   set -a; . .run/demo/services.env; set +a
 *   node --import tsx scripts/bench/sleeping.ts --count 10000 [--min-wait 15] [--cache N]
 *
 * So that "tomorrow" comes within the run, the rules' time zone is the IANA zone whose next local
 * midnight is the first at least `--min-wait` minutes away (zones differ by 15 to 60 minutes).
 * The rules give no account access (plans only, no directory writes): the figure is Temporal's and
 * the worker's, at sizes the test directory cannot hold quickly. Fired timers are counted from the
 * worker's /metrics (planPerson executions), never by querying the workflows (a query replays one).
 * `--cache` sets TENURE_MAX_CACHED_WORKFLOWS for the workers. Everything it starts is removed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { POLL_WORKFLOW_TYPE } from '../../common/messages.js';
import { LIFECYCLE_TASK_QUEUE } from '../../common/task-queues.js';
import { employeeWorkflowId } from '../../domain/model.js';
import { connectClient } from '../../workers/temporal-connection.js';
import { loadWorkflowBundle } from '../../workers/workflow-bundle.js';
import {
  cpuSecondsOf,
  csvOf,
  eachLimited,
  makePersons,
  memoryOf,
  secs,
  sleep,
  startWorker,
  stopWorker,
  waitForWorker,
  type WorkerProcess,
} from './stack.js';

const METRICS_PORT = 19465;

/** The zone whose next local midnight is the first at least `minWaitMs` away, and that midnight. */
function zoneWithMidnightAfter(now: number, minWaitMs: number): { zone: string; midnight: number; date: string } {
  let best: { zone: string; midnight: number; date: string } | undefined;
  for (const zone of Intl.supportedValuesOf('timeZone')) {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-CA', {
        timeZone: zone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      })
        .formatToParts(now)
        .map((p) => [p.type, p.value]),
    );
    const sinceMidnight = (Number(parts.hour) * 3600 + Number(parts.minute) * 60 + Number(parts.second)) * 1000;
    const midnight = now - sinceMidnight + 86_400_000 - (now % 1000);
    if (midnight - now < minWaitMs) continue;
    if (!best || midnight < best.midnight) {
      const tomorrow = new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day) + 1));
      best = { zone, midnight, date: tomorrow.toISOString().slice(0, 10) };
    }
  }
  if (!best) throw new Error('no time zone has its midnight in the window');
  return best;
}

async function plansCounted(): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`, { signal: AbortSignal.timeout(5000) });
    let n = 0;
    for (const line of (await res.text()).split('\n'))
      if (line.startsWith('tenure_activity_duration_seconds_count{') && line.includes('activity="planPerson"'))
        n += Number(line.slice(line.lastIndexOf(' ') + 1));
    return n;
  } catch {
    return undefined;
  }
}

const mib = (kb: number | undefined) => `${((kb ?? NaN) / 1024).toFixed(0)} MiB`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000' },
      'min-wait': { type: 'string', default: '15' },
      cache: { type: 'string' },
    },
  });
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new Error('--count: 1 to 100,000');
  const minWaitMs = Number(values['min-wait']) * 60_000;
  if (!(minWaitMs >= 60_000)) throw new Error('--min-wait: at least 1 (minutes)');
  const runId = Date.now().toString(36).slice(-6);
  const sourceId = `sl${runId}`;
  const { zone, midnight, date } = zoneWithMidnightAfter(Date.now(), minWaitMs);
  const dir = mkdtempSync(join(tmpdir(), 'tenure-bench-sleeping-'));
  const persons = makePersons({
    count,
    keyPrefix: `s${runId}`,
    startDate: date,
    departmentCodes: ['SLP1', 'SLP2', 'SLP3', 'SLP4'],
  });
  const keys = persons.map((p) => `${sourceId}:${p.key}`);
  const client = await connectClient();
  const workers: WorkerProcess[] = [];
  let exit = 1;
  console.log(
    `sleeping workflows benchmark: ${count} hires starting ${date} in ${zone} (local midnight ${new Date(midnight).toISOString()},` +
      ` ${secs(midnight - Date.now())} from now); run ${runId}, folder ${dir}`,
  );
  try {
    const exportPath = join(dir, 'hr-export.csv');
    const rulesPath = join(dir, 'rules.yaml');
    writeFileSync(exportPath, csvOf(persons));
    writeFileSync(
      rulesPath,
      stringify({
        version: `${runId}-sleep`,
        timeZone: zone,
        targets: [{ id: 'ad', kind: 'ad' }],
        rules: [{ name: 'benchmark staff', entitlements: { ad: { accountAccess: false } } }],
      }),
    );
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await loadWorkflowBundle({})).code);
    const env = {
      ...process.env,
      TENURE_RULES_FILE: rulesPath,
      TENURE_RULES_SET: `bench-${runId}`,
      TENURE_FILE_SOURCE: exportPath,
      TENURE_FILE_SOURCE_ID: sourceId,
      TENURE_SCHEDULES: 'off',
      TENURE_FILE_SOURCE_THRESHOLDS: '{"firstPoll":"accept"}',
      TENURE_WORKFLOW_BUNDLE: bundlePath,
      TENURE_PAYLOADS_PLAINTEXT: process.env.TENURE_ENCRYPTION_KEYS ? '' : '1',
      TENURE_METRICS_PORT: String(METRICS_PORT),
      ...(values.cache ? { TENURE_MAX_CACHED_WORKFLOWS: values.cache } : {}),
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: '9',
      SMTP_FROM: 'Tenure benchmark <tenure@tenure.test>',
    };
    const start = async () => {
      const w = startWorker(env, join(dir, `worker-${workers.length + 1}.log`));
      workers.push(w);
      await waitForWorker(w, 90_000);
      return w;
    };
    let worker = await start();

    // The hires: one poll; each workflow plans once and goes to sleep until the contract starts.
    const t0 = Date.now();
    await client.workflow.execute(POLL_WORKFLOW_TYPE, {
      taskQueue: LIFECYCLE_TASK_QUEUE,
      workflowId: `poll-${sourceId}-bench`,
      args: [{ sourceId, batchSize: 500 }],
    });
    let planned = 0;
    while (planned < count && Date.now() < midnight - 120_000) {
      planned = (await plansCounted()) ?? planned;
      if (planned < count) await sleep(1000);
    }
    if (planned < count) throw new Error(`only ${planned} of ${count} planned before the timers were due`);
    console.log(`  ${count} hires asleep in ${secs(Date.now() - t0)}`);

    // Steady state: the worker's memory while everyone sleeps (one sample every 5 s for a minute).
    const rss: number[] = [];
    for (let i = 0; i < 12; i++) {
      rss.push(memoryOf(worker.pid)?.rssKb ?? NaN);
      await sleep(5000);
    }
    const sorted = [...rss].sort((a, b) => a - b);
    const before = memoryOf(worker.pid);
    const cpuFirst = cpuSecondsOf(worker.pid);
    console.log(
      `  asleep, first worker RSS min ${mib(sorted[0])} / median ${mib(sorted[6])} / max ${mib(sorted[11])} over 60 s` +
        ` (peak ${mib(before?.hwmKb)}); CPU ${cpuFirst.toFixed(1)} s for the poll and the first plans`,
    );

    // A worker killed while everyone sleeps; a new one takes over before the timers are due.
    worker.child.kill('SIGKILL');
    await worker.exited;
    worker = await start();
    await sleep(30_000);
    console.log(`  worker SIGKILLed and replaced; the new worker asleep: RSS ${mib(memoryOf(worker.pid)?.rssKb)}`);
    if (Date.now() > midnight) throw new Error('the timers were due before the new worker was ready');

    // The timers: counted as the new worker plans each person again at the contract's start.
    const base = (await plansCounted()) ?? 0;
    await sleep(midnight - Date.now());
    const deadline = midnight + Math.max(600_000, count * 200);
    let fired = 0;
    let half = NaN;
    while (Date.now() < deadline) {
      fired = ((await plansCounted()) ?? base) - base;
      if (Number.isNaN(half) && fired >= count / 2) half = Date.now() - midnight;
      if (fired >= count) break;
      await sleep(500);
    }
    const all = Date.now() - midnight;
    const mem = memoryOf(worker.pid);
    console.log(`Results (N=${count}; load average now ${loadavg()[0]!.toFixed(1)} on 2 cores)`);
    console.log(`  timers fired         ${Math.min(fired, count)}/${count} after the restart`);
    console.log(`  after the due moment half fired in ${secs(half)}, all in ${secs(all)}`);
    console.log(
      `  new worker           RSS ${mib(mem?.rssKb)} (peak ${mib(mem?.hwmKb)}), CPU ${cpuSecondsOf(worker.pid).toFixed(1)} s`,
    );
    exit = fired >= count ? 0 : 1;
  } catch (err) {
    console.error(`benchmark failed: ${(err as Error).message}`);
  } finally {
    console.log('Cleaning up');
    await eachLimited(keys, 8, (k) =>
      client.workflow
        .getHandle(employeeWorkflowId(k))
        .terminate('benchmark finished')
        .then(
          () => undefined,
          () => undefined,
        ),
    );
    for (const w of workers) await stopWorker(w);
    await client.connection.close().catch(() => undefined);
  }
  return exit;
}

process.exitCode = await main();
