/**
 * Leave out undefined members, deeply: an absent source field is an absent key, so the same person
 * has the same keys (and the same content hash) whichever source or file format it came from.
 */
export function compact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(compact);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, compact(x)]),
    );
  }
  return v;
}
