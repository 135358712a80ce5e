/**
 * Runs the real Tenure workers in the test process against the servers scripts/test.sh started
 * (Temporal, PostgreSQL, Samba AD) plus a real SMTP sink, with a rules file and an HR export
 * written by the test. Every test gets its own source id and person keys.
 */
import './quiet-runtime.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import { POLL_WORKFLOW_TYPE, statusQuery, type PollSummary, type StatusView } from '../../common/messages.js';
import { localMoment } from '../../domain/dates.js';
import { employeeWorkflowId } from '../../domain/model.js';
import { auditTrail, type AuditRecord } from '../../vault/audit.js';
import { connectClient, connectWorker, temporalSettingsFromEnv } from '../../workers/temporal-connection.js';
import { createTenureWorkers, tenureSettingsFromEnv, type TenureRuntime } from '../../workers/tenure-workers.js';
import { loadWorkflowBundle } from '../../workers/workflow-bundle.js';
import { requireEnv, uniqueSuffix } from './env.js';
import { SmtpSink } from './smtp-sink.js';

export const CSV_HEADER =
  'person_key;nick_name;given_name;initials;family_name_prefix;family_name;partner_name_prefix;partner_name;name_convention;business_email;location;contract_id;start_date;end_date;department_code;department_name;title_code;title_name;contract_location;manager_key;employer;fte;sequence';

export interface Row {
  key: string;
  nick: string;
  family: string;
  prefix?: string;
  partner?: string;
  partnerPrefix?: string;
  convention?: string;
  email?: string;
  contract: string;
  start: string;
  end?: string;
  dept: string;
  deptName?: string;
  title?: string;
  location?: string;
  manager?: string;
}

export function csvOf(rows: Row[]): string {
  const cell = (v: string | undefined) => (v ?? '').replace(/;/g, ',');
  return (
    [CSV_HEADER]
      .concat(
        rows.map((r) =>
          [
            r.key,
            r.nick,
            r.nick,
            r.nick[0] + '.',
            r.prefix,
            r.family,
            r.partnerPrefix,
            r.partner,
            r.convention ?? 'B',
            r.email,
            r.location,
            r.contract,
            r.start,
            r.end,
            r.dept,
            r.deptName ?? r.dept,
            r.title ?? 'MW',
            r.title ?? 'Medewerker',
            r.location,
            r.manager,
            'Tenure Zorg',
            '1',
            '1',
          ]
            .map(cell)
            .join(';'),
        ),
      )
      .join('\n') + '\n'
  );
}

export interface Harness {
  sourceId: string;
  client: Client;
  runtime: TenureRuntime;
  smtp: SmtpSink;
  db: pg.Pool;
  ldap: LdapClient;
  dir: string;
  /** A fresh person key (short: AD's employeeID holds 16 characters). */
  key(): string;
  writeExport(rows: Row[]): void;
  /** Runs one poll of the harness's file source, or of another configured source. */
  poll(sourceId?: string): Promise<PollSummary>;
  status(personKey: string): Promise<StatusView>;
  audit(personKey: string): Promise<AuditRecord[]>;
  adUser(employeeId: string): Promise<Record<string, unknown> | undefined>;
  stop(): Promise<void>;
}

const NO_LIMITS = { removed: {}, endingToday: {}, changes: {} };
const THRESHOLDS_OFF = { firstPoll: 'accept', perImport: NO_LIMITS, window: NO_LIMITS, truncatedPercent: null };

