// An HR API source configured in the config file, end to end: the Raet simulator's data reaches
// the employee workflow and Samba AD within one poll, the generated UPN and e-mail are written
// back, and a write-back that keeps failing shows in the status without holding up the account.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client as LdapClient } from 'ldapts';
import { requireEnv, uniqueSuffix } from './support/env.js';
import { NmbrsSimulator, syntheticTenant } from './simulators/nmbrs.js';
import { RaetSimulator, beaufortDataset } from './simulators/raet.js';
import { startVismaNetSim, syntheticDataset } from './simulators/vismanet.js';
import { eventually, explainPerson, startHarness, type Harness } from './support/tenure-harness.js';

const SECRET = 'sim-secret-do-not-log';

/** Accounts left by earlier runs on this directory carry the same employee numbers: remove them first. */
async function removeAccounts(employeeIds: string[]): Promise<void> {
  const ldap = new LdapClient({ url: requireEnv('AD_URL'), tlsOptions: { rejectUnauthorized: false } });
  await ldap.bind(requireEnv('AD_BIND_DN'), requireEnv('AD_BIND_PASSWORD'));
  try {
    for (const id of employeeIds) {
      const { searchEntries } = await ldap.search(`OU=Tenure,${requireEnv('AD_BASE_DN')}`, {
        filter: `(&(objectClass=user)(employeeID=${id}))`,
        attributes: ['dn'],
      });
      for (const e of searchEntries) await ldap.del(e.dn);
    }
  } finally {
    await ldap.unbind();
  }
}

describe('Raet source through the whole stack', () => {
  let sim: RaetSimulator;
  let h: Harness;
  const sourceId = `rt${uniqueSuffix()}`.slice(0, 16);

  before(async () => {
    sim = new RaetSimulator(beaufortDataset(), { windowMs: 1000, fractionalRetryAfter: true });
    await sim.start();
    await removeAccounts(sim.data.persons.map((p) => String(p?.personCode)));
    const dir = mkdtempSync(join(tmpdir(), 'tenure-raet-'));
    const config = join(dir, 'tenure.yaml');
    writeFileSync(
      config,
      `sources:
  - id: ${sourceId}
    kind: raet
    every: 1h
    thresholds: { firstPoll: accept }
    options:
      baseUrl: ${sim.url}
      tokenUrl: ${sim.url}/connect/token
      clientId: sim-client
      clientSecretEnv: RAET_TEST_CLIENT_SECRET
      tenantId: sim-tenant
      pageSize: 2
      rateLimit: { callsPerWindow: 100, windowMs: 1000, concurrency: 3, minSpacingMs: 0 }
`,
    );
    h = await startHarness(
      `
version: "raet-e2e"
targets: [{ id: ad, kind: ad }]
rules:
  - name: all staff
    entitlements: { ad: { accountAccess: true, permissions: [all-staff] } }
`,
      // One real source besides the harness's idle file source: keep the bare key as employeeID.
      { TENURE_CONFIG_FILE: config, RAET_TEST_CLIENT_SECRET: SECRET, TENURE_CORRELATION: 'bare' },
    );
  });
  after(async () => {
    await h?.stop();
    await sim?.stop();
  });

  test('import, provision, write back; a change reaches AD within one poll; a failing write-back shows in status', async () => {
    const first = await h.poll(sourceId);
    assert.equal(first.outcome, 'accepted', JSON.stringify(first));
    assert.ok(first.added >= 2);

    // Jan (100001) is employed: an enabled account in AD.
    const jan = await eventually(
      () => h.adUser('100001'),
      (u) => u !== undefined && (Number(u.userAccountControl) & 2) === 0,
      60_000,
    );
    assert.ok(jan);
    assert.match(String(jan.displayName), /^Jan /);

    // Write-back: the UPN and the business e-mail land in the simulator.
    const status = await eventually(
      () => h.status(`${sourceId}:100001`),
      (s) => s.username !== undefined,
      30_000,
    );
    await eventually(
      async () => sim.stats.identityPatches.filter((p) => p.employeeId === '100001'),
      (p) => p.length > 0,
      30_000,
    );
    assert.ok(sim.stats.identityPatches.some((p) => p.employeeId === '100001' && p.id === jan.userPrincipalName));
    await eventually(
      async () => sim.stats.contactDetailsPosts.length,
      (n) => n > 0,
      30_000,
    );
    assert.ok(JSON.stringify(sim.stats.contactDetailsPosts).includes(String(status.email)));
    const audit = await h.audit(`${sourceId}:100001`);
    assert.ok(
      audit.some((a) => a.target === `source:${sourceId}` && a.action === 'writeBack' && a.outcome === 'success'),
    );

    // A change in the HR system: Jan's family name changes, and the write API is down.
    const person = sim.data.persons.find((p) => p?.personCode === '100001') as Record<string, unknown>;
    // A new family name (the e-mail follows it, so a write-back is due).
    Object.assign(person, {
      lastNameAtBirth: 'Jansen',
      lastNameAtBirthPrefix: '',
      lastName: 'Jansen',
      lastNamePrefix: '',
    });
    sim.faults.writeBackStatus = 503;
    const second = await h.poll(sourceId);
    // Jan, and anyone whose business e-mail the first write-backs filled in the source.
    assert.ok(second.changed >= 1, JSON.stringify(second));
    const renamed = await eventually(
      () => h.adUser('100001'),
      (u) => String(u?.displayName) === 'Jan Jansen',
      60_000,
    );
    assert.ok(renamed, 'the change reached AD within one poll');

    // The write-back keeps failing: visible in status and health, the account itself is fine.
    const failing = await eventually(
      () => h.status(`${sourceId}:100001`),
      (s) => s.writeBackError !== undefined,
      90_000,
    );
    assert.equal(failing.health, 'failed');
    assert.equal(failing.state, 'active');
    assert.ok(!JSON.stringify(failing).includes(SECRET));
    const failedAudit = await h.audit(`${sourceId}:100001`);
    assert.ok(failedAudit.some((a) => a.action === 'writeBack' && a.outcome === 'failed'));
  });
});

