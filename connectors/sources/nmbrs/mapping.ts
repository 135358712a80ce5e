/** Pure mapping helpers of the Nmbrs source (docs/sources/model.md and docs/sources/nmbrs.md). */
import type { NameConvention } from '../../../domain/model.js';
import type { NmbrsSettings } from './options.js';

/** Nmbrs `Naamstelling` digits → convention (table 1.4). */
export const NAAMSTELLING_DIGITS: Record<string, NameConvention> = { '1': 'B', '2': 'P', '3': 'PB', '4': 'BP' };

export type NaamstellingResult = { convention: NameConvention } | { error: string };

/** Naamstelling (digit or enum name, per settings) → convention; empty → `B`. */
export function mapNaamstelling(
  raw: string | undefined,
  s: Pick<NmbrsSettings, 'naamstellingFormat' | 'naamstellingNames' | 'unknownNaamstelling'>,
): NaamstellingResult {
  const v = raw?.trim() ?? '';
  if (v === '') return { convention: 'B' };
  if (s.naamstellingFormat !== 'name' && /^\d+$/.test(v)) {
    const c = NAAMSTELLING_DIGITS[String(Number(v))];
    if (c) return { convention: c };
  }
  if (s.naamstellingFormat !== 'digit') {
    const folded = v.toLowerCase().replace(/[\s/._-]+/g, '');
    const names = new Map(
      Object.entries(s.naamstellingNames).map(([k, c]) => [k.toLowerCase().replace(/[\s/._-]+/g, ''), c]),
    );
    const c = names.get(folded);
    if (c) return { convention: c };
  }
  if (s.unknownNaamstelling === 'B') return { convention: 'B' };
  return { error: `unknown value (expected ${s.naamstellingFormat === 'name' ? 'an enum name' : '1, 2, 3 or 4'})` };
}

export type DateResult = { date: string | undefined } | { error: string };

/**
 * `xs:dateTime` without zone (`2026-05-15T00:00:00`) or a date → `YYYY-MM-DD`. Nil, empty and the
 * `0001-01-01` sentinel are "no date" (docs/sources/nmbrs.md).
 */
export function nmbrsDate(raw: string | undefined): DateResult {
  const v = raw?.trim() ?? '';
  if (v === '') return { date: undefined };
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?$/.exec(v);
  if (!m) return { error: 'not a date (expected YYYY-MM-DDTHH:MM:SS)' };
  const [, y, mo, d] = m as unknown as [string, string, string, string];
  if (y === '0001') return { date: undefined };
  const t = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (t.getUTCFullYear() !== Number(y) || t.getUTCMonth() !== Number(mo) - 1 || t.getUTCDate() !== Number(d)) {
    return { error: 'not a real calendar date' };
  }
  return { date: `${y}-${mo}-${d}` };
}

/** Today as `YYYY-MM-DD` in a time zone. */
export function todayIn(timeZone: string, now = new Date()): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(now)
    .reduce<Record<string, string>>((acc, p) => ({ ...acc, [p.type]: p.value }), {});
  return `${parts.year}-${parts.month}-${parts.day}`;
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Newest personal-info version: greatest CreationDate, then greatest Id (string compare of ISO dates). */
export function newestVersion<T extends { creationDate?: string; id?: string }>(versions: T[]): T | undefined {
  let best: T | undefined;
  for (const v of versions) {
    if (!best) {
      best = v;
      continue;
    }
    const a = v.creationDate ?? '';
    const b = best.creationDate ?? '';
    if (a > b || (a === b && Number(v.id ?? 0) >= Number(best.id ?? 0))) best = v;
  }
  return best;
}

/** Run `fn` over items with at most `limit` at once; the first rejection rejects the whole run. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
