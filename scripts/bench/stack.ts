/**
 * What the benchmarks and the fault suite share: a synthetic HR export, the rules for it, LDAP
 * connections to the directory, and the Tenure worker as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as LdapClient } from 'ldapts';
import { localMoment } from '../../domain/dates.js';
import type { PersonName } from '../../domain/model.js';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const ZONE = 'Europe/Amsterdam';

// ------------------------------------------------------------------ small helpers

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run 'set -a; . .run/demo/services.env; set +a' first`);
  return v;
}

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const secs = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a');
export const rate = (n: number, ms: number) => (ms > 0 ? n / (ms / 1000) : NaN);
export const fmtRate = (r: number) => (Number.isFinite(r) ? r.toFixed(1) : 'n/a');
export const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/** `HH:MM:SS` and the date of instant `at` in `timeZone`. */
export function wallClock(at: number, timeZone = ZONE): { date: string; time: string } {
  return localMoment(at, timeZone);
}

/** Runs `fn` over `items`, `limit` at a time; errors are counted, never thrown. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<number> {
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item).catch(() => {
        failed++;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return failed;
}

/** An LDAP error as code + message, never the values sent (a password may be one of them). */
export function ldapError(err: unknown): string {
  const e = err as { code?: number; message?: string };
  return `${e.code !== undefined ? `LDAP ${e.code}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`;
}

// ------------------------------------------------------------------ the HR export

const NICKS = [
  'Zoë', 'Anaïs', 'Jérôme', 'Noëlle', 'Björn', 'Sjoerd', 'Chloé', 'Mehmet', 'Ömer', 'Łukasz',
  'Ana-Lucía', 'Søren', 'Renée', 'Joël', 'Thijs', 'Aïcha', 'Françoise', 'Jan', 'Marieke', 'Daan',
  'Emma', 'Lotte', 'Niels', 'Inès', 'Zoltán', 'Ilse', 'Ruud', 'Hélène', 'Gülşen', 'Kees',
]; // prettier-ignore
const PREFIXES = ['', '', '', 'van', 'van den', 'van der', 'de', "'t", 'ter', 'van de', 'in het', 'den'];
const STEMS = [
  'Bak', 'Jans', 'Vis', 'Mul', 'Dijk', 'Hoek', 'Mé', 'Kö', 'Dü', 'Çe', 'Brou', 'Smé', 'Wil', 'Bé',
  'Grö', 'Hen', 'Lin', 'Mée', 'Nij', 'Oos', 'Pië', 'Roo', 'Stâ', 'Ter', 'Uy', 'Vër', 'Wou', 'Zand',
]; // prettier-ignore
const MIDS = ['', '', 'ker', 'sen', 'ser', 'der', 'ë', 'el', 'in', 'ter', 'ing', 'ho', 'ma', 'lé'];
const ENDS = [
  'stra', 'ijer', 'ster', 'ring', 'lik', 'wer', 'ets', 'ters', 'lems', 'mans', 'boom', 'veld', 'berg',
  'hof', 'kamp', 'link', 'naar', 'rink', 'sma', 'tink', 'werf', 'zee', "'s", 'ué',
]; // prettier-ignore
const LOCATIONS = ['Utrecht', "'s-Hertogenbosch", 'Zwolle', 'Leeuwarden', 'Den Haag'];
const TITLES: [string, string][] = [
  ['MW', 'Medewerker'],
  ['VPK', 'Verpleegkundige'],
  ['TL', 'Teamleider'],
  ['ADV', 'Adviseur, HR & Financiën'],
];
const DEPT_NAMES = ['Zorg', 'Cliëntenservice', 'ICT & Data', 'Financiën', 'Wijk + Thuis', 'Personeelszaken'];

export interface BenchPerson {
  key: string;
  name: PersonName;
  location: string;
  contractId: string;
  startDate: string;
  departmentCode: string;
  departmentName: string;
  title: [string, string];
}

const pick = <T>(a: readonly T[]): T => a[Math.floor(Math.random() * a.length)]!;

export function makePersons(opts: {
  count: number;
  keyPrefix: string;
  startDate: string;
  departmentCodes: string[];
}): BenchPerson[] {
  const persons: BenchPerson[] = [];
  for (let i = 1; i <= opts.count; i++) {
    const key = `${opts.keyPrefix}${String(i).padStart(5, '0')}`;
    const nick = pick(NICKS);
    const family = pick(STEMS) + pick(MIDS) + pick(ENDS);
    const withPartner = Math.random() < 0.15;
    const name: PersonName = {
      nickName: nick,
      given: nick,
      initials: `${Array.from(nick)[0]}.`,
      familyNamePrefix: pick(PREFIXES) || undefined,
      familyName: i % 97 === 0 ? `O'${family}, Jr.` : family,
      convention: withPartner ? pick(['B', 'P', 'BP', 'PB'] as const) : 'B',
      ...(withPartner ? { partnerNamePrefix: pick(PREFIXES) || undefined, partnerName: pick(STEMS) + pick(ENDS) } : {}),
    } as PersonName;
    const d = (i - 1) % opts.departmentCodes.length;
    persons.push({
      key,
      name,
      location: pick(LOCATIONS),
      contractId: `${key}c1`,
      startDate: opts.startDate,
      departmentCode: opts.departmentCodes[d]!,
      departmentName: `${DEPT_NAMES[d % DEPT_NAMES.length]} ${d + 1}`,
      title: pick(TITLES),
    });
  }
  return persons;
}

