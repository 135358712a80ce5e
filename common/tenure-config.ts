/**
 * The Tenure config file (YAML, or JSON which YAML 1.2 reads as well): the HR sources, how often
 * each is polled, its organisation time zone, its thresholds (common/thresholds-config.ts) and its
 * kind-specific options. Validated with zod at load, every problem reported as
 * `file:line:column: path: message` like the rules file (domain/rules.ts). See
 * docs/configuration.md.
 *
 * Secrets are never in the file: an option `<name>Env: VARIABLE` names an environment variable,
 * resolved at load into the option `<name>` the connector expects (`clientSecretEnv:
 * RAET_CLIENT_SECRET` gives the connector `clientSecret`). A missing variable is an error naming
 * the variable, never a value; an inline secret (`clientSecret: ...`) is refused. `describe()`,
 * `toJSON()` and `util.inspect` mask every secret.
 *
 * Kind-specific options are validated by the connector's own zod schema, taken from a registry
 * `{ kind → { schema, create } }`: this module registers `file`; the API connectors are
 * registered by whoever assembles the worker (`registerSourceKind`).
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { inspect } from 'node:util';
import type { Node } from 'yaml';
import { cleanMessage, locate, readYaml } from '../domain/yaml-document.js';
import { z } from 'zod';
import { resolveEnvRefs } from './env-refs.js';
import { resolveThresholds, DurationText, ThresholdsInput } from './thresholds-config.js';
import { FILE_MAPPING_SCOPES, FileSource } from '../connectors/sources/file.js';
import type { SourceConnector } from '../connectors/types.js';
import {
  compileFieldMapping,
  type MappingScopes,
  type SourceFieldMapping,
} from '../connectors/sources/field-mapping.js';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from '../domain/dates.js';
import { parseDuration } from '../domain/durations.js';
import { formatIssue, formatPath, type RulesIssue } from '../domain/rules.js';
import type { ThresholdSettings } from '../domain/thresholds.js';

// ---------------------------------------------------------------------------------------------
// The registry of source kinds

export const SOURCE_KINDS = ['file', 'raet', 'vismanet', 'nmbrs'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** What a connector gets besides its validated options. */
export interface SourceContext {
  id: string;
  timeZone: string;
  fieldMapping?: Record<string, string>;
  customFields?: string[];
  /** `fieldMapping` and `customFields` compiled against the kind's `mappingScopes`. */
  mapping?: SourceFieldMapping;
  /** The config file's folder: relative paths in options are relative to it. */
  baseDir: string;
}

export interface SourceKindRegistration<O = unknown> {
  /** The connector's own options schema (connectors/sources/<kind>.ts). */
  schema: z.ZodType<O>;
  create(options: O, ctx: SourceContext): SourceConnector;
  /**
   * The source paths a `fieldMapping` may read (connectors/sources/field-mapping.ts). A kind without
   * them refuses `fieldMapping` and `customFields` rather than ignore them.
   */
  mappingScopes?: MappingScopes;
}

export type SourceRegistry = Partial<Record<SourceKind, SourceKindRegistration<never>>>;

/** The file source's options in the config file (connectors/sources/file.ts FileSourceOptions without `id`). */
export const FileSourceConfigOptions = z.strictObject({
  path: z.string({ error: 'expected the path of the HR export' }).min(1, 'is empty'),
  departmentsPath: z.string().min(1, 'is empty').optional(),
  format: z.enum(['csv', 'json']).optional(),
  delimiter: z.enum([';', ',', '\t']).optional(),
  maxBytes: z.number().int().positive().optional(),
  maxRecords: z.number().int().positive().optional(),
});
export type FileSourceConfigOptions = z.infer<typeof FileSourceConfigOptions>;

const fileKind: SourceKindRegistration<FileSourceConfigOptions> = {
  schema: FileSourceConfigOptions,
  mappingScopes: FILE_MAPPING_SCOPES,
  create(options, ctx) {
    const at = (p: string) => (isAbsolute(p) ? p : resolve(ctx.baseDir, p));
    return new FileSource({
      ...options,
      id: ctx.id,
      ...(ctx.mapping ? { mapping: ctx.mapping } : {}),
      path: at(options.path),
      ...(options.departmentsPath ? { departmentsPath: at(options.departmentsPath) } : {}),
    });
  },
};

