// Temporal's time-skipping test server for the fast tier (test/fast/). scripts/setup.sh fetches it
// from Maven Central once; it is started from that copy, never downloaded while tests run.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import * as attributes from '../../common/search-attributes.js';

const LAUNCHER = fileURLToPath(new URL('../../scripts/test-server/temporal-test-server.sh', import.meta.url));
const LIB = fileURLToPath(new URL('../../.tools/temporal-test-server/lib/.complete', import.meta.url));

export async function startTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  if (!existsSync(LIB)) {
    throw new Error('the Temporal test server is not installed: run `bash scripts/setup.sh` (fetches it once)');
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: LAUNCHER } },
  });
  try {
    await registerSearchAttributes(env);
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return env;
}

type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
const { IndexedValueType } = proto.temporal.api.enums.v1;
const INDEXED: Record<string, IndexedValueType> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
};

/** Tenure's custom search attributes (common/search-attributes.ts): workflows upsert them. */
async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  const searchAttributes: Record<string, IndexedValueType> = {};
  for (const value of Object.values(attributes)) {
    const key = value as { name?: unknown; type?: unknown };
    if (typeof key.name === 'string' && typeof key.type === 'string') {
      const type = INDEXED[key.type];
      if (type === undefined) throw new Error(`search attribute ${key.name}: type ${key.type} not mapped`);
      searchAttributes[key.name] = type;
    }
  }
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
}
