/** Parsing of connector settings from environment variables; errors name the variable, never its value. */

/** `1/true/yes/on` or `0/false/no/off`; empty or unset = undefined. */
export function envBool(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(v.trim())) return true;
  if (/^(0|false|no|off)$/i.test(v.trim())) return false;
  throw new Error(`${name} must be true or false (1 or 0)`);
}

/** A non-negative whole number; empty or unset = undefined. */
export function envInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}
