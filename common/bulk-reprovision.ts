/** Messages of the bulk reprovision workflow (workflows/bulk-reprovision.ts), shared with the CLI. Workflow-safe. */
import { defineQuery } from '@temporalio/workflow';
import type { AdminRequest } from './messages.js';

export const BULK_REPROVISION_WORKFLOW_TYPE = 'bulkReprovision';

export interface BulkReprovisionInput {
  /** Visibility filter over running employee workflows; absent: everyone. */
  filter?: string;
  request: AdminRequest;
  /** Persons reprovisioned at once (1..50). */
  concurrency: number;
  /** Carried across continue-as-new. */
  progress?: BulkProgress;
  page?: string;
}

export interface BulkProgress {
  /** Persons selected when the run started (visibility count). */
  total: number;
  done: number;
  failed: number;
  /** `target action outcome` → count, over everyone done. */
  actions: Record<string, number>;
  /** The first failures (person key and why), at most 20. */
  failures: { personKey: string; error: string }[];
  finished: boolean;
}

export const bulkProgressQuery = defineQuery<BulkProgress>('bulkProgress');
