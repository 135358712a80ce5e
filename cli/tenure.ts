/** The `tenure` command line (bin/tenure.js loads this through tsx). See cli/main.ts. */
import { runCli } from './main.js';

// Progress bars only on a terminal; piped output gets plain lines.
process.exitCode = await runCli(process.argv.slice(2), process.stdout.isTTY ? { tty: process.stdout } : {});
