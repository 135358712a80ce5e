// Validation of personChanged / personRemoved payloads (common/signal-payloads.ts), as plain
// functions and inside the workflow sandbox on the test Temporal server.
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { redactForLog } from '../common/log-redaction.js';
import { checkPersonChanged, checkPersonRemoved } from '../common/signal-payloads.js';
import { Person } from '../domain/model.js';
import { personHash } from '../common/snapshot.js';
import { connectClient, connectWorker } from '../workers/temporal-connection.js';
import { uniqueSuffix } from './support/env.js';
import { SHARED_WORKFLOW_MODULES } from '../workers/workflow-bundle.js';

const person = Person.parse({
  source: 'file',
  key: '1001',
  name: { nickName: 'Noor', familyName: 'Groot', familyNamePrefix: 'de' },
  contracts: [{ id: 'c1', startDate: '2026-01-01', department: { code: 'ZORG' } }],
});
const good = { person, contentHash: personHash(person), cause: 'poll file#12' };
const KEY = 'file:1001';

const badChanged: [string, unknown, RegExp][] = [
  ['not an object', 'hello', /\(payload\)/],
  ['missing hash', { person, cause: 'x' }, /contentHash/],
  ['a hash that is not a digest', { ...good, contentHash: 'abc' }, /contentHash: is not a sha-256 hex digest/],
  ['an unknown field', { ...good, extra: 1 }, /Unrecognized key/i],
  [
    'a bad person',
    { ...good, person: { ...person, name: { nickName: '', familyName: 'x' } } },
    /person\.name\.nickName/,
  ],
  [
    'a bidi override in the name',
    { ...good, person: { ...person, name: { ...person.name, familyName: 'Gro\u202eot' } } },
    /U\+202E/,
  ],
  ['a cause with a newline', { ...good, cause: 'poll\nfake' }, /cause: contains control characters/],
  ['another person', { ...good, person: { ...person, key: '1002' } }, /belongs to another person key/],
];

describe('signal payload checks', () => {
  test('a poller payload passes; every kind of bad payload is refused with the field, never a value', () => {
    const ok = checkPersonChanged(structuredClone(good), KEY);
    assert.ok(ok.ok);
    assert.deepEqual(ok.value, good);
    for (const [what, payload, reason] of badChanged) {
      const r = checkPersonChanged(payload, KEY);
      assert.equal(r.ok, false, what);
      if (!r.ok) {
        assert.match(r.reason, reason, what);
        assert.ok(!r.reason.includes('Groot') && !r.reason.includes('Noor'), `${what}: no name in the reason`);
      }
    }
    assert.ok(checkPersonRemoved({ personKey: KEY, cause: 'poll file#13' }, KEY).ok);
    const removedBad: [unknown, RegExp][] = [
      [{ personKey: 'file:1002', cause: 'x' }, /belongs to another workflow/],
      [{ personKey: 'FILE 1001', cause: 'x' }, /personKey: is not a person key/],
      [{ personKey: KEY }, /cause/],
      [null, /\(payload\)/],
    ];
    for (const [payload, reason] of removedBad) {
      const r = checkPersonRemoved(payload, KEY);
      assert.ok(!r.ok && reason.test(r.reason), JSON.stringify(r));
    }
  });

  for (const [shape, preloadModules] of [
    ['each workflow evaluating the checks itself', []],
    ['the checks shared between workflows, as the worker runs them', SHARED_WORKFLOW_MODULES],
  ] as const) {
    test(
      `the same checks run inside the workflow sandbox, ${shape}`,
      { skip: !process.env.TEMPORAL_ADDRESS && 'TEMPORAL_ADDRESS not set' },
      async () => {
        const bundle = await bundleWorkflowCode({
          workflowsPath: fileURLToPath(new URL('./support/signal-check-workflows.ts', import.meta.url)),
          preloadModules: [...preloadModules],
          logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
        });
        const connection = await connectWorker();
        const client = await connectClient();
        const taskQueue = `signals-${uniqueSuffix()}`;
        try {
          const worker = await Worker.create({ connection, taskQueue, workflowBundle: bundle });
          // Three workflows in one worker: the later ones parse with schemas the first already used
          // (and, when shared, whose exports the SDK has frozen). A workflow task that fails keeps
          // retrying, so each run has a time limit rather than the test's.
          const results = await worker.runUntil(async () => {
            const out = [];
            for (let i = 0; i < 3; i++) {
              out.push(
                await client.workflow.execute('checkSignalPayloads', {
                  taskQueue,
                  workflowId: `signal-check-${uniqueSuffix()}`,
                  workflowExecutionTimeout: '30s',
                  args: [
                    KEY,
                    [good, badChanged[5]![1], badChanged[7]![1]],
                    [{ personKey: KEY, cause: 'x' }, { personKey: 1 }],
                  ],
                }),
              );
            }
            return out;
          });
          for (const result of results) {
            assert.equal(result.changed[0], true);
            assert.match(String(result.changed[1]), /U\+202E/);
            assert.match(String(result.changed[2]), /another person key/);
            assert.equal(result.removed[0], true);
            assert.match(String(result.removed[1]), /personKey/);
          }
        } finally {
          await client.connection.close();
          await connection.close();
        }
      },
    );
  }
});

describe('log redaction', () => {
  test('addresses, DN name values and quoted values are masked; keys, codes and OUs stay', () => {
    assert.equal(
      redactForLog(
        'create account: userPrincipalName jan.de.vries@tenure.test already used by CN=Jan de Vries,OU=Employees,DC=tenure,DC=test (LDAP 19, AD error 0000202F) for \'jvries\' / "Jan"',
      ),
      'create account: userPrincipalName <address> already used by CN=<name>,OU=Employees,DC=tenure,DC=test (LDAP 19, AD error 0000202F) for <value> / <value>',
    );
    assert.equal(
      redactForLog('enable: account file:1001 could not be found'),
      'enable: account file:1001 could not be found',
    );
    assert.equal(redactForLog('CN=Vries\\, Jan,OU=X'), 'CN=<name>,OU=X');
  });
});
