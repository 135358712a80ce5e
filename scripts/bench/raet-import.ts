/**
 * Benchmark: import a simulated Raet Beaufort tenant through RaetSource, then diff a second poll.
 *
 *   node --import tsx scripts/bench/raet-import.ts [persons=50000] [contracts=60000] [pageSize=1000]
 *
 * The simulator's rate limit is set high so the engine's own time is measured (the simulator runs
 * in the same process, so its JSON serialisation is included). The wall time Raet's real limits
 * would impose (100 calls a minute, 0.6 s apart, 3 at once) is computed from the number of calls.
 */
import { performance } from 'node:perf_hooks';
import { diffSnapshots } from '../../common/snapshot.js';
import type { Json } from '../../test/simulators/raet.js';
import { simulatedRaet } from './raet-tenant.js';

const persons = Number(process.argv[2] ?? 50_000);
const contracts = Number(process.argv[3] ?? 60_000);
const pageSize = Number(process.argv[4] ?? 1000);
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;

const { data, sim, source } = await simulatedRaet(persons, contracts, pageSize);

try {
  let t = performance.now();
  let cpu = process.cpuUsage();
  const first = await source.fetchAll();
  const fetchMs = performance.now() - t;
  const fetchCpu = process.cpuUsage(cpu);
  const calls = source.stats.callsByEndpoint;
  const totalCalls = Object.values(calls).reduce((a, b) => a + b, 0);
  const nContracts = first.persons.reduce((n, p) => n + p.contracts.length, 0);

  // What Raet's limits would impose: 100 calls/min smoothed to one call per 0.6 s.
  const realMs = (n: number) => Math.max(n * 600, Math.ceil(n / 100) * 60_000 - 60_000 + 600);
  const records = source.stats.recordsByEndpoint;
  const callsAt = (size: number) => Object.values(records).reduce((n, r) => n + Math.max(1, Math.ceil(r / size)), 0);

  // Second poll: 1% of the persons changed (known-as name).
  const previous = diffSnapshots(new Map(), first.persons).hashes;
  const changes = Math.round(persons / 100);
  for (let i = 0; i < changes; i++) {
    const p = data.persons[i * 100] as Json;
    p.knownAs = `${String(p.knownAs)}x`;
  }
  t = performance.now();
  const second = await source.fetchAll();
  const fetch2Ms = performance.now() - t;
  t = performance.now();
  cpu = process.cpuUsage();
  const diff = diffSnapshots(previous, second.persons);
  const diffMs = performance.now() - t;
  const diffCpu = process.cpuUsage(cpu);
  const cpuMs = (c: NodeJS.CpuUsage) => Math.round((c.user + c.system) / 1000);

  const rss = process.resourceUsage().maxRSS;
  console.log(
    JSON.stringify(
      {
        tenant: { persons, contracts, pageSize },
        imported: {
          persons: first.persons.length,
          contracts: nContracts,
          departments: first.departments.length,
          errors: first.errors.length,
        },
        fetchValidateMap: {
          ms: Math.round(fetchMs),
          cpuMsInclSimulator: cpuMs(fetchCpu),
          apiCalls: totalCalls,
          callsByEndpoint: calls,
        },
        realRateLimit: {
          callsAtThisPageSize: totalCalls + 1,
          wallMinutesAtThisPageSize: +(realMs(totalCalls + 1) / 60_000).toFixed(1),
          callsAtPageSize500: callsAt(500) + 1,
          wallMinutesAtPageSize500: +(realMs(callsAt(500) + 1) / 60_000).toFixed(1),
          dailyQuota: 6000,
        },
        secondPoll: {
          fetchMs: Math.round(fetch2Ms),
          diffSnapshotsMs: Math.round(diffMs),
          diffSnapshotsCpuMs: cpuMs(diffCpu),
          changed: diff.changed.length,
          added: diff.added.length,
          removed: diff.removed.length,
          unchanged: diff.unchanged,
        },
        tokensFetched: source.tokensFetched,
        peakRss: mb(rss),
        heapUsedNow: mb(process.memoryUsage().heapUsed / 1024),
      },
      null,
      2,
    ),
  );
} finally {
  await sim.stop();
}