const CSV_COLUMNS = [
  'person_key', 'nick_name', 'given_name', 'initials', 'family_name_prefix', 'family_name',
  'partner_name_prefix', 'partner_name', 'name_convention', 'location', 'contract_id', 'start_date',
  'end_date', 'department_code', 'department_name', 'title_code', 'title_name', 'contract_location',
  'manager_key', 'employer', 'fte', 'sequence', 'bsn',
]; // prettier-ignore

export function csvCell(v: string | undefined): string {
  const s = v ?? '';
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The HR export as docs/hr-export.md describes it (`;`, one row per contract, an ignored bsn column). */
export function csvOf(persons: readonly BenchPerson[]): string {
  const lines = [CSV_COLUMNS.join(';')];
  for (const p of persons) {
    lines.push(
      [
        p.key,
        p.name.nickName,
        p.name.given,
        p.name.initials,
        p.name.familyNamePrefix,
        p.name.familyName,
        p.name.partnerNamePrefix,
        p.name.partnerName,
        p.name.convention,
        p.location,
        p.contractId,
        p.startDate,
        '',
        p.departmentCode,
        p.departmentName,
        p.title[0],
        p.title[1],
        p.location,
        '',
        'Tenure Zorg',
        '1',
        '1',
        String(100_000_000 + Math.floor(Math.random() * 899_999_999)),
      ]
        .map(csvCell)
        .join(';'),
    );
  }
  return lines.join('\n') + '\n';
}

export function rulesOf(opts: { version: string; enableAt: string; staticGroup: string }): string {
  return `version: "${opts.version}"
timeZone: ${ZONE}
defaults:
  timings:
    enableAt: "${opts.enableAt}"
    createSecondsBeforeStart: 3600
targets:
  - id: ad
    kind: ad
rules:
  - name: benchmark staff
    entitlements:
      ad:
        accountAccess: true
        permissions: [${opts.staticGroup}]
        dynamicPermissions: ["dept-{department.code}"]
`;
}

// ------------------------------------------------------------------ LDAP

export function ldapConnect(timeoutMs = 15_000): LdapClient {
  const url = need('AD_URL');
  const insecure = /^(1|true|yes|on)$/i.test(process.env.AD_TLS_INSECURE ?? '');
  const ca = process.env.AD_TLS_CA_FILE ? readFileSync(process.env.AD_TLS_CA_FILE) : undefined;
  return new LdapClient({
    url,
    timeout: timeoutMs,
    connectTimeout: 5000,
    // ldapts tries TLS on ldap:// when tlsOptions is given: only for ldaps://.
    tlsOptions: /^ldaps:/i.test(url) ? { rejectUnauthorized: !insecure, ...(ca ? { ca } : {}) } : undefined,
  });
}

export async function boundLdap(timeoutMs?: number): Promise<LdapClient> {
  const ldap = ldapConnect(timeoutMs);
  await ldap.bind(need('AD_BIND_DN'), need('AD_BIND_PASSWORD'));
  return ldap;
}

export async function addIgnoringExists(ldap: LdapClient, dn: string, attrs: Record<string, string | string[]>) {
  await ldap.add(dn, attrs).catch((err: { code?: number }) => {
    if (err.code !== 68) throw err;
  });
}

export async function delIgnoringMissing(ldap: LdapClient, dn: string): Promise<boolean> {
  try {
    await ldap.del(dn);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 32) return false;
    throw err;
  }
}

