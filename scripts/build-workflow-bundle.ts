// Builds the workflow bundle once (for container images): node --import tsx scripts/build-workflow-bundle.ts out.js
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../workers/workflow-bundle.js';
import { FAILURE_CONVERTER_PATH } from '../workers/temporal-connection.js';

const out = process.argv[2] ?? 'workflow-bundle.js';
const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  failureConverterPath: FAILURE_CONVERTER_PATH,
});
writeFileSync(out, code);
console.log(`wrote ${out} (${Math.round(code.length / 1024)} KiB)`);
