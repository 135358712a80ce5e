/**
 * What one cached employee workflow costs the worker before it has run a single task: the heap
 * and the time of creating it in the SDK's reusable V8 context, which evaluates the bundle's
 * modules again for every workflow (except the shared ones: workers/workflow-bundle.ts).
 * Compares the bundle as the worker builds it with the same bundle without shared modules, in
 * one run. No servers needed.
 *
 *   node --expose-gc --import tsx scripts/bench/workflow-memory.ts [--count 300]
 *
 * It drives the SDK's ReusableVMWorkflowCreator directly (an internal module of
 * @temporalio/worker), so an SDK upgrade may need this script adjusted; the worker does not use it.
 */
import { parseArgs } from 'node:util';
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm.js';
import { workflowBundleOptions } from '../../workers/workflow-bundle.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '300' } } });
const count = Number(values.count);
if (!Number.isInteger(count) || count < 10 || count > 5000) throw new Error('--count must be a whole number 10..5000');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

async function measure(label: string, options: BundleOptions): Promise<{ kib: number; ms: number }> {
  const { code } = await bundleWorkflowCode({ ...options, logger: silent });
  const inline = /sourceMappingURL=data:application\/json;charset=utf-8;base64,([A-Za-z0-9+/=]+)/.exec(code);
  if (!inline) throw new Error('the bundle has no inline source map');
  const sourceMap = JSON.parse(Buffer.from(inline[1]!, 'base64').toString('utf8')) as unknown;
  const creator = await ReusableVMWorkflowCreator.create(
    { code, sourceMap, filename: `/bench/${label}.js` } as Parameters<typeof ReusableVMWorkflowCreator.create>[0],
    5000,
    new Set(),
  );
  const held: unknown[] = [];
  gc!();
  const before = process.memoryUsage().heapUsed;
  const t = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const runId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const now = new Date();
    held.push(
      await creator.createWorkflow({
        info: {
          workflowId: `employee-bench:${i}`,
          runId,
          firstExecutionRunId: runId,
          workflowType: 'employeeLifecycle',
          taskQueue: 'bench',
          namespace: 'default',
          attempt: 1,
          historyLength: 1,
          historySize: 0,
          continueAsNewSuggested: false,
          startTime: now,
          runStartTime: now,
          searchAttributes: {},
          memo: {},
          unsafe: { isReplaying: false, now: () => Date.now() },
        },
        randomnessSeed: [1, 2],
        now: now.getTime(),
        showStackTraceSources: false,
      } as unknown as Parameters<typeof creator.createWorkflow>[0]),
    );
  }
  const ms = Number(process.hrtime.bigint() - t) / 1e6 / count;
  gc!();
  const kib = (process.memoryUsage().heapUsed - before) / count / 1024;
  await Promise.all(held.map((w) => (w as { dispose(): Promise<void> }).dispose()));
  await creator.destroy();
  console.log(`  ${label.padEnd(40)} ${kib.toFixed(0).padStart(5)} KiB heap, ${ms.toFixed(2)} ms per workflow created`);
  return { kib, ms };
}

console.log(`Employee workflows created in the SDK's reusable V8 context, ${count} each:`);
const perWorkflow = await measure('every module per workflow', { ...workflowBundleOptions(), preloadModules: [] });
const shared = await measure('signal checks shared (as the worker runs)', workflowBundleOptions());
console.log(
  `  ratio shared / per workflow: heap ${(shared.kib / perWorkflow.kib).toFixed(2)}, time ${(shared.ms / perWorkflow.ms).toFixed(2)}`,
);
process.exit(0);
