/** AD objectGUID: 16 bytes, the first three fields little-endian, shown as 8-4-4-4-12 hex. */

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

export function guidFromBytes(b: Buffer): string {
  if (b.length !== 16) throw new Error(`objectGUID must be 16 bytes, got ${b.length}`);
  const h = b.toString('hex');
  const le = (s: string) => s.match(/../g)!.reverse().join('');
  return `${le(h.slice(0, 8))}-${le(h.slice(8, 12))}-${le(h.slice(12, 16))}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The extended DN form AD and Samba accept as a base/target DN: `<GUID=...>`. */
export function guidDN(guid: string): string {
  if (!isGuid(guid)) throw new Error('not a GUID');
  return `<GUID=${guid.toLowerCase()}>`;
}
