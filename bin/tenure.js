#!/usr/bin/env node
// Launcher for the `tenure` command line: registers tsx's ESM loader, then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/tenure.ts');
