/**
 * Benchmark: `tenure preview` over a simulated Raet Beaufort tenant (go-live: a fresh read of the
 * source, nobody holds anything yet, so every account and permission is an action).
 *
 *   node --import tsx scripts/bench/preview.ts [persons=50000] [contracts=60000]
 *
 * Prints the time of the source read (simulator in the same process, as in raet-import.ts), the time
 * of the preview itself (planPerson + the diff for every person, totals and the full action list),
 * and the peak RSS of the process (simulator included). Goal: preview ≤ 30 s and ≤ 500 MB at 50,000.
 * Without Temporal (no TEMPORAL_ADDRESS) no workflow is queried; with it, running employee
 * workflows are listed first (none on the bench's own task queue).
 */
import { performance } from 'node:perf_hooks';
import { RaetSource } from '../../connectors/sources/raet.js';
import { previewTenant } from '../../activities/preview.js';
import { parseRules } from '../../domain/rules.js';
import { RaetSimulator, generateTenant } from '../../test/simulators/raet.js';
import { connectClient } from '../../workers/temporal-connection.js';

const persons = Number(process.argv[2] ?? 50_000);
const contracts = Number(process.argv[3] ?? 60_000);
const TODAY = '2026-07-01';
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;

const data = generateTenant({ persons, contracts, seed: 7 });
const sim = new RaetSimulator(data, { today: TODAY, callsPerWindow: 1_000_000, concurrent: 16, maxTake: 1000 });
await sim.start();
const source = new RaetSource({
  baseUrl: sim.url,
  tokenUrl: `${sim.url}/connect/token`,
  clientId: 'sim-client',
  clientSecret: 'sim-secret-do-not-log',
  tenantId: 'sim-tenant',
  today: TODAY,
  pageSize: 1000,
  rateLimit: { callsPerWindow: 1_000_000, minSpacingMs: 0, concurrency: 3 },
});
const client = process.env.TEMPORAL_ADDRESS ? await connectClient() : undefined;

try {
  let t = performance.now();
  const imported = await source.fetchAll();
  const fetchMs = performance.now() - t;
  const departments = [...new Set(imported.persons.flatMap((p) => p.contracts.map((c) => c.department.code)))].sort();
  const rules = parseRules(`
version: "bench-1"
timeZone: Europe/Amsterdam
targets:
  - { id: ad, kind: ad }
  - { id: topdesk, kind: topdesk }
rules:
  - name: employees
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff], dynamicPermissions: ["dept-{department.code}", "loc-{location}"] }
      topdesk: { accountAccess: true }
  - name: first departments
    conditions: { department: [${departments.slice(0, 3).join(', ')}] }
    entitlements:
      ad: { permissions: [special-app] }
  - name: managers
    conditions: { title: [MGR, TL] }
    entitlements:
      ad: { permissions: [managers] }
`);
  t = performance.now();
  const cpu = process.cpuUsage();
  const preview = await previewTenant({
    rules,
    client,
    taskQueue: `bench-preview-${Date.now()}`,
    persons: { imported: imported.persons },
  });
  const previewMs = performance.now() - t;
  const c = process.cpuUsage(cpu);
  console.log(
    JSON.stringify(
      {
        tenant: { persons, contracts, imported: imported.persons.length, departments: departments.length },
        fetchValidateMapMs: Math.round(fetchMs),
        preview: {
          ms: Math.round(previewMs),
          cpuMs: Math.round((c.user + c.system) / 1000),
          perPersonUs: +((previewMs * 1000) / Math.max(1, preview.totals.persons)).toFixed(1),
          temporal: client ? 'listed running workflows' : 'not used',
          totals: { ...preview.totals, byPermission: Object.keys(preview.totals.byPermission).length },
          actions: preview.actions.length,
        },
        peakRss: mb(process.resourceUsage().maxRSS),
        goal: 'preview <= 30 s, <= 500 MB',
      },
      null,
      2,
    ),
  );
} finally {
  await sim.stop();
  await client?.connection.close();
}
