/**
 * The scheduled Spend Cloud export (docs/targets/spendcloud.md): the full dump of the connector's
 * tables as the persons and roles CSV files, uploaded over SFTP.
 *
 * - One consistent snapshot (repeatable read) of both tables; one export per target at a time
 *   (PostgreSQL advisory lock); every run recorded in spendcloud_exports.
 * - Each file goes to a temporary name `.<file>.<random>.part` in the same folder, its size is
 *   checked, and only then renamed over the final name (posix-rename: atomic replace). The
 *   importer therefore sees the old complete file or the new complete file, never half a file.
 * - A failed attempt (connection lost, permission denied, timeout) is retried with a fresh
 *   connection after a growing delay, at most `upload.attempts` times; leftover temporary files
 *   of earlier attempts are removed first. After the last failure the export throws (retryable
 *   for Temporal) and the previous final files stay as they were.
 * - Idempotent: the same tables give byte-identical files; running it again re-uploads them.
 * - An empty persons file is refused unless `export.allowEmpty` (it could empty Spend Cloud).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import SftpClient from 'ssh2-sftp-client';
import { pinnedHostKey } from '../../ssh-host-key.js';
import { CsvWriter } from './csv.js';
import { PERSON_COLUMNS } from './mapping.js';
import {
  parseSpendCloudConfig,
  type SpendCloudConfig,
  type SpendCloudConfigInput,
  type SpendCloudSftpConfig,
} from './config.js';

export const ROLE_HEADER = ['Organisatorische Eenheid', 'Gebruikersnaam', 'Functieprofiel Code'] as const;

/** Advisory lock class for "one export per target at a time". */
const LOCK_CLASS = 0x5c10;

export interface ExportFile {
  name: string;
  bytes: number;
  sha256: string;
  rows: number;
}

export interface ExportResult {
  exportId: string;
  target: string;
  /** The export day (contracts active on it are the roles). */
  asOf: string;
  persons: number;
  roles: number;
  files: ExportFile[];
  attempts: number;
  millis: number;
}

export interface ExportHooks {
  /** Progress lines, no personal data and no secrets. */
  log?: (line: string) => void;
  /** Called after every failed attempt (also the last), before the retry delay. */
  onAttemptFailed?: (info: { attempt: number; error: Error }) => void | Promise<void>;
  /** The clock (tests). */
  now?: () => Date;
}

export interface BuiltExport {
  asOf: string;
  persons: { name: string; data: Buffer; rows: number };
  roles: { name: string; data: Buffer; rows: number } | null;
}