/** A registry with the kinds this module knows: `file`. */
export function defaultSourceRegistry(): SourceRegistry {
  return { file: fileKind as SourceKindRegistration<never> };
}

/** Adds (or replaces) a kind in a registry; returns the registry. */
export function registerSourceKind<O>(
  registry: SourceRegistry,
  kind: SourceKind,
  registration: SourceKindRegistration<O>,
): SourceRegistry {
  registry[kind] = registration as unknown as SourceKindRegistration<never>;
  return registry;
}

// ---------------------------------------------------------------------------------------------
// The file's schema (options stay opaque here: the kind's schema checks them)

const SOURCE_ID = /^[a-z][a-z0-9-]{0,31}$/;

const TimeZone = z
  .string({ error: 'expected an IANA time zone such as "Europe/Amsterdam"' })
  .refine(isValidTimeZone, 'unknown time zone (expected an IANA name such as "Europe/Amsterdam")');

const SourceEntry = z.strictObject({
  id: z
    .string({ error: 'expected a source id' })
    .regex(SOURCE_ID, 'expected a source id: lower-case letters, digits and -, starting with a letter, at most 32'),
  kind: z.enum(SOURCE_KINDS, { error: `expected one of ${SOURCE_KINDS.join(', ')}` }),
  every: DurationText.default('5m'),
  timeZone: TimeZone.optional(),
  enabled: z.boolean({ error: 'expected true or false' }).default(true),
  thresholds: ThresholdsInput.default({}),
  options: z.record(z.string(), z.unknown(), { error: 'expected a map of options' }).default({}),
  fieldMapping: z.record(z.string(), z.string({ error: 'expected a source field name' })).optional(),
  customFields: z.array(z.string({ error: 'expected a field name' }).min(1, 'is empty')).optional(),
});

const ConfigFile = z.strictObject({
  timeZone: TimeZone.default(DEFAULT_TIME_ZONE),
  sources: z.array(SourceEntry, { error: 'expected a list of sources' }).min(1, 'expected at least one source'),
});

// ---------------------------------------------------------------------------------------------
// The loaded config

export type ConfigIssue = RulesIssue;

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

export const MASK = '***';

/** What the config file says of a source, apart from its options. */
interface SourceSettings {
  id: string;
  kind: SourceKind;
  every: string;
  enabled: boolean;
  timeZone: string;
  thresholds: ThresholdSettings;
  fieldMapping?: Record<string, string>;
  customFields?: string[];
}

export interface LoadedSource extends SourceSettings {
  everyMs: number;
  /** Validated by the kind's schema, secrets resolved: never log this. */
  options: unknown;
  /** Option paths holding a secret, e.g. `clientSecret`. */
  secretPaths: string[];
  /** Environment variables read, by option path: `{ clientSecret: 'RAET_CLIENT_SECRET' }`. */
  envRefs: Record<string, string>;
  /** A new connector for this source. */
  create(): SourceConnector;
}

export interface TenureConfig {
  file: string;
  timeZone: string;
  sources: LoadedSource[];
  /** The config with every secret masked: safe to print and log. */
  describe(): DescribedConfig;
  toJSON(): DescribedConfig;
}

export interface DescribedSource extends SourceSettings {
  options: unknown;
  /** Where the secrets come from: option → environment variable name. */
  secretsFrom: Record<string, string>;
}

export interface DescribedConfig {
  file: string;
  timeZone: string;
  sources: DescribedSource[];
}

export interface ParseConfigOptions {
  fileName?: string;
  /** Environment variables for `<name>Env` options. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Source kinds available. Default `defaultSourceRegistry()` (file only). */
  registry?: SourceRegistry;
  /** Folder relative paths are resolved against. Default the current directory. */
  baseDir?: string;
}

