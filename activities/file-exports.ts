/** File-based targets (Spend Cloud): the scheduled full export and upload, as an activity. */
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import type pg from 'pg';
import { SpendCloudTargetConnector, exportAndUpload } from '../connectors/targets/spendcloud.js';
import type { TargetConnector } from '../connectors/types.js';

export interface FileExportSummary {
  target: string;
  persons: number;
  roles: number;
  files: number;
  attempts: number;
  millis: number;
}

export function createFileExportActivities(deps: { pool: pg.Pool; targets: Map<string, TargetConnector> }) {
  return {
    async exportTargetFiles(input: { target: string }): Promise<FileExportSummary> {
      const t = deps.targets.get(input.target);
      if (!(t instanceof SpendCloudTargetConnector)) {
        throw ApplicationFailure.nonRetryable(
          `target '${input.target}' is not a file-based target`,
          'TargetNotConfigured',
        );
      }
      const r = await exportAndUpload(deps.pool, t.config, { log: (line) => heartbeat(line) });
      return {
        target: r.target,
        persons: r.persons,
        roles: r.roles,
        files: r.files.length,
        attempts: r.attempts,
        millis: r.millis,
      };
    },
  };
}

export type FileExportActivities = ReturnType<typeof createFileExportActivities>;
