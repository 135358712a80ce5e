/**
 * Workflow code for workers: a prebuilt bundle when TENURE_WORKFLOW_BUNDLE points at one
 * (production images build it once with scripts/build-workflow-bundle.ts), else bundled at start
 * from workflows/index.ts (development, tests).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from './temporal-connection.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export async function loadWorkflowBundle(env = process.env): Promise<WorkflowBundle> {
  const prebuilt = env.TENURE_WORKFLOW_BUNDLE;
  if (prebuilt) {
    if (!existsSync(prebuilt)) throw new Error(`TENURE_WORKFLOW_BUNDLE=${prebuilt} does not exist`);
    return { code: readFileSync(prebuilt, 'utf8') };
  }
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: silent,
  });
}
