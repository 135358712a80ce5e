/**
 * Initial passwords for new accounts. Never returned, logged or audited: the account is created
 * disabled and the person gets a password through a separate (out-of-band) process.
 */
import { randomBytes } from 'node:crypto';

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGIT = '23456789';
// No quote or backslash: unicodePwd wraps the value in double quotes.
const SYMBOL = '!#$%&*+-=?@^_~.:;';
const ALL = UPPER + LOWER + DIGIT + SYMBOL;

/** Uniform random index below n from crypto.randomBytes (rejection sampling, no modulo bias). */
function randomIndex(n: number): number {
  const limit = 256 - (256 % n);
  for (;;) {
    const [b] = randomBytes(1);
    if (b! < limit) return b! % n;
  }
}

function pick(set: string): string {
  return set[randomIndex(set.length)]!;
}

/**
 * A random password of `length` (>= 20) characters with upper, lower, digit and symbol, that does
 * not contain the account name or any 3+ character part of the display name (AD complexity rule).
 */
export function generatePassword(opts: { length?: number; avoid?: string[] } = {}): string {
  const length = Math.max(20, opts.length ?? 24);
  const avoid = (opts.avoid ?? [])
    .flatMap((s) => s.split(/[\s,.\-_#\t]+/))
    .map((s) => s.toLowerCase())
    .filter((s) => s.length >= 3);
  for (;;) {
    const chars = [pick(UPPER), pick(LOWER), pick(DIGIT), pick(SYMBOL)];
    while (chars.length < length) chars.push(pick(ALL));
    for (let i = chars.length - 1; i > 0; i--) {
      const j = randomIndex(i + 1);
      [chars[i], chars[j]] = [chars[j]!, chars[i]!];
    }
    const pw = chars.join('');
    const lower = pw.toLowerCase();
    if (!avoid.some((a) => lower.includes(a))) return pw;
  }
}

/** The unicodePwd value: the password in double quotes, UTF-16LE. */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}
