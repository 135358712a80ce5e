// The lint config is itself tested: deliberate bad imports and dropped promises in each layer must
// fail `npm run lint`, and the allowed ones must pass. Snippets are linted as if they were the
// content of an existing file of that layer (the type-aware rules need a file the project knows).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd: root });

/** The rule ids and messages ESLint reports for `code` as the content of `file`. */
async function lint(file: string, code: string): Promise<{ rule: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${file}` });
  return (result?.messages ?? []).map((m) => ({ rule: m.ruleId, message: m.message }));
}

async function assertRejected(file: string, code: string, rule: string, message: RegExp): Promise<void> {
  const problems = await lint(file, code);
  assert.ok(
    problems.some((p) => p.rule === rule && message.test(p.message)),
    `expected ${rule} matching ${message} for ${file}, got ${JSON.stringify(problems)}`,
  );
}

async function assertClean(file: string, code: string): Promise<void> {
  assert.deepEqual(await lint(file, code), []);
}

describe('lint: layer boundaries', () => {
  test('domain/ is pure: no Node built-ins, no I/O packages, no other layer', async () => {
    const file = 'domain/dates.ts';
    await assertRejected(
      file,
      "import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n",
      'no-restricted-imports',
      /domain\/ is pure/,
    );
    await assertRejected(
      file,
      "import { createHash } from 'crypto';\nexport const h = createHash;\n",
      'no-restricted-imports',
      /domain\/ is pure/,
    );
    await assertRejected(
      file,
      "import pg from 'pg';\nexport const p = pg;\n",
      'no-restricted-imports',
      /domain\/ is pure/,
    );
    await assertRejected(
      file,
      "import { log } from '@temporalio/workflow';\nexport const l = log;\n",
      'no-restricted-imports',
      /domain\/ is pure/,
    );
    await assertRejected(
      file,
      "import { appendAudit } from '../vault/audit.js';\nexport const w = appendAudit;\n",
      'no-restricted-imports',
      /domain\/ imports nothing/,
    );
    await assertRejected(
      file,
      "export type { Rules } from '../common/rules-file.js';\n",
      'no-restricted-imports',
      /domain\/ imports nothing/,
    );
    await assertClean(
      file,
      "import { z } from 'zod';\nimport { Person } from './model.js';\nexport const s = z.string();\nexport type P = Person;\n",
    );
  });

  test('workflows/: no Node built-ins, no I/O, activity and connector code by type only', async () => {
    const file = 'workflows/connectivity.ts';
    await assertRejected(
      file,
      "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
      'no-restricted-imports',
      /deterministic sandbox/,
    );
    await assertRejected(
      file,
      "import { Client } from '@temporalio/client';\nexport const c = Client;\n",
      'no-restricted-imports',
      /deterministic sandbox/,
    );
    await assertRejected(
      file,
      "import { createTargetActivities } from '../activities/targets.js';\nexport const t = createTargetActivities;\n",
      'no-restricted-imports',
      /only import types/,
    );
    await assertRejected(
      file,
      "import { escapeDNValue } from '../connectors/ldap-escape.js';\nexport const e = escapeDNValue;\n",
      'no-restricted-imports',
      /only import types/,
    );
    await assertRejected(
      file,
      "import { createTenureWorkers } from '../workers/tenure-workers.js';\nexport const s = createTenureWorkers;\n",
      'no-restricted-imports',
      /may not import workers/,
    );
    await assertClean(
      file,
      [
        "import { proxyActivities } from '@temporalio/workflow';",
        "import type { TargetActivities } from '../activities/targets.js';",
        "import { targetTaskQueue } from '../common/task-queues.js';",
        "import { addDays } from '../domain/dates.js';",
        "export const a = proxyActivities<TargetActivities>({ startToCloseTimeout: '1 minute' });",
        'export const q = targetTaskQueue;',
        'export const d = addDays;',
        '',
      ].join('\n'),
    );
  });

  test('no upward imports between the lower layers', async () => {
    await assertRejected(
      'common/payload-codec.ts',
      "import { connectClient } from '../workers/temporal-connection.js';\nexport const c = connectClient;\n",
      'no-restricted-imports',
      /common\/ may import domain\/ only/,
    );
    await assertRejected(
      'connectors/ldap-escape.ts',
      "import { appendAudit } from '../vault/audit.js';\nexport const r = appendAudit;\n",
      'no-restricted-imports',
      /connectors\/ may import domain\/ and common\/ only/,
    );
    await assertRejected(
      'connectors/targets/ad/guid.ts',
      "import { createTargetActivities } from '../../../activities/targets.js';\nexport const c = createTargetActivities;\n",
      'no-restricted-imports',
      /connectors\//,
    );
    await assertRejected(
      'vault/audit.ts',
      "import type { TargetConnector } from '../connectors/types.js';\nexport type T = TargetConnector;\n",
      'no-restricted-imports',
      /vault\/ may import/,
    );
    await assertRejected(
      'activities/writeback.ts',
      "import { employeeLifecycle } from '../workflows/employee.js';\nexport const e = employeeLifecycle;\n",
      'no-restricted-imports',
      /activities\/ may not import/,
    );
    await assertRejected(
      'workers/main.ts',
      "import { runCli } from '../cli/main.js';\nexport const m = runCli;\n",
      'no-restricted-imports',
      /workers\/ may not import cli/,
    );
    await assertRejected(
      'cli/main.ts',
      "import { startHarness } from '../test/support/tenure-harness.js';\nexport const s = startHarness;\n",
      'no-restricted-imports',
      /test\/ or scripts\//,
    );
    await assertClean(
      'activities/writeback.ts',
      "import type pg from 'pg';\nimport { personKey } from '../domain/model.js';\nexport type P = pg.Pool;\nexport const k = personKey;\n",
    );
  });
});

describe('lint: promises', () => {
  test('a promise that is neither awaited nor handled fails', async () => {
    await assertRejected(
      'activities/writeback.ts',
      'async function send(): Promise<void> {}\nexport function go(): void {\n  send();\n}\n',
      '@typescript-eslint/no-floating-promises',
      /Promises must be awaited/,
    );
    await assertClean(
      'activities/writeback.ts',
      'async function send(): Promise<void> {}\nexport async function go(): Promise<void> {\n  await send();\n}\n',
    );
  });

  test('an async function where a void callback is expected fails', async () => {
    await assertRejected(
      'workers/main.ts',
      "export function watch(): void {\n  process.on('SIGTERM', async () => {\n    await Promise.resolve();\n  });\n}\n",
      '@typescript-eslint/no-misused-promises',
      /Promise returned in function argument where a void return was expected/,
    );
  });
});
