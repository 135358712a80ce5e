// Import first in a test file that must read what workers log: the Temporal runtime's logger
// (worker and workflow `log.*` lines, at DEBUG) and everything written to stdout/stderr are kept in
// `collectedLogs`, and still shown when TENURE_TEST_LOG_LEVEL asks for it.
import { DefaultLogger, Runtime } from '@temporalio/worker';

export const collectedLogs: string[] = [];

Runtime.install({
  logger: new DefaultLogger('DEBUG', (entry) => {
    collectedLogs.push(`${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {})}`);
  }),
});

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    collectedLogs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
