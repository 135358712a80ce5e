// A failing hire with encryption on: the directory refuses the account (its username is already
// used by a group, which Tenure's uniqueness check does not cover), and neither the raw Temporal
// history (read without the codec) nor anything the workers log holds the person's name, username
// or e-mail address. Real Temporal, Samba AD and PostgreSQL.
import './support/collecting-runtime.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { ENCRYPTED_ENCODING } from '../common/payload-codec.js';
import { employeeWorkflowId } from '../domain/model.js';
import { identityCandidates } from '../domain/naming.js';
import { collectedLogs } from './support/collecting-runtime.js';
import { requireEnv } from './support/env.js';
import { eventually, startHarness, wallClockIn, type Harness } from './support/tenure-harness.js';

const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

/** Every Uint8Array and string reachable from a (protobuf) object, as one lower-cased text. */
function rawText(root: unknown): string {
  const parts: Buffer[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 60 || v === null || v === undefined) return;
    if (typeof v === 'string') parts.push(Buffer.from(v));
    else if (v instanceof Uint8Array) parts.push(Buffer.from(v));
    else if (typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      for (const x of Object.values(v as object)) walk(x, depth + 1);
    }
  };
  walk(root, 0);
  return Buffer.concat(parts).toString('utf8').toLowerCase();
}

describe('no personal data in history or logs when a hire fails', () => {
  let h: Harness;
  const today = wallClockIn(0).date;

  before(async () => {
    h = await startHarness(
      `
version: "privacy-1"
timeZone: Europe/Amsterdam
defaults:
  timings:
    enableAt: "00:00"
    disableAt: "00:00"
    createSecondsBeforeStart: 20
    deleteAfterSeconds: 259200
targets:
  - id: ad
    kind: ad
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
        permissions: [all-staff]
`,
      { TENURE_ENCRYPTION_KEYS: `privacy:${randomBytes(32).toString('base64')}`, TENURE_PAYLOADS_PLAINTEXT: '' },
    );
  });
  after(async () => {
    await h?.stop();
  });

  test('the directory refuses the account; history and logs name the person key only', async () => {
    const key = h.key();
    const tag = Array.from(randomBytes(5), (b) => String.fromCharCode(97 + (b % 26))).join('');
    const family = `Dangq${tag}`;
    const candidate = identityCandidates(
      { nickName: 'Zoë', familyName: family, convention: 'B' },
      { mailDomain: 'tenure.test' },
    ).next().value!;
    // A group holding the username: samAccountName is unique domain-wide, so the add is refused.
    const groupsOU = process.env.AD_GROUPS_OU ?? `OU=Groups,OU=Tenure,${requireEnv('AD_BASE_DN')}`;
    await h.ldap.add(`CN=clash-${tag},${groupsOU}`, {
      objectClass: ['top', 'group'],
      sAMAccountName: candidate.username,
      groupType: '-2147483646',
    });
    try {
      h.writeExport([{ key, nick: 'Zoë', family, contract: `${key}c1`, start: today, dept: 'ZORG' }]);
      assert.equal((await h.poll()).signalled, 1);
      const audit = await eventually(
        () => h.audit(`${h.sourceId}:${key}`),
        (a) => a.some((r) => r.action === 'create' && r.outcome === 'failed'),
        90_000,
      );
      const failed = audit.find((r) => r.action === 'create' && r.outcome === 'failed');
      assert.ok(failed, `a failed create in the audit log: ${JSON.stringify(audit.map((r) => r.action))}`);
      assert.equal(await h.adUser(key), undefined, 'no account was created');

      // The history as Temporal stores it: a client without the codec.
      const raw = new Client({ connection: h.client.connection, namespace: h.client.options.namespace });
      const history = await raw.workflow.getHandle(employeeWorkflowId(`${h.sourceId}:${key}`)).fetchHistory();
      const failures = (history.events ?? [])
        .map((e) => e.activityTaskFailedEventAttributes?.failure)
        .filter((f): f is NonNullable<typeof f> => Boolean(f));
      assert.ok(failures.length > 0, 'the history has the failed activity');
      for (const f of failures) {
        assert.equal(f.message, 'Encoded failure', 'the message is moved into the encoded attributes');
        assert.equal(f.stackTrace ?? '', '', 'so is the stack trace');
        assert.equal(text(f.encodedAttributes?.metadata?.encoding), ENCRYPTED_ENCODING);
      }
      const stored = rawText(history);
      // The workflow logs the failure in the workflow task after the activity failed: wait for it.
      const logs = await eventually(
        async () => collectedLogs.join('\n').toLowerCase(),
        (l) => l.includes('target step failed'),
        30_000,
      );
      assert.ok(logs.includes('target step failed'), 'the workflow logged the failure (the logs were captured)');
      const local = candidate.email.split('@')[0]!;
      for (const needle of ['Zoë', family, candidate.username, local, candidate.email]) {
        assert.ok(!stored.includes(needle.toLowerCase()), `'${needle}' is not in the raw history`);
        assert.ok(!logs.includes(needle.toLowerCase()), `'${needle}' is not in the worker logs`);
      }
      // The failure reads back in clear through the codec: the encryption hides it, nothing is lost.
      const status = await h.status(`${h.sourceId}:${key}`);
      assert.match(status.lastError?.message ?? '', /could not create account|refused|already/i);
    } finally {
      await h.ldap.del(`CN=clash-${tag},${groupsOU}`).catch(() => undefined);
    }
  });
});
