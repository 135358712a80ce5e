/**
 * A generated Raet Beaufort tenant served by the simulator with its rate limits out of the way, so
 * the engine's own time is measured, and a RaetSource reading it (raet-import.ts and preview.ts).
 */
import { RaetSource } from '../../connectors/sources/raet.js';
import { RaetSimulator, generateTenant } from '../../test/simulators/raet.js';

export const BENCH_TODAY = '2026-07-01';

export async function simulatedRaet(persons: number, contracts: number, pageSize = 1000) {
  const data = generateTenant({ persons, contracts, seed: 7 });
  const sim = new RaetSimulator(data, {
    today: BENCH_TODAY,
    callsPerWindow: 1_000_000,
    concurrent: 16,
    maxTake: Math.max(1000, pageSize),
  });
  await sim.start();
  const source = new RaetSource({
    baseUrl: sim.url,
    tokenUrl: `${sim.url}/connect/token`,
    clientId: 'sim-client',
    clientSecret: 'sim-secret-do-not-log',
    tenantId: 'sim-tenant',
    today: BENCH_TODAY,
    pageSize,
    rateLimit: { callsPerWindow: 1_000_000, minSpacingMs: 0, concurrency: 3 },
  });
  return { data, sim, source };
}
