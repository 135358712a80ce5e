/**
 * What every CLI command shares: the context it runs in, its errors, and output helpers.
 * Commands take a Temporal `Client` and/or a `pg.Pool` and write through `out`, so tests call
 * them directly and capture what an operator would see.
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type pg from 'pg';
import { DEFAULT_TIME_ZONE, localMoment } from '../../domain/dates.js';
import { employeeWorkflowId } from '../../domain/model.js';

export type Out = (line: string) => void;

export interface TemporalContext {
  client: Client;
  out: Out;
  /** For times shown to people (default Europe/Amsterdam). */
  timeZone?: string;
  /** Queries give up after this long (a person's workflow needs a running worker to answer). */
  queryTimeoutMs?: number;
}

export interface PostgresContext {
  pool: Pick<pg.Pool, 'query'>;
  out: Out;
  timeZone?: string;
}

/** Bad arguments: the CLI prints usage and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** No employee workflow for the person: exit code 1. */
export class PersonNotFound extends Error {
  constructor(readonly personKey: string) {
    super(
      `no employee workflow for ${personKey} (workflow id ${employeeWorkflowId(personKey)} not found); ` +
        'check the person key (source:key, e.g. file:1001) and the namespace (TEMPORAL_NAMESPACE)',
    );
    this.name = 'PersonNotFound';
  }
}

const PERSON_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*:[^\s:][^\s]*$/;

export function validatePersonKey(value: string | undefined): string {
  if (!value) throw new UsageError('a person key is required, e.g. file:1001');
  if (value.length > 200 || !PERSON_KEY.test(value)) {
    throw new UsageError(`not a person key: ${JSON.stringify(value)} (expected source:key, e.g. file:1001)`);
  }
  return value;
}

export function employeeHandle(client: Client, personKey: string): WorkflowHandle {
  return client.workflow.getHandle(employeeWorkflowId(personKey));
}

/** Runs a Temporal call for one person, turning "workflow not found" into `PersonNotFound`. */
export async function forPerson<T>(personKey: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isNotFound(err)) throw new PersonNotFound(personKey);
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof WorkflowNotFoundError) return true;
    const x = e as { name?: string; code?: number; message?: string };
    if (x.name === 'WorkflowNotFoundError') return true;
    // gRPC NOT_FOUND (5) for an execution that never existed.
    if (x.code === 5 && /workflow/i.test(x.message ?? '') && /not found/i.test(x.message ?? '')) return true;
  }
  return false;
}

/** Removes control characters (terminal escapes, line breaks) from data shown in a terminal. */
export function clean(value: unknown): string {
  if (value === undefined || value === null) return '';
  // eslint-disable-next-line no-control-regex
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}

/** `2027-02-01 07:00:00` in the zone. */
export function localTimestamp(instant: string | Date | number, timeZone = DEFAULT_TIME_ZONE): string {
  const d = instant instanceof Date ? instant : new Date(instant);
  if (Number.isNaN(d.getTime())) return clean(instant);
  const { date, time } = localMoment(d.getTime(), timeZone);
  return `${date} ${time}`;
}

/** A plain text table: a header row, a rule, the rows; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string[] {
  const cells = [headers, ...rows].map((r) => r.map(clean));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)];
}

export function json(out: Out, value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

export function queryDeadline(ctx: TemporalContext): number {
  return Date.now() + (ctx.queryTimeoutMs ?? 20_000);
}
