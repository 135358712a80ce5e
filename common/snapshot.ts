/**
 * Person snapshots for the poller (docs/lifecycle.md section 5): a stable content hash per person and
 * the diff of an import against the last accepted snapshot.
 *
 * Lives in common/, not domain/, because it uses node:crypto: import it from activities, connectors and tests, never from workflow code
 * (the workflow sandbox has no node:crypto, and a hash belongs in the activity that computed it).
 */
import { createHash } from 'node:crypto';
import { personKey, type Person } from '../domain/model.js';

/**
 * JSON with object keys sorted at every level, `undefined` members left out (as JSON.stringify
 * does), and no whitespace. Equal data gives an equal string, whatever order it was built in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/**
 * Stable content hash of a person: hex sha256 over the canonical JSON (sorted keys) with the
 * contracts sorted by id, so reordering rows in an export never looks like a change.
 */
export function personHash(person: Person): string {
  const contracts = [...person.contracts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return createHash('sha256')
    .update(canonicalJson({ ...person, contracts }), 'utf8')
    .digest('hex');
}

export interface SnapshotDiff {
  /** In the import, not in the previous snapshot. Sorted by person key. */
  added: Person[];
  /** In both, with a different hash. Sorted by person key. */
  changed: Person[];
  /** Person keys (`source:key`) in the previous snapshot and not in the import. Sorted. */
  removed: string[];
  /** How many persons are in both with the same hash (they get no entry anywhere else). */
  unchanged: number;
  /**
   * Previous person keys left out of `removed` because the caller passed them in `keep` (their
   * record failed validation this time, so they keep their last good data). Sorted.
   */
  kept: string[];
  /** The hash of every person in the import, by person key: the next snapshot to store. */
  hashes: Map<string, string>;
}

export interface DiffOptions {
  /**
   * Person keys (`source:key`) whose record was rejected in this import. Such a person is absent
   * from `current` but is not removed: it keeps its last good data (docs/lifecycle.md section 5).
   */
  keep?: Iterable<string>;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Diff an import against the previous snapshot (person key to hash). Deterministic: every list is
 * sorted by person key. Throws when `current` holds the same person key twice (a connector bug).
 */
export function diffSnapshots(
  previous: ReadonlyMap<string, string>,
  current: readonly Person[],
  options: DiffOptions = {},
): SnapshotDiff {
  const hashes = new Map<string, string>();
  const persons = new Map<string, Person>();
  for (const p of current) {
    const key = personKey(p);
    if (persons.has(key)) throw new Error(`diffSnapshots: person ${key} appears twice in the import`);
    persons.set(key, p);
    hashes.set(key, personHash(p));
  }

  const added: Person[] = [];
  const changed: Person[] = [];
  let unchanged = 0;
  for (const key of [...persons.keys()].sort(byKey)) {
    const before = previous.get(key);
    const p = persons.get(key) as Person;
    if (before === undefined) added.push(p);
    else if (before !== hashes.get(key)) changed.push(p);
    else unchanged++;
  }

  const keep = new Set(options.keep ?? []);
  const removed: string[] = [];
  const kept: string[] = [];
  for (const key of [...previous.keys()].sort(byKey)) {
    if (persons.has(key)) continue;
    (keep.has(key) ? kept : removed).push(key);
  }
  return { added, changed, removed, unchanged, kept, hashes };
}
