/**
 * Rules versions in the vault: every rules file applied with `tenure rules apply` (text, hash, who,
 * when, why), which one is in force, and the applies that re-evaluate every employee with it.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

export const DEFAULT_RULES_SET = 'default';

export type RulesVersionStatus = 'pending' | 'current' | 'superseded' | 'rejected';

export interface RulesVersion {
  id: number;
  rulesSet: string;
  version: string;
  sha256: string;
  text: string;
  fileName: string;
  appliedBy: string;
  osUser: string;
  reason?: string;
  createdAt: Date;
  status: RulesVersionStatus;
  activatedAt?: Date;
}

export function rulesHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The columns under RulesVersion's names; only the bigint id and the nulls need converting. */
const COLUMNS = `id, rules_set as "rulesSet", version, sha256, text, file_name as "fileName", applied_by as "appliedBy",
  os_user as "osUser", reason, created_at as "createdAt", status, activated_at as "activatedAt"`;

type RulesVersionRow = Omit<RulesVersion, 'id' | 'reason' | 'activatedAt'> & {
  id: string;
  reason: string | null;
  activatedAt: Date | null;
};

function row({ id, reason, activatedAt, ...columns }: RulesVersionRow): RulesVersion {
  return { ...columns, id: Number(id), reason: reason ?? undefined, activatedAt: activatedAt ?? undefined };
}

/** The version in force, or undefined when none was ever applied (the worker's rules file is used then). */
export async function currentRulesVersion(
  db: Pick<pg.Pool, 'query'>,
  rulesSet = DEFAULT_RULES_SET,
): Promise<RulesVersion | undefined> {
  const r = await db.query(`select ${COLUMNS} from rules_versions where rules_set = $1 and status = 'current'`, [
    rulesSet,
  ]);
  return r.rows[0] ? row(r.rows[0]) : undefined;
}

/** Only the hash and label of the version in force: the cheap check workers make before each plan. */
export async function currentRulesHash(
  db: Pick<pg.Pool, 'query'>,
  rulesSet = DEFAULT_RULES_SET,
): Promise<{ id: number; sha256: string; version: string } | undefined> {
  const r = await db.query(
    `select id, sha256, version from rules_versions where rules_set = $1 and status = 'current'`,
    [rulesSet],
  );
  const x = r.rows[0];
  return x ? { id: Number(x.id), sha256: x.sha256 as string, version: x.version as string } : undefined;
}

export async function rulesVersionById(db: Pick<pg.Pool, 'query'>, id: number): Promise<RulesVersion | undefined> {
  const r = await db.query(`select ${COLUMNS} from rules_versions where id = $1`, [id]);
  return r.rows[0] ? row(r.rows[0]) : undefined;
}

export async function listRulesVersions(
  db: Pick<pg.Pool, 'query'>,
  rulesSet = DEFAULT_RULES_SET,
  limit = 50,
): Promise<RulesVersion[]> {
  const r = await db.query(`select ${COLUMNS} from rules_versions where rules_set = $1 order by id desc limit $2`, [
    rulesSet,
    limit,
  ]);
  return r.rows.map(row);
}

export class RulesVersionConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RulesVersionConflict';
  }
}

/**
 * Stores a validated rules text as a pending version. The label must be new: a version label names
 * exactly one text (reasons and the audit log name it), so a changed file needs a new `version:`.
 */
export async function storeRulesVersion(
  db: Pick<pg.Pool, 'query'>,
  v: {
    rulesSet?: string;
    version: string;
    text: string;
    fileName: string;
    appliedBy: string;
    osUser: string;
    reason?: string;
  },
): Promise<RulesVersion> {
  const rulesSet = v.rulesSet ?? DEFAULT_RULES_SET;
  const sha256 = rulesHash(v.text);
  const existing = await db.query(
    `select ${COLUMNS} from rules_versions where rules_set = $1 and version = $2 and status <> 'rejected'`,
    [rulesSet, v.version],
  );
  const found = existing.rows[0] ? row(existing.rows[0]) : undefined;
  if (found) {
    if (found.sha256 !== sha256)
      throw new RulesVersionConflict(
        `rules version ${v.version} exists already with other content (stored ${found.createdAt.toISOString()} by ${found.appliedBy}); give the file a new \`version:\``,
      );
    if (found.status === 'current') throw new RulesVersionConflict(`rules version ${v.version} is already in force`);
    if (found.status === 'pending')
      throw new RulesVersionConflict(`rules version ${v.version} is being applied already (see: tenure rules list)`);
  }
  const r = await db.query(
    `insert into rules_versions (rules_set, version, sha256, text, file_name, applied_by, os_user, reason)
     values ($1,$2,$3,$4,$5,$6,$7,$8) returning ${COLUMNS}`,
    [rulesSet, v.version, sha256, v.text, v.fileName, v.appliedBy, v.osUser, v.reason ?? null],
  );
  return row(r.rows[0]);
}

