/** Where one target's lifecycle stands at a moment, from the moments a person's plan sets for it. */

export type TargetPhase = 'none' | 'pending' | 'prehire' | 'active' | 'leaver' | 'deleted';

/** The planned moments of one target (epoch milliseconds); no create or enable moment: no account. */
export interface TargetMoments {
  createAt?: number;
  enableAt?: number;
  disableAt?: number;
  deleteAt?: number;
}

/** Where a target's lifecycle stands at `now`, from the plan's moments. */
export function phaseAt(t: TargetMoments, now: number): TargetPhase {
  if (t.createAt === undefined || t.enableAt === undefined) return 'none';
  if (t.deleteAt !== undefined && now >= t.deleteAt) return 'deleted';
  if (t.disableAt !== undefined && now >= t.disableAt) return 'leaver';
  if (now >= t.enableAt) return 'active';
  if (now >= t.createAt) return 'prehire';
  return 'pending';
}

/** A target's moments plus the retention the rules give it (milliseconds from Tenure's disable moment). */
export interface RetentionMoments extends TargetMoments {
  retentionMs?: number;
}

/** The retention of a target: from the rules' timings, or the plan's disable-to-delete span. */
export function retentionOf(t: RetentionMoments): number {
  return t.retentionMs ?? (t.deleteAt !== undefined && t.disableAt !== undefined ? t.deleteAt - t.disableAt : 0);
}

/**
 * Deletion is due: Tenure disabled the account itself (`disabledAt`, its own record) and the
 * retention from that moment has passed, whatever the HR dates say.
 */
export function deletionDue(
  acct: { enabled: boolean; disabledAt?: number },
  t: RetentionMoments,
  now: number,
): boolean {
  return !acct.enabled && acct.disabledAt !== undefined && now >= acct.disabledAt + retentionOf(t);
}
