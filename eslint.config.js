// Flat config: @eslint/js and typescript-eslint recommended, the layer boundaries of docs/architecture.md,
// and two type-aware rules for TypeScript (promises that are dropped or passed where a callback is expected).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The Node globals plain JS files use; TypeScript files are checked by tsc (no-undef is off there).
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'queueMicrotask',
    'structuredClone',
    'AbortController',
    'TextEncoder',
    'TextDecoder',
    'fetch',
  ].map((name) => [name, 'readonly']),
);

// ---------------------------------------------------------------- layer boundaries
// Lower layers never import higher ones. workflows/ sits beside activities/: it may name activity
// and connector types, but runs none of their code (the workflow sandbox is deterministic).
//   domain  <-  common  <-  connectors, vault  <-  activities  <-  workers  <-  cli
//                                     workflows (types only from activities, connectors, vault)
// test/, scripts/ and bin/ are outside the layers and may import anything.
const FOLDERS = [
  'domain',
  'common',
  'connectors',
  'vault',
  'activities',
  'metrics',
  'alerts',
  'workflows',
  'workers',
  'cli',
];
const OUTSIDE = ['test', 'scripts', 'bin'];

/** A relative import that reaches the top-level folder `name` from anywhere below the root. */
const folderImport = (names) => `^(\\.\\./)+(${names.join('|')})(/|$)`;
const builtins = builtinModules.filter((m) => !m.startsWith('_'));
const nodeBuiltin = `^(node:.*|${builtins.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})$`;

/** The no-restricted-imports options for one layer. */
function layer({ forbidden, typesOnly = [], packages, message }) {
  const patterns = [
    {
      regex: folderImport([...forbidden, ...OUTSIDE]),
      message: `${message} (layers: see docs/architecture.md)`,
    },
  ];
  if (typesOnly.length)
    patterns.push({
      regex: folderImport(typesOnly),
      allowTypeImports: true,
      message: 'workflow code may only import types from activities/, connectors/ and vault/ (use `import type`)',
    });
  if (packages) patterns.push(packages);
  return { 'no-restricted-imports': ['error', { patterns }] };
}

const noBuiltins = (where) => ({
  regex: nodeBuiltin,
  message: `${where} has no Node built-ins: file, network and crypto work belongs in activities, connectors or common`,
});

const LAYERS = {
  // Pure: rules, naming, dates, schedules. Workflows import it, so only zod and yaml from outside.
  domain: layer({
    forbidden: FOLDERS.filter((f) => f !== 'domain'),
    packages: {
      regex: '^(?![./])(?!(zod|yaml)$)',
      message: 'domain/ is pure: only zod and yaml from outside (no Node built-ins, no I/O clients, no Temporal)',
    },
    message: 'domain/ imports nothing from the other layers',
  }),
  common: layer({
    forbidden: ['connectors', 'vault', 'activities', 'metrics', 'alerts', 'workflows', 'workers', 'cli'],
    message: 'common/ may import domain/ only',
  }),
  connectors: layer({
    forbidden: ['vault', 'activities', 'metrics', 'alerts', 'workflows', 'workers', 'cli'],
    message: 'connectors/ may import domain/ and common/ only',
  }),
  vault: layer({
    forbidden: ['connectors', 'activities', 'metrics', 'alerts', 'workflows', 'workers', 'cli'],
    message: 'vault/ may import domain/ and common/ only',
  }),
  activities: layer({
    forbidden: ['workflows', 'workers', 'cli'],
    message: 'activities/ may not import workflows/, workers/ or cli/',
  }),
  // Beside the activities: metrics (prom-client, the activity interceptor) and admin alerts.
  metrics: layer({
    forbidden: ['alerts', 'workflows', 'workers', 'cli'],
    message: 'metrics/ may not import alerts/, workflows/, workers/ or cli/',
  }),
  alerts: layer({
    forbidden: ['workflows', 'workers', 'cli'],
    message: 'alerts/ may not import workflows/, workers/ or cli/',
  }),
  workflows: layer({
    forbidden: ['workers', 'cli'],
    typesOnly: ['activities', 'connectors', 'vault', 'metrics', 'alerts'],
    packages: {
      regex: '^(?![./])(?!@temporalio/(workflow|common)$)',
      message:
        'workflow code runs in the deterministic sandbox: only @temporalio/workflow and @temporalio/common from outside (no Node built-ins, no I/O)',
    },
    message: 'workflows/ may not import workers/ or cli/',
  }),
  workers: layer({ forbidden: ['cli'], message: 'workers/ may not import cli/' }),
  cli: layer({ forbidden: [], message: 'cli/ may not import test/ or scripts/' }),
};

// One known exception: the sources config loader also builds the source connectors it names (its
// registry of source kinds), so common/tenure-config.ts may import connectors/, and nothing else above it.
const KNOWN_EXCEPTIONS = [
  {
    files: ['common/tenure-config.ts'],
    rules: layer({
      forbidden: ['vault', 'activities', 'workflows', 'workers', 'cli'],
      message: 'common/tenure-config.ts may import domain/, common/ and connectors/ only',
    }),
  },
];

const boundaries = Object.entries(LAYERS).map(([folder, rules]) => ({ files: [`${folder}/**/*.{ts,js}`], rules }));
// domain/ and workflows/ also keep Node built-ins out by the package allow-lists above; common/ code
// reached by workflows (messages, task queues, search attributes) is kept free of them too.
boundaries.push({
  files: ['common/messages.ts', 'common/task-queues.ts', 'common/search-attributes.ts'],
  rules: layer({
    forbidden: ['connectors', 'vault', 'activities', 'workflows', 'workers', 'cli'],
    packages: noBuiltins('code that workflows import'),
    message: 'common/ may import domain/ only',
  }),
});

export default defineConfig(
  { ignores: ['node_modules/', '.tools/', '.run/', '.cache/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: nodeGlobals,
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test collects describe/test itself; awaiting them at the top level would be wrong.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  ...boundaries,
  ...KNOWN_EXCEPTIONS,
);
