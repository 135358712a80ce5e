// Two HR sources with the same person key are two people with two accounts, never one: with more
// than one source the correlation value is source-qualified (docs/ownership.md).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { employeeWorkflowId } from '../domain/model.js';
import { requireEnv, uniqueSuffix } from './support/env.js';
import { csvOf, eventually, startHarness, type Harness } from './support/tenure-harness.js';

const RULES = `
version: "sources-1"
timeZone: Europe/Amsterdam
targets:
  - id: ad
    kind: ad
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
        permissions: [all-staff]
`;

describe('the same key in two sources', () => {
  let h: Harness;
  const tag = uniqueSuffix().slice(-3);
  const a = `qa${tag}`;
  const b = `qb${tag}`;
  const key = `k${uniqueSuffix().slice(-7)}`;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenure-sources-'));
    const config = join(dir, 'tenure.yaml');
    writeFileSync(
      config,
      `timeZone: Europe/Amsterdam
sources:
  - { id: ${a}, kind: file, thresholds: { firstPoll: accept }, options: { path: a.csv } }
  - { id: ${b}, kind: file, thresholds: { firstPoll: accept }, options: { path: b.csv } }
`,
    );
    writeFileSync(
      join(dir, 'a.csv'),
      csvOf([{ key, nick: 'Noor', family: 'Eerste', contract: `${key}c1`, start: '2020-01-01', dept: 'FIN' }]),
    );
    writeFileSync(
      join(dir, 'b.csv'),
      csvOf([{ key, nick: 'Olaf', family: 'Tweede', contract: `${key}c1`, start: '2020-01-01', dept: 'ICT' }]),
    );
    h = await startHarness(RULES, { TENURE_CONFIG_FILE: config });
  });
  after(async () => {
    for (const s of [a, b])
      await h?.client.workflow
        .getHandle(employeeWorkflowId(`${s}:${key}`))
        .terminate('test finished')
        .catch(() => undefined);
    await h?.stop();
  });

  test('two people, two accounts, each correlating on its source-qualified value', async () => {
    assert.equal((await h.poll(a)).outcome, 'accepted');
    assert.equal((await h.poll(b)).outcome, 'accepted');
    const guids = new Set<string>();
    for (const [s, name] of [
      [a, 'Noor Eerste'],
      [b, 'Olaf Tweede'],
    ] as const) {
      const st = await eventually(
        () => h.status(`${s}:${key}`),
        (x) => x.state === 'active' && x.accounts.length === 1,
        60_000,
      );
      assert.equal(st.displayName, name);
      guids.add(st.accounts[0]!.accountId);
      const r = await h.ldap.search(requireEnv('AD_BASE_DN'), {
        filter: `(&(objectClass=user)(employeeID=${s}:${key}))`,
        attributes: ['displayName'],
      });
      assert.equal(r.searchEntries.length, 1, `one account for ${s}:${key}`);
      assert.equal(r.searchEntries[0]!.displayName, name);
    }
    assert.equal(guids.size, 2, 'two different accounts');
    const bare = await h.ldap.search(requireEnv('AD_BASE_DN'), {
      filter: `(&(objectClass=user)(employeeID=${key}))`,
      attributes: ['dn'],
    });
    assert.equal(bare.searchEntries.length, 0, 'nobody correlates on the bare key');
  });
});
