// Import first in a test file that runs workers: keeps worker chatter out of the test output.
// Tests provoke failures on purpose (AD stopped, workers killed, bad records), and the SDK logs each
// failed activity attempt with the whole error, its stack and the task token. Here warnings and
// below are one line each (what failed and why); ERROR entries are printed in full, and test
// failures are reported by node:test as always. TENURE_TEST_LOG_FULL=1 prints everything in full.
import { inspect } from 'node:util';
import { after } from 'node:test';
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';

const LEVEL = (process.env.TENURE_TEST_LOG_LEVEL as LogLevel | undefined) ?? 'WARN';
const FULL = process.env.TENURE_TEST_LOG_FULL === '1';

/** The meta fields worth a line: where it happened and on which attempt. */
const CONTEXT = ['workflowType', 'workflowId', 'activityType', 'attempt', 'taskQueue', 'target', 'action'] as const;

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** The innermost cause's message: an ActivityFailure wraps the ApplicationFailure that says why. */
function reason(error: unknown): string | undefined {
  let e = error as { message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e?.cause && depth < 5; depth++) e = e.cause as typeof e;
  return typeof e?.message === 'string' ? firstLine(e.message) : error === undefined ? undefined : String(error);
}

export function oneLine(entry: LogEntry): string {
  const meta = (entry.meta ?? {}) as Record<string, unknown>;
  const parts = CONTEXT.filter((k) => meta[k] !== undefined && meta[k] !== '').map((k) => `${k}=${String(meta[k])}`);
  const why = reason(meta.error ?? meta.failure);
  if (why) parts.push(`error: ${why}`);
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return `${at} [${entry.level}] ${firstLine(entry.message)}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function print(entry: LogEntry): void {
  if (FULL || entry.level === 'ERROR') {
    const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    process.stderr.write(`${at} [${entry.level}] ${entry.message} ${inspect(entry.meta ?? {}, { depth: 6 })}\n`);
    return;
  }
  process.stderr.write(`${oneLine(entry)}\n`);
}

try {
  Runtime.install({
    logger: new DefaultLogger(LEVEL, print),
    // The SDK core's own warnings go through the same logger (one line each) instead of straight to stderr.
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
} catch {
  // Already installed by another module of the same test process.
}

// The runtime forwards core logs to this process and so keeps it alive until its last worker or
// native connection closes. A test file whose workers run as child processes (or that runs none of
// its in-process workers under --test-name-pattern) never closes one: shut the idle runtime down.
after(async () => {
  const runtime = (Runtime as unknown as { _instance?: { isIdle(): boolean; shutdown(): Promise<void> } })._instance;
  if (runtime?.isIdle()) await runtime.shutdown();
});
