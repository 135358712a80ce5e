// Import first in a test file that runs workers: keeps worker state chatter out of the test output.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger((process.env.TENURE_TEST_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN') });
} catch {
  // Already installed by another module of the same test process.
}