/** `YYYY-MM-DD` of `at` in the zone. */
export function localDate(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** Reads one snapshot of the tables and renders both files (no upload). */
export async function buildExport(client: pg.ClientBase, config: SpendCloudConfig, asOf: string): Promise<BuiltExport> {
  const f = config.files;
  const dialect = { bom: f.bom, lineEnding: f.lineEnding, formulaGuard: f.formulaGuard } as const;
  const personsHeader: string[] = [...PERSON_COLUMNS];
  if (f.employeeNumberColumn) personsHeader.push(f.employeeNumberColumn);
  const persons = new CsvWriter({ ...dialect, separator: ';' }, personsHeader);
  const roles = new CsvWriter({ ...dialect, separator: ',' }, ROLE_HEADER);

  await client.query('begin isolation level repeatable read read only');
  try {
    const onlyActive = config.export.inactivePersons === 'omit' ? 'and active' : '';
    const p = await client.query<Record<string, string>>(
      `select voornaam, tussenvoegsel, achternaam, geslacht, email, gebruikersnaam, external_id
             from spendcloud_persons where target = $1 ${onlyActive}
             order by external_id collate "C"`,
      [config.id],
    );
    const cols = f.employeeNumberColumn ? [...PERSON_COLUMNS, 'external_id'] : PERSON_COLUMNS;
    for (const row of p.rows) persons.row(cols.map((c) => row[c]));

    if (f.exportRoles) {
      const r = await client.query<Record<string, string>>(
        `select r.ou, p.gebruikersnaam, r.functiecode
               from spendcloud_roles r
               join spendcloud_persons p on p.target = r.target and p.external_id = r.external_id
               where r.target = $1 and p.active
                 and (r.start_date is null or r.start_date <= $2::date)
                 and (r.end_date is null or r.end_date >= $2::date)
               order by r.external_id collate "C", r.start_date nulls first, r.contract_id collate "C"`,
        [config.id, asOf],
      );
      const seen = new Set<string>();
      for (const o of r.rows) {
        const row = [o.ou, o.gebruikersnaam, o.functiecode];
        if (f.dedupeRoles) {
          const k = JSON.stringify(row);
          if (seen.has(k)) continue;
          seen.add(k);
        }
        roles.row(row);
      }
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
  return {
    asOf,
    persons: { name: f.persons, data: persons.toBuffer(), rows: persons.rows },
    roles: f.exportRoles ? { name: f.roles, data: roles.toBuffer(), rows: roles.rows } : null,
  };
}

// ------------------------------------------------------------------ SFTP

function remotePath(dir: string, name: string): string {
  if (dir === '.' || dir === '') return name;
  return `${dir.replace(/\/+$/, '')}/${name}`;
}

function tempName(name: string): string {
  return `.${name}.${randomBytes(8).toString('hex')}.part`;
}

function isOurTemp(entry: string, names: string[]): boolean {
  return names.some((n) => entry.startsWith(`.${n}.`) && /\.[0-9a-f]{16}\.part$/.test(entry));
}

function expectedHostKey(s: SpendCloudSftpConfig): Buffer {
  if (s.hostKeyFile) return pinnedHostKey(s.hostKeyFile);
  const blob = (s.hostKey ?? '').trim().split(/\s+/);
  const b64 = blob.length > 1 ? blob[1] : blob[0];
  if (!b64) throw new Error('no pinned host key configured');
  return Buffer.from(b64, 'base64');
}

/** Connects with the pinned host key and lists the upload folder (the connectivity check); names the folder only. */
export async function checkSftpFolder(s: SpendCloudSftpConfig): Promise<string> {
  const client = new SftpClient('tenure-connectivity');
  const hostKey = expectedHostKey(s);
  try {
    await client.connect({
      host: s.host,
      port: s.port,
      username: s.username,
      privateKey: s.privateKey ?? readFileSync(s.privateKeyFile!),
      passphrase: s.passphrase,
      hostVerifier: (key: Buffer) => key.equals(hostKey),
      readyTimeout: Math.min(s.readyTimeoutMs, 5_000),
      retries: 0,
    });
    const entries = await client.list(s.dir);
    return `connected, ${entries.length} entries in ${s.dir}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Error text without anything secret: the SFTP library's message and code only. */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string | number };
  return `${e.message ?? String(err)}${e.code !== undefined ? ` (${e.code})` : ''}`;
}

async function uploadOnce(
  s: SpendCloudSftpConfig,
  files: { name: string; data: Buffer }[],
  hostKey: Buffer,
  privateKey: Buffer | string,
  log: (line: string) => void,
): Promise<void> {
  const client = new SftpClient('tenure-spendcloud');
  const temps: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const work = (async () => {
    await client.connect({
      host: s.host,
      port: s.port,
      username: s.username,
      privateKey,
      passphrase: s.passphrase,
      hostVerifier: (key: Buffer) => key.equals(hostKey),
      readyTimeout: s.readyTimeoutMs,
      retries: 0,
    });
    const names = files.map((f) => f.name);
    // Leftovers of an attempt whose connection died: never picked up (dot name, .part), removed here.
    for (const e of await client.list(s.dir)) {
      if (e.type === '-' && isOurTemp(e.name, names)) {
        await client.delete(remotePath(s.dir, e.name), true);
        log(`removed leftover ${e.name}`);
      }
    }
    const staged: { tmp: string; final: string }[] = [];
    for (const f of files) {
      const tmp = remotePath(s.dir, tempName(f.name));
      temps.push(tmp);
      await client.put(f.data, tmp);
      const st = await client.stat(tmp);
      if (st.size !== f.data.length)
        throw new Error(`uploaded ${f.name} has ${st.size} bytes instead of ${f.data.length}`);
      staged.push({ tmp, final: remotePath(s.dir, f.name) });
    }
    // Both files are complete on the server: now swap them in, as close together as possible.
    for (const { tmp, final } of staged) {
      try {
        await client.posixRename(tmp, final);
      } catch (err) {
        // Servers without posix-rename@openssh.com: plain SFTP rename refuses to overwrite.
        log(`posix-rename refused (${describe(err)}); falling back to delete + rename`);
        await client.delete(final, true);
        await client.rename(tmp, final);
      }
      temps.splice(temps.indexOf(tmp), 1);
    }
  })();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`attempt took longer than ${s.attemptTimeoutMs} ms`)),
      s.attemptTimeoutMs,
    );
  });
  try {
    await Promise.race([work, timeout]);
  } catch (err) {
    // Best effort: take our half-written temporaries away now (the next attempt also would).
    // Bounded: on a hung connection this must not hang the attempt that just timed out.
    const cleanup = (async () => {
      for (const t of temps) await client.delete(t, true).catch(() => undefined);
    })();
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([cleanup, new Promise<void>((resolve) => (bound = setTimeout(resolve, 2_000)))]);
    clearTimeout(bound);
    throw err;
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/**
 * Export the full dump and upload it. Called by a scheduled Temporal activity; throws a plain
 * (retryable) Error when every upload attempt failed, with no partial file under a final name.
 */
export async function exportAndUpload(
  pool: pg.Pool,
  configInput: SpendCloudConfigInput | SpendCloudConfig,
  hooks: ExportHooks = {},
): Promise<ExportResult> {
  const config = parseSpendCloudConfig(configInput);
  const s = config.sftp;
  if (!s) throw new Error('Spend Cloud export: no SFTP connection configured');
  const log = (line: string) => hooks.log?.(`[spendcloud ${config.id}] ${line}`);
  const started = Date.now();
  const asOf = localDate(hooks.now?.() ?? new Date(), config.export.timeZone);
  const hostKey = expectedHostKey(s);
  const privateKey = s.privateKey ?? readFileSync(s.privateKeyFile!);

  const client = await pool.connect();
  let exportId: string | undefined;
  try {
    await client.query('select pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS, config.id]);
    try {
      const built = await buildExport(client, config, asOf);
      if (built.persons.rows === 0 && !config.export.allowEmpty)
        throw new Error(
          'Spend Cloud export: no persons to export; refusing to upload an empty file (set export.allowEmpty to allow)',
        );
      const files = [built.persons, ...(built.roles ? [built.roles] : [])];
      const described: ExportFile[] = files.map((f) => ({
        name: f.name,
        bytes: f.data.length,
        rows: f.rows,
        sha256: createHash('sha256').update(f.data).digest('hex'),
      }));
      const ins = await client.query<{ id: string }>(
        `insert into spendcloud_exports (target, as_of, persons, roles, persons_bytes, roles_bytes, persons_sha256, roles_sha256)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id::text`,
        [
          config.id,
          asOf,
          built.persons.rows,
          built.roles?.rows ?? 0,
          described[0]!.bytes,
          described[1]?.bytes ?? 0,
          described[0]!.sha256,
          described[1]?.sha256 ?? null,
        ],
      );
      exportId = ins.rows[0]!.id;
      log(`export ${exportId} as of ${asOf}: ${built.persons.rows} persons, ${built.roles?.rows ?? 0} roles`);

      let attempt = 0;
      let lastErr: Error | undefined;
      while (attempt < config.upload.attempts) {
        attempt++;
        try {
          await uploadOnce(s, files, hostKey, privateKey, log);
          lastErr = undefined;
          break;
        } catch (err) {
          lastErr = new Error(describe(err));
          log(`upload attempt ${attempt}/${config.upload.attempts} failed: ${lastErr.message}`);
          await hooks.onAttemptFailed?.({ attempt, error: lastErr });
          if (attempt < config.upload.attempts) await sleep(config.upload.retryDelayMs * 2 ** (attempt - 1));
        }
      }
      if (lastErr) {
        const message = `Spend Cloud upload failed after ${attempt} attempt(s): ${lastErr.message}`;
        await client.query(
          `update spendcloud_exports set finished_at = now(), attempts = $2, outcome = 'failed', error = $3 where id = $1`,
          [exportId, attempt, message],
        );
        throw new Error(message);
      }
      await client.query(
        `update spendcloud_exports set finished_at = now(), attempts = $2, outcome = 'uploaded' where id = $1`,
        [exportId, attempt],
      );
      log(`export ${exportId} uploaded in ${attempt} attempt(s)`);
      return {
        exportId,
        target: config.id,
        asOf,
        persons: built.persons.rows,
        roles: built.roles?.rows ?? 0,
        files: described,
        attempts: attempt,
        millis: Date.now() - started,
      };
    } finally {
      await client.query('select pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, config.id]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
