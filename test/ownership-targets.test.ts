// A full check (reprovision) in Entra ID and HelloID revokes only what is in the target's managed
// scope: the configured managed set, or when that is empty only what Tenure granted. Groups given
// by hand (break-glass, approvers) survive. Real Temporal, PostgreSQL and Samba; SaaS simulators.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { reprovisionUpdate } from '../common/messages.js';
import { employeeWorkflowId } from '../domain/model.js';
import { GraphSimulator } from './simulators/graph.js';
import { HelloIdSimulator } from './simulators/helloid.js';
import { eventually, startHarness, type Harness } from './support/tenure-harness.js';

const SECRET = 'ownership-secret-never-logged';
const RULES = `
version: "ownership-targets-1"
timeZone: Europe/Amsterdam
targets:
  - { id: ad, kind: ad }
  - { id: helloid, kind: helloid }
  - id: entra
    kind: entra
    options:
      ownership: { managedPermissions: [legacy-app, dept-FIN] }
rules:
  - name: all staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff] }
      helloid: { accountAccess: true, dynamicPermissions: ["department_{department.code}"] }
      entra: { accountAccess: true, dynamicPermissions: ["dept-{department.code}"] }
`;

/** The harness with AD, and HelloID and Entra ID on their simulators (tenant names `*-<tenant>`). */
async function startWithSimulators(rules: string, tenant: string) {
  const helloid = new HelloIdSimulator(undefined, { apiSecret: SECRET });
  await helloid.start();
  const graph = new GraphSimulator({
    tenantId: `tenant-${tenant}`,
    clientId: `client-${tenant}`,
    clientSecret: SECRET,
  });
  await graph.start();
  const h = await startHarness(rules, {
    HELLOID_URL: helloid.url,
    HELLOID_API_KEY: 'sim-key',
    HELLOID_API_SECRET: SECRET,
    ENTRA_TENANT_ID: `tenant-${tenant}`,
    ENTRA_CLIENT_ID: `client-${tenant}`,
    ENTRA_CLIENT_SECRET: SECRET,
    GRAPH_URL: graph.graphUrl,
    LOGIN_URL: graph.url,
  });
  return { h, helloid, graph };
}

describe('reprovision revokes only managed permissions in Entra ID and HelloID', () => {
  let h: Harness;
  let helloid: HelloIdSimulator;
  let graph: GraphSimulator;

  before(async () => {
    ({ h, helloid, graph } = await startWithSimulators(RULES, 'own'));
  });
  after(async () => {
    await h?.stop();
    await Promise.allSettled([helloid?.stop(), graph?.stop()]);
  });

  test('hand-given groups survive; a group in the configured managed set that no rule grants is revoked', async () => {
    const key = h.key();
    const personKey = `${h.sourceId}:${key}`;
    h.writeExport([
      { key, nick: 'Pim', family: `Scope${key}`, contract: `${key}c1`, start: '2020-01-01', dept: 'ZORG' },
    ]);
    await h.poll();
    const st = await eventually(
      () => h.status(personKey),
      (s) => ['ad', 'helloid', 'entra'].every((t) => s.accounts.some((a) => a.target === t && a.enabled)),
      90_000,
    );
    const id = (t: string) => st.accounts.find((a) => a.target === t)!.accountId;

    // By hand: a break-glass group and a managed-set group in Entra ID, an approvers group in HelloID.
    const breakGlass = graph.addGroup('Break-glass admins', { members: [id('entra')] });
    const legacy = graph.addGroup('legacy-app', { members: [id('entra')] });
    const approvers = { groupGuid: randomUUID(), name: 'Approvers', isEnabled: true, users: [id('helloid')] };
    helloid.groups.set(approvers.groupGuid, approvers);

    const result = await h.client.workflow
      .getHandle(employeeWorkflowId(personKey))
      .executeUpdate(reprovisionUpdate, { args: [{ requestedBy: 'ops', reason: 'full check' }] });
    const revoked = result.actions.filter((a) => a.action === 'revokePermission').map((a) => `${a.target}:${a.detail}`);
    assert.ok(
      revoked.some((r) => r.startsWith('entra:') && r.includes('legacy-app')),
      JSON.stringify(result.actions),
    );
    assert.ok(!revoked.some((r) => /Break-glass|Approvers/.test(r)), JSON.stringify(revoked));

    assert.ok(breakGlass.members.has(id('entra')), 'the break-glass group in Entra ID survives');
    assert.ok(!legacy.members.has(id('entra')), 'a group in the managed set that no rule grants is revoked');
    assert.ok(approvers.users.includes(id('helloid')), 'the hand-given HelloID group survives');
    const after = await h.status(personKey);
    assert.deepEqual(after.accounts.find((a) => a.target === 'entra')?.permissions, ['dept-ZORG']);
    assert.deepEqual(after.accounts.find((a) => a.target === 'helloid')?.permissions, ['department_ZORG']);
  });
});