function maskValue(value: unknown, secretPaths: readonly string[], path = ''): unknown {
  if (secretPaths.includes(path)) return MASK;
  if (Array.isArray(value)) return value.map((v, i) => maskValue(v, secretPaths, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        maskValue(v, secretPaths, path ? `${path}.${k}` : k),
      ]),
    );
  }
  return value;
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join(MASK);
  return out;
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Parsing

export type ParseConfigResult = { ok: true; config: TenureConfig } | { ok: false; issues: ConfigIssue[] };

export function safeParseTenureConfig(text: string, opts: ParseConfigOptions = {}): ParseConfigResult {
  const fileName = opts.fileName ?? 'tenure.yaml';
  const env = opts.env ?? process.env;
  const registry = opts.registry ?? defaultSourceRegistry();
  const baseDir = opts.baseDir ?? process.cwd();
  const read = readYaml(text, fileName);
  if (!read.ok) return read;
  const { data, doc, at } = read;

  const issues: ConfigIssue[] = [];
  let secrets: string[] = [];
  const report = (path: readonly PropertyKey[], message: string, code?: string, keys?: string[]) => {
    const located = locate(doc.contents as Node | null, path);
    let pos = at(located.at?.range?.[0]);
    let shownPath = formatPath(path);
    let msg = scrub(cleanMessage(message), secrets);
    if (code === 'unrecognized_keys' && keys?.length) {
      const kl = locate(doc.contents as Node | null, [...path, keys[0] as string]);
      if (kl.complete) pos = at(kl.at?.range?.[0]);
      shownPath = formatPath([...path, keys[0] as string]);
      msg = keys.length > 1 ? `unknown keys ${keys.map((k) => `'${k}'`).join(', ')}` : 'unknown key';
    } else if (!located.complete && code === 'invalid_type') {
      msg = `missing (${msg})`;
    }
    issues.push({ file: fileName, ...pos, path: shownPath, message: msg });
  };

  const parsed = ConfigFile.safeParse(data);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      report(i.path, i.message, i.code, i.code === 'unrecognized_keys' ? i.keys : undefined);
    }
    return { ok: false, issues: sortIssues(issues) };
  }

  const sources: LoadedSource[] = [];
  const seen = new Map<string, number>();
  parsed.data.sources.forEach((s, index) => {
    const first = seen.get(s.id);
    if (first !== undefined) {
      report(['sources', index, 'id'], `duplicate source id '${s.id}' (also sources[${first}])`);
      return;
    }
    seen.set(s.id, index);
    const base: PropertyKey[] = ['sources', index, 'options'];
    const before = issues.length;
    const resolved = resolveEnvRefs(s.options, env, (p, m) => report(p, m), base);
    secrets = [...secrets, ...resolved.secretValues];
    if (issues.length > before) return; // the kind's schema would only repeat them
    const kind = registry[s.kind];
    if (!kind) {
      report(
        ['sources', index, 'kind'],
        `no connector for kind '${s.kind}' is registered in this build (available: ${Object.keys(registry).join(', ') || 'none'})`,
      );
      return;
    }
    const checked = kind.schema.safeParse(resolved.options);
    if (!checked.success) {
      for (const i of checked.error.issues) {
        // A problem with a resolved secret is pointed at its `<name>Env` key.
        const first = i.path[0];
        const path =
          typeof first === 'string' && resolved.envRefs[first] !== undefined
            ? [...base, `${first}Env`, ...i.path.slice(1)]
            : [...base, ...i.path];
        report(path, i.message, i.code, i.code === 'unrecognized_keys' ? i.keys : undefined);
      }
      return;
    }
    let mapping: SourceFieldMapping | undefined;
    if (s.fieldMapping !== undefined || s.customFields !== undefined) {
      if (!kind.mappingScopes) {
        const key = s.fieldMapping !== undefined ? 'fieldMapping' : 'customFields';
        report(['sources', index, key], `the ${s.kind} connector does not take a ${key} (docs/configuration.md)`);
        return;
      }
      const compiled = compileFieldMapping(s.fieldMapping, s.customFields, kind.mappingScopes);
      if (!compiled.ok) {
        for (const i of compiled.issues) report(['sources', index, ...i.path], i.message);
        return;
      }
      mapping = compiled.mapping;
    }
    const timeZone = s.timeZone ?? parsed.data.timeZone;
    const ctx: SourceContext = {
      ...(mapping ? { mapping } : {}),
      id: s.id,
      timeZone,
      baseDir,
      ...(s.fieldMapping ? { fieldMapping: s.fieldMapping } : {}),
      ...(s.customFields ? { customFields: s.customFields } : {}),
    };
    const options = checked.data;
    const loaded: LoadedSource = {
      id: s.id,
      kind: s.kind,
      every: s.every,
      everyMs: parseDuration(s.every) as number,
      enabled: s.enabled,
      timeZone,
      thresholds: resolveThresholds(s.thresholds, timeZone),
      options,
      ...(s.fieldMapping ? { fieldMapping: s.fieldMapping } : {}),
      ...(s.customFields ? { customFields: s.customFields } : {}),
      secretPaths: resolved.secretPaths,
      envRefs: resolved.envRefs,
      create: () => kind.create(options as never, ctx),
    };
    const describeSource = (): DescribedSource => ({
      id: loaded.id,
      kind: loaded.kind,
      every: loaded.every,
      enabled: loaded.enabled,
      timeZone: loaded.timeZone,
      thresholds: loaded.thresholds,
      options: maskValue(loaded.options, loaded.secretPaths),
      ...(loaded.fieldMapping ? { fieldMapping: loaded.fieldMapping } : {}),
      ...(loaded.customFields ? { customFields: loaded.customFields } : {}),
      secretsFrom: { ...loaded.envRefs },
    });
    Object.defineProperties(loaded, {
      toJSON: { value: describeSource, enumerable: false },
      [inspect.custom]: { value: () => describeSource(), enumerable: false },
    });
    sources.push(loaded);
  });
  if (issues.length) return { ok: false, issues: sortIssues(issues) };

  const describe = (): DescribedConfig => ({
    file: fileName,
    timeZone: parsed.data.timeZone,
    sources: sources.map((s) => (s as unknown as { toJSON(): DescribedSource }).toJSON()),
  });
  const config: TenureConfig = { file: fileName, timeZone: parsed.data.timeZone, sources, describe, toJSON: describe };
  Object.defineProperty(config, inspect.custom, { value: describe, enumerable: false });
  return { ok: true, config };
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Parses and validates config text; throws `ConfigError` listing every problem. */
export function parseTenureConfig(text: string, opts: ParseConfigOptions = {}): TenureConfig {
  const r = safeParseTenureConfig(text, opts);
  if (!r.ok) throw new ConfigError(r.issues);
  return r.config;
}

