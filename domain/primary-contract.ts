/**
 * Primary contract selection (docs/lifecycle.md section 1).
 *
 * Contracts are ranked by an ordered list of determinants, e.g. `['sequence', 'fte desc',
 * 'startDate']`. Each determinant is a field name with an optional direction `asc` (default) or
 * `desc`. Ties after all determinants are broken by contract id (ascending), so the choice is
 * always deterministic.
 *
 * Missing values: a contract without the field ranks after contracts that have it, whatever the
 * direction. Exception: `endDate` absent means open-ended and ranks as the latest possible end
 * (so `endDate desc` puts open-ended contracts first).
 *
 * Choice on `today`:
 * 1. the best-ranked contract, if it is active on `today`;
 * 2. otherwise the best-ranked active contract;
 * 3. with no active contract, the best-ranked future contract (starts after `today`);
 * 4. otherwise the ended contract with the latest end date (ties by rank).
 */
import { z } from 'zod';
import type { Contract } from './model.js';
import { compareDates, isActiveOn } from './dates.js';

export const DETERMINANT_FIELDS = ['sequence', 'fte', 'startDate', 'endDate', 'id'] as const;
export type DeterminantField = (typeof DETERMINANT_FIELDS)[number];

const DETERMINANT_RE = new RegExp(`^(${DETERMINANT_FIELDS.join('|')})(?:\\s+(asc|desc))?$`);

/** A determinant as written in the rules file: `field` or `field asc|desc`. */
export const Determinant = z
  .string()
  .trim()
  .regex(DETERMINANT_RE, `expected one of ${DETERMINANT_FIELDS.join(', ')}, optionally followed by asc or desc`);
export type Determinant = z.infer<typeof Determinant>;

export const DEFAULT_DETERMINANTS: readonly Determinant[] = ['sequence', 'fte desc', 'startDate'];

interface ParsedDeterminant {
  field: DeterminantField;
  desc: boolean;
}

function parseDeterminant(d: string): ParsedDeterminant {
  const m = DETERMINANT_RE.exec(d.trim());
  if (!m) throw new RangeError(`unknown primary-contract determinant: ${JSON.stringify(d)}`);
  return { field: m[1] as DeterminantField, desc: m[2] === 'desc' };
}

type Value = number | string | undefined;

function valueOf(c: Contract, field: DeterminantField): Value {
  switch (field) {
    case 'sequence':
      return c.sequence;
    case 'fte':
      return c.fte;
    case 'startDate':
      return c.startDate;
    case 'endDate':
      return c.endDate ?? '9999-12-31';
    case 'id':
      return c.id;
  }
}

function cmpValues(a: Value, b: Value): number {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A comparator ranking contracts best-first by the determinants, ties by id. */
export function contractComparator(
  determinants: readonly string[] = DEFAULT_DETERMINANTS,
): (a: Contract, b: Contract) => number {
  const parsed = determinants.map(parseDeterminant);
  return (a, b) => {
    for (const { field, desc } of parsed) {
      const va = valueOf(a, field);
      const vb = valueOf(b, field);
      // Missing values always rank last, so only flip the comparison of two present values.
      if (va === undefined || vb === undefined) {
        const c = cmpValues(va, vb);
        if (c !== 0) return c;
        continue;
      }
      const c = cmpValues(va, vb);
      if (c !== 0) return desc ? -c : c;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

/** Contracts ranked best-first (a new array). */
export function rankContracts(
  contracts: readonly Contract[],
  determinants: readonly string[] = DEFAULT_DETERMINANTS,
): Contract[] {
  return [...contracts].sort(contractComparator(determinants));
}

/** The primary contract on `today` (see the module comment), or undefined without contracts. */
export function primaryContract(
  contracts: readonly Contract[],
  today: string,
  determinants: readonly string[] = DEFAULT_DETERMINANTS,
): Contract | undefined {
  const ranked = rankContracts(contracts, determinants);
  const active = ranked.find((c) => isActiveOn(c, today));
  if (active) return active; // equals ranked[0] when the winner is active
  const future = ranked.find((c) => compareDates(c.startDate, today) > 0);
  if (future) return future;
  // All ended: the latest end date; stable sort keeps rank order among equal end dates.
  return [...ranked].sort((a, b) => compareDates(b.endDate ?? '9999-12-31', a.endDate ?? '9999-12-31'))[0];
}
