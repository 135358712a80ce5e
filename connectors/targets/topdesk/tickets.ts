/**
 * Onboarding/offboarding tickets as permissions (docs/targets/topdesk.md and docs/connector-contract.md).
 *
 * A ticket is the permission `ticket:<kind>:<eventKey>`. Granting it creates the configured change
 * or incident once: the connector first searches for a ticket carrying the dedupe key in
 * `externalNumber`, and only posts when there is none. The key is derived from the person's
 * employee number, the kind and the event key, so the same event for the same person always maps
 * to the same external number and a retried grant finds the ticket a lost answer left behind.
 */
import { createHash } from 'node:crypto';

export const TICKET_PREFIX = 'ticket:';

export interface TicketRef {
  kind: string;
  eventKey: string;
}

/** `ticket:<kind>:<eventKey>` (the event key may itself contain colons). */
export function ticketPermission(kind: string, eventKey: string): string {
  return `${TICKET_PREFIX}${kind}:${eventKey}`;
}

export function parseTicketPermission(name: string): TicketRef | null {
  const m = /^ticket:([a-z][a-z0-9-]*):(.+)$/.exec(name.trim());
  return m ? { kind: m[1] as string, eventKey: (m[2] as string).trim() } : null;
}

/**
 * The dedupe key written to `externalNumber`: `tn:<employeeNumber>:<kind>:<eventKey>`, or when that
 * is longer than `max`, `tn:<kind>:<sha256 prefix>` (still deterministic).
 */
export function ticketExternalNumber(employeeNumber: string, ref: TicketRef, max: number): string {
  const plain = `tn:${employeeNumber}:${ref.kind}:${ref.eventKey}`;
  if (plain.length <= max) return plain;
  const hash = createHash('sha256').update(`${employeeNumber}\u0000${ref.kind}\u0000${ref.eventKey}`).digest('hex');
  const head = `tn:${ref.kind}:`;
  return `${head}${hash.slice(0, Math.max(16, max - head.length))}`.slice(0, max);
}

/** Replace `{{name}}` with the value; unknown or empty variables become empty (as the connector does). */
export function renderTemplate(template: string, vars: Record<string, string | undefined>): string {
  return template.replace(/\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g, (_m, k: string) => vars[k] ?? '');
}

/** Cut to `max` characters without splitting a surrogate pair (briefDescription: 80). */
export function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join('');
}
