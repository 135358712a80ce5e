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