/** Versions stored but not (yet) in force: their apply is running, held, or ended without deciding. */
export async function pendingRulesVersions(
  db: Pick<pg.Pool, 'query'>,
  rulesSet = DEFAULT_RULES_SET,
): Promise<RulesVersion[]> {
  const r = await db.query(
    `select ${COLUMNS} from rules_versions where rules_set = $1 and status = 'pending' order by id`,
    [rulesSet],
  );
  return r.rows.map(row);
}

/** Puts a pending version in force (the previous one is superseded). Idempotent. */
export async function activateRulesVersion(pool: pg.Pool, id: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const r = await client.query(`select rules_set, status from rules_versions where id = $1 for update`, [id]);
    const v = r.rows[0] as { rules_set: string; status: string } | undefined;
    if (!v) throw new Error(`rules version #${id} not found`);
    if (v.status === 'current') {
      await client.query('commit');
      return;
    }
    if (v.status !== 'pending') throw new Error(`rules version #${id} is ${v.status}, not pending`);
    await client.query(`update rules_versions set status = 'superseded' where rules_set = $1 and status = 'current'`, [
      v.rules_set,
    ]);
    await client.query(`update rules_versions set status = 'current', activated_at = now() where id = $1`, [id]);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** A held apply that was rejected: its version never comes into force. Idempotent. */
export async function rejectRulesVersion(db: Pick<pg.Pool, 'query'>, id: number): Promise<void> {
  await db.query(`update rules_versions set status = 'rejected' where id = $1 and status = 'pending'`, [id]);
}

// ------------------------------------------------------------------ applies

export type ApplyOutcome = 'running' | 'held' | 'done' | 'rejected';

export interface RulesApplyRecord {
  id: number;
  versionId: number;
  workflowId: string;
  outcome: ApplyOutcome;
  signalled: number;
  skipped: number;
}

/** One row per apply workflow; idempotent by workflow id (an activity retry finds its own row). */
export async function startRulesApply(
  db: Pick<pg.Pool, 'query'>,
  versionId: number,
  workflowId: string,
): Promise<number> {
  const r = await db.query(
    `insert into rules_applies (version_id, workflow_id) values ($1, $2)
     on conflict (workflow_id) do update set workflow_id = excluded.workflow_id returning id`,
    [versionId, workflowId],
  );
  return Number(r.rows[0].id);
}

export async function updateRulesApply(
  db: Pick<pg.Pool, 'query'>,
  id: number,
  set: {
    outcome?: ApplyOutcome;
    preview?: unknown;
    heldReasons?: unknown;
    decision?: { decision: 'approved' | 'rejected'; by: string; at: string; reason?: string };
    signalled?: number;
    skipped?: number;
  },
): Promise<void> {
  await db.query(
    `update rules_applies set
       outcome = coalesce($2, outcome),
       preview = coalesce($3::jsonb, preview),
       held_reasons = coalesce($4::jsonb, held_reasons),
       decision = coalesce($5, decision),
       decided_by = coalesce($6, decided_by),
       decided_at = coalesce($7::timestamptz, decided_at),
       decision_reason = coalesce($8, decision_reason),
       signalled = coalesce($9, signalled),
       skipped = coalesce($10, skipped),
       finished_at = case when $2 in ('done', 'rejected') then now() else finished_at end
     where id = $1`,
    [
      id,
      set.outcome ?? null,
      set.preview === undefined ? null : JSON.stringify(set.preview),
      set.heldReasons === undefined ? null : JSON.stringify(set.heldReasons),
      set.decision?.decision ?? null,
      set.decision?.by ?? null,
      set.decision?.at ?? null,
      set.decision?.reason ?? null,
      set.signalled ?? null,
      set.skipped ?? null,
    ],
  );
}
