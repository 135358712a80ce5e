/**
 * Validation of the employee workflow's signal payloads, for use inside the workflow (pure, no
 * I/O: safe in the sandbox). A signal can come from anyone with access to the namespace (the
 * `temporal` CLI, the Web UI), not only from Tenure's poller: the handler must not trust it.
 *
 * Both parsers return a result instead of throwing, so the handler can ignore a bad signal and
 * record why (a reason names the field, never a value), and the workflow keeps running.
 */
import { z } from 'zod';
import { personKey } from '../domain/person-key.js';
import { buildPersonSchemas } from '../domain/person-schema.js';
import type { PersonChanged, PersonRemoved } from './messages.js';

// The schemas are this module's own and it exports only functions: the worker shares this module
// between workflows and the SDK deep-freezes what shared modules export, which zod schemas do not
// survive (workers/workflow-bundle.ts SHARED_WORKFLOW_MODULES).
const { Person } = buildPersonSchemas();

/** What the poller writes as the cause, e.g. `poll file#12`: short, printable, one line. */
const Cause = z
  .string()
  .trim()
  .min(1, 'is empty')
  .max(200, 'longer than 200 characters')
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  .refine((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s), 'contains control characters');

const PersonChangedPayload = z.strictObject({
  person: Person,
  /** sha-256 of the canonical snapshot (domain/snapshot.ts personHash). */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/, 'is not a sha-256 hex digest'),
  cause: Cause,
  lane: z.literal('bulk').optional(),
});

const PersonRemovedPayload = z.strictObject({
  personKey: z.string().regex(/^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9._-]{1,64}$/, 'is not a person key'),
  cause: Cause,
  lane: z.literal('bulk').optional(),
});

export type SignalCheck<T> = { ok: true; value: T } | { ok: false; reason: string };

function reasonOf(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`)
    .join('; ');
}

/** A personChanged payload for the workflow of `forKey`, parsed; or why it is refused. */
export function checkPersonChanged(payload: unknown, forKey: string): SignalCheck<PersonChanged> {
  const r = PersonChangedPayload.safeParse(payload);
  if (!r.success) return { ok: false, reason: `personChanged refused: ${reasonOf(r.error)}` };
  if (personKey(r.data.person) !== forKey)
    return { ok: false, reason: 'personChanged refused: person: belongs to another person key' };
  return { ok: true, value: r.data };
}

/** A personRemoved payload for the workflow of `forKey`, parsed; or why it is refused. */
export function checkPersonRemoved(payload: unknown, forKey: string): SignalCheck<PersonRemoved> {
  const r = PersonRemovedPayload.safeParse(payload);
  if (!r.success) return { ok: false, reason: `personRemoved refused: ${reasonOf(r.error)}` };
  if (r.data.personKey !== forKey)
    return { ok: false, reason: 'personRemoved refused: personKey: belongs to another workflow' };
  return { ok: true, value: r.data };
}
