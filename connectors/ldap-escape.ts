/**
 * LDAP string escaping (RFC 4514 for DN attribute values, RFC 4515 for filter values) and the
 * small amount of DN handling the directory connectors need.
 *
 * Every value that comes from a person (names, employee numbers, locations, mail addresses) must
 * go through one of these before it is put into a DN or a filter.
 */

/**
 * Escape an attribute value for use in a DN (RFC 4514 section 2.4).
 *
 * `, + " < > ; =` are escaped with a backslash; the backslash itself as `\5c` (hex), because a
 * value ending in `\\` followed by the RDN separator confuses naive "first unescaped comma"
 * splitters (ldapts' modifyDN is one). A leading `#` or space and a trailing space are hex
 * escaped; NUL becomes `\00`. Other characters, including non-ASCII, are sent as UTF-8.
 */
export function escapeDNValue(value: string): string {
  let out = '';
  const chars = Array.from(value);
  chars.forEach((ch, i) => {
    switch (ch) {
      case '\\':
        out += '\\5c';
        break;
      case ',':
      case '+':
      case '"':
      case '<':
      case '>':
      case ';':
      case '=':
        out += '\\' + ch;
        break;
      case '\0':
        out += '\\00';
        break;
      case '#':
        out += i === 0 ? '\\23' : ch;
        break;
      case ' ':
        out += i === 0 || i === chars.length - 1 ? '\\20' : ch;
        break;
      default:
        out += ch;
    }
  });
  return out;
}

/**
 * Escape a value for use inside an LDAP filter (RFC 4515 section 3): `*`, `(`, `)`, `\` and NUL
 * become `\2a`, `\28`, `\29`, `\5c`, `\00`. Non-ASCII characters are left as UTF-8 (ldapts
 * decodes `\xx` escapes byte by byte into characters, so hex-escaping UTF-8 would corrupt them).
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '*':
        out += '\\2a';
        break;
      case '(':
        out += '\\28';
        break;
      case ')':
        out += '\\29';
        break;
      case '\\':
        out += '\\5c';
        break;
      case '\0':
        out += '\\00';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** Build `attr=<escaped value>` for one RDN. */
export function rdn(attribute: string, value: string): string {
  return `${attribute}=${escapeDNValue(value)}`;
}

/**
 * Split a DN at its first unescaped comma: `{ rdn: 'CN=Doe\, Jan', parent: 'OU=x,DC=y' }`.
 * Handles both `\,` and hex (`\2c`) escapes.
 */
export function splitDN(dn: string): { rdn: string; parent: string } {
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i];
    if (ch === '\\') {
      i++; // skip the escaped character (or the first hex digit; the second is harmless)
      continue;
    }
    if (ch === ',') return { rdn: dn.slice(0, i), parent: dn.slice(i + 1).trimStart() };
  }
  return { rdn: dn, parent: '' };
}

/** Decode the value of an RDN such as `CN=Doe\, Jan` or `CN=\20x` to its plain string. */
export function rdnValue(rdnString: string): string {
  const eq = rdnString.indexOf('=');
  // Code points, not UTF-16 units: a lone surrogate would turn into U+FFFD.
  const raw = Array.from(eq < 0 ? rdnString : rdnString.slice(eq + 1));
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\\' && i + 1 < raw.length) {
      const hex = raw.slice(i + 1, i + 3).join('');
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(raw[i + 1]!, 'utf8'));
        i += 1;
      }
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * A comparable form of a DN: every RDN decoded and re-escaped the same way, attribute names
 * upper-cased, values lower-cased (AD compares DNs case-insensitively).
 */
export function normalizeDN(dn: string): string {
  const parts: string[] = [];
  let rest = dn.trim();
  while (rest) {
    const { rdn: first, parent } = splitDN(rest);
    const eq = first.indexOf('=');
    const attr = (eq < 0 ? first : first.slice(0, eq)).trim().toUpperCase();
    parts.push(`${attr}=${escapeDNValue(rdnValue(first.trim())).toLowerCase()}`);
    rest = parent;
  }
  return parts.join(',');
}

/** Same entry? (case-insensitive, escaping-insensitive) */
export function sameDN(a: string, b: string): boolean {
  return normalizeDN(a) === normalizeDN(b);
}
