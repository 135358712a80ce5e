/**
 * The modules the worker shares between workflows (workers/workflow-bundle.ts) may be shared: the
 * SDK deep-freezes what they and the project modules they import export, so those exports are
 * functions or plain values, never an object such as a zod schema; and none of them uses
 * @temporalio/workflow (they are evaluated before any workflow exists). The checks are run here
 * after freezing zod's exports and theirs the way the SDK does; test/signal-payloads.test.ts runs
 * them in a real workflow sandbox that shares them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { SHARED_WORKFLOW_MODULES } from '../workers/workflow-bundle.js';

/** The project modules a module imports as values (type-only imports are erased), by absolute path. */
function valueImports(file: string): { local: string[]; packages: string[] } {
  const source = readFileSync(file, 'utf8');
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of source.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)';/gms)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) local.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    else packages.push(spec);
  }
  return { local, packages };
}

function sharedClosure(): { modules: string[]; packages: Set<string> } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const imports = valueImports(file);
    imports.packages.forEach((p) => packages.add(p));
    imports.local.forEach(visit);
  };
  SHARED_WORKFLOW_MODULES.forEach(visit);
  return { modules: [...seen], packages };
}

test('shared workflow modules and their imports export only functions and plain values', async () => {
  const { modules } = sharedClosure();
  assert.ok(modules.length >= 3, `expected the signal checks and what they import, got ${modules.join(', ')}`);
  for (const file of modules) {
    const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exports)) {
      const kind = value === null ? 'null' : typeof value;
      assert.ok(
        kind !== 'object',
        `${file} exports ${name}, an object: the SDK would freeze it in every worker (export a function that builds it)`,
      );
    }
  }
});

test('shared workflow modules do not use the workflow API and import no package but zod', () => {
  const { packages } = sharedClosure();
  assert.deepEqual([...packages].sort(), ['zod']);
});

/** As the SDK's reusable V8 context freezes shared modules: objects recursively, functions shallowly. */
function deepFreeze(value: unknown, seen = new WeakSet<object>()): void {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
  if (seen.has(value) || Object.isFrozen(value)) return;
  seen.add(value);
  if (typeof value === 'object')
    for (const key of Reflect.ownKeys(value)) {
      try {
        deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
      } catch {
        // as the SDK: some objects cannot be frozen (typed arrays)
      }
    }
  try {
    Object.freeze(value);
  } catch {
    // a module namespace cannot be frozen itself; what it exports was
  }
}

test('the signal checks still work once zod and the shared modules are frozen as the SDK freezes them', async () => {
  // Evaluated first, as the worker preloads them; then frozen; then used by every workflow.
  const { checkPersonChanged, checkPersonRemoved } = await import('../common/signal-payloads.js');
  const { personHash } = await import('../common/snapshot.js');
  for (const specifier of ['zod', 'zod/v4/core', 'zod/mini']) deepFreeze(await import(specifier));
  for (const file of sharedClosure().modules) deepFreeze(await import(pathToFileURL(file).href));

  const person = {
    source: 'file',
    key: '1001',
    name: {
      given: 'Noor Anna',
      nickName: 'Noor',
      initials: 'N.A.',
      familyName: 'Groot',
      familyNamePrefix: 'de',
      partnerName: 'Visser',
      partnerNamePrefix: 'van',
      convention: 'BP',
    },
    businessEmail: 'noor.de.groot@tenure.test',
    businessPhone: '+31 30 123 4567',
    mobilePhone: '+31 6 1234 5678',
    gender: 'V',
    location: 'Utrecht',
    custom: { badge: 'B-17' },
    contracts: [
      {
        id: 'c1',
        startDate: '2026-01-01',
        endDate: '2026-12-31',
        department: { code: 'ZORG', name: 'Zorg' },
        title: { code: 'VPK', name: 'Verpleegkundige' },
        location: 'Utrecht',
        managerKey: '1000',
        costCenter: 'K-12',
        employer: 'Tenure Zorg BV',
        fte: 0.8,
        sequence: 1,
        contractType: 'Vast',
        hoursPerWeek: 32,
        custom: { shift: 'nacht' },
      },
    ],
  };
  const changed = { person, contentHash: personHash(person as never), cause: 'poll file#12' };
  for (let i = 0; i < 3; i++) {
    const ok = checkPersonChanged(changed, 'file:1001');
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.equal(ok.value.person.businessEmail, 'noor.de.groot@tenure.test');
    const badMail = checkPersonChanged({ ...changed, person: { ...person, businessEmail: 'not a mail' } }, 'file:1001');
    assert.ok(!badMail.ok && /person\.businessEmail/.test(badMail.reason), JSON.stringify(badMail));
    const badDate = checkPersonChanged(
      { ...changed, person: { ...person, contracts: [{ ...person.contracts[0], startDate: '2026-02-30' }] } },
      'file:1001',
    );
    assert.ok(!badDate.ok && /not a real calendar date/.test(badDate.reason), JSON.stringify(badDate));
    assert.ok(checkPersonRemoved({ personKey: 'file:1001', cause: 'poll file#13' }, 'file:1001').ok);
    assert.ok(!checkPersonRemoved({ personKey: 'file:1002', cause: 'x' }, 'file:1001').ok);
  }
});
