/** The retention sweep's activity: erase every person whose retention has run out (vault/retention.ts). */
import type pg from 'pg';
import { purgeExpired } from '../vault/retention.js';

export interface RetentionSummary {
  /** Persons erased in this sweep. */
  erased: number;
  /** Persons that looked expired but were refused (e.g. an account appeared meanwhile). */
  refused: number;
}

export function createRetentionActivities(deps: { pool: pg.Pool; retentionDays: number }) {
  return {
    async purgeExpiredPersons(): Promise<RetentionSummary> {
      const r = await purgeExpired(deps.pool, deps.retentionDays);
      // Counts only: person keys are opaque, but the result needs no personal reference at all.
      return { erased: r.erased.length, refused: r.refused.length };
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
