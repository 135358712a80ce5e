/**
 * Workflow code for workers: a prebuilt bundle when TENURE_WORKFLOW_BUNDLE points at one
 * (production images build it once with scripts/build-workflow-bundle.ts), else bundled at start
 * from workflows/index.ts (development, tests).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type BundleOptions, type WorkflowBundle } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from './temporal-connection.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * Modules the worker evaluates once and shares between all its workflows (the SDK's
 * `preloadModules`), with everything they import. The SDK evaluates every other module of the
 * bundle again for each workflow it creates; for the signal checks that meant all of zod and the
 * Person schema per employee workflow: about 0.9 MiB of heap and a fifth of the workflow thread's
 * CPU (scripts/bench/workflow-memory.ts measures it). A shared module must keep no per-workflow
 * state and must not use @temporalio/workflow; and the SDK deep-freezes what it and its imports
 * export, so it exports only functions and plain values, never a zod schema (zod installs methods
 * on a schema lazily, which a frozen one refuses). test/shared-workflow-modules.test.ts holds both.
 */
export const SHARED_WORKFLOW_MODULES = [fileURLToPath(new URL('../common/signal-payloads.ts', import.meta.url))];

export function workflowBundleOptions(): BundleOptions {
  return {
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    preloadModules: SHARED_WORKFLOW_MODULES,
  };
}

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export async function loadWorkflowBundle(env = process.env): Promise<WorkflowBundle> {
  const prebuilt = env.TENURE_WORKFLOW_BUNDLE;
  if (prebuilt) {
    if (!existsSync(prebuilt)) throw new Error(`TENURE_WORKFLOW_BUNDLE=${prebuilt} does not exist`);
    return { code: readFileSync(prebuilt, 'utf8') };
  }
  return bundleWorkflowCode({ ...workflowBundleOptions(), logger: silent });
}