export async function countUsers(ldap: LdapClient, base: string): Promise<number> {
  const { searchEntries } = await ldap.search(base, {
    scope: 'sub',
    filter: '(&(objectClass=user)(objectCategory=person))',
    attributes: ['dn'],
    paged: { pageSize: 1000 },
  });
  return searchEntries.length;
}

// ------------------------------------------------------------------ the worker child process

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  log: string;
  exited: Promise<number | null>;
  exitCode(): number | null | undefined;
}

/**
 * With TENURE_BENCH_CPU_PROFILE=<dir> the worker writes V8 CPU profiles there when it exits, one
 * per thread (the workflow thread included); `scripts/bench/cpu-profile-summary.ts` reads them.
 */
function profileArgs(env: NodeJS.ProcessEnv): string[] {
  const dir = env.TENURE_BENCH_CPU_PROFILE;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

export function startWorker(env: NodeJS.ProcessEnv, logPath: string): WorkerProcess {
  const fd = openSync(logPath, 'a');
  const child = spawn(process.execPath, [...profileArgs(env), '--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (c) => {
      code = c;
      r(c);
    }),
  );
  if (child.pid === undefined) throw new Error('could not start the worker process');
  return { child, pid: child.pid, log: logPath, exited, exitCode: () => code };
}

export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function waitForWorker(w: WorkerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (w.exitCode() !== undefined) throw new Error(`worker exited (${w.exitCode()}):\n${tail(w.log)}`);
    if (readFileSync(w.log, 'utf8').includes('[worker] running')) return;
    await sleep(100);
  }
  throw new Error(`worker not ready within ${timeoutMs / 1000} s:\n${tail(w.log)}`);
}

export async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.exitCode() !== undefined) return;
  w.child.kill('SIGTERM');
  const done = await Promise.race([w.exited.then(() => true), sleep(15_000).then(() => false)]);
  if (!done) {
    w.child.kill('SIGKILL');
    await Promise.race([w.exited, sleep(5000)]);
  }
}

/** kB values of /proc/<pid>/status (VmRSS, VmHWM); undefined once the process is gone. */
export function memoryOf(pid: number): { rssKb: number; hwmKb: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** CPU seconds of a process and every live descendant, plus what their reaped children used. */
export function treeCpuSeconds(rootPid: number): number {
  const parentOf = new Map<number, number>();
  const cpuOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(name), Number(f[1]));
      // utime, stime, cutime, cstime in clock ticks (USER_HZ 100)
      cpuOf.set(Number(name), (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100);
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  for (const pid of cpuOf.keys()) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === rootPid) {
        total += cpuOf.get(pid)!;
        break;
      }
    }
  }
  return total;
}

/**
 * CPU seconds so far of each server the project started for this environment (TENURE_ENV, default
 * demo), read from the PID files under .run/<env>/; a server that is not running is left out.
 */
export function serverCpuSeconds(): Record<string, number> {
  const run = join(ROOT, '.run', process.env.TENURE_ENV ?? 'demo');
  const pidFiles: Record<string, string> = {
    temporal: 'temporal/temporal.pid',
    'temporal-cluster': 'temporal-cluster/server.pid',
    samba: 'samba/run/samba.pid',
    postgres: 'postgres/data/postmaster.pid',
  };
  const out: Record<string, number> = {};
  for (const [name, file] of Object.entries(pidFiles)) {
    try {
      const pid = Number(readFileSync(join(run, file), 'utf8').split('\n')[0]);
      if (pid > 1 && existsSync(`/proc/${pid}`)) out[name] = treeCpuSeconds(pid);
    } catch {
      // not started for this environment
    }
  }
  return out;
}