/** Reads and validates the config file; relative paths in it are relative to its folder. */
export async function loadTenureConfig(
  path: string,
  opts: Omit<ParseConfigOptions, 'fileName' | 'baseDir'> = {},
): Promise<TenureConfig> {
  const text = await readFile(path, 'utf8');
  return parseTenureConfig(text, { ...opts, fileName: basename(path), baseDir: dirname(resolve(path)) });
}

// ---------------------------------------------------------------------------------------------
// For the worker

/** Connectors of the enabled sources, by id (PollActivityDeps.sources). */
export function createSources(config: TenureConfig): Map<string, SourceConnector> {
  return new Map(config.sources.filter((s) => s.enabled).map((s) => [s.id, s.create()]));
}

/** Threshold settings by source id (PollActivityDeps.thresholds). */
export function thresholdsBySource(config: TenureConfig): Map<string, ThresholdSettings> {
  return new Map(config.sources.map((s) => [s.id, s.thresholds]));
}

/** A source's poll schedule (workers/schedules.ts ensureSourceSchedules). */
export interface SourceSchedule {
  id: string;
  /** Interval as a duration string: `5m`, `1h`, `30 minutes`. */
  every: string;
}

/** The poll schedules of the enabled sources (workers/schedules.ts ensureSourceSchedules). */
export function sourceSchedules(config: TenureConfig): SourceSchedule[] {
  return config.sources.filter((s) => s.enabled).map((s) => ({ id: s.id, every: s.every }));
}