const ADOPT_RULES = `
version: "ownership-targets-adopt-1"
timeZone: Europe/Amsterdam
targets:
  - { id: ad, kind: ad }
  - id: helloid
    kind: helloid
    options:
      ownership: { adopt: inScope, renameAdopted: true }
  - id: entra
    kind: entra
    options:
      ownership: { adopt: inScope }
rules:
  - name: all staff
    entitlements:
      ad: { accountAccess: true, permissions: [all-staff] }
      helloid: { accountAccess: true }
      entra: { accountAccess: true }
`;

describe('adoption in Entra ID and HelloID: names kept, or the generated ones with renameAdopted', () => {
  let h: Harness;
  let helloid: HelloIdSimulator;
  let graph: GraphSimulator;

  before(async () => {
    ({ h, helloid, graph } = await startWithSimulators(ADOPT_RULES, 'adopt'));
  });
  after(async () => {
    await h?.stop();
    await Promise.allSettled([helloid?.stop(), graph?.stop()]);
  });

  test('the existing users are adopted, not duplicated; HelloID renamed (old name reserved), Entra ID kept', async () => {
    const key = h.key();
    const personKey = `${h.sourceId}:${key}`;
    const oldHello = `legacy.hello.${key}`;
    const hello = helloid.addUser({ userName: oldHello, userAttributes: { employeeId: key } });
    const oldUpn = `legacy.entra.${key}@tenure.test`;
    const entraUser = graph.addUser({
      userPrincipalName: oldUpn,
      displayName: `Legacy ${key}`,
      mail: oldUpn,
      employeeId: key,
    });
    h.writeExport([
      { key, nick: 'Ada', family: `Adopt${key}`, contract: `${key}c1`, start: '2020-01-01', dept: 'ZORG' },
    ]);
    await h.poll();
    const st = await eventually(
      () => h.status(personKey),
      (s) => ['ad', 'helloid', 'entra'].every((t) => s.accounts.some((a) => a.target === t && a.enabled)),
      90_000,
    );
    const id = (t: string) => st.accounts.find((a) => a.target === t)!.accountId;
    assert.equal(id('helloid'), hello.userGUID, 'the HelloID user is adopted');
    assert.equal(id('entra'), entraUser.id, 'the Entra ID user is adopted');
    assert.equal(helloid.usersWith('employeeId', key).length, 1, 'no second HelloID user');
    assert.equal([...graph.users.values()].filter((u) => u.employeeId === key).length, 1, 'no second Entra ID user');

    // renameAdopted on HelloID: the generated name (the directory's); Entra ID keeps its own.
    assert.notEqual(helloid.users.get(hello.userGUID)!.userName, oldHello);
    assert.equal(graph.users.get(entraUser.id)!.userPrincipalName, oldUpn, 'Entra ID login name kept');

    const own = await h.db.query(
      `select target, origin from target_accounts where person_key = $1 and target in ('helloid', 'entra') order by target`,
      [personKey],
    );
    assert.deepEqual(
      own.rows.map((r) => `${r.target}:${r.origin}`),
      ['entra:adopted', 'helloid:adopted'],
    );
    const reserved = await h.db.query(
      `select distinct value from identity_reservations where person_key = $1 and value = any($2)`,
      [personKey, [oldHello, oldUpn].map((v) => v.toLowerCase())],
    );
    assert.deepEqual(
      reserved.rows.map((r) => r.value).sort(),
      [oldHello, oldUpn].map((v) => v.toLowerCase()).sort(),
      'the names each adopted account carried are reserved for the person',
    );
  });
});