export async function startHarness(rulesYaml: string, env: Record<string, string> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-test-'));
  const sourceId = `t${uniqueSuffix()}`.slice(0, 20).toLowerCase();
  const exportPath = join(dir, 'hr-export.csv');
  const rulesPath = join(dir, 'rules.yaml');
  writeFileSync(rulesPath, rulesYaml);
  writeFileSync(exportPath, `${CSV_HEADER}\n`);
  const smtp = await new SmtpSink().start();
  const settings = tenureSettingsFromEnv({
    ...process.env,
    TENURE_RULES_FILE: rulesPath,
    TENURE_FILE_SOURCE: exportPath,
    TENURE_FILE_SOURCE_ID: sourceId,
    // Lifecycle tests, not threshold tests (test/thresholds.test.ts): no limits, no go-live hold.
    TENURE_FILE_SOURCE_THRESHOLDS: JSON.stringify(THRESHOLDS_OFF),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    SMTP_FROM: 'Tenure <tenure@tenure.test>',
    // Unencrypted unless the test passes TENURE_ENCRYPTION_KEYS (then the keys win).
    TENURE_PAYLOADS_PLAINTEXT: '1',
    ...env,
  });
  // The client reads the same encryption settings as the workers (keys passed in `env` included).
  const temporal = temporalSettingsFromEnv(settings.env);
  const [connection, client, workflowBundle] = await Promise.all([
    connectWorker(temporal),
    connectClient(temporal),
    sharedBundle(),
  ]);
  // A task queue of its own: other workers on the same test server never take this test's tasks.
  const taskQueue = `tenure-test-${sourceId}`;
  const runtime = await createTenureWorkers({
    taskQueue,
    settings,
    connection: connection as NativeConnection,
    client,
    workflowBundle,
  });
  const running = runtime.workers.map((w) => w.run());
  const db = new pg.Pool({ connectionString: requireEnv('DATABASE_URL'), max: 3 });
  const ldap = new LdapClient({
    url: requireEnv('AD_URL'),
    tlsOptions: { rejectUnauthorized: false },
    timeout: 10_000,
  });
  await ldap.bind(requireEnv('AD_BIND_DN'), requireEnv('AD_BIND_PASSWORD'));
  await ensureStaticGroups(ldap, runtime);
  const started: string[] = [];
  let n = 0;
  const prefix = uniqueSuffix().slice(-6);

  return {
    sourceId,
    client,
    runtime,
    smtp,
    db,
    ldap,
    dir,
    key() {
      n += 1;
      const k = `${prefix}${String(n).padStart(3, '0')}`;
      started.push(`${sourceId}:${k}`);
      return k;
    },
    writeExport(rows) {
      writeFileSync(exportPath, csvOf(rows));
    },
    async poll(id = sourceId) {
      return client.workflow.execute(POLL_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: `poll-${id}-${uniqueSuffix()}`,
        args: [{ sourceId: id, batchSize: 50 }],
      });
    },
    async status(personKey) {
      return client.workflow.getHandle(employeeWorkflowId(personKey)).query(statusQuery);
    },
    async audit(personKey) {
      return auditTrail(db, personKey);
    },
    async adUser(employeeId) {
      const search = () =>
        ldap.search(requireEnv('AD_BASE_DN'), {
          filter: `(&(objectClass=user)(employeeID=${employeeId}))`,
          attributes: [
            'dn',
            'displayName',
            'givenName',
            'sn',
            'mail',
            'proxyAddresses',
            'userAccountControl',
            'sAMAccountName',
            'userPrincipalName',
            'memberOf',
            'title',
            'department',
            'manager',
            'employeeID',
            'objectGUID',
          ],
        });
      let result;
      try {
        result = await search();
      } catch {
        // The directory was restarted under us (outage tests): bind again once.
        await ldap.unbind().catch(() => undefined);
        await ldap.bind(requireEnv('AD_BIND_DN'), requireEnv('AD_BIND_PASSWORD'));
        result = await search();
      }
      return result.searchEntries[0];
    },
    async stop() {
      for (const key of started) {
        await client.workflow
          .getHandle(employeeWorkflowId(key))
          .terminate('test finished')
          .catch(() => undefined);
      }
      for (const w of runtime.workers) w.shutdown();
      await Promise.allSettled(running);
      await runtime.close();
      await ldap.unbind().catch(() => undefined);
      await db.end();
      await smtp.stop();
      await client.connection.close();
      await connection.close();
    },
  };
}

/** Static groups named in the rules are managed by the directory's admins; create them for the test tenant. */
async function ensureStaticGroups(ldap: LdapClient, runtime: TenureRuntime): Promise<void> {
  const groupsOU = process.env.AD_GROUPS_OU ?? `OU=Groups,OU=Tenure,${requireEnv('AD_BASE_DN')}`;
  const names = new Set(
    runtime.rules.rules.flatMap((r) => Object.values(r.entitlements).flatMap((e) => e.permissions ?? [])),
  );
  for (const name of names) {
    await ldap
      .add(`CN=${name},${groupsOU}`, { objectClass: ['top', 'group'], sAMAccountName: name, groupType: '-2147483646' })
      .catch((err: { code?: number }) => {
        if (err.code !== 68) throw err; // 68: already exists
      });
  }
}

let bundlePromise: ReturnType<typeof loadWorkflowBundle> | undefined;
function sharedBundle() {
  bundlePromise ??= loadWorkflowBundle();
  return bundlePromise;
}

/** Polls `read` until `ok` holds (or the time is up, returning the last value for the assertion). */
export async function eventually<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 60_000,
  stepMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) return last!;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** `HH:MM:SS` of (now + seconds) in the zone, and that day's date. */
export function wallClockIn(
  seconds: number,
  timeZone = 'Europe/Amsterdam',
): { date: string; time: string; at: number } {
  const at = Date.now() + seconds * 1000;
  return { ...localMoment(at, timeZone), at: Math.floor(at / 1000) * 1000 };
}

