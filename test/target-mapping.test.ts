/**
 * Target instances and per-target mapping, without servers: a target's options over its kind's
 * environment (env-named secrets, unknown keys, messages that name target and option but never a
 * value), attribute templates, the AD OU choice, username patterns and Spend Cloud's gender.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyTemplates, parseAttributeTemplates, renderTemplate } from '../connectors/targets/attribute-mapping.js';
import { ouFor } from '../connectors/targets/ad/ous.js';
import { instanceConfig } from '../connectors/targets/instance-config.js';
import { personRow } from '../connectors/targets/spendcloud/mapping.js';
import type { DesiredAccount } from '../connectors/types.js';
import { identityCandidates } from '../domain/naming.js';
import { parseRules } from '../domain/rules.js';
import { AD_CONFIG, createTarget } from '../connectors/targets/descriptors.js';
import { GraphSimulator } from './simulators/graph.js';
import { HelloIdSimulator } from './simulators/helloid.js';

const AD_ENV = {
  AD_URL: 'ldaps://dc1.example.test:636',
  AD_BIND_DN: 'CN=svc,DC=example,DC=test',
  AD_BIND_PASSWORD: 'first-domain-password',
  AD_BASE_DN: 'DC=example,DC=test',
  AD2_BIND_PASSWORD: 'second-domain-password',
};

const desired: DesiredAccount = {
  personKey: 'hr:1',
  employeeId: '1',
  username: 'j.devries',
  userPrincipalName: 'j.devries@example.test',
  email: 'j.devries@example.test',
  emailAliases: [],
  displayName: 'Jan de Vries',
  givenName: 'Jan',
  familyName: 'de Vries',
  title: 'Verpleegkundige',
  departmentCode: 'ZORG',
  location: 'Utrecht',
  mobilePhone: '06-12345678',
  gender: 'M',
  contractType: 'Vast',
  hoursPerWeek: 32,
  custom: { costCentre: 'KP100' },
};

describe('target instances', () => {
  test('a target without connector options runs on the environment alone', () => {
    const c = instanceConfig({ id: 'ad', kind: 'ad', options: { ownership: { adopt: 'off' } } }, AD_CONFIG, AD_ENV);
    assert.equal(c.url, 'ldaps://dc1.example.test:636');
    assert.equal(c.employeesOU, 'OU=Employees,OU=Tenure,DC=example,DC=test');
  });

  test('options override the environment key by key, secrets by environment variable name', () => {
    const c = instanceConfig(
      {
        id: 'ad2',
        kind: 'ad',
        options: {
          url: 'ldaps://dc2.other.test',
          bindDN: 'CN=svc2,DC=other,DC=test',
          bindPasswordEnv: 'AD2_BIND_PASSWORD',
          baseDN: 'DC=other,DC=test',
          locationOUs: { Utrecht: 'OU=Utrecht,DC=other,DC=test' },
          timeouts: { operationMs: 30000 },
        },
      },
      AD_CONFIG,
      AD_ENV,
    );
    assert.equal(c.url, 'ldaps://dc2.other.test');
    assert.equal(c.bindPassword, 'second-domain-password');
    assert.equal(c.employeesOU, 'OU=Employees,OU=Tenure,DC=other,DC=test', 'derived from the instance base DN');
    assert.deepEqual(c.timeouts, { connectMs: 5000, operationMs: 30000 });
  });

  test('problems name the target and the option, never a secret', () => {
    const fail = (options: Record<string, unknown>, env: Record<string, string> = AD_ENV) => {
      try {
        instanceConfig({ id: 'ad2', kind: 'ad', options }, AD_CONFIG, env);
      } catch (err) {
        return (err as Error).message;
      }
      return assert.fail('expected an error');
    };
    assert.match(
      fail({ bindPasswordEnv: 'AD3_MISSING' }),
      /^target 'ad2': options.bindPasswordEnv: environment variable AD3_MISSING is not set$/,
    );
    assert.match(fail({ bindPassword: 'inline' }), /options.bindPassword: secrets are not written/);
    assert.match(fail({ colour: 'blue' }), /target 'ad2': options.colour: unknown option for a ad target/);
    assert.match(fail({ allowInsecureTransport: true }), /options.allowInsecureTransport: not a target option/);
    const bad = fail({ url: 'http://dc2', bindPasswordEnv: 'AD2_BIND_PASSWORD' });
    assert.match(bad, /^target 'ad2' \(options over AD_\*\): invalid Active Directory configuration: url:/);
    assert.ok(!bad.includes('second-domain-password'));
  });
});

describe('attribute templates', () => {
  test('templates fill account fields and extra AD attributes; empty clears, required names stay', () => {
    const t = parseAttributeTemplates(
      { id: 'ad', kind: 'ad' },
      {
        displayName: '{{given}} {{surname}} ({{departmentCode}})',
        title: '{{title}}, {{hoursPerWeek}} h {{contractType}}',
        mobile: '{{mobilePhone}}',
        extensionAttribute1: '{{custom.costCentre}}',
        employeeType: '{{contract.custom.kind}}',
        username: '{{custom.none}}',
      },
      'ldap',
    );
    const out = applyTemplates(t, desired);
    assert.equal(out.displayName, 'Jan de Vries (ZORG)');
    assert.equal(out.title, 'Verpleegkundige, 32 h Vast');
    assert.equal(out.username, 'j.devries', 'an empty login name keeps the generated one');
    assert.deepEqual(out.extraAttributes, {
      mobile: '06-12345678',
      extensionAttribute1: 'KP100',
      employeeType: undefined,
    });
  });

  test('control characters become spaces; the value is text the connector escapes, never a template again', () => {
    assert.equal(
      renderTemplate('{{given}}', { ...desired, givenName: 'Jan\u0000,OU=Evil\n{{username}}' }),
      'Jan ,OU=Evil {{username}}',
    );
  });

  test('bad templates are refused naming the target and the key', () => {
    const fail = (raw: unknown, kind = 'ad') => {
      try {
        parseAttributeTemplates(
          { id: 'x', kind },
          raw,
          kind === 'ad' ? 'ldap' : kind === 'entra' ? ['mobilePhone'] : undefined,
        );
      } catch (err) {
        return (err as Error).message;
      }
      return assert.fail('expected an error');
    };
    assert.match(fail({ title: '{{salary}}' }), /options.attributes.title: unknown placeholder \{\{salary\}\}/);
    assert.match(fail({ title: '{{title' }), /unbalanced/);
    assert.match(fail({ unicodePwd: 'x' }), /options.attributes.unicodePwd: written by the connector itself/);
    assert.match(
      fail({ mobile: '{{mobilePhone}}' }, 'entra'),
      /a entra target takes templates for username.*, mobilePhone$/,
    );
    assert.match(fail({ mobilePhone: '{{mobilePhone}}' }, 'helloid'), /a helloid target takes templates for username/);
  });
});

describe('AD OU choice', () => {
  const c = {
    employeesOU: 'OU=Employees,DC=x',
    locationOUs: { Utrecht: 'OU=Utrecht,DC=x' },
    departmentOUs: { ZORG: 'OU=Zorg,DC=x' },
  };
  test('location mapping, then department mapping, then a derived location OU, then employees', () => {
    assert.equal(ouFor(c, 'utrecht', 'ZORG'), 'OU=Utrecht,DC=x');
    assert.equal(ouFor(c, 'Zeist', 'ZORG'), 'OU=Zorg,DC=x');
    assert.equal(ouFor(c, 'Zeist, Oost', 'ICT'), 'OU=Zeist\\, Oost,OU=Employees,DC=x');
    assert.equal(ouFor(c, undefined, 'ICT'), 'OU=Employees,DC=x');
    assert.equal(ouFor(c, 'constructor', undefined), 'OU=constructor,OU=Employees,DC=x');
  });
});

describe('username patterns', () => {
  const name = { nickName: 'Jan', familyName: 'Vries', familyNamePrefix: 'de', convention: 'B' as const };
  const first = (pattern?: 'initial.surname' | 'given.surname' | 'initialsurname' | 'surname.initial') =>
    [...identityCandidates(name, { mailDomain: 'x.test', pattern, maxIterations: 5 })].map((c) => c.username);
  test('each pattern in its iteration order', () => {
    assert.deepEqual(first(), ['j.devries', 'ja.devries', 'jan.devries', 'j.devries2', 'j.devries3']);
    assert.deepEqual(first('given.surname'), [
      'jan.devries',
      'jan.devries2',
      'jan.devries3',
      'jan.devries4',
      'jan.devries5',
    ]);
    assert.deepEqual(first('initialsurname'), ['jdevries', 'jadevries', 'jandevries', 'jdevries2', 'jdevries3']);
    assert.deepEqual(first('surname.initial'), ['devries.j', 'devries.ja', 'devries.jan', 'devries.j2', 'devries.j3']);
  });
  test('the rules file names the pattern; a wrong one is refused', () => {
    const base = 'version: "1"\ntargets: [{ id: ad, kind: ad }]\n';
    assert.equal(
      parseRules(`${base}naming: { usernamePattern: given.surname }\n`).naming?.usernamePattern,
      'given.surname',
    );
    assert.throws(
      () => parseRules(`${base}naming: { usernamePattern: surname }\n`),
      /naming.usernamePattern: expected one of/,
    );
  });
});

describe('Spend Cloud gender', () => {
  test('from the source when the mapping gives it, O otherwise', () => {
    const row = (gender?: string) =>
      personRow({ ...desired, gender }, { emailFrom: 'email', removeDiacritics: false }).geslacht;
    assert.deepEqual([row('M'), row('V'), row('X'), row(undefined)], ['M', 'V', 'O', 'O']);
  });
});

describe('an Entra ID instance with templates, through the registry, on the Graph simulator', () => {
  test('options name the tenant and the secret variable; templates fill the account and mobilePhone', async () => {
    process.env.TENURE_ALLOW_INSECURE_TRANSPORT = '1'; // the simulator speaks plain http (the HTTP client reads it)
    const sim = new GraphSimulator({ tenantId: 'tenant-b', clientId: 'client-b', clientSecret: 'entra-b-secret' });
    await sim.start();
    const entra = createTarget(
      {
        id: 'entra-b',
        kind: 'entra',
        options: {
          tenantId: 'tenant-b',
          clientId: 'client-b',
          clientSecretEnv: 'ENTRA_B_SECRET',
          graphUrl: sim.graphUrl,
          loginUrl: sim.url,
          attributes: { displayName: '{{given}} {{surname}} ({{departmentCode}})', mobilePhone: '{{mobilePhone}}' },
        },
      },
      { ENTRA_B_SECRET: 'entra-b-secret', TENURE_ALLOW_INSECURE_TRANSPORT: '1' },
      { pool: undefined as never },
    );
    try {
      const account = { ...desired, userPrincipalName: 'j.devries@tenure.test', email: 'j.devries@tenure.test' };
      const created = await entra.create(account);
      assert.equal(created.audit[0]?.outcome, 'success', JSON.stringify(created.audit));
      const user = [...sim.users.values()].find((u) => u.employeeId === '1') as unknown as Record<string, unknown>;
      assert.equal(user.displayName, 'Jan de Vries (ZORG)');
      assert.equal(user.mobilePhone, '06-12345678');
      const updated = await entra.update(created.account!, { ...account, mobilePhone: '06-87654321' });
      assert.deepEqual(updated.audit[0]?.details, { attributes: ['mobilePhone'] });
      assert.equal(user.mobilePhone, '06-87654321');
    } finally {
      await entra.close();
      await sim.stop();
    }
  });
});

describe('a HelloID instance with templates, through the registry, on the HelloID simulator', () => {
  test('userAttributes from templates are written and compared; the connector refuses its own', async () => {
    process.env.TENURE_ALLOW_INSECURE_TRANSPORT = '1';
    const sim = new HelloIdSimulator(undefined, { apiSecret: 'helloid-b-secret' });
    await sim.start();
    const make = (attributes: Record<string, string>) =>
      createTarget(
        {
          id: 'helloid-b',
          kind: 'helloid',
          options: { url: sim.url, apiKeyEnv: 'HELLOID_B_KEY', apiSecretEnv: 'HELLOID_B_SECRET', attributes },
        },
        { HELLOID_B_KEY: 'sim-key', HELLOID_B_SECRET: 'helloid-b-secret' },
        { pool: undefined as never },
      );
    assert.throws(
      () => make({ 'userAttributes.title': '{{title}}' }),
      /userAttributes.title is written by the connector itself/,
    );
    const helloid = make({
      'userAttributes.costCentre': '{{custom.costCentre}}',
      familyName: '{{surname}} ({{gender}})',
    });
    try {
      const account = { ...desired, employeeId: 'E9901' };
      const created = await helloid.create(account);
      assert.equal(created.audit[0]?.outcome, 'success', JSON.stringify(created.audit));
      const user = [...sim.users.values()].find((u) => u.userAttributes?.employeeId === 'E9901')!;
      assert.equal(user.userAttributes?.costCentre, 'KP100');
      assert.equal(user.lastName, 'de Vries (M)');
      const updated = await helloid.update(created.account!, { ...account, custom: { costCentre: 'KP200' } });
      assert.deepEqual(updated.audit[0]?.details, { attributes: ['userAttributes.costCentre'] });
      assert.equal(user.userAttributes?.costCentre, 'KP200');
    } finally {
      await helloid.close();
      await sim.stop();
    }
  });
});
