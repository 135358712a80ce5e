// Builds the workflow bundle once (for container images): node --import tsx scripts/build-workflow-bundle.ts out.js
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundleOptions } from '../workers/workflow-bundle.js';

const out = process.argv[2] ?? 'workflow-bundle.js';
const { code } = await bundleWorkflowCode(workflowBundleOptions());
writeFileSync(out, code);
console.log(`wrote ${out} (${Math.round(code.length / 1024)} KiB)`);
