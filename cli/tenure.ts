/** The `tenure` command line (bin/tenure.js loads this through tsx). See cli/main.ts. */
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2));
