/**
 * Benchmark: `tenure preview` over a simulated Raet Beaufort tenant (go-live: a fresh read of the
 * source, nobody holds anything yet, so every account and permission is an action).
 *
 *   node --import tsx scripts/bench/preview.ts [persons=50000] [contracts=60000]
 *
 * The source is read through RaetSource from the simulator (as in raet-import.ts) and written to a
 * temporary JSON file; a second process (what `tenure preview --source` is, without the simulator)
 * reads it and runs the preview (planPerson + the diff for every person, the totals, and every
 * action written to a CSV file as it is planned, as `tenure preview --source ID --csv FILE` does).
 * Prints the time of both, the preview's CPU time and the preview process's peak RSS.
 * Goal: preview ≤ 30 s and ≤ 500 MB at 50,000. On a shared machine compare CPU time, not wall time.
 * Without Temporal (no TEMPORAL_ADDRESS) no workflow is listed; with it, running employee
 * workflows are listed first (none on the bench's own task queue). With DATABASE_URL, what each
 * person holds is read from the vault, as `tenure preview` does (nothing, for these new keys).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { previewTenant } from '../../activities/preview.js';
import { previewCsvFile } from '../../cli/commands/preview.js';
import { Person } from '../../domain/model.js';
import { parseRules } from '../../domain/rules.js';
import pg from 'pg';
import { connectClient } from '../../workers/temporal-connection.js';
import { simulatedRaet } from './raet-tenant.js';

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;

if (process.argv[2] === '--persons-file') await previewPhase(process.argv[3]!);
else await fetchPhase();

async function fetchPhase(): Promise<void> {
  const persons = Number(process.argv[2] ?? 50_000);
  const contracts = Number(process.argv[3] ?? 60_000);
  const { sim, source } = await simulatedRaet(persons, contracts);
  const dir = mkdtempSync(join(tmpdir(), 'tenure-bench-preview-'));
  try {
    const t = performance.now();
    const imported = await source.fetchAll();
    const fetchMs = performance.now() - t;
    await sim.stop();
    const file = join(dir, 'persons.ndjson');
    writeFileSync(file, imported.persons.map((p) => JSON.stringify(p)).join('\n'));
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--persons-file', file],
      {
        encoding: 'utf8',
        // e.g. PREVIEW_NODE_OPTIONS=--max-old-space-size=320: the heap limit of the preview process only.
        env: { ...process.env, NODE_OPTIONS: process.env.PREVIEW_NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const preview = JSON.parse(out) as Record<string, unknown>;
    console.log(
      JSON.stringify(
        {
          tenant: { persons, contracts, imported: imported.persons.length },
          fetchValidateMapMs: Math.round(fetchMs),
          fetchProcessPeakRss: mb(process.resourceUsage().maxRSS),
          ...preview,
          goal: 'preview <= 30 s, <= 500 MB',
        },
        null,
        2,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function previewPhase(file: string): Promise<void> {
  const client = process.env.TEMPORAL_ADDRESS ? await connectClient() : undefined;
  const vault = process.env.DATABASE_URL
    ? new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 })
    : undefined;
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    // One person a line, as a source connector hands them over: only the validated persons stay.
    const persons: Person[] = [];
    for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
      if (line) persons.push(Person.parse(JSON.parse(line)));
    }
    const readMs = performance.now() - t0;
    const departments = [...new Set(persons.flatMap((p) => p.contracts.map((c) => c.department.code)))].sort();
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
    const t = performance.now();
    const cpu = process.cpuUsage();
    // As `tenure preview --source ID --csv FILE`: every action goes to the CSV as it is planned.
    const csvPath = join(dirname(file), 'preview.csv');
    const csv = previewCsvFile(csvPath);
    let written = 0;
    let preview;
    try {
      preview = await previewTenant({
        rules,
        client,
        taskQueue: `bench-preview-${Date.now()}`,
        held: vault,
        persons: { imported: persons },
        onAction: csv.add,
        maxActions: 0,
      });
    } finally {
      written = csv.close();
    }
    const previewMs = performance.now() - t;
    const c = process.cpuUsage(cpu);
    const all = process.cpuUsage(cpu0);
    process.stdout.write(
      JSON.stringify({
        readPersonsFileMs: Math.round(readMs),
        preview: {
          ms: Math.round(previewMs),
          cpuMs: Math.round((c.user + c.system) / 1000),
          cpuMsInclReadingTheFile: Math.round((all.user + all.system) / 1000),
          perPersonCpuUs: +((c.user + c.system) / Math.max(1, preview.totals.persons)).toFixed(1),
          temporal: client ? 'listed running workflows' : 'not used',
          totals: { ...preview.totals, byPermission: Object.keys(preview.totals.byPermission).length },
          actionsWrittenToCsv: written,
          csvMiB: +(statSync(csvPath).size / 1024 / 1024).toFixed(1),
        },
        previewProcessPeakRss: mb(process.resourceUsage().maxRSS),
        heapUsedAfter: mb(process.memoryUsage().heapUsed / 1024),
        nodeOptions: process.env.NODE_OPTIONS || undefined,
        loadAverage: (await import('node:os')).loadavg().map((x) => +x.toFixed(2)),
      }),
    );
  } finally {
    await client?.connection.close();
    await vault?.end();
  }
}
