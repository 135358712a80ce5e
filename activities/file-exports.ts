/** File-export targets (role `file-export`, e.g. Spend Cloud): the scheduled full export and upload, as an activity. */
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import type pg from 'pg';
import { TARGET_DESCRIPTORS, type FileExportOutcome } from '../connectors/targets/descriptors.js';
import type { TargetConnector } from '../connectors/types.js';

export type FileExportSummary = FileExportOutcome;

export function createFileExportActivities(deps: {
  pool: pg.Pool;
  targets: Map<string, TargetConnector>;
  /** Target id → kind (the rules file's targets). */
  kinds: ReadonlyMap<string, string>;
}) {
  return {
    async exportTargetFiles(input: { target: string }): Promise<FileExportSummary> {
      const t = deps.targets.get(input.target);
      const kind = deps.kinds.get(input.target);
      const descriptor = kind === undefined ? undefined : TARGET_DESCRIPTORS.get(kind);
      if (!t || descriptor?.role !== 'file-export' || !descriptor.exportFiles) {
        throw ApplicationFailure.nonRetryable(
          `target '${input.target}' is not a file-export target`,
          'TargetNotConfigured',
        );
      }
      return descriptor.exportFiles(t, { pool: deps.pool }, (line) => heartbeat(line));
    },
  };
}

export type FileExportActivities = ReturnType<typeof createFileExportActivities>;
