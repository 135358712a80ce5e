/**
 * Where a worker's CPU went, from the V8 profiles a bench wrote with TENURE_BENCH_CPU_PROFILE=<dir>:
 * per profile (one per thread), the busy time by package or project file, and for the workflow
 * thread by module of the workflow bundle (self time, and inclusive time with the module anywhere
 * on the stack, which shows what module initialisation per workflow costs).
 *
 *   node --import tsx scripts/bench/cpu-profile-summary.ts <dir> [--top N]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWorkflowBundle } from '../../workers/workflow-bundle.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(['(idle)', '(program)', '(garbage collector)']);

function packageOf(url: string): string {
  const nm = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return (
    url.replace(/^file:\/\/.*?\/(activities|connectors|workers|workflows|common|domain|vault|metrics)\//, '$1/') ||
    '(native)'
  );
}

/** Line (0-based) → module path of the workflow bundle, from webpack's module banners. */
async function bundleModules(): Promise<(line: number) => string> {
  const bundle = await loadWorkflowBundle();
  const lines = ('code' in bundle ? bundle.code : '').split('\n');
  const starts: [number, string][] = [];
  lines.forEach((l, i) => {
    const m = /!\*\*\* (\.\/\S+) \*\*\*!/.exec(l);
    if (m) starts.push([i, m[1]!.replace(/^\.\/node_modules\/((@[^/]+\/)?[^/]+).*/, '$1')]);
  });
  return (line) => {
    let found = '(bundle prelude)';
    for (const [start, name] of starts) {
      if (start > line) break;
      found = name;
    }
    return found;
  };
}

function table(m: Map<string, number>, total: number, top: number): string {
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `  ${(us / 1e6).toFixed(2).padStart(8)} s ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`)
    .join('\n');
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: cpu-profile-summary.ts <dir> [--top N]');
  const topAt = process.argv.indexOf('--top');
  const top = topAt > 0 ? Number(process.argv[topAt + 1]) : 15;
  const moduleOf = await bundleModules();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const self = new Map<number, number>();
    p.samples.forEach((s, i) => self.set(s, (self.get(s) ?? 0) + (p.timeDeltas[i] ?? 0)));
    const byPackage = new Map<string, number>();
    const bundleSelf = new Map<string, number>();
    const bundleInclusive = new Map<string, number>();
    let busy = 0;
    for (const [id, us] of self) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === '(idle)') continue;
      busy += us;
      const inBundle = frame.url.includes('workflow-bundle');
      const key = IDLE.has(frame.functionName)
        ? frame.functionName
        : inBundle
          ? `workflow bundle: ${moduleOf(frame.lineNumber)}`
          : packageOf(frame.url);
      byPackage.set(key, (byPackage.get(key) ?? 0) + us);
      if (inBundle) bundleSelf.set(moduleOf(frame.lineNumber), (bundleSelf.get(moduleOf(frame.lineNumber)) ?? 0) + us);
      const onStack = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const f = byId.get(cur)!.callFrame;
        if (f.url.includes('workflow-bundle')) onStack.add(moduleOf(f.lineNumber));
      }
      for (const m of onStack) bundleInclusive.set(m, (bundleInclusive.get(m) ?? 0) + us);
    }
    console.log(`${file}: ${(busy / 1e6).toFixed(1)} s busy`);
    console.log(table(byPackage, busy, top));
    if (bundleInclusive.size > 0) {
      console.log(' workflow bundle modules, inclusive:');
      console.log(table(bundleInclusive, busy, top));
    }
  }
}

void main();
