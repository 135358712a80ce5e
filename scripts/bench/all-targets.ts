/**
 * Benchmark (a script, not a test): provision N new employees to Active Directory plus the four
 * dependent targets at once (HelloID, Entra ID, TOPdesk simulators; Spend Cloud tables), through
 * the whole stack with in-process workers, and print persons per second end to end, latency from
 * the poll to the last target enabled (p50, p95) and the process's peak RSS (workers + simulators).
 *
 *   TENURE_ENV=test bash scripts/services/all.sh start && set -a && . .run/test/services.env && set +a
 *   node --import tsx scripts/bench/all-targets.ts [--count 1000] [--timeout 1800]
 */
import { parseArgs } from 'node:util';
import { GraphSimulator } from '../../test/simulators/graph.js';
import { HelloIdSimulator } from '../../test/simulators/helloid.js';
import { TopdeskSimulator } from '../../test/simulators/topdesk.js';
import { ALL_TARGET_KINDS, allTargetsRules } from '../../test/support/rules-fixtures.js';
import { startHarness, type Row } from '../../test/support/tenure-harness.js';

const TARGETS = ALL_TARGET_KINDS;
const { values } = parseArgs({
  options: { count: { type: 'string', default: '1000' }, timeout: { type: 'string', default: '1800' } },
});
const count = Number(values.count);
const timeoutMs = Number(values.timeout) * 1000;
const SECRET = 'bench-secret';

const hid = new HelloIdSimulator(undefined, { apiSecret: SECRET });
await hid.start();
const graph = new GraphSimulator({ tenantId: 'bench', clientId: 'bench', clientSecret: SECRET, retryAfterSec: 0.05 });
await graph.start();
const topdesk = new TopdeskSimulator({ appPassword: SECRET });
await topdesk.start();

const h = await startHarness(allTargetsRules('bench-all-targets'), {
  HELLOID_URL: hid.url,
  HELLOID_API_KEY: 'sim-key',
  HELLOID_API_SECRET: SECRET,
  ENTRA_TENANT_ID: 'bench',
  ENTRA_CLIENT_ID: 'bench',
  ENTRA_CLIENT_SECRET: SECRET,
  GRAPH_URL: graph.graphUrl,
  LOGIN_URL: graph.url,
  TOPDESK_URL: topdesk.url,
  TOPDESK_USERNAME: 'tenure-api',
  TOPDESK_APP_PASSWORD: SECRET,
  TOPDESK_DEPARTMENT_WHEN_MISSING: 'create',
});

let exitCode = 1;
try {
  const rows: Row[] = Array.from({ length: count }, () => {
    const key = h.key();
    return {
      key,
      nick: 'Bench',
      family: `Alle${key}`,
      contract: `${key}c`,
      start: '2023-01-01',
      dept: `D${Number(key.slice(-3)) % 8}`,
      location: 'Utrecht',
    };
  });
  h.writeExport(rows);
  const started = Date.now();
  const poll = await h.poll();
  console.log(`poll: ${poll.signalled} signalled in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // Done for a person when every target has an `enable` success row in the audit log.
  const query = `select person_key, max(at) as at, count(distinct target)::int as targets
                   from audit_log where person_key like $1 and action = 'enable' and outcome = 'success'
                  group by person_key`;
  let done: { person_key: string; at: Date; targets: number }[] = [];
  for (;;) {
    done = (await h.db.query(query, [`${h.sourceId}:%`])).rows.filter((r) => r.targets === TARGETS.length);
    process.stdout.write(`\r${done.length}/${count} persons enabled in all ${TARGETS.length} targets`);
    if (done.length >= count || Date.now() - started > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  console.log();
  const seconds = (Math.max(...done.map((d) => d.at.getTime())) - started) / 1000;
  const lat = done.map((d) => (d.at.getTime() - started) / 1000).sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]?.toFixed(1);
  console.log(
    `persons            ${done.length}/${count} in ${seconds.toFixed(1)} s → ${(done.length / seconds).toFixed(2)} persons/s end to end`,
  );
  console.log(`poll → all enabled p50 ${pct(50)} s, p95 ${pct(95)} s`);
  console.log(
    `peak RSS           ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (workers and simulators in one process)`,
  );
  exitCode = done.length >= count ? 0 : 1;
} finally {
  // Remove the benchmark's directory accounts again (the simulators vanish with the process).
  const { searchEntries } = await h.ldap.search(`OU=Tenure,${process.env.AD_BASE_DN}`, {
    filter: '(&(objectClass=user)(givenName=Bench))',
    attributes: ['dn'],
    paged: { pageSize: 500 },
  });
  for (const e of searchEntries) await h.ldap.del(e.dn).catch(() => undefined);
  await h.stop();
  await Promise.allSettled([hid.stop(), graph.stop(), topdesk.stop()]);
}
process.exit(exitCode);