export const UAC_DISABLED = 0x2;

function eventTypeName(type: unknown): string {
  return proto.temporal.api.enums.v1.EventType[Number(type)]?.replace('EVENT_TYPE_', '') ?? String(type);
}

/**
 * Why a workflow's task keeps failing or timing out, from its history: the last
 * WorkflowTaskFailed or WorkflowTaskTimedOut event with its cause and message. For assertion
 * messages, so a CI failure says what the worker reported instead of only "in failed state".
 */
export async function workflowTaskTrouble(client: Client, workflowId: string): Promise<string> {
  return troubleIn(workflowId, (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []);
}

function troubleIn(workflowId: string, events: proto.temporal.api.history.v1.IHistoryEvent[]): string {
  const troubles: string[] = [];
  for (const e of events) {
    const failed = e.workflowTaskFailedEventAttributes;
    const timedOut = e.workflowTaskTimedOutEventAttributes;
    if (failed) troubles.push(`#${e.eventId} task failed (cause ${failed.cause}): ${failed.failure?.message ?? ''}`);
    if (timedOut) troubles.push(`#${e.eventId} task timed out (${timedOut.timeoutType})`);
  }
  const last = events.at(-1);
  return `${workflowId}: ${events.length} events, last #${last?.eventId} ${eventTypeName(last?.eventType)}; ${
    troubles.slice(-3).join('; ') || 'no failed or timed-out workflow task in the history'
  }`;
}

/**
 * Queries every workflow; one whose workflow task is failing does not throw but is reported (with
 * what its history says) through `trouble`, so a polling loop goes on and its last message explains.
 */
export async function queryAll<T>(
  client: Client,
  workflowIds: string[],
  query: (id: string) => Promise<T>,
  trouble: (message: string) => void,
): Promise<(T | undefined)[]> {
  const settled = await Promise.allSettled(workflowIds.map(query));
  const failing = workflowIds.filter((_, i) => settled[i]!.status === 'rejected');
  if (failing.length > 0) {
    const first = settled.find((x) => x.status === 'rejected') as PromiseRejectedResult;
    const detail = await workflowTaskTrouble(client, failing[0]!).catch(
      (e: Error) => `history unreadable: ${e.message}`,
    );
    trouble(
      `${failing.length} of ${workflowIds.length} queries failed (${(first.reason as Error).message}); ${detail}`,
    );
  }
  return settled.map((x) => (x.status === 'fulfilled' ? x.value : undefined));
}

/**
 * The audit rows of a person once `ok` holds for them (or the last rows when the time is up, for
 * the assertion). A target's state can be visible before the step that made it has written its
 * audit rows: the reconcile step writes them after its last call to the target.
 */
export function auditOnce(
  h: Pick<Harness, 'audit'>,
  personKey: string,
  ok: (rows: AuditRecord[]) => boolean,
  timeoutMs = 60_000,
): Promise<AuditRecord[]> {
  return eventually(() => h.audit(personKey), ok, timeoutMs, 250);
}

/**
 * Where a person's workflow stands, for an assertion message when a change did not arrive: its
 * status (state, health, last cause and error), the activities it waits on (with attempt and last
 * failure), its last history events and any failing workflow task. No personal data beyond the
 * test's synthetic names.
 */
export async function explainPerson(h: Pick<Harness, 'client' | 'status'>, personKey: string): Promise<string> {
  const workflowId = employeeWorkflowId(personKey);
  const parts: string[] = [];
  try {
    const s = await h.status(personKey);
    parts.push(
      `state ${s.state}, health ${s.health}, last cause "${s.lastCause ?? ''}"${
        s.lastError ? `, last error ${s.lastError.target} ${s.lastError.action}: ${s.lastError.message}` : ''
      }${s.writeBackError ? `, write-back error: ${s.writeBackError.message}` : ''}`,
    );
  } catch (err) {
    parts.push(`status unreadable: ${(err as Error).message}`);
  }
  try {
    const d = await h.client.workflow.getHandle(workflowId).describe();
    const pending = (d.raw.pendingActivities ?? []).map(
      (a) =>
        `${a.activityType?.name} attempt ${a.attempt} state ${a.state}${a.lastFailure ? ` (${a.lastFailure.message})` : ''}`,
    );
    parts.push(`${d.status.name}, pending: ${pending.join('; ') || 'no activity'}`);
    const events = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    parts.push(
      `last events: ${events
        .slice(-6)
        .map((e) => `#${e.eventId} ${eventTypeName(e.eventType)}`)
        .join(', ')}`,
    );
    parts.push(troubleIn(workflowId, events));
  } catch (err) {
    parts.push(`history unreadable: ${(err as Error).message}`);
  }
  return parts.join(' | ');
}