/** Visma.net HRM and Nmbrs through the same config-driven path: a change reaches AD within one poll. */
async function changeReachesAd(opts: {
  kind: string;
  options: string;
  env: Record<string, string>;
  employeeId: string;
  change: () => void;
}): Promise<void> {
  await removeAccounts([opts.employeeId]);
  const sourceId = `${opts.kind.slice(0, 2)}${uniqueSuffix()}`.slice(0, 16);
  const dir = mkdtempSync(join(tmpdir(), `tenure-${opts.kind}-`));
  const config = join(dir, 'tenure.yaml');
  writeFileSync(
    config,
    `sources:\n  - id: ${sourceId}\n    kind: ${opts.kind}\n    every: 1h\n    thresholds: { firstPoll: accept }\n    options:\n${opts.options}`,
  );
  const h = await startHarness(
    `
version: "${opts.kind}-e2e"
targets: [{ id: ad, kind: ad }]
rules:
  - name: all staff
    entitlements: { ad: { accountAccess: true } }
`,
    // One real source besides the harness's idle file source: keep the bare key as employeeID.
    { TENURE_CONFIG_FILE: config, TENURE_CORRELATION: 'bare', ...opts.env },
  );
  try {
    const first = await h.poll(sourceId);
    assert.equal(first.outcome, 'accepted', JSON.stringify(first));
    const before = await eventually(
      () => h.adUser(opts.employeeId),
      (u) => u !== undefined && (Number(u.userAccountControl) & 2) === 0,
      60_000,
    );
    assert.ok(before, `${opts.kind}: account created and enabled`);
    opts.change();
    const second = await h.poll(sourceId);
    assert.ok(second.changed >= 1, JSON.stringify(second));
    // One poll is the claim; the time bound only has to survive a loaded CI machine.
    const after = await eventually(
      () => h.adUser(opts.employeeId),
      (u) => String(u?.displayName).startsWith('Kees '),
      180_000,
    );
    if (!String(after?.displayName).startsWith('Kees ')) {
      const why = await explainPerson(h, `${sourceId}:${opts.employeeId}`);
      assert.fail(
        `${opts.kind}: the new known-as name did not reach AD (second poll ${JSON.stringify(second)}); ${why}`,
      );
    }
  } finally {
    await h.stop();
  }
}

describe('Visma.net HRM and Nmbrs sources through the whole stack', () => {
  test('Visma.net HRM: a changed known-as name reaches AD within one poll', async () => {
    const data = syntheticDataset();
    const sim = await startVismaNetSim({
      clientId: 'tenure-client',
      clientSecret: SECRET,
      tenantId: 'tenant-0001',
      data,
    });
    try {
      await changeReachesAd({
        kind: 'vismanet',
        employeeId: '10001',
        env: { VISMANET_TEST_SECRET: SECRET },
        options: [
          `      tokenUrl: ${sim.tokenUrl}`,
          `      apiBaseUrl: ${sim.url}`,
          '      clientId: tenure-client',
          '      clientSecretEnv: VISMANET_TEST_SECRET',
          '      tenantId: tenant-0001',
          '      pollIntervalMs: 10',
          '      pollMaxIntervalMs: 40',
          '',
        ].join('\n'),
        change: () =>
          sim.setData(
            'employees',
            (data.employees ?? []).map((r) => (r.employeeid === '10001' ? { ...r, nickname: 'Kees' } : r)),
          ),
      });
    } finally {
      await sim.close();
    }
  });

  test('Nmbrs: a changed known-as name reaches AD within one poll', async () => {
    const sim = new NmbrsSimulator({ tenant: syntheticTenant() });
    await sim.start();
    const { auth } = sim.tenant;
    try {
      await changeReachesAd({
        kind: 'nmbrs',
        employeeId: '501',
        env: { NMBRS_TEST_TOKEN: auth.token },
        options: [
          `      baseUrl: ${sim.url}`,
          `      username: ${auth.username}`,
          '      tokenEnv: NMBRS_TEST_TOKEN',
          `      domain: ${auth.domain}`,
          '      companies: [12345]',
          '      debtorIds: [777]',
          '',
        ].join('\n'),
        change: () => {
          const jan = sim.tenant.employees.find((e) => e.employeeId === 501);
          for (const info of jan?.personalInfos ?? []) info.Nickname = 'Kees';
        },
      });
    } finally {
      await sim.stop();
    }
  });
});
